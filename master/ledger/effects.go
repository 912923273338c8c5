package ledger

import (
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"maps"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/master/registry"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// writes are the registry changes the ledger owes since the last TakeEffects: the
// ids of the agents and frameworks whose records changed. A record is written as
// the entity stands when the batch is taken, or deleted when it is gone.
type writes struct {
	agents     map[string]bool
	frameworks map[string]bool
}

// markAgent and markFramework put a record into the next registry batch.
func (w writes) markAgent(id string)     { w.agents[id] = true }
func (w writes) markFramework(id string) { w.frameworks[id] = true }

// Effects are what the ledger's events since the last TakeEffects left for its
// owner to carry out, besides the events already queued on the Sinks.
type Effects struct {
	// Writes are the registry changes, to apply before the caller that caused them
	// hears the answer.
	Writes registry.Batch
	// Notes are lines for the master's log.
	Notes []Note
}

// Note is a line for the master's log: the ledger decides what is worth logging,
// its owner logs it.
type Note struct {
	Level   zapcore.Level
	Message string
	Fields  []zap.Field
}

// note records a line for the log.
func (l *Ledger) note(level zapcore.Level, msg string, fields ...zap.Field) {
	l.notes = append(l.notes, Note{Level: level, Message: msg, Fields: fields})
}

// TakeEffects returns the effects of the events since the last call.
func (l *Ledger) TakeEffects() Effects {
	e := Effects{Writes: l.dirty.take(l.agents, l.frameworks), Notes: l.notes}
	l.notes = nil
	return e
}

// take returns the marked records as a batch, as the entities stand now, and
// clears the marks.
func (w writes) take(agents map[string]*agent, frameworks map[string]*framework) registry.Batch {
	var b registry.Batch
	if len(w.agents)+len(w.frameworks) == 0 {
		return b
	}
	for _, id := range slices.Sorted(maps.Keys(w.agents)) {
		if a := agents[id]; a != nil {
			b.Agents = append(b.Agents, &registry.AgentRecord{Info: proto.Clone(a.info).(*mesos.AgentInfo), RegisteredTime: a.registeredTime, UnreachableTime: a.unreachableTime})
		} else {
			b.DeletedAgents = append(b.DeletedAgents, id)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(w.frameworks)) {
		if fw := frameworks[id]; fw != nil {
			b.Frameworks = append(b.Frameworks, &registry.FrameworkRecord{Info: proto.Clone(fw.info).(*mesos.FrameworkInfo), FailoverDeadline: fw.failoverDeadline})
		} else {
			b.DeletedFrameworks = append(b.DeletedFrameworks, id)
		}
	}
	clear(w.agents)
	clear(w.frameworks)
	return b
}

// Recover loads the registry's records into a fresh ledger: agents wait for their
// re-registration, frameworks for their schedulers.
func (l *Ledger) Recover(agents []*registry.AgentRecord, fws []*registry.FrameworkRecord) {
	now := l.now()
	for _, rec := range fws {
		deadline := rec.FailoverDeadline
		if grace := now.Add(l.cfg.recoveryGrace(failoverTimeout(rec.Info))); deadline.Before(grace) {
			deadline = grace
		}
		l.recoverFramework(rec.Info, deadline)
	}
	for _, rec := range agents {
		l.recoverAgent(rec)
	}
}
