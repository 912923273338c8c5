package ledger

import (
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
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
	gpuResources   bool // GPU_RESOURCES: offered agents with GPUs

	sink     Sink // nil while disconnected
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
	fw.partitionAware, fw.multiRole, fw.gpuResources = false, false, false
	for _, c := range info.GetCapabilities() {
		switch c.GetType() {
		case mesos.FrameworkInfo_Capability_PARTITION_AWARE:
			fw.partitionAware = true
		case mesos.FrameworkInfo_Capability_MULTI_ROLE:
			fw.multiRole = true
		case mesos.FrameworkInfo_Capability_GPU_RESOURCES:
			fw.gpuResources = true
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

// frameworkUsed is the framework's resources in use, by agent (tasks and executors).
func (l *Ledger) frameworkUsed(fwID string) map[string]resources.Resources {
	used := map[string]resources.Resources{}
	for agentID, a := range l.agents {
		if r := a.usedBy(fwID); !r.IsEmpty() {
			used[agentID] = r
		}
	}
	return used
}

// SubscribeFramework handles a validated SUBSCRIBE: a new framework, a failover of a
// known one, or the re-registration of a framework this master learned from the
// registry or an agent. Events go to sink; SUBSCRIBED is the first.
func (l *Ledger) SubscribeFramework(sink Sink, streamID string, sub *scheduler.Call_Subscribe) string {
	now := l.now()
	info := sub.GetFrameworkInfo()
	id := info.GetId().GetValue()
	if id != "" && l.completedFramework(id) != nil {
		sink.Send(errorEvent("Framework has been removed"))
		sink.Close()
		return id
	}
	fw := l.frameworks[id]
	added := fw == nil
	switch {
	case fw == nil:
		if id == "" {
			id = l.ids.framework()
		}
		fw = newFramework(id, info)
		fw.registeredTime = now
		l.frameworks[id] = fw
		l.alloc.AddFramework(id, allocator.Framework{Roles: fw.roles, Used: l.frameworkUsed(id), Active: true, GPUResources: fw.gpuResources})
		l.note(zapcore.InfoLevel, "framework registered", zap.String("framework_id", id), zap.String("name", info.GetName()))
	default:
		if fw.sink != nil {
			fw.sink.Send(errorEvent("Framework failed over"))
			fw.sink.Close()
		}
		// The new scheduler instance does not know the old instance's offers.
		for _, o := range sortedValues(fw.offers) {
			l.removeOffer(o, 0, false)
		}
		updated := proto.Clone(info).(*mesos.FrameworkInfo)
		updated.Id = frameworkIDpb(id)
		oldRoles, oldGPU := fw.roles, fw.gpuResources
		fw.setInfo(updated)
		if fw.recovered {
			fw.registeredTime = now
			fw.recovered = false
		} else {
			fw.reregisteredTime = now
		}
		if !slices.Equal(oldRoles, fw.roles) || oldGPU != fw.gpuResources {
			l.alloc.RemoveFramework(id)
			l.alloc.AddFramework(id, allocator.Framework{Roles: fw.roles, Used: l.frameworkUsed(id), Active: true, GPUResources: fw.gpuResources})
		} else {
			l.alloc.ActivateFramework(id)
		}
		l.note(zapcore.InfoLevel, "framework re-subscribed", zap.String("framework_id", id))
	}
	fw.sink, fw.streamID, fw.connected = sink, streamID, true
	fw.failoverDeadline = time.Time{}
	fw.unregisteredTime = time.Time{}
	l.alloc.Revive(id, nil)
	if roles := sub.GetSuppressedRoles(); len(roles) > 0 {
		l.alloc.Suppress(id, roles)
	}
	l.dirty.markFramework(fw.id)
	l.frameworkChanged(fw, added)
	sink.Send(&scheduler.Event{
		Type: scheduler.Event_SUBSCRIBED.Enum(),
		Subscribed: &scheduler.Event_Subscribed{
			FrameworkId:              frameworkIDpb(id),
			HeartbeatIntervalSeconds: proto.Float64(l.cfg.FrameworkHeartbeatInterval.Seconds()),
			MasterInfo:               proto.Clone(l.info).(*mesos.MasterInfo),
		},
	})
	l.requestAllocation()
	return id
}

func errorEvent(msg string) *scheduler.Event {
	return &scheduler.Event{Type: scheduler.Event_ERROR.Enum(), Error: &scheduler.Event_Error{Message: proto.String(msg)}}
}

func (l *Ledger) completedFramework(id string) *framework {
	for _, fw := range l.completedFrameworks {
		if fw.id == id {
			return fw
		}
	}
	return nil
}

// FrameworkDisconnected handles the end of a framework's event stream. A stale
// stream (the framework already failed over to a new one) is ignored.
func (l *Ledger) FrameworkDisconnected(id, streamID string) {
	fw := l.frameworks[id]
	if fw == nil || !fw.connected || fw.streamID != streamID {
		return
	}
	now := l.now()
	fw.sink, fw.connected = nil, false
	fw.unregisteredTime = now
	fw.failoverDeadline = now.Add(failoverTimeout(fw.info))
	for _, o := range sortedValues(fw.offers) {
		l.removeOffer(o, 0, false)
	}
	l.alloc.DeactivateFramework(id)
	l.dirty.markFramework(fw.id)
	l.frameworkChanged(fw, false)
	l.note(zapcore.InfoLevel, "framework disconnected", zap.String("framework_id", id),
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
func (l *Ledger) checkFrameworks(now time.Time) {
	var expired []*framework
	for _, fw := range l.frameworks {
		if !fw.connected && !fw.failoverDeadline.IsZero() && !now.Before(fw.failoverDeadline) {
			expired = append(expired, fw)
		}
	}
	slices.SortFunc(expired, func(a, b *framework) int { return strings.Compare(a.id, b.id) })
	for _, fw := range expired {
		l.note(zapcore.InfoLevel, "framework failover timeout expired", zap.String("framework_id", fw.id))
		l.removeFramework(fw)
	}
}

// removeFramework tears a framework down: its offers are recovered, its tasks killed
// on their agents and its resources returned to the allocator.
func (l *Ledger) removeFramework(fw *framework) {
	now := l.now()
	if fw.sink != nil {
		fw.sink.Close()
		fw.sink, fw.connected = nil, false
	}
	for _, o := range sortedValues(fw.offers) {
		l.removeOffer(o, 0, false)
	}
	for _, a := range sortedValues(l.agents) {
		if a.hasFramework(fw.id) && a.sink != nil {
			a.send(shutdownFrameworkEvent(fw.id))
		}
		for execID := range a.executors[fw.id] {
			l.removeExecutor(a, fw.id, execID)
		}
	}
	for _, t := range sortedValues(fw.tasks) {
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
			l.taskUpdated(t)
		}
		l.removeTask(t)
	}
	clear(fw.unreachable)
	l.alloc.RemoveFramework(fw.id)
	delete(l.frameworks, fw.id)
	fw.unregisteredTime = now
	l.completedFrameworks = append(l.completedFrameworks, fw)
	if n := len(l.completedFrameworks) - l.cfg.MaxCompletedFrameworks; n > 0 {
		l.completedFrameworks = slices.Delete(l.completedFrameworks, 0, n)
	}
	l.dirty.markFramework(fw.id)
	l.frameworkRemoved(fw)
	l.requestAllocation()
	l.note(zapcore.InfoLevel, "framework removed", zap.String("framework_id", fw.id))
}

func shutdownFrameworkEvent(fwID string) proto.Message {
	return agentShutdownFramework(fwID)
}

// recoverFramework adds a framework this master knows only from the registry or
// from an agent's report; it waits for its scheduler to subscribe until its
// failover timeout expires.
func (l *Ledger) recoverFramework(info *mesos.FrameworkInfo, deadline time.Time) *framework {
	id := info.GetId().GetValue()
	if fw := l.frameworks[id]; fw != nil {
		return fw
	}
	fw := newFramework(id, info)
	fw.recovered = true
	fw.failoverDeadline = deadline
	l.frameworks[id] = fw
	l.alloc.AddFramework(id, allocator.Framework{Roles: fw.roles, Used: l.frameworkUsed(id), Active: false, GPUResources: fw.gpuResources})
	l.frameworkChanged(fw, true)
	return fw
}
