package ledger

import (
	"maps"
	"slices"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/master/allocator"
	"github.com/agoracluster/agora/master/registry"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	masterpb "github.com/agoracluster/agora/proto/mesos/v1/master"
	quotapb "github.com/agoracluster/agora/proto/mesos/v1/quota"
)

// writes are the registry changes the ledger owes since the last TakeEffects: the
// ids of the agents and frameworks whose records changed. A record is written as
// the entity stands when the batch is taken, or deleted when it is gone.
type writes struct {
	agents     map[string]bool
	frameworks map[string]bool
	weights    map[string]bool // roles
	quotas     map[string]bool // roles
	// maintenance is set when the schedule or a machine's mode changed.
	maintenance bool
	// gone are the agents marked gone since.
	gone map[string]bool
}

func newWrites() writes {
	return writes{agents: map[string]bool{}, frameworks: map[string]bool{}, weights: map[string]bool{}, quotas: map[string]bool{},
		gone: map[string]bool{}}
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
	// OperatorEvents are the operator API's events (TASK_ADDED, AGENT_REMOVED, …)
	// in the order they happened, recorded while WatchOperator is on; the owner
	// sends them to the operator API's subscribers.
	OperatorEvents []*masterpb.Event
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
	e := Effects{Writes: l.dirty.take(l.agents, l.frameworks), Notes: l.notes, OperatorEvents: l.opEvents}
	l.dirty.takeRoles(&e.Writes, l.alloc.Weights(), l.alloc.Quotas())
	e.Writes.GoneAgents = slices.Sorted(maps.Keys(l.dirty.gone))
	clear(l.dirty.gone)
	if l.dirty.maintenance {
		e.Writes.Maintenance = &registry.MaintenanceRecord{Schedule: l.Schedule(), Machines: l.MachineInfos()}
		l.dirty.maintenance = false
	}
	l.notes, l.opEvents = nil, nil
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
			rec := &registry.AgentRecord{
				Info: proto.Clone(a.info).(*mesos.AgentInfo), RegisteredTime: a.registeredTime, UnreachableTime: a.unreachableTime,
				Deactivated: a.deactivated, DrainStart: a.drainStart,
			}
			if a.drain != nil {
				rec.Drain = proto.Clone(a.drain).(*mesos.DrainInfo)
			}
			b.Agents = append(b.Agents, rec)
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

// takeRoles adds the marked weights and quotas to b, as they stand now, and
// clears the marks.
func (w writes) takeRoles(b *registry.Batch, weights map[string]float64, quotas map[string]allocator.Quota) {
	for _, role := range slices.Sorted(maps.Keys(w.weights)) {
		if v, ok := weights[role]; ok {
			b.Weights = append(b.Weights, &mesos.WeightInfo{Role: proto.String(role), Weight: proto.Float64(v)})
		}
	}
	for _, role := range slices.Sorted(maps.Keys(w.quotas)) {
		if q, ok := quotas[role]; ok {
			b.Quotas = append(b.Quotas, QuotaConfig(role, q))
		} else {
			b.DeletedQuotas = append(b.DeletedQuotas, role)
		}
	}
	clear(w.weights)
	clear(w.quotas)
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

// RecoverRoles loads the weights and quotas operators set, as the registry kept
// them. Quotas are restored without the capacity check (the agents that make up
// the capacity have not re-registered yet); one the allocator refuses is
// logged and dropped from the registry.
func (l *Ledger) RecoverRoles(weights []*mesos.WeightInfo, quotas []*quotapb.QuotaConfig) {
	for _, w := range weights {
		if err := l.alloc.SetWeight(w.GetRole(), w.GetWeight()); err != nil {
			l.note(zapcore.WarnLevel, "ignoring stored weight", zap.String("role", w.GetRole()), zap.Error(err))
		}
	}
	for _, qc := range quotas {
		if err := l.alloc.SetQuota(qc.GetRole(), QuotaOf(qc), true); err != nil {
			l.note(zapcore.WarnLevel, "dropping stored quota", zap.String("role", qc.GetRole()), zap.Error(err))
			l.dirty.quotas[qc.GetRole()] = true
		}
	}
	l.requestAllocation()
}

// QuotaOf converts an operator's QuotaConfig to the allocator's Quota.
func QuotaOf(qc *quotapb.QuotaConfig) allocator.Quota {
	var q allocator.Quota
	for name, v := range qc.GetGuarantees() {
		if q.Guarantees == nil {
			q.Guarantees = allocator.Quantities{}
		}
		q.Guarantees[name] = v.GetValue()
	}
	for name, v := range qc.GetLimits() {
		if q.Limits == nil {
			q.Limits = allocator.Quantities{}
		}
		q.Limits[name] = v.GetValue()
	}
	return q
}

// QuotaConfig converts the allocator's Quota of role to Mesos's QuotaConfig.
func QuotaConfig(role string, q allocator.Quota) *quotapb.QuotaConfig {
	qc := &quotapb.QuotaConfig{Role: proto.String(role), Guarantees: map[string]*mesos.Value_Scalar{}, Limits: map[string]*mesos.Value_Scalar{}}
	for name, v := range q.Guarantees {
		qc.Guarantees[name] = &mesos.Value_Scalar{Value: proto.Float64(v)}
	}
	for name, v := range q.Limits {
		qc.Limits[name] = &mesos.Value_Scalar{Value: proto.Float64(v)}
	}
	return qc
}
