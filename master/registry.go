package master

import (
	"maps"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/master/registry"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// writes are the registry changes the state owes since the last takeWrites: the
// ids of the agents and frameworks whose records changed. A record is written as
// the entity stands when the batch is taken, or deleted when it is gone.
type writes struct {
	agents     map[string]bool
	frameworks map[string]bool
}

// persistAgent and the other helpers mark records for the next registry batch.
func (s *state) persistAgent(a *agent)          { s.dirty.agents[a.id] = true }
func (s *state) deleteAgentRecord(id string)    { s.dirty.agents[id] = true }
func (s *state) persistFramework(fw *framework) { s.dirty.frameworks[fw.id] = true }
func (s *state) deleteFrameworkRecord(id string) {
	s.dirty.frameworks[id] = true
}

// takeWrites returns the registry changes made since the last call, for the loop
// to apply.
func (s *state) takeWrites() registry.Batch {
	var b registry.Batch
	for _, id := range slices.Sorted(maps.Keys(s.dirty.agents)) {
		if a := s.agents[id]; a != nil {
			b.Agents = append(b.Agents, &registry.AgentRecord{Info: proto.Clone(a.info).(*mesos.AgentInfo), RegisteredTime: a.registeredTime, UnreachableTime: a.unreachableTime})
		} else {
			b.DeletedAgents = append(b.DeletedAgents, id)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(s.dirty.frameworks)) {
		if fw := s.frameworks[id]; fw != nil {
			b.Frameworks = append(b.Frameworks, &registry.FrameworkRecord{Info: proto.Clone(fw.info).(*mesos.FrameworkInfo), FailoverDeadline: fw.failoverDeadline})
		} else {
			b.DeletedFrameworks = append(b.DeletedFrameworks, id)
		}
	}
	clear(s.dirty.agents)
	clear(s.dirty.frameworks)
	return b
}

// recoverRegistry loads the registry into a fresh state: agents wait for their
// re-registration, frameworks for their schedulers.
func (s *state) recoverRegistry(agents []*registry.AgentRecord, fws []*registry.FrameworkRecord) {
	now := s.now()
	for _, rec := range fws {
		deadline := rec.FailoverDeadline
		if grace := now.Add(s.recoveryGrace(rec.Info)); deadline.Before(grace) {
			deadline = grace
		}
		s.recoverFramework(rec.Info, deadline)
	}
	for _, rec := range agents {
		s.recoverAgent(rec)
	}
}

// recoveryGrace is how long a framework known from the registry or an agent's
// report has to re-subscribe after a master restart: its failover timeout, but at
// least as long as agents have to re-register.
func (s *state) recoveryGrace(info *mesos.FrameworkInfo) time.Duration {
	return max(failoverTimeout(info), s.cfg.AgentReregisterTimeout)
}
