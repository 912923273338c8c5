package defaultexec

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/commandexec"
	"github.com/agoracluster/agora/agent/executorclient"
	"github.com/agoracluster/agora/internal/poll"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/executor"
	"github.com/agoracluster/agora/recordio"
)

// fakeAgent serves the executor API: every SUBSCRIBE gets SUBSCRIBED, the first one also
// LAUNCH_GROUP of group; updates are recorded and acknowledged only while ack is set.
type fakeAgent struct {
	t     *testing.T
	group []*mesos.TaskInfo

	mu         sync.Mutex
	ack        bool
	subscribes []*executor.Call
	updates    []*mesos.TaskStatus
	streams    []chan *executor.Event
	drop       chan struct{} // closed to end the current subscription
}

func (a *fakeAgent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	call := &executor.Call{}
	if err := proto.Unmarshal(body, call); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if call.GetType() == executor.Call_UPDATE {
		st := call.GetUpdate().GetStatus()
		a.mu.Lock()
		a.updates = append(a.updates, st)
		ack, stream := a.ack, a.streams[len(a.streams)-1]
		a.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		if ack {
			stream <- ackEvent(st)
		}
		return
	}
	stream := make(chan *executor.Event, 64)
	drop := make(chan struct{})
	a.mu.Lock()
	first := len(a.subscribes) == 0
	a.subscribes = append(a.subscribes, call)
	a.streams = append(a.streams, stream)
	a.drop = drop
	ack := a.ack
	a.mu.Unlock()
	stream <- &executor.Event{Type: executor.Event_SUBSCRIBED.Enum(), Subscribed: &executor.Event_Subscribed{
		ExecutorInfo:  &mesos.ExecutorInfo{ExecutorId: &mesos.ExecutorID{Value: proto.String("ex-1")}},
		FrameworkInfo: &mesos.FrameworkInfo{User: proto.String(""), Name: proto.String("fw"), Id: &mesos.FrameworkID{Value: proto.String("fw-1")}},
		AgentInfo:     &mesos.AgentInfo{Hostname: proto.String("localhost"), Id: &mesos.AgentID{Value: proto.String("agent-1")}},
	}}
	if ack {
		// The agent takes the updates a SUBSCRIBE carries as if they had been sent.
		for _, u := range call.GetSubscribe().GetUnacknowledgedUpdates() {
			stream <- ackEvent(u.GetStatus())
		}
	}
	if first {
		stream <- &executor.Event{Type: executor.Event_LAUNCH_GROUP.Enum(), LaunchGroup: &executor.Event_LaunchGroup{
			TaskGroup: &mesos.TaskGroupInfo{Tasks: a.group}}}
	}
	w.Header().Set("Content-Type", executorclient.ContentType)
	w.WriteHeader(http.StatusOK)
	rw := recordio.NewWriter(w)
	for {
		select {
		case ev := <-stream:
			b, _ := proto.Marshal(ev)
			if err := rw.WriteRecord(b); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		case <-drop:
			return
		case <-r.Context().Done():
			return
		}
	}
}

func ackEvent(st *mesos.TaskStatus) *executor.Event {
	return &executor.Event{Type: executor.Event_ACKNOWLEDGED.Enum(), Acknowledged: &executor.Event_Acknowledged{
		TaskId: st.GetTaskId(), Uuid: st.GetUuid()}}
}

func (a *fakeAgent) states() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var s []string
	for _, u := range a.updates {
		s = append(s, u.GetTaskId().GetValue()+":"+strings.TrimPrefix(u.GetState().String(), "TASK_"))
	}
	return s
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	poll.Eventually(t, 10*time.Second, cond, "timed out waiting for %s", what)
}

func shellTask(id, cmd string) *mesos.TaskInfo {
	return &mesos.TaskInfo{Name: proto.String(id), TaskId: &mesos.TaskID{Value: proto.String(id)},
		AgentId: &mesos.AgentID{Value: proto.String("agent-1")},
		Command: &mesos.CommandInfo{Shell: proto.Bool(true), Value: proto.String(cmd)}}
}

// TestRunResendsUnacknowledgedUpdatesAndExitsOnceAcknowledged: updates the agent did not
// acknowledge go out again with the next SUBSCRIBE (with the unacknowledged tasks); the
// executor exits once the last of them is acknowledged.
func TestRunResendsUnacknowledgedUpdatesAndExitsOnceAcknowledged(t *testing.T) {
	agent := &fakeAgent{t: t, group: []*mesos.TaskInfo{shellTask("a", "exit 0"), shellTask("b", "exit 0")}}
	srv := httptest.NewServer(agent)
	defer srv.Close()
	cfg := commandexec.DefaultConfig()
	cfg.FrameworkID, cfg.ExecutorID = "fw-1", "ex-1"
	cfg.AgentEndpoint = strings.TrimPrefix(srv.URL, "http://")
	cfg.Sandbox = t.TempDir()
	cfg.SubscriptionBackoffMax = 50 * time.Millisecond
	cfg.TerminalAckTimeout = time.Minute // the exit must come from the acknowledgements
	done := make(chan error, 1)
	go func() { done <- Run(context.Background(), cfg, zaptest.NewLogger(t)) }()

	waitFor(t, "both tasks to finish", func() bool {
		s := strings.Join(agent.states(), ",")
		return strings.Contains(s, "a:FINISHED") && strings.Contains(s, "b:FINISHED")
	})
	select {
	case err := <-done:
		t.Fatalf("executor exited with its updates unacknowledged: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	agent.mu.Lock()
	agent.ack = true
	close(agent.drop)
	agent.mu.Unlock()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("executor did not exit once its updates were acknowledged")
	}
	agent.mu.Lock()
	defer agent.mu.Unlock()
	if len(agent.subscribes) != 2 {
		t.Fatalf("subscribes = %d, want 2", len(agent.subscribes))
	}
	resub := agent.subscribes[1].GetSubscribe()
	if got := len(resub.GetUnacknowledgedUpdates()); got != 6 {
		t.Fatalf("re-SUBSCRIBE carries %d updates, want 6 (STARTING, RUNNING, FINISHED of both tasks)", got)
	}
	if got := len(resub.GetUnacknowledgedTasks()); got != 2 {
		t.Fatalf("re-SUBSCRIBE carries %d tasks, want 2", got)
	}
}
