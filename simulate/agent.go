package simulate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/recordio"
)

// maxEventSize bounds one event from the master.
const maxEventSize = 16 << 20

// agent is one simulated agent. Its event stream runs on its own goroutine; calls go
// through the shared queue and timers through the shared timer goroutine.
type agent struct {
	sim  *Sim
	idx  int
	info *mesos.AgentInfo // without id

	mu             sync.Mutex
	id             string
	streamID       string // "" while not subscribed
	url            string // the master's agent API the current session is with
	master         *url.URL
	heartbeatEvery time.Duration
	stopped        bool // the master sent SHUTDOWN
	frameworks     map[string]*mesos.FrameworkInfo
	tasks          map[taskKey]*simTask
}

type taskKey struct{ framework, task string }

// simTask is a task the agent "runs", with its status update stream: pending[0] is in
// flight until acknowledged, then the next is sent.
type simTask struct {
	key        taskKey
	info       *mesos.TaskInfo // nil for a task the agent never knew (TASK_LOST on kill)
	executor   *mesos.ExecutorInfo
	executorID string
	state      mesos.TaskState // latest state generated
	pending    []*mesos.TaskStatus
	sends      int // how many times the head was sent
}

func newAgent(s *Sim, idx int, info *mesos.AgentInfo) *agent {
	return &agent{sim: s, idx: idx, info: info, frameworks: map[string]*mesos.FrameworkInfo{}, tasks: map[taskKey]*simTask{}}
}

// run keeps the agent subscribed until ctx is done or the master shuts it down.
func (a *agent) run(ctx context.Context) {
	for ctx.Err() == nil {
		err := a.subscribe(ctx)
		a.mu.Lock()
		stopped := a.stopped
		a.mu.Unlock()
		if ctx.Err() != nil || stopped {
			return
		}
		a.sim.log.Debug("agent stream ended; subscribing again", zap.Int("agent", a.idx), zap.Error(err))
		t := time.NewTimer(a.sim.cfg.ResubscribeBackoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// subscribe runs one subscription until the stream ends.
func (a *agent) subscribe(ctx context.Context) error {
	body, err := proto.Marshal(a.subscribeCall())
	if err != nil {
		return err
	}
	a.mu.Lock()
	previous := a.master
	a.mu.Unlock()
	master, err := a.sim.detector.Detect(ctx, previous)
	if err != nil {
		return fmt.Errorf("detect the master: %w", err)
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(sctx, http.MethodPost, master.String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", mediaProtobuf)
	req.Header.Set("Accept", mediaProtobuf)
	resp, err := a.sim.stream.Do(req) // a standby's 307 is followed to the leader
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	a.mu.Lock()
	a.master = resp.Request.URL
	a.url = resp.Request.URL.String()
	a.mu.Unlock()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("subscribe: %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	rd := recordio.NewReader(resp.Body, maxEventSize)
	first := true
	defer a.disconnected()
	for {
		rec, err := rd.ReadRecord()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("the master closed the stream")
			}
			return err
		}
		ev := &agorapb.AgentEvent{}
		if err := proto.Unmarshal(rec, ev); err != nil {
			return fmt.Errorf("decode event: %w", err)
		}
		if first {
			if ev.GetType() != agorapb.AgentEvent_SUBSCRIBED {
				return fmt.Errorf("first event is %s, want SUBSCRIBED", ev.GetType())
			}
			first = false
			a.subscribed(ev.GetSubscribed(), resp.Header.Get(streamIDHeader))
			continue
		}
		if ev.GetType() == agorapb.AgentEvent_ERROR {
			return fmt.Errorf("master error: %s", ev.GetError().GetMessage())
		}
		if !a.handle(ev) {
			return errors.New("shut down by the master")
		}
	}
}

// subscribeCall is SUBSCRIBE with everything the agent knows.
func (a *agent) subscribeCall() *agorapb.AgentCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	info := proto.Clone(a.info).(*mesos.AgentInfo)
	sub := &agorapb.AgentCall_Subscribe{AgentInfo: info, Version: proto.String("simagent")}
	call := &agorapb.AgentCall{Type: agorapb.AgentCall_SUBSCRIBE.Enum(), Subscribe: sub}
	if a.id == "" {
		return call
	}
	info.Id = &mesos.AgentID{Value: proto.String(a.id)}
	call.AgentId = info.Id
	fwIDs := make([]string, 0, len(a.frameworks))
	for id := range a.frameworks {
		fwIDs = append(fwIDs, id)
	}
	sort.Strings(fwIDs)
	for _, id := range fwIDs {
		sub.Frameworks = append(sub.Frameworks, a.frameworks[id])
	}
	execs := map[string]bool{}
	for _, t := range a.sortedTasks() {
		if t.info == nil {
			continue
		}
		sub.Tasks = append(sub.Tasks, &mesos.Task{
			Name:        t.info.Name,
			TaskId:      t.info.TaskId,
			FrameworkId: &mesos.FrameworkID{Value: proto.String(t.key.framework)},
			ExecutorId:  executorIDOf(t),
			AgentId:     info.Id,
			State:       t.state.Enum(),
			Resources:   t.info.GetResources(),
		})
		if t.executor != nil && !execs[t.key.framework+"/"+t.executorID] {
			execs[t.key.framework+"/"+t.executorID] = true
			sub.Executors = append(sub.Executors, t.executor)
		}
	}
	return call
}

func executorIDOf(t *simTask) *mesos.ExecutorID {
	if t.executor == nil {
		return nil
	}
	return &mesos.ExecutorID{Value: proto.String(t.executorID)}
}

func (a *agent) sortedTasks() []*simTask {
	out := make([]*simTask, 0, len(a.tasks))
	for _, t := range a.tasks {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].key.framework != out[j].key.framework {
			return out[i].key.framework < out[j].key.framework
		}
		return out[i].key.task < out[j].key.task
	})
	return out
}

// subscribed records a new session and resends every unacknowledged update.
func (a *agent) subscribed(sub *agorapb.AgentEvent_Subscribed, streamID string) {
	a.mu.Lock()
	a.id = sub.GetAgentId().GetValue()
	a.streamID = streamID
	a.heartbeatEvery = time.Duration(sub.GetHeartbeatIntervalSeconds() * float64(time.Second))
	for _, t := range a.sortedTasks() {
		if len(t.pending) > 0 {
			a.sendHead(t)
		}
	}
	a.mu.Unlock()
	a.sim.count(func() { a.sim.connected++ })
}

func (a *agent) disconnected() {
	a.mu.Lock()
	was := a.streamID != ""
	a.streamID = ""
	a.mu.Unlock()
	if was {
		a.sim.count(func() { a.sim.connected-- })
	}
}

func (a *agent) heartbeat() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.streamID == "" {
		return
	}
	a.sim.queue.Push(outCall{url: a.url, agentID: a.id, streamID: a.streamID, call: &agorapb.AgentCall{Type: agorapb.AgentCall_HEARTBEAT.Enum()}})
}

// handle applies one event; it returns false when the agent must stop.
func (a *agent) handle(ev *agorapb.AgentEvent) bool {
	switch ev.GetType() {
	case agorapb.AgentEvent_RUN_TASK:
		rt := ev.GetRunTask()
		a.launch(rt.GetFrameworkInfo(), rt.GetTask().GetExecutor(), rt.GetTask())
	case agorapb.AgentEvent_RUN_TASK_GROUP:
		rg := ev.GetRunTaskGroup()
		a.launch(rg.GetFrameworkInfo(), rg.GetExecutor(), rg.GetTaskGroup().GetTasks()...)
	case agorapb.AgentEvent_KILL_TASK:
		k := ev.GetKillTask()
		a.kill(k.GetFrameworkId().GetValue(), k.GetTaskId().GetValue())
	case agorapb.AgentEvent_ACKNOWLEDGE:
		ack := ev.GetAcknowledge()
		a.acknowledge(taskKey{ack.GetFrameworkId().GetValue(), ack.GetTaskId().GetValue()}, ack.GetUuid())
	case agorapb.AgentEvent_SHUTDOWN_FRAMEWORK:
		a.shutdown(ev.GetShutdownFramework().GetFrameworkId().GetValue(), "")
	case agorapb.AgentEvent_SHUTDOWN_EXECUTOR:
		se := ev.GetShutdownExecutor()
		a.shutdown(se.GetFrameworkId().GetValue(), se.GetExecutorId().GetValue())
	case agorapb.AgentEvent_SHUTDOWN:
		a.mu.Lock()
		a.stopped = true
		clear(a.tasks)
		a.mu.Unlock()
		return false
	case agorapb.AgentEvent_HEARTBEAT, agorapb.AgentEvent_FRAMEWORK_MESSAGE:
	}
	return true
}

// launch starts tasks: TASK_STARTING now, TASK_RUNNING after the running delay.
func (a *agent) launch(fw *mesos.FrameworkInfo, exec *mesos.ExecutorInfo, tasks ...*mesos.TaskInfo) {
	fwID := fw.GetId().GetValue()
	a.mu.Lock()
	a.frameworks[fwID] = fw
	var started []taskKey
	for _, ti := range tasks {
		key := taskKey{fwID, ti.GetTaskId().GetValue()}
		if a.tasks[key] != nil {
			continue // a duplicate RUN_TASK
		}
		t := &simTask{key: key, info: ti, executor: exec, executorID: ti.GetTaskId().GetValue(), state: mesos.TaskState_TASK_STAGING}
		if exec != nil {
			t.executorID = exec.GetExecutorId().GetValue()
		}
		a.tasks[key] = t
		a.update(t, mesos.TaskState_TASK_STARTING, "")
		started = append(started, key)
	}
	if d := a.sim.cfg.RunningDelay; d == 0 {
		for _, key := range started {
			a.running(key)
		}
	}
	a.mu.Unlock()
	a.sim.count(func() { a.sim.launched += len(started) })
	if d := a.sim.cfg.RunningDelay; d > 0 && len(started) > 0 {
		a.sim.timers.after(d, func() {
			a.mu.Lock()
			defer a.mu.Unlock()
			for _, key := range started {
				a.running(key)
			}
		})
	}
}

// running reports a starting task as running, and finishes it after Config.FinishDelay.
// Locked.
func (a *agent) running(key taskKey) {
	t := a.tasks[key]
	if t == nil || t.state != mesos.TaskState_TASK_STARTING {
		return // killed meanwhile
	}
	a.update(t, mesos.TaskState_TASK_RUNNING, "")
	if d := a.sim.cfg.FinishDelay; d > 0 {
		a.sim.timers.after(d, func() {
			a.mu.Lock()
			defer a.mu.Unlock()
			if t := a.tasks[key]; t != nil && t.state == mesos.TaskState_TASK_RUNNING {
				a.update(t, mesos.TaskState_TASK_FINISHED, "Command exited with status 0")
			}
		})
	}
}

func (a *agent) kill(fwID, taskID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	key := taskKey{fwID, taskID}
	t := a.tasks[key]
	if t == nil {
		if a.frameworks[fwID] == nil {
			return
		}
		// As a real agent does: the kill of an unknown task answers TASK_LOST.
		t = &simTask{key: key, state: mesos.TaskState_TASK_STAGING}
		a.tasks[key] = t
		a.update(t, mesos.TaskState_TASK_LOST, "Cannot find the task on the agent")
		return
	}
	if t.state.IsTerminal() {
		return
	}
	a.update(t, mesos.TaskState_TASK_KILLED, "Command terminated with signal Terminated")
}

// shutdown kills the framework's live tasks (only those of executorID when it is set), as a
// framework or executor shutdown does.
func (a *agent) shutdown(fwID, executorID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, t := range a.sortedTasks() {
		if t.key.framework == fwID && (executorID == "" || t.executorID == executorID) && !t.state.IsTerminal() {
			a.update(t, mesos.TaskState_TASK_KILLED, "Executor shut down")
		}
	}
}

// update generates a status update for t and sends it if nothing else is in flight. Locked.
func (a *agent) update(t *simTask, state mesos.TaskState, msg string) {
	id := uuid.New()
	st := &mesos.TaskStatus{
		TaskId:    &mesos.TaskID{Value: proto.String(t.key.task)},
		State:     state.Enum(),
		Source:    mesos.TaskStatus_SOURCE_EXECUTOR.Enum(),
		AgentId:   &mesos.AgentID{Value: proto.String(a.id)},
		Timestamp: proto.Float64(float64(time.Now().UnixNano()) / 1e9),
		Uuid:      id[:],
	}
	if t.info != nil {
		st.ExecutorId = &mesos.ExecutorID{Value: proto.String(t.executorID)}
	}
	if msg != "" {
		st.Message = proto.String(msg)
	}
	if state == mesos.TaskState_TASK_RUNNING && t.info.GetHealthCheck() != nil {
		st.Healthy = proto.Bool(!a.sim.cfg.Unhealthy)
	}
	t.state = state
	t.pending = append(t.pending, st)
	if len(t.pending) == 1 {
		a.sendHead(t)
	}
}

// sendHead posts t's oldest unacknowledged update and arms its retry. Locked.
func (a *agent) sendHead(t *simTask) {
	if a.streamID == "" {
		return // resent on the next subscription
	}
	head := t.pending[0]
	t.sends++
	call := &agorapb.AgentCall{
		Type: agorapb.AgentCall_STATUS_UPDATE.Enum(),
		StatusUpdate: &agorapb.AgentCall_StatusUpdate{Update: &agorapb.StatusUpdateRecord{
			FrameworkId: &mesos.FrameworkID{Value: proto.String(t.key.framework)},
			Status:      head,
			LatestState: t.state.Enum(),
		}},
	}
	a.sim.queue.Push(outCall{url: a.url, agentID: a.id, streamID: a.streamID, call: call})
	uid, sends := head.GetUuid(), t.sends
	a.sim.timers.after(a.sim.cfg.RetryInterval, func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		if cur := a.tasks[t.key]; cur == t && len(t.pending) > 0 && bytes.Equal(t.pending[0].GetUuid(), uid) && t.sends == sends {
			a.sendHead(t)
		}
	})
}

// acknowledge moves a task's update stream on; a task whose terminal update is
// acknowledged is forgotten.
func (a *agent) acknowledge(key taskKey, uid []byte) {
	a.mu.Lock()
	t := a.tasks[key]
	if t == nil || len(t.pending) == 0 || !bytes.Equal(t.pending[0].GetUuid(), uid) {
		a.mu.Unlock()
		return // a duplicate or stale acknowledgement
	}
	state := t.pending[0].GetState()
	t.pending[0] = nil
	t.pending = t.pending[1:]
	t.sends = 0
	var exited *agorapb.AgentCall
	if len(t.pending) > 0 {
		a.sendHead(t)
	} else if t.state.IsTerminal() {
		delete(a.tasks, key)
		exited = a.executorExited(t)
	}
	if exited != nil && a.streamID != "" {
		a.sim.queue.Push(outCall{url: a.url, agentID: a.id, streamID: a.streamID, call: exited})
	}
	a.mu.Unlock()
	now := time.Now()
	a.sim.count(func() {
		a.sim.acked[state]++
		a.sim.lastAck[state] = now
	})
}

// executorExited is EXECUTOR_EXITED for a custom executor whose last task is gone, or
// nil. Locked.
func (a *agent) executorExited(gone *simTask) *agorapb.AgentCall {
	if gone.executor == nil {
		return nil // command executors are not reported
	}
	for _, t := range a.tasks {
		if t.key.framework == gone.key.framework && t.executorID == gone.executorID {
			return nil
		}
	}
	return &agorapb.AgentCall{
		Type: agorapb.AgentCall_EXECUTOR_EXITED.Enum(),
		ExecutorExited: &agorapb.AgentCall_ExecutorExited{
			FrameworkId: &mesos.FrameworkID{Value: proto.String(gone.key.framework)},
			ExecutorId:  &mesos.ExecutorID{Value: proto.String(gone.executorID)},
			Status:      proto.Int32(0),
		},
	}
}
