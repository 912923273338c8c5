package ledger

import (
	"fmt"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/master/allocator"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	masterpb "github.com/agoracluster/agora/proto/mesos/v1/master"
)

// The operator API's view of the ledger (Mesos's v1 master API): the GET_STATE
// family of answers, built from a Snapshot, and the SUBSCRIBE events, which the
// ledger records while someone watches (WatchOperator) and hands out with its
// other effects (Effects.OperatorEvents), in the order they happened.

// WatchOperator turns the recording of operator events on or off; the owner turns
// it on while the operator API has subscribers, so that a master nobody watches
// builds no events.
func (l *Ledger) WatchOperator(on bool) {
	l.watched = on
	if !on {
		l.opEvents = nil
	}
}

func (l *Ledger) operatorEvent(ev *masterpb.Event) {
	if l.watched {
		l.opEvents = append(l.opEvents, ev)
	}
}

// taskAdded records TASK_ADDED for a task the master just learned of.
func (l *Ledger) taskAdded(t *task) {
	if !l.watched {
		return
	}
	l.operatorEvent(&masterpb.Event{
		Type:      masterpb.Event_TASK_ADDED.Enum(),
		TaskAdded: &masterpb.Event_TaskAdded{Task: proto.Clone(t.pb).(*mesos.Task)},
	})
}

// taskUpdated records TASK_UPDATED after a task's status changed: the latest
// status and the task's resulting state.
func (l *Ledger) taskUpdated(t *task) {
	if !l.watched {
		return
	}
	sts := t.pb.GetStatuses()
	if len(sts) == 0 {
		return
	}
	l.operatorEvent(&masterpb.Event{
		Type: masterpb.Event_TASK_UPDATED.Enum(),
		TaskUpdated: &masterpb.Event_TaskUpdated{
			FrameworkId: frameworkIDpb(t.frameworkID),
			Status:      proto.Clone(sts[len(sts)-1]).(*mesos.TaskStatus),
			State:       t.state().Enum(),
		},
	})
}

// agentAdded records AGENT_ADDED for an agent that (re-)registered, at position at of
// the recorded events: ahead of the events of the tasks it reported, so that a
// subscriber knows the agent before its tasks.
func (l *Ledger) agentAdded(a *agent, at int) {
	if !l.watched {
		return
	}
	ev := &masterpb.Event{
		Type:       masterpb.Event_AGENT_ADDED.Enum(),
		AgentAdded: &masterpb.Event_AgentAdded{Agent: AgentProto(agentView(a))},
	}
	l.opEvents = slices.Insert(l.opEvents, min(at, len(l.opEvents)), ev)
}

// agentRemoved records AGENT_REMOVED for an agent marked unreachable or removed.
func (l *Ledger) agentRemoved(id string) {
	l.operatorEvent(&masterpb.Event{
		Type:         masterpb.Event_AGENT_REMOVED.Enum(),
		AgentRemoved: &masterpb.Event_AgentRemoved{AgentId: agentIDpb(id)},
	})
}

// frameworkAdded records FRAMEWORK_ADDED, or FRAMEWORK_UPDATED when added is false.
func (l *Ledger) frameworkChanged(fw *framework, added bool) {
	if !l.watched {
		return
	}
	pb := FrameworkProto(frameworkView(l.agents, fw, true))
	if added {
		l.operatorEvent(&masterpb.Event{
			Type:           masterpb.Event_FRAMEWORK_ADDED.Enum(),
			FrameworkAdded: &masterpb.Event_FrameworkAdded{Framework: pb},
		})
		return
	}
	l.operatorEvent(&masterpb.Event{
		Type:             masterpb.Event_FRAMEWORK_UPDATED.Enum(),
		FrameworkUpdated: &masterpb.Event_FrameworkUpdated{Framework: pb},
	})
}

// frameworkRemoved records FRAMEWORK_REMOVED.
func (l *Ledger) frameworkRemoved(fw *framework) {
	l.operatorEvent(&masterpb.Event{
		Type:             masterpb.Event_FRAMEWORK_REMOVED.Enum(),
		FrameworkRemoved: &masterpb.Event_FrameworkRemoved{FrameworkInfo: proto.Clone(fw.info).(*mesos.FrameworkInfo)},
	})
}

// OperatorSubscribed is the SUBSCRIBED event of the operator API: the whole
// state as GET_STATE answers it. Read it on the ledger's goroutine.
func (l *Ledger) OperatorSubscribed(heartbeat time.Duration) *masterpb.Event {
	return &masterpb.Event{
		Type: masterpb.Event_SUBSCRIBED.Enum(),
		Subscribed: &masterpb.Event_Subscribed{
			GetState:                 GetState(l.Snapshot()),
			HeartbeatIntervalSeconds: proto.Float64(heartbeat.Seconds()),
		},
	}
}

func timeInfo(t time.Time) *mesos.TimeInfo {
	if t.IsZero() {
		return nil
	}
	return &mesos.TimeInfo{Nanoseconds: proto.Int64(t.UnixNano())}
}

// AgentPID is the libprocess pid Mesos shows for an agent.
func AgentPID(info *mesos.AgentInfo) string {
	return fmt.Sprintf("slave(1)@%s:%d", info.GetHostname(), info.GetPort())
}

// AgentProto is an agent as GET_AGENTS lists it.
func AgentProto(a AgentView) *masterpb.Response_GetAgents_Agent {
	return &masterpb.Response_GetAgents_Agent{
		AgentInfo:          proto.Clone(a.Info).(*mesos.AgentInfo),
		Active:             proto.Bool(a.State == "active" && !a.Deactivated),
		Version:            proto.String(a.Version),
		Pid:                proto.String(AgentPID(a.Info)),
		RegisteredTime:     timeInfo(a.RegisteredTime),
		ReregisteredTime:   timeInfo(a.ReregisteredTime),
		TotalResources:     a.Total.ToProto(),
		AllocatedResources: a.Used.ToProto(),
		OfferedResources:   a.Offered.ToProto(),
		Capabilities: []*mesos.AgentInfo_Capability{
			{Type: mesos.AgentInfo_Capability_MULTI_ROLE.Enum()},
			{Type: mesos.AgentInfo_Capability_HIERARCHICAL_ROLE.Enum()},
		},
		Deactivated:             proto.Bool(a.Deactivated),
		DrainInfo:               a.Drain,
		EstimatedDrainStartTime: timeInfo(a.DrainStart),
	}
}

// FrameworkProto is a framework as GET_FRAMEWORKS lists it.
func FrameworkProto(fw FrameworkView) *masterpb.Response_GetFrameworks_Framework {
	pb := &masterpb.Response_GetFrameworks_Framework{
		FrameworkInfo:      proto.Clone(fw.Info).(*mesos.FrameworkInfo),
		Active:             proto.Bool(fw.Active),
		Connected:          proto.Bool(fw.Connected),
		Recovered:          proto.Bool(fw.Recovered),
		RegisteredTime:     timeInfo(fw.RegisteredTime),
		ReregisteredTime:   timeInfo(fw.ReregisteredTime),
		UnregisteredTime:   timeInfo(fw.UnregisteredTime),
		AllocatedResources: fw.Used.ToProto(),
		OfferedResources:   fw.Offered.ToProto(),
	}
	for _, o := range fw.Offers {
		if o.Offer != nil {
			pb.Offers = append(pb.Offers, o.Offer)
		}
	}
	return pb
}

// GetAgents answers GET_AGENTS: registered agents (active or disconnected), and
// the agents known from the registry that have not re-registered yet.
func GetAgents(snap *Snapshot) *masterpb.Response_GetAgents {
	out := &masterpb.Response_GetAgents{}
	for _, a := range snap.Agents {
		switch a.State {
		case "unreachable":
		case "recovered":
			out.RecoveredAgents = append(out.RecoveredAgents, proto.Clone(a.Info).(*mesos.AgentInfo))
		default:
			out.Agents = append(out.Agents, AgentProto(a))
		}
	}
	return out
}

// GetFrameworks answers GET_FRAMEWORKS.
func GetFrameworks(snap *Snapshot) *masterpb.Response_GetFrameworks {
	out := &masterpb.Response_GetFrameworks{}
	for _, fw := range snap.Frameworks {
		out.Frameworks = append(out.Frameworks, FrameworkProto(fw))
	}
	for _, fw := range snap.CompletedFrameworks {
		out.CompletedFrameworks = append(out.CompletedFrameworks, FrameworkProto(fw))
	}
	return out
}

// GetExecutors answers GET_EXECUTORS: the executors other than the command
// executors the agents run for plain tasks.
func GetExecutors(snap *Snapshot) *masterpb.Response_GetExecutors {
	out := &masterpb.Response_GetExecutors{}
	for _, fw := range snap.Frameworks {
		for _, e := range fw.Executors {
			if e.Info == nil {
				continue
			}
			out.Executors = append(out.Executors, &masterpb.Response_GetExecutors_Executor{
				ExecutorInfo: proto.Clone(e.Info).(*mesos.ExecutorInfo),
				AgentId:      agentIDpb(e.AgentID),
			})
		}
	}
	return out
}

// GetTasks answers GET_TASKS: the tasks the master knows, by framework, then
// id; unreachable ones; and the completed ones it keeps.
func GetTasks(snap *Snapshot) *masterpb.Response_GetTasks {
	out := &masterpb.Response_GetTasks{}
	add := func(to *[]*mesos.Task, ts []TaskView) {
		for _, t := range ts {
			*to = append(*to, proto.Clone(t.Task).(*mesos.Task))
		}
	}
	for _, fw := range snap.Frameworks {
		add(&out.Tasks, fw.Tasks)
		add(&out.UnreachableTasks, fw.UnreachableTasks)
		add(&out.CompletedTasks, fw.CompletedTasks)
	}
	for _, fw := range snap.CompletedFrameworks {
		add(&out.CompletedTasks, fw.Tasks)
		add(&out.CompletedTasks, fw.CompletedTasks)
	}
	return out
}

// GetState answers GET_STATE: tasks, executors, frameworks and agents at once.
func GetState(snap *Snapshot) *masterpb.Response_GetState {
	return &masterpb.Response_GetState{
		GetTasks:      GetTasks(snap),
		GetExecutors:  GetExecutors(snap),
		GetFrameworks: GetFrameworks(snap),
		GetAgents:     GetAgents(snap),
	}
}

// Roles returns the allocator's roles: those with subscribed frameworks, a
// weight or a quota.
func (l *Ledger) Roles() []allocator.RoleState { return l.alloc.Snapshot().Roles }

// Weights returns the weights set by configuration or by operators.
func (l *Ledger) Weights() map[string]float64 { return l.alloc.Weights() }

// Quotas returns the quotas set.
func (l *Ledger) Quotas() map[string]allocator.Quota { return l.alloc.Quotas() }
