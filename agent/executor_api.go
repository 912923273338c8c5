package agent

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/agoracluster/agora/apicodec"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	executorpb "github.com/agoracluster/agora/proto/mesos/v1/executor"
	"github.com/agoracluster/agora/recordio"
)

// maxCallSize bounds an executor call body.
const maxCallSize = 16 << 20

// apiError is an error with the HTTP status the executor API answers it with.
type apiError struct {
	code int
	msg  string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &apiError{code: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// handleExecutorAPI serves POST /api/v1/executor (the Mesos v1 executor API).
func (a *Agent) handleExecutorAPI(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "Expecting a 'POST' request", http.StatusMethodNotAllowed)
		return
	}
	in, err := apicodec.ForRequest(r.Header.Get("Content-Type"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxCallSize+1))
	if err != nil {
		http.Error(w, "Failed to read the request body: "+err.Error(), http.StatusBadRequest)
		return
	}
	if len(body) > maxCallSize {
		http.Error(w, "Request body too large", http.StatusRequestEntityTooLarge)
		return
	}
	call := &executorpb.Call{}
	if err := in.Unmarshal(body, call); err != nil {
		http.Error(w, "Failed to parse body into Call: "+err.Error(), http.StatusBadRequest)
		return
	}
	if err := validateExecutorCall(call); err != nil {
		http.Error(w, "Failed to validate executor::Call: "+err.Error(), http.StatusBadRequest)
		return
	}
	if call.GetType() == executorpb.Call_SUBSCRIBE {
		out, err := apicodec.ForResponse(r.Header.Get("Accept"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotAcceptable)
			return
		}
		a.serveExecutorStream(w, r, call, out)
		return
	}
	var callErr error
	err = a.query(r.Context(), func() {
		switch call.GetType() {
		case executorpb.Call_UPDATE:
			callErr = a.executorUpdate(call)
		case executorpb.Call_MESSAGE:
			callErr = a.executorMessage(call)
		case executorpb.Call_HEARTBEAT:
			callErr = a.executorKnown(call)
		}
	})
	if err == nil {
		err = callErr
	}
	if err != nil {
		writeAPIError(w, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func writeAPIError(w http.ResponseWriter, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		http.Error(w, ae.msg, ae.code)
		return
	}
	if errors.Is(err, errStopped) {
		http.Error(w, "Agent is shutting down", http.StatusServiceUnavailable)
		return
	}
	http.Error(w, err.Error(), http.StatusInternalServerError)
}

// validateExecutorCall checks what the decoder cannot (Mesos's executor call validation).
func validateExecutorCall(c *executorpb.Call) error {
	switch c.GetType() {
	case executorpb.Call_SUBSCRIBE:
		if c.Subscribe == nil {
			return errors.New("expecting 'subscribe' to be present")
		}
	case executorpb.Call_UPDATE:
		if c.Update == nil {
			return errors.New("expecting 'update' to be present")
		}
		st := c.GetUpdate().GetStatus()
		if len(st.GetUuid()) != 16 {
			return errors.New("'update.status.uuid' must be a 16-byte UUID")
		}
		if st.GetState() == mesos.TaskState_TASK_STAGING {
			return errors.New("'update.status.state' must not be TASK_STAGING")
		}
		if st.ExecutorId != nil && st.GetExecutorId().GetValue() != c.GetExecutorId().GetValue() {
			return errors.New("'update.status.executor_id' does not match 'executor_id'")
		}
	case executorpb.Call_MESSAGE:
		if c.Message == nil {
			return errors.New("expecting 'message' to be present")
		}
	case executorpb.Call_HEARTBEAT:
	default:
		return fmt.Errorf("unknown call type %v", c.GetType())
	}
	return nil
}

// executorKnown checks that the call comes from an executor this agent runs. Loop only.
func (a *Agent) executorKnown(c *executorpb.Call) error {
	_, err := a.callExecutor(c)
	return err
}

func (a *Agent) callExecutor(c *executorpb.Call) (*executor, error) {
	fid, eid := c.GetFrameworkId().GetValue(), c.GetExecutorId().GetValue()
	if a.st.frameworks[fid] == nil {
		return nil, badRequest("Framework %q cannot be found on this agent", fid)
	}
	ex := a.executorOf(fid, eid)
	if ex == nil || ex.gone() {
		return nil, badRequest("Executor %q of framework %q cannot be found on this agent", eid, fid)
	}
	return ex, nil
}

// executorUpdate handles UPDATE. Loop only.
func (a *Agent) executorUpdate(c *executorpb.Call) error {
	ex, err := a.callExecutor(c)
	if err != nil {
		return err
	}
	a.updateFromExecutor(ex, c.GetUpdate().GetStatus())
	return nil
}

func (a *Agent) updateFromExecutor(ex *executor, status *mesos.TaskStatus) {
	st := proto.Clone(status).(*mesos.TaskStatus)
	st.Source = mesos.TaskStatus_SOURCE_EXECUTOR.Enum()
	st.AgentId = &mesos.AgentID{Value: proto.String(a.st.agentID)}
	st.ExecutorId = &mesos.ExecutorID{Value: proto.String(ex.id)}
	if st.Timestamp == nil {
		st.Timestamp = proto.Float64(float64(time.Now().UnixNano()) / 1e9)
	}
	if st.GetState() == mesos.TaskState_TASK_FAILED {
		// A task the OOM killer killed: the executor only saw a signal.
		if msg, ok := a.iso.memoryLimitation(ex.containerID); ok {
			st.Reason = mesos.TaskStatus_REASON_CONTAINER_LIMITATION_MEMORY.Enum()
			st.Message = proto.String(msg)
			defer a.limitExecutor(ex, msg)
		}
	}
	tid := st.GetTaskId().GetValue()
	_, tracked := ex.tasks[tid]
	if !tracked {
		a.log.Warn("status update for a task this executor does not run", zap.String("framework_id", ex.fw.id),
			zap.String("executor_id", ex.id), zap.String("task_id", tid))
	}
	_ = a.statusUpdate(ex.fw.id, st) // a rejected update is logged and acknowledged like Mesos does
	if !tracked && ex.conn != nil {
		ex.conn.push(&executorpb.Event{Type: executorpb.Event_ACKNOWLEDGED.Enum(),
			Acknowledged: &executorpb.Event_Acknowledged{TaskId: st.GetTaskId(), Uuid: st.GetUuid()}})
	}
}

// executorMessage handles MESSAGE: executor -> scheduler data. Loop only.
func (a *Agent) executorMessage(c *executorpb.Call) error {
	ex, err := a.callExecutor(c)
	if err != nil {
		return err
	}
	a.master.enqueue(&agorapb.AgentCall{
		Type: agorapb.AgentCall_FRAMEWORK_MESSAGE.Enum(),
		FrameworkMessage: &agorapb.AgentCall_FrameworkMessage{
			FrameworkId: c.GetFrameworkId(),
			ExecutorId:  &mesos.ExecutorID{Value: proto.String(ex.id)},
			Data:        c.GetMessage().GetData(),
		},
	})
	return nil
}

// executorSubscribe attaches conn to the executor and queues SUBSCRIBED, the unacknowledged
// updates' acknowledgements and the queued launches. Loop only.
func (a *Agent) executorSubscribe(c *executorpb.Call, conn *executorConn) error {
	ex, err := a.callExecutor(c)
	if err != nil {
		return err
	}
	if ex.state == executorTerminating {
		return &apiError{code: http.StatusForbidden, msg: fmt.Sprintf("Executor %q is terminating", ex.id)}
	}
	if a.st.stopping {
		return &apiError{code: http.StatusServiceUnavailable, msg: "Agent is shutting down"}
	}
	if ex.conn != nil {
		ex.conn.close()
	}
	ex.conn = conn
	ex.state = executorRunning
	ex.starting.release()
	if ex.regTimer != nil {
		ex.regTimer.Stop()
		ex.regTimer = nil
	}
	a.log.Debug("executor subscribed", zap.String("framework_id", ex.fw.id), zap.String("executor_id", ex.id))
	conn.push(&executorpb.Event{
		Type: executorpb.Event_SUBSCRIBED.Enum(),
		Subscribed: &executorpb.Event_Subscribed{
			ExecutorInfo:  ex.info,
			FrameworkInfo: ex.fw.info,
			AgentInfo:     a.currentAgentInfo(),
			ContainerId:   &mesos.ContainerID{Value: proto.String(ex.containerID)},
		},
	})
	sub := c.GetSubscribe()
	known := make(map[string]bool)
	for _, ti := range sub.GetUnacknowledgedTasks() {
		known[ti.GetTaskId().GetValue()] = true
		if t := ex.tasks[ti.GetTaskId().GetValue()]; t != nil {
			t.launched = true // the executor has it already
		}
	}
	for _, u := range sub.GetUnacknowledgedUpdates() {
		if _, ok := ex.tasks[u.GetStatus().GetTaskId().GetValue()]; !ok {
			// Already completed here: acknowledge so the executor stops resending it.
			conn.push(&executorpb.Event{Type: executorpb.Event_ACKNOWLEDGED.Enum(),
				Acknowledged: &executorpb.Event_Acknowledged{TaskId: u.GetStatus().GetTaskId(), Uuid: u.GetStatus().GetUuid()}})
			continue
		}
		a.updateFromExecutor(ex, u.GetStatus())
	}
	if ex.recovered {
		ex.recovered = false
		a.dropUndelivered(ex, known)
	}
	a.flushQueue(ex)
	for tid, policy := range ex.pendingKills {
		conn.push(killEvent(tid, policy))
		delete(ex.pendingKills, tid)
	}
	if len(ex.tasks) == 0 {
		a.shutdownExecutor(ex)
	}
	return nil
}

// executorDisconnected detaches a closed stream. Loop only.
func (a *Agent) executorDisconnected(fid, eid string, conn *executorConn) {
	ex := a.executorOf(fid, eid)
	if ex == nil || ex.conn != conn {
		return
	}
	ex.conn = nil
	a.log.Info("executor disconnected", zap.String("framework_id", fid), zap.String("executor_id", eid))
}

// serveExecutorStream runs a subscribed executor's event stream.
func (a *Agent) serveExecutorStream(w http.ResponseWriter, r *http.Request, call *executorpb.Call, out apicodec.Codec) {
	conn := newExecutorConn()
	var subErr error
	if err := a.query(r.Context(), func() { subErr = a.executorSubscribe(call, conn) }); err != nil {
		writeAPIError(w, err)
		return
	} else if subErr != nil {
		writeAPIError(w, subErr)
		return
	}
	fid, eid := call.GetFrameworkId().GetValue(), call.GetExecutorId().GetValue()
	defer a.send(func() { a.executorDisconnected(fid, eid, conn) })
	w.Header().Set("Content-Type", out.ContentType())
	w.WriteHeader(http.StatusOK)
	rw := recordio.NewWriter(w)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	heartbeat := time.NewTicker(a.cfg.ExecutorHeartbeatInterval)
	defer heartbeat.Stop()
	write := func(ev *executorpb.Event) bool {
		b, err := out.Marshal(ev)
		if err != nil {
			a.log.Error("encode executor event", zap.Error(err))
			return false
		}
		return rw.WriteRecord(b) == nil
	}
	for {
		evs, closed := conn.take()
		for _, ev := range evs {
			if !write(ev) {
				return
			}
		}
		if closed {
			return
		}
		select {
		case <-conn.signal:
		case <-heartbeat.C:
			if !write(&executorpb.Event{Type: executorpb.Event_HEARTBEAT.Enum()}) {
				return
			}
		case <-r.Context().Done():
			return
		}
	}
}

// executorConn is the queue of events for one subscribed executor stream. The loop pushes,
// the stream handler takes; push never blocks.
type executorConn struct {
	mu     sync.Mutex
	queue  []*executorpb.Event
	closed bool
	signal chan struct{}
}

func newExecutorConn() *executorConn { return &executorConn{signal: make(chan struct{}, 1)} }

func (c *executorConn) push(ev *executorpb.Event) {
	c.mu.Lock()
	if !c.closed {
		c.queue = append(c.queue, ev)
	}
	c.mu.Unlock()
	c.wake()
}

func (c *executorConn) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.wake()
}

func (c *executorConn) wake() {
	select {
	case c.signal <- struct{}{}:
	default:
	}
}

func (c *executorConn) take() ([]*executorpb.Event, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	evs := c.queue
	c.queue = nil
	return evs, c.closed
}
