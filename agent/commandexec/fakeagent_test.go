package commandexec

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/executorclient"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/executor"
	"github.com/agoracluster/agora/recordio"
)

// fakeAgent serves the executor API like an agent: it answers SUBSCRIBE with SUBSCRIBED
// (and LAUNCH of its task on the first subscription) and records every call.
type fakeAgent struct {
	t   *testing.T
	srv *httptest.Server

	mu         sync.Mutex
	autoAck    bool
	refuse     bool          // answer SUBSCRIBE with 503
	gate       chan struct{} // when set, SUBSCRIBED waits until it is closed
	task       *mesos.TaskInfo
	framework  *mesos.FrameworkInfo
	stream     chan *executor.Event // the current subscription's outgoing events
	closeConn  chan struct{}        // closed to drop the current subscription
	subscribes []*executor.Call
	updates    []*mesos.TaskStatus
	changed    chan struct{} // signalled on every recorded call
}

func newFakeAgent(t *testing.T, task *mesos.TaskInfo) *fakeAgent {
	t.Helper()
	a := &fakeAgent{
		t:         t,
		autoAck:   true,
		task:      task,
		framework: &mesos.FrameworkInfo{User: proto.String(""), Name: proto.String("test"), Id: &mesos.FrameworkID{Value: proto.String("fw-1")}},
		changed:   make(chan struct{}, 1),
	}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *fakeAgent) endpoint() string { return strings.TrimPrefix(a.srv.URL, "http://") }

func (a *fakeAgent) notify() {
	select {
	case a.changed <- struct{}{}:
	default:
	}
}

func (a *fakeAgent) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/executor" || r.Method != http.MethodPost || r.Header.Get("Content-Type") != executorclient.ContentType {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	body, _ := io.ReadAll(r.Body)
	call := &executor.Call{}
	if err := proto.Unmarshal(body, call); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	switch call.GetType() {
	case executor.Call_SUBSCRIBE:
		a.serveSubscribe(w, r, call)
	case executor.Call_UPDATE:
		a.mu.Lock()
		a.updates = append(a.updates, call.GetUpdate().GetStatus())
		ack := a.autoAck
		a.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		a.notify()
		if ack {
			a.ack(call.GetUpdate().GetStatus())
		}
	default:
		w.WriteHeader(http.StatusAccepted)
	}
}

func (a *fakeAgent) serveSubscribe(w http.ResponseWriter, r *http.Request, call *executor.Call) {
	a.mu.Lock()
	if a.refuse {
		a.subscribes = append(a.subscribes, call)
		a.mu.Unlock()
		a.notify()
		http.Error(w, "agent recovering", http.StatusServiceUnavailable)
		return
	}
	first := len(a.subscribes) == 0
	a.subscribes = append(a.subscribes, call)
	stream := make(chan *executor.Event, 16)
	closeConn := make(chan struct{})
	a.stream, a.closeConn = stream, closeConn
	gate := a.gate
	a.mu.Unlock()
	a.notify()
	if gate != nil {
		<-gate
	}

	w.Header().Set("Content-Type", executorclient.ContentType)
	w.WriteHeader(http.StatusOK)
	rw := recordio.NewWriter(w)
	write := func(ev *executor.Event) bool {
		b, err := proto.Marshal(ev)
		if err != nil {
			a.t.Errorf("marshal event: %v", err)
			return false
		}
		return rw.WriteRecord(b) == nil
	}
	write(&executor.Event{Type: executor.Event_SUBSCRIBED.Enum(), Subscribed: &executor.Event_Subscribed{
		ExecutorInfo:  &mesos.ExecutorInfo{ExecutorId: call.GetExecutorId()},
		FrameworkInfo: a.framework,
		AgentInfo:     &mesos.AgentInfo{Hostname: proto.String("localhost"), Id: &mesos.AgentID{Value: proto.String("agent-1")}},
	}})
	if first && a.task != nil {
		write(&executor.Event{Type: executor.Event_LAUNCH.Enum(), Launch: &executor.Event_Launch{Task: a.task}})
	}
	for {
		select {
		case ev := <-stream:
			if !write(ev) {
				return
			}
		case <-closeConn:
			return
		case <-r.Context().Done():
			return
		}
	}
}

// send writes an event on the current subscription.
func (a *fakeAgent) send(ev *executor.Event) {
	a.mu.Lock()
	stream := a.stream
	a.mu.Unlock()
	if stream == nil {
		a.t.Fatal("no subscription to send on")
	}
	stream <- ev
}

func (a *fakeAgent) ack(s *mesos.TaskStatus) {
	a.mu.Lock()
	stream := a.stream
	a.mu.Unlock()
	if stream == nil {
		return
	}
	stream <- &executor.Event{Type: executor.Event_ACKNOWLEDGED.Enum(), Acknowledged: &executor.Event_Acknowledged{TaskId: s.GetTaskId(), Uuid: s.GetUuid()}}
}

// drop closes the current subscription, as an agent that restarts does.
func (a *fakeAgent) drop() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closeConn != nil {
		close(a.closeConn)
		a.closeConn, a.stream = nil, nil
	}
}

func (a *fakeAgent) set(f func(a *fakeAgent)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f(a)
}

// waitFor polls cond (under the lock) until it holds or the deadline passes.
func (a *fakeAgent) waitFor(what string, cond func(a *fakeAgent) bool) {
	a.t.Helper()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for {
		a.mu.Lock()
		ok := cond(a)
		a.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-a.changed:
		case <-deadline.C:
			a.t.Fatalf("timed out waiting for %s; updates: %v", what, a.states())
		}
	}
}

// waitState waits for an update with the given state and returns it.
func (a *fakeAgent) waitState(state mesos.TaskState) *mesos.TaskStatus {
	a.t.Helper()
	var got *mesos.TaskStatus
	a.waitFor(state.String(), func(a *fakeAgent) bool {
		for _, u := range a.updates {
			if u.GetState() == state {
				got = u
				return true
			}
		}
		return false
	})
	return got
}

func (a *fakeAgent) states() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, u := range a.updates {
		s := u.GetState().String()
		if u.Healthy != nil {
			s += map[bool]string{true: "(healthy)", false: "(unhealthy)"}[u.GetHealthy()]
		}
		out = append(out, s)
	}
	return out
}
