package ledger

import (
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/protobuf/proto"
	"slices"

	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
)

// agentCall is one call of a subscribed agent: the handlers of AgentCall act on
// the ledger for the agent that called.
type agentCall struct {
	l *Ledger
	a *agent
}

// AgentCall handles an agent call other than SUBSCRIBE, validated with
// ValidateAgentCall, on the stream streamID. A rejected call returns an error
// that matches ErrInvalid.
func (l *Ledger) AgentCall(call *agorapb.AgentCall, streamID string) error {
	id := call.GetAgentId().GetValue()
	a := l.agents[id]
	if a == nil {
		return badRequest("Agent %s is not registered", id)
	}
	if a.state != agentActive {
		return badRequest("Agent %s is not subscribed (%s)", id, a.state)
	}
	if streamID != a.streamID {
		return badRequest("The stream ID '%s' included in this request didn't match the stream ID currently associated with agent ID %s", streamID, id)
	}
	a.lastSeen = l.now()
	c := agentCall{l: l, a: a}
	switch call.GetType() {
	case agorapb.AgentCall_HEARTBEAT:
	case agorapb.AgentCall_STATUS_UPDATE:
		c.statusUpdate(call.GetStatusUpdate().GetUpdate())
	case agorapb.AgentCall_UPDATE_RESOURCES:
		return c.updateResources(call.GetUpdateResources())
	case agorapb.AgentCall_EXECUTOR_EXITED:
		c.executorExited(call.GetExecutorExited())
	case agorapb.AgentCall_FRAMEWORK_MESSAGE:
		c.frameworkMessage(call.GetFrameworkMessage())
	default:
		return badRequest("unexpected agent call type %s", call.GetType())
	}
	return nil
}

// statusUpdate handles a STATUS_UPDATE from an agent: the task's state is updated,
// a terminal task's resources are recovered, and the update is forwarded to the
// framework, which acknowledges it through the master.
func (c agentCall) statusUpdate(rec *agorapb.StatusUpdateRecord) {
	c.l.stats.StatusUpdates++
	st := proto.Clone(rec.GetStatus()).(*mesos.TaskStatus)
	fwID, taskID := rec.GetFrameworkId().GetValue(), st.GetTaskId().GetValue()
	if st.AgentId == nil {
		st.AgentId = agentIDpb(c.a.id)
	}
	if st.Timestamp == nil {
		st.Timestamp = proto.Float64(unixSeconds(c.l.now()))
	}
	fw := c.l.frameworks[fwID]
	if fw == nil {
		// Nobody will ever acknowledge it: acknowledge on the framework's behalf.
		c.l.note(zapcore.InfoLevel, "status update for unknown framework; acknowledging it",
			zap.String("framework_id", fwID), zap.String("task_id", taskID), zap.String("agent_id", c.a.id))
		if len(st.GetUuid()) > 0 {
			c.a.send(ackEvent(fwID, taskID, st.GetUuid()))
		}
		if c.l.completedFramework(fwID) != nil {
			c.a.send(agentShutdownFramework(fwID))
		}
		return
	}
	latest := st.GetState()
	if rec.LatestState != nil {
		latest = rec.GetLatestState()
	}
	t := c.a.tasks[taskKey(fwID, taskID)]
	if t != nil {
		if t.state().IsTerminal() && !latest.IsTerminal() {
			// Out of order: a terminal task stays terminal, so its resources, already
			// recovered, are never counted twice (as Mesos does, MESOS-1799).
			latest = t.state()
		}
		t.setStatus(st, latest)
		c.l.taskUpdated(t)
		if latest.IsTerminal() && !t.recovered {
			t.recovered = true
			c.l.alloc.Recover(fwID, c.a.id, t.res, 0, c.l.now())
			c.l.requestAllocation()
		}
	}
	fw.send(updateEvent(st))
	if t != nil && len(st.GetUuid()) == 0 && st.GetState().IsTerminal() {
		c.l.removeTask(t)
	}
}

func ackEvent(fwID, taskID string, uuid []byte) *agorapb.AgentEvent {
	return &agorapb.AgentEvent{
		Type: agorapb.AgentEvent_ACKNOWLEDGE.Enum(),
		Acknowledge: &agorapb.AgentEvent_Acknowledge{
			FrameworkId: frameworkIDpb(fwID), TaskId: taskIDpb(taskID), Uuid: slices.Clone(uuid),
		},
	}
}

// updateResources replaces the agent's total resources; its offers are rescinded.
func (c agentCall) updateResources(u *agorapb.AgentCall_UpdateResources) error {
	total, err := parseResources(u.GetTotal())
	if err != nil {
		return badRequest("update_resources.total: %v", err)
	}
	for _, o := range sortedValues(c.a.offers) {
		c.l.removeOffer(o, 0, true)
	}
	c.a.total = total
	c.a.info.Resources = total.ToProto()
	c.l.alloc.UpdateAgentTotal(c.a.id, total)
	c.l.dirty.markAgent(c.a.id)
	c.l.requestAllocation()
	return nil
}

// executorExited forgets an executor that ended; as in Mesos, only custom
// executors' exits are reported to the scheduler.
func (c agentCall) executorExited(ee *agorapb.AgentCall_ExecutorExited) {
	fwID, execID := ee.GetFrameworkId().GetValue(), ee.GetExecutorId().GetValue()
	if fw := c.l.frameworks[fwID]; c.l.removeExecutor(c.a, fwID, execID) && fw != nil {
		fw.send(&scheduler.Event{Type: scheduler.Event_FAILURE.Enum(), Failure: &scheduler.Event_Failure{
			AgentId: agentIDpb(c.a.id), ExecutorId: executorIDpb(execID), Status: ee.Status,
		}})
	}
}

// frameworkMessage relays an executor's message to its scheduler.
func (c agentCall) frameworkMessage(m *agorapb.AgentCall_FrameworkMessage) {
	if fw := c.l.frameworks[m.GetFrameworkId().GetValue()]; fw != nil {
		fw.send(&scheduler.Event{Type: scheduler.Event_MESSAGE.Enum(), Message: &scheduler.Event_Message{
			AgentId: agentIDpb(c.a.id), ExecutorId: m.ExecutorId, Data: m.Data,
		}})
	}
}
