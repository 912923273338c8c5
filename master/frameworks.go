package master

import (
	"slices"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/master/allocator"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
	"github.com/agoracluster/agora/resources"
)

// framework is a registered framework, connected or not.
type framework struct {
	id             string
	info           *mesos.FrameworkInfo // id always set
	roles          []string
	partitionAware bool
	multiRole      bool

	sink     eventSink // nil while disconnected
	streamID string

	connected bool
	// recovered frameworks are known from the registry or from a re-registering
	// agent but have not subscribed to this master yet.
	recovered bool

	registeredTime   time.Time
	reregisteredTime time.Time
	unregisteredTime time.Time
	failoverDeadline time.Time // set while disconnected

	tasks       map[string]*task // by task id: non-terminal and unacknowledged terminal tasks
	unreachable map[string]*task // partition-aware tasks on unreachable agents
	completed   []*task
	offers      map[string]*offer
}

func newFramework(id string, info *mesos.FrameworkInfo) *framework {
	info = proto.Clone(info).(*mesos.FrameworkInfo)
	info.Id = frameworkIDpb(id)
	fw := &framework{
		id:          id,
		tasks:       map[string]*task{},
		unreachable: map[string]*task{},
		offers:      map[string]*offer{},
	}
	fw.setInfo(info)
	return fw
}

func (fw *framework) setInfo(info *mesos.FrameworkInfo) {
	fw.info = info
	fw.partitionAware, fw.multiRole = false, false
	for _, c := range info.GetCapabilities() {
		switch c.GetType() {
		case mesos.FrameworkInfo_Capability_PARTITION_AWARE:
			fw.partitionAware = true
		case mesos.FrameworkInfo_Capability_MULTI_ROLE:
			fw.multiRole = true
		}
	}
	fw.roles = frameworkRoles(info)
}

// frameworkRoles is the framework's roles: FrameworkInfo.roles for MULTI_ROLE
// frameworks, else FrameworkInfo.role (default "*").
func frameworkRoles(info *mesos.FrameworkInfo) []string {
	for _, c := range info.GetCapabilities() {
		if c.GetType() == mesos.FrameworkInfo_Capability_MULTI_ROLE {
			return slices.Clone(info.GetRoles())
		}
	}
	return []string{info.GetRole()}
}

func (fw *framework) send(ev *scheduler.Event) {
	if fw.sink != nil {
		fw.sink.Send(ev)
	}
}

// usedByAgent is the framework's resources in use by agent (tasks and executors).
func (s *state) frameworkUsed(fwID string) map[string]resources.Resources {
	used := map[string]resources.Resources{}
	for agentID, a := range s.agents {
		if r := a.usedBy(fwID); !r.IsEmpty() {
			used[agentID] = r
		}
	}
	return used
}

// subscribeFramework handles a validated SUBSCRIBE: a new framework, a failover of a
// known one, or the re-registration of a framework this master learned from the
// registry or an agent. Events go to sink; SUBSCRIBED is the first.
func (s *state) subscribeFramework(sink eventSink, streamID string, sub *scheduler.Call_Subscribe) string {
	now := s.now()
	info := sub.GetFrameworkInfo()
	id := info.GetId().GetValue()
	if id != "" && s.completedFramework(id) != nil {
		sink.Send(errorEvent("Framework has been removed"))
		sink.Close()
		return id
	}
	fw := s.frameworks[id]
	switch {
	case fw == nil:
		if id == "" {
			id = s.newFrameworkID()
		}
		fw = newFramework(id, info)
		fw.registeredTime = now
		s.frameworks[id] = fw
		s.alloc.AddFramework(id, allocator.Framework{Roles: fw.roles, Used: s.frameworkUsed(id), Active: true})
		s.log.Info("framework registered", zap.String("framework_id", id), zap.String("name", info.GetName()))
	default:
		if fw.sink != nil {
			fw.sink.Send(errorEvent("Framework failed over"))
			fw.sink.Close()
		}
		// The new scheduler instance does not know the old instance's offers.
		for _, o := range fw.sortedOffers() {
			s.removeOffer(o, 0, false)
		}
		updated := proto.Clone(info).(*mesos.FrameworkInfo)
		updated.Id = frameworkIDpb(id)
		oldRoles := fw.roles
		fw.setInfo(updated)
		if fw.recovered {
			fw.registeredTime = now
			fw.recovered = false
		} else {
			fw.reregisteredTime = now
		}
		if !slices.Equal(oldRoles, fw.roles) {
			s.alloc.RemoveFramework(id)
			s.alloc.AddFramework(id, allocator.Framework{Roles: fw.roles, Used: s.frameworkUsed(id), Active: true})
		} else {
			s.alloc.ActivateFramework(id)
		}
		s.log.Info("framework re-subscribed", zap.String("framework_id", id))
	}
	fw.sink, fw.streamID, fw.connected = sink, streamID, true
	fw.failoverDeadline = time.Time{}
	fw.unregisteredTime = time.Time{}
	s.alloc.Revive(id, nil)
	if roles := sub.GetSuppressedRoles(); len(roles) > 0 {
		s.alloc.Suppress(id, roles)
	}
	s.persistFramework(fw)
	sink.Send(&scheduler.Event{
		Type: scheduler.Event_SUBSCRIBED.Enum(),
		Subscribed: &scheduler.Event_Subscribed{
			FrameworkId:              frameworkIDpb(id),
			HeartbeatIntervalSeconds: proto.Float64(s.cfg.FrameworkHeartbeatInterval.Seconds()),
			MasterInfo:               proto.Clone(s.info).(*mesos.MasterInfo),
		},
	})
	s.requestAllocation()
	return id
}

func errorEvent(msg string) *scheduler.Event {
	return &scheduler.Event{Type: scheduler.Event_ERROR.Enum(), Error: &scheduler.Event_Error{Message: proto.String(msg)}}
}

func (s *state) completedFramework(id string) *framework {
	for _, fw := range s.completedFrameworks {
		if fw.id == id {
			return fw
		}
	}
	return nil
}

// frameworkDisconnected handles the end of a framework's event stream. A stale
// stream (the framework already failed over to a new one) is ignored.
func (s *state) frameworkDisconnected(id, streamID string) {
	fw := s.frameworks[id]
	if fw == nil || !fw.connected || fw.streamID != streamID {
		return
	}
	now := s.now()
	fw.sink, fw.connected = nil, false
	fw.unregisteredTime = now
	fw.failoverDeadline = now.Add(failoverTimeout(fw.info))
	for _, o := range fw.sortedOffers() {
		s.removeOffer(o, 0, false)
	}
	s.alloc.DeactivateFramework(id)
	s.persistFramework(fw)
	s.log.Info("framework disconnected", zap.String("framework_id", id),
		zap.Duration("failover_timeout", failoverTimeout(fw.info)))
}

func failoverTimeout(info *mesos.FrameworkInfo) time.Duration {
	secs := info.GetFailoverTimeout()
	if secs <= 0 {
		return 0
	}
	const maxSecs = float64(1 << 33) // ~272 years; keeps the Duration from overflowing
	if secs > maxSecs {
		secs = maxSecs
	}
	return time.Duration(secs * float64(time.Second))
}

// checkFrameworks removes disconnected frameworks whose failover timeout expired.
func (s *state) checkFrameworks(now time.Time) {
	var expired []*framework
	for _, fw := range s.frameworks {
		if !fw.connected && !fw.failoverDeadline.IsZero() && !now.Before(fw.failoverDeadline) {
			expired = append(expired, fw)
		}
	}
	slices.SortFunc(expired, func(a, b *framework) int { return compareStrings(a.id, b.id) })
	for _, fw := range expired {
		s.log.Info("framework failover timeout expired", zap.String("framework_id", fw.id))
		s.removeFramework(fw)
	}
}

// removeFramework tears a framework down: its offers are recovered, its tasks killed
// on their agents and its resources returned to the allocator.
func (s *state) removeFramework(fw *framework) {
	now := s.now()
	if fw.sink != nil {
		fw.sink.Close()
		fw.sink, fw.connected = nil, false
	}
	for _, o := range fw.sortedOffers() {
		s.removeOffer(o, 0, false)
	}
	for _, a := range s.sortedAgents() {
		if a.hasFramework(fw.id) && a.sink != nil {
			a.send(shutdownFrameworkEvent(fw.id))
		}
		for execID := range a.executors[fw.id] {
			s.removeExecutor(a, fw.id, execID)
		}
	}
	for _, t := range fw.sortedTasks() {
		if !t.state().IsTerminal() {
			t.setStatus(&mesos.TaskStatus{
				TaskId:    taskIDpb(t.id),
				State:     mesos.TaskState_TASK_KILLED.Enum(),
				Source:    mesos.TaskStatus_SOURCE_MASTER.Enum(),
				Reason:    mesos.TaskStatus_REASON_FRAMEWORK_REMOVED.Enum(),
				Message:   proto.String("Framework removed"),
				AgentId:   agentIDpb(t.agentID),
				Timestamp: proto.Float64(unixSeconds(now)),
			}, mesos.TaskState_TASK_KILLED)
		}
		s.removeTask(t)
	}
	clear(fw.unreachable)
	s.alloc.RemoveFramework(fw.id)
	delete(s.frameworks, fw.id)
	fw.unregisteredTime = now
	s.completedFrameworks = append(s.completedFrameworks, fw)
	if n := len(s.completedFrameworks) - s.cfg.MaxCompletedFrameworks; n > 0 {
		s.completedFrameworks = slices.Delete(s.completedFrameworks, 0, n)
	}
	s.deleteFrameworkRecord(fw.id)
	s.requestAllocation()
	s.log.Info("framework removed", zap.String("framework_id", fw.id))
}

func shutdownFrameworkEvent(fwID string) proto.Message {
	return agentShutdownFramework(fwID)
}

func (fw *framework) sortedOffers() []*offer {
	out := make([]*offer, 0, len(fw.offers))
	for _, o := range fw.offers {
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b *offer) int { return compareStrings(a.id, b.id) })
	return out
}

func (fw *framework) sortedTasks() []*task {
	out := make([]*task, 0, len(fw.tasks))
	for _, t := range fw.tasks {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *task) int { return compareStrings(a.id, b.id) })
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// suppress and revive map to the allocator.
func (s *state) suppress(fw *framework, roles []string) {
	s.alloc.Suppress(fw.id, nilIfEmpty(roles))
}

func (s *state) revive(fw *framework, roles []string) {
	s.alloc.Revive(fw.id, nilIfEmpty(roles))
	s.requestAllocation()
}

func nilIfEmpty(roles []string) []string {
	if len(roles) == 0 {
		return nil
	}
	return roles
}

// recoverFramework adds a framework this master knows only from the registry or
// from an agent's report; it waits for its scheduler to subscribe until its
// failover timeout expires.
func (s *state) recoverFramework(info *mesos.FrameworkInfo, deadline time.Time) *framework {
	id := info.GetId().GetValue()
	if fw := s.frameworks[id]; fw != nil {
		return fw
	}
	fw := newFramework(id, info)
	fw.recovered = true
	fw.failoverDeadline = deadline
	s.frameworks[id] = fw
	s.alloc.AddFramework(id, allocator.Framework{Roles: fw.roles, Used: s.frameworkUsed(id), Active: false})
	return fw
}
