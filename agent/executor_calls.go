package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/executorapi"
	"github.com/agoracluster/agora/agent/recovery"
	"github.com/agoracluster/agora/agent/workload"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	executorpb "github.com/agoracluster/agora/proto/mesos/v1/executor"
)

// The agent's side of the executor API (agent/executorapi): the calls, carried out on the
// loop.

// executorCalls is the executor API's Backend.
type executorCalls struct{ a *Agent }

var _ executorapi.Backend = executorCalls{}

// errShuttingDown answers executor calls once the agent stops.
var errShuttingDown = &executorapi.Error{Code: http.StatusServiceUnavailable, Msg: "Agent is shutting down"}

// onLoop runs fn on the loop and returns its error, or the loop's: a stopped agent answers
// 503.
func (e executorCalls) onLoop(ctx context.Context, fn func() error) error {
	var callErr error
	err := e.a.query(ctx, func() { callErr = fn() })
	if errors.Is(err, errStopped) {
		return errShuttingDown
	}
	if err != nil {
		return err
	}
	return callErr
}

// Subscribe implements executorapi.Backend.
func (e executorCalls) Subscribe(ctx context.Context, c *executorpb.Call, conn *executorapi.Conn) error {
	return e.onLoop(ctx, func() error { return e.subscribe(c, conn) })
}

// Disconnected implements executorapi.Backend.
func (e executorCalls) Disconnected(c *executorpb.Call, conn *executorapi.Conn) {
	fid, eid := c.GetFrameworkId().GetValue(), c.GetExecutorId().GetValue()
	e.a.send(func() { e.disconnected(fid, eid, conn) })
}

// Update implements executorapi.Backend.
func (e executorCalls) Update(ctx context.Context, c *executorpb.Call) error {
	return e.onLoop(ctx, func() error { return e.update(c) })
}

// Message implements executorapi.Backend.
func (e executorCalls) Message(ctx context.Context, c *executorpb.Call) error {
	return e.onLoop(ctx, func() error { return e.message(c) })
}

// Heartbeat implements executorapi.Backend.
func (e executorCalls) Heartbeat(ctx context.Context, c *executorpb.Call) error {
	return e.onLoop(ctx, func() error { return e.known(c) })
}

// known checks that the call comes from an executor this agent runs. Loop only.
func (e executorCalls) known(c *executorpb.Call) error {
	_, err := e.callExecutor(c)
	return err
}

func (e executorCalls) callExecutor(c *executorpb.Call) (*workload.Executor, error) {
	a := e.a
	fid, eid := c.GetFrameworkId().GetValue(), c.GetExecutorId().GetValue()
	if a.st.Frameworks[fid] == nil {
		return nil, executorapi.BadRequest("Framework %q cannot be found on this agent", fid)
	}
	ex := a.st.ExecutorOf(fid, eid)
	if ex == nil || ex.Gone() {
		return nil, executorapi.BadRequest("Executor %q of framework %q cannot be found on this agent", eid, fid)
	}
	return ex, nil
}

// update handles UPDATE. Loop only.
func (e executorCalls) update(c *executorpb.Call) error {
	ex, err := e.callExecutor(c)
	if err != nil {
		return err
	}
	e.updateFromExecutor(ex, c.GetUpdate().GetStatus())
	return nil
}

func (e executorCalls) updateFromExecutor(ex *workload.Executor, status *mesos.TaskStatus) {
	a := e.a
	st := proto.Clone(status).(*mesos.TaskStatus)
	st.Source = mesos.TaskStatus_SOURCE_EXECUTOR.Enum()
	st.AgentId = &mesos.AgentID{Value: proto.String(a.st.AgentID)}
	st.ExecutorId = &mesos.ExecutorID{Value: proto.String(ex.ID)}
	if st.Timestamp == nil {
		st.Timestamp = proto.Float64(float64(a.clock.Now().UnixNano()) / 1e9)
	}
	if st.GetState() == mesos.TaskState_TASK_FAILED {
		// A task the OOM killer killed: the executor only saw a signal.
		if msg, ok := a.iso.MemoryLimitation(ex.ContainerID); ok {
			st.Reason = mesos.TaskStatus_REASON_CONTAINER_LIMITATION_MEMORY.Enum()
			st.Message = proto.String(msg)
			defer a.sup.Limit(ex, msg)
		}
	}
	tid := st.GetTaskId().GetValue()
	_, tracked := ex.Tasks[tid]
	if !tracked {
		a.log.Warn("status update for a task this executor does not run", zap.String("framework_id", ex.Framework.ID),
			zap.String("executor_id", ex.ID), zap.String("task_id", tid))
	}
	_ = a.statusUpdate(ex.Framework.ID, st) // a rejected update is logged and acknowledged like Mesos does
	if !tracked && ex.Conn != nil {
		ex.Conn.Push(&executorpb.Event{Type: executorpb.Event_ACKNOWLEDGED.Enum(),
			Acknowledged: &executorpb.Event_Acknowledged{TaskId: st.GetTaskId(), Uuid: st.GetUuid()}})
	}
}

// message handles MESSAGE: executor -> scheduler data. Loop only.
func (e executorCalls) message(c *executorpb.Call) error {
	a := e.a
	ex, err := e.callExecutor(c)
	if err != nil {
		return err
	}
	a.master.Enqueue(&agorapb.AgentCall{
		Type: agorapb.AgentCall_FRAMEWORK_MESSAGE.Enum(),
		FrameworkMessage: &agorapb.AgentCall_FrameworkMessage{
			FrameworkId: c.GetFrameworkId(),
			ExecutorId:  &mesos.ExecutorID{Value: proto.String(ex.ID)},
			Data:        c.GetMessage().GetData(),
		},
	})
	return nil
}

// subscribe attaches conn to the executor and queues SUBSCRIBED, the unacknowledged
// updates' acknowledgements and the queued launches. Loop only.
func (e executorCalls) subscribe(c *executorpb.Call, conn *executorapi.Conn) error {
	a := e.a
	ex, err := e.callExecutor(c)
	if err != nil {
		return err
	}
	if ex.State == workload.ExecutorTerminating {
		return &executorapi.Error{Code: http.StatusForbidden, Msg: fmt.Sprintf("Executor %q is terminating", ex.ID)}
	}
	if a.st.stopping {
		return errShuttingDown
	}
	if ex.Conn != nil {
		ex.Conn.Close()
	}
	ex.Conn = conn
	ex.State = workload.ExecutorRunning
	if ex.Starting != nil { // a recovered executor has none
		ex.Starting.Release()
	}
	if ex.RegTimer != nil {
		ex.RegTimer.Stop()
		ex.RegTimer = nil
	}
	a.log.Debug("executor subscribed", zap.String("framework_id", ex.Framework.ID), zap.String("executor_id", ex.ID))
	conn.Push(&executorpb.Event{
		Type: executorpb.Event_SUBSCRIBED.Enum(),
		Subscribed: &executorpb.Event_Subscribed{
			ExecutorInfo:  ex.Info,
			FrameworkInfo: ex.Framework.Info,
			AgentInfo:     a.currentAgentInfo(),
			ContainerId:   &mesos.ContainerID{Value: proto.String(ex.ContainerID)},
		},
	})
	sub := c.GetSubscribe()
	known := make(map[string]bool)
	for _, ti := range sub.GetUnacknowledgedTasks() {
		known[ti.GetTaskId().GetValue()] = true
		if t := ex.Tasks[ti.GetTaskId().GetValue()]; t != nil {
			t.Launched = true // the executor has it already
		}
	}
	for _, u := range sub.GetUnacknowledgedUpdates() {
		if _, ok := ex.Tasks[u.GetStatus().GetTaskId().GetValue()]; !ok {
			// Already completed here: acknowledge so the executor stops resending it.
			conn.Push(&executorpb.Event{Type: executorpb.Event_ACKNOWLEDGED.Enum(),
				Acknowledged: &executorpb.Event_Acknowledged{TaskId: u.GetStatus().GetTaskId(), Uuid: u.GetStatus().GetUuid()}})
			continue
		}
		e.updateFromExecutor(ex, u.GetStatus())
	}
	if ex.Recovered {
		ex.Recovered = false
		tasks, state := recovery.Undelivered(ex, known)
		for _, t := range tasks {
			a.agentUpdate(t, state, mesos.TaskStatus_REASON_AGENT_RESTARTED, "Task launched during agent restart")
		}
	}
	ex.FlushQueue()
	for tid, policy := range ex.PendingKills {
		conn.Push(killEvent(tid, policy))
		delete(ex.PendingKills, tid)
	}
	if len(ex.Tasks) == 0 {
		a.sup.Shutdown(ex)
	}
	return nil
}

// disconnected detaches a closed stream. Loop only.
func (e executorCalls) disconnected(fid, eid string, conn *executorapi.Conn) {
	a := e.a
	ex := a.st.ExecutorOf(fid, eid)
	if ex == nil || ex.Conn != conn {
		return
	}
	ex.Conn = nil
	a.log.Info("executor disconnected", zap.String("framework_id", fid), zap.String("executor_id", eid))
}
