package ledger

import (
	"maps"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/master/registry"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// writes are the registry changes the ledger owes since the last TakeWrites: the
// ids of the agents and frameworks whose records changed. A record is written as
// the entity stands when the batch is taken, or deleted when it is gone.
type writes struct {
	agents     map[string]bool
	frameworks map[string]bool
}

// markAgent and markFramework put a record into the next registry batch.
func (w writes) markAgent(id string)     { w.agents[id] = true }
func (w writes) markFramework(id string) { w.frameworks[id] = true }

// TakeWrites returns the registry changes made since the last call, for the owner
// to apply before it answers the call that caused them.
func (l *Ledger) TakeWrites() registry.Batch {
	var b registry.Batch
	for _, id := range slices.Sorted(maps.Keys(l.dirty.agents)) {
		if a := l.agents[id]; a != nil {
			b.Agents = append(b.Agents, &registry.AgentRecord{Info: proto.Clone(a.info).(*mesos.AgentInfo), RegisteredTime: a.registeredTime, UnreachableTime: a.unreachableTime})
		} else {
			b.DeletedAgents = append(b.DeletedAgents, id)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(l.dirty.frameworks)) {
		if fw := l.frameworks[id]; fw != nil {
			b.Frameworks = append(b.Frameworks, &registry.FrameworkRecord{Info: proto.Clone(fw.info).(*mesos.FrameworkInfo), FailoverDeadline: fw.failoverDeadline})
		} else {
			b.DeletedFrameworks = append(b.DeletedFrameworks, id)
		}
	}
	clear(l.dirty.agents)
	clear(l.dirty.frameworks)
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
