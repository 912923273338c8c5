package executorapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/apicodec"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	executorpb "github.com/agoracluster/agora/proto/mesos/v1/executor"
	"github.com/agoracluster/agora/recordio"
	"github.com/agoracluster/agora/security/exectoken"
)

// maxCallSize bounds an executor call body.
const maxCallSize = 16 << 20

// Error is an error with the HTTP status the executor API answers it with.
type Error struct {
	Code int
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// BadRequest is a 400 error.
func BadRequest(format string, args ...any) error {
	return &Error{Code: http.StatusBadRequest, Msg: fmt.Sprintf(format, args...)}
}

// Backend carries out the executor calls; the calls are decoded and validated.
type Backend interface {
	// Subscribe attaches conn, the new event stream of the calling executor, and queues
	// its first events (SUBSCRIBED first).
	Subscribe(ctx context.Context, call *executorpb.Call, conn *Conn) error
	// Disconnected detaches conn once its stream has ended.
	Disconnected(call *executorpb.Call, conn *Conn)
	// Update takes a status update of the calling executor.
	Update(ctx context.Context, call *executorpb.Call) error
	// Message forwards data of the calling executor to its scheduler.
	Message(ctx context.Context, call *executorpb.Call) error
	// Heartbeat checks that the calling executor is known.
	Heartbeat(ctx context.Context, call *executorpb.Call) error
}

// Handler serves POST /api/v1/executor.
type Handler struct {
	Backend Backend
	// HeartbeatInterval is the period of HEARTBEAT events on executor streams.
	HeartbeatInterval time.Duration
	Log               *zap.Logger
	// Tokens, when set, makes every call carry its executor's token (Authorization: Bearer,
	// Mesos's --authenticate_http_executors): none is 401, another executor's is 403.
	Tokens *exectoken.Signer
}

// authorize checks the call's executor token when tokens are required.
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request, call *executorpb.Call) bool {
	if h.Tokens == nil {
		return true
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="mesos-agent-executor"`)
		http.Error(w, "executor authentication required: the call has no Authorization: Bearer token (MESOS_EXECUTOR_AUTHENTICATION_TOKEN)", http.StatusUnauthorized)
		return false
	}
	fw, ex := call.GetFrameworkId().GetValue(), call.GetExecutorId().GetValue()
	if !h.Tokens.Verify(token, fw, ex) {
		http.Error(w, fmt.Sprintf("the token is not that of executor %s of framework %s", ex, fw), http.StatusForbidden)
		return false
	}
	return true
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
	if !h.authorize(w, r, call) {
		return
	}
	if call.GetType() == executorpb.Call_SUBSCRIBE {
		out, err := apicodec.ForResponse(r.Header.Get("Accept"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotAcceptable)
			return
		}
		h.serveStream(w, r, call, out)
		return
	}
	switch call.GetType() {
	case executorpb.Call_UPDATE:
		err = h.Backend.Update(r.Context(), call)
	case executorpb.Call_MESSAGE:
		err = h.Backend.Message(r.Context(), call)
	case executorpb.Call_HEARTBEAT:
		err = h.Backend.Heartbeat(r.Context(), call)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// writeError answers err: an *Error with its status, anything else with 500.
func writeError(w http.ResponseWriter, err error) {
	var ae *Error
	if errors.As(err, &ae) {
		http.Error(w, ae.Msg, ae.Code)
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

// serveStream runs a subscribed executor's event stream.
func (h *Handler) serveStream(w http.ResponseWriter, r *http.Request, call *executorpb.Call, out apicodec.Codec) {
	conn := NewConn()
	if err := h.Backend.Subscribe(r.Context(), call, conn); err != nil {
		writeError(w, err)
		return
	}
	defer h.Backend.Disconnected(call, conn)
	w.Header().Set("Content-Type", out.ContentType())
	w.WriteHeader(http.StatusOK)
	rw := recordio.NewWriter(w)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	heartbeat := time.NewTicker(h.HeartbeatInterval)
	defer heartbeat.Stop()
	write := func(ev *executorpb.Event) bool {
		b, err := out.Marshal(ev)
		if err != nil {
			h.Log.Error("encode executor event", zap.Error(err))
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

// Conn is the queue of events for one subscribed executor stream. The loop pushes,
// the stream handler takes; push never blocks.
type Conn struct {
	mu     sync.Mutex
	queue  []*executorpb.Event
	closed bool
	signal chan struct{}
}

// NewConn returns an open, empty Conn.
func NewConn() *Conn { return &Conn{signal: make(chan struct{}, 1)} }

// Push queues ev; it never blocks, and drops ev once the Conn is closed.
func (c *Conn) Push(ev *executorpb.Event) {
	c.mu.Lock()
	if !c.closed {
		c.queue = append(c.queue, ev)
	}
	c.mu.Unlock()
	c.wake()
}

// Close ends the stream once the queued events are written.
func (c *Conn) Close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.wake()
}

func (c *Conn) wake() {
	select {
	case c.signal <- struct{}{}:
	default:
	}
}

func (c *Conn) take() ([]*executorpb.Event, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	evs := c.queue
	c.queue = nil
	return evs, c.closed
}
