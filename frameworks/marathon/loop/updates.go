package loop

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/events"
	"github.com/agoracluster/agora/frameworks/marathon/health"
	"github.com/agoracluster/agora/frameworks/marathon/launchqueue"
	"github.com/agoracluster/agora/frameworks/marathon/pod"
	"github.com/agoracluster/agora/frameworks/marathon/tasks"
	"github.com/agoracluster/agora/frameworks/sdk"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// handleUpdate records a task status.
func (l *Loop) handleUpdate(st *mesos.TaskStatus) {
	now := l.now()
	id := st.GetTaskId().GetValue()
	t := l.s.tasks.Get(id)
	if t == nil {
		if inst, c := l.podContainer(id); c != nil {
			c.Record(st, now)
			t, st, id = inst, inst.Pod.Aggregate(inst.ID, st), inst.ID
		}
	}
	state := st.GetState()
	if t == nil {
		if live(state) {
			l.log.Info("killing unknown task", zap.String("task_id", id))
			taskID, agentID := sdk.TaskID(id), st.GetAgentId()
			l.out.push(func(ctx context.Context, s *sdk.Scheduler) error { return s.Kill(ctx, taskID, agentID) })
		}
		return
	}
	routine := routineUpdate(t, st)
	if !routine {
		l.flushReconcile() // decide on the updates before this one first, as they came
	}
	if st.GetAgentId().GetValue() != "" {
		t.AgentID = st.GetAgentId().GetValue()
	}
	if st.Healthy != nil {
		a := l.s.apps[t.AppID]
		was := t.HealthyFor(a)
		if t.Record(st.GetHealthy(), st.GetMessage(), now) {
			// The instance's health is that of all its checks: with framework-side checks
			// beside the executor's, only a change of the whole is an event.
			switch healthy := t.HealthyFor(a); {
			case a == nil || !health.HasFrameworkChecks(a.HealthChecks):
				l.publishAll(healthEvents(t, st.GetHealthy(), now))
			case healthy != was:
				l.publishAll(healthEvents(t, healthy, now))
			}
		}
	}
	t.RecordIPs(st)
	l.publishAll(statusEvents(t, state.String(), st.GetMessage(), now))
	switch {
	case sdk.IsTerminal(state) || vanished(state):
		if t.Pod != nil && !t.Killing {
			l.killContainers(t) // the group ends with any of its tasks (killed ones are being killed)
		}
		l.taskEnded(t, st, now)
		l.reconcileAfter(routine)
		return
	case state == mesos.TaskState_TASK_RUNNING:
		t.State = tasks.StateRunning
		t.UnreachableSince = time.Time{}
		if t.StartedAt.IsZero() {
			t.StartedAt = statusTime(st, now)
		}
	case state == mesos.TaskState_TASK_KILLING:
		t.State = tasks.StateKilling
	case state == mesos.TaskState_TASK_UNREACHABLE:
		t.State = tasks.StateUnreachable
		if t.UnreachableSince.IsZero() {
			t.UnreachableSince = now
		}
	case state == mesos.TaskState_TASK_STARTING:
		t.State = tasks.StateStarting
	default:
		t.State = tasks.StateStaging
	}
	l.persistTask(t)
	l.reconcileAfter(routine)
}

// podContainer finds the pod instance whose container task id is: nil, nil when id is
// no container of a known instance.
func (l *Loop) podContainer(id string) (*tasks.Task, *tasks.ContainerState) {
	instanceID, name, ok := pod.InstanceOf(id)
	if !ok {
		return nil, nil
	}
	inst := l.s.tasks.Get(instanceID)
	if inst == nil || inst.Pod == nil {
		return nil, nil
	}
	if c := inst.Pod.Container(name); c != nil {
		return inst, c
	}
	return nil, nil
}

// vanished reports whether state says that the task is gone from the cluster, whatever it
// was doing: the master does not know it (TASK_UNKNOWN: a fresh master, or an agent that
// was removed), its agent is gone for good (TASK_GONE, TASK_GONE_BY_OPERATOR), or it never
// got to its agent (TASK_DROPPED). Marathon expunges such an instance (its conditions
// Unknown, Gone and Dropped are terminal) and replaces it when the app still wants it;
// a kill of it can never be answered otherwise, so waiting for one would block the app.
func vanished(state mesos.TaskState) bool {
	switch state {
	case mesos.TaskState_TASK_UNKNOWN, mesos.TaskState_TASK_GONE, mesos.TaskState_TASK_GONE_BY_OPERATOR, mesos.TaskState_TASK_DROPPED:
		return true
	}
	return false
}

// live reports whether state says that a task runs (or is about to) on its agent, so that
// a task the framework does not know is worth killing. Terminal, vanished and unreachable
// tasks are not: killing them would only be answered by the same state again.
func live(state mesos.TaskState) bool {
	return !sdk.IsTerminal(state) && !vanished(state) && state != mesos.TaskState_TASK_UNREACHABLE
}

// routineUpdate reports whether st only moves t along the way the framework expects: a
// task coming up (without a failing health check), or a task it is killing ending. Such
// updates only ever move a deployment forward (more tasks serving, fewer being killed),
// so deciding on several of them at once decides what deciding on each in turn would; a
// burst of them shares one reconciliation. Any other update (a failure, a loss, an
// unreachable agent, a failing health check) is decided on at once, after the routine
// updates before it.
func routineUpdate(t *tasks.Task, st *mesos.TaskStatus) bool {
	switch st.GetState() {
	case mesos.TaskState_TASK_STAGING, mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_RUNNING:
		return st.Healthy == nil || st.GetHealthy()
	case mesos.TaskState_TASK_KILLING, mesos.TaskState_TASK_KILLED:
		return t.Killing
	}
	return false
}

// reconcileAfter reconciles now, or soon after a routine update.
func (l *Loop) reconcileAfter(routine bool) {
	if routine {
		l.reconcileSoon()
		return
	}
	l.reconcile()
}

func statusTime(st *mesos.TaskStatus, now time.Time) time.Time {
	if ts := st.GetTimestamp(); ts > 0 {
		return time.Unix(0, int64(ts*1e9)).UTC()
	}
	return now
}

// taskEnded forgets a terminal task; failures (anything we did not kill) delay the next
// launch of its version and are kept as the app's lastTaskFailure.
func (l *Loop) taskEnded(t *tasks.Task, st *mesos.TaskStatus, now time.Time) {
	state := st.GetState()
	l.dropTask(t)
	healthKill := state == mesos.TaskState_TASK_KILLED && !t.Killing
	failed := !t.Killing && (state != mesos.TaskState_TASK_KILLED || healthKill)
	l.log.Info("task ended", zap.String("task_id", t.ID), zap.String("app_id", t.AppID),
		zap.String("state", state.String()), zap.String("message", st.GetMessage()), zap.Bool("failure", failed))
	if !failed {
		return
	}
	if healthKill {
		l.publish(events.NewUnhealthyInstanceKill(t.AppID, t.ID, t.ID, t.AppVersion, "health check failed", t.Host, t.AgentID, now))
	}
	a := l.s.apps[t.AppID]
	if a == nil {
		return
	}
	l.s.backoff.Failed(launchqueue.Key{AppID: t.AppID, Version: t.ConfigVersion}, launchqueue.PolicyOf(a), now)
	l.s.failures[t.AppID] = &TaskFailure{
		AppID: t.AppID, Host: t.Host, Message: st.GetMessage(), State: state.String(), TaskID: t.ID,
		Timestamp: app.FormatTime(now), Version: t.AppVersion, SlaveID: t.AgentID,
	}
}

func (l *Loop) publishAll(evs []events.Event) {
	for _, ev := range evs {
		l.publish(ev)
	}
}

// statusEvents are the events of a status update of t.
func statusEvents(t *tasks.Task, state, message string, now time.Time) []events.Event {
	ports := make([]int, len(t.Ports))
	for i, p := range t.Ports {
		ports[i] = int(p)
	}
	ips := make([]events.IPAddress, 0, len(t.IPAddresses))
	for _, ip := range t.IPAddresses {
		ips = append(ips, events.IPAddress{IPAddress: ip.IPAddress, Protocol: ip.Protocol})
	}
	return []events.Event{
		events.NewStatusUpdate(t.AgentID, t.ID, state, message, t.AppID, t.Host, ips, ports, t.AppVersion, now),
		events.NewInstanceChanged(t.ID, events.Condition(state), t.AppID, t.AgentID, t.Host, t.AppVersion, now),
	}
}

// healthEvents are the events of a change of t's health.
func healthEvents(t *tasks.Task, healthy bool, now time.Time) []events.Event {
	return []events.Event{
		events.NewHealthStatusChanged(t.AppID, t.ID, t.AppVersion, healthy, now),
		events.NewInstanceHealthChanged(t.ID, t.AppID, t.AppVersion, &healthy, now),
	}
}
