package agent

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/registration"
	"github.com/agoracluster/agora/apicodec"
	"github.com/agoracluster/agora/internal/poll"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/recordio"
)

const testAgentID = "master-S0"

// fakeMaster speaks the master side of the agent protocol: it accepts subscriptions,
// streams events the test pushes, records calls and (optionally) acknowledges updates.
type fakeMaster struct {
	t   testing.TB
	srv *httptest.Server

	mu         sync.Mutex
	subscribes []*agorapb.AgentCall
	calls      []*agorapb.AgentCall
	streamID   string
	streams    int
	autoAck    bool
	heartbeat  float64       // the heartbeat interval it announces, in seconds
	drop       chan struct{} // closed to drop the current stream
	events     chan *agorapb.AgentEvent
	closing    chan struct{}
}

func newFakeMaster(t testing.TB) *fakeMaster {
	fm := &fakeMaster{t: t, autoAck: true, heartbeat: 1, events: make(chan *agorapb.AgentEvent, 10000),
		closing: make(chan struct{}), drop: make(chan struct{})}
	fm.srv = httptest.NewServer(http.HandlerFunc(fm.serve))
	t.Cleanup(func() {
		close(fm.closing)
		fm.srv.Close()
	})
	return fm
}

// setHeartbeatInterval sets the interval announced to the next subscriptions. The agent
// drops a stream that is silent for three intervals on its own clock, so a test that
// advances a fake clock by seconds announces a longer one.
func (fm *fakeMaster) setHeartbeatInterval(seconds float64) {
	fm.mu.Lock()
	defer fm.mu.Unlock()
	fm.heartbeat = seconds
}

func (fm *fakeMaster) addr() string { return fm.srv.Listener.Addr().String() }

func (fm *fakeMaster) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	call := &agorapb.AgentCall{}
	if err := proto.Unmarshal(body, call); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if call.GetType() != agorapb.AgentCall_SUBSCRIBE {
		fm.mu.Lock()
		ok := r.Header.Get(registration.StreamIDHeader) == fm.streamID && call.GetAgentId().GetValue() == testAgentID
		if ok {
			fm.calls = append(fm.calls, call)
		}
		autoAck := fm.autoAck
		fm.mu.Unlock()
		if !ok {
			http.Error(w, "stream or agent id mismatch", http.StatusBadRequest)
			return
		}
		if autoAck && call.GetType() == agorapb.AgentCall_STATUS_UPDATE {
			fm.ack(call.GetStatusUpdate().GetUpdate())
		}
		w.WriteHeader(http.StatusAccepted)
		return
	}
	fm.mu.Lock()
	fm.streams++
	fm.streamID = fmt.Sprintf("stream-%d", fm.streams)
	fm.subscribes = append(fm.subscribes, call)
	drop := fm.drop
	w.Header().Set(registration.StreamIDHeader, fm.streamID)
	heartbeatInterval := fm.heartbeat
	fm.mu.Unlock()
	w.Header().Set("Content-Type", apicodec.MediaProtobuf)
	w.WriteHeader(http.StatusOK)
	rw := recordio.NewWriter(w)
	write := func(ev *agorapb.AgentEvent) bool {
		b, _ := proto.Marshal(ev)
		return rw.WriteRecord(b) == nil
	}
	if !write(&agorapb.AgentEvent{Type: agorapb.AgentEvent_SUBSCRIBED.Enum(), Subscribed: &agorapb.AgentEvent_Subscribed{
		AgentId: &mesos.AgentID{Value: proto.String(testAgentID)}, HeartbeatIntervalSeconds: proto.Float64(heartbeatInterval)}}) {
		return
	}
	heartbeat := time.NewTicker(500 * time.Millisecond)
	defer heartbeat.Stop()
	for {
		select {
		case <-heartbeat.C:
			if !write(&agorapb.AgentEvent{Type: agorapb.AgentEvent_HEARTBEAT.Enum()}) {
				return
			}
		case ev := <-fm.events:
			if !write(ev) {
				return
			}
		case <-drop:
			return
		case <-r.Context().Done():
			return
		case <-fm.closing:
			return
		}
	}
}

func (fm *fakeMaster) send(ev *agorapb.AgentEvent) { fm.events <- ev }

func (fm *fakeMaster) ack(u *agorapb.StatusUpdateRecord) {
	fm.send(&agorapb.AgentEvent{Type: agorapb.AgentEvent_ACKNOWLEDGE.Enum(), Acknowledge: &agorapb.AgentEvent_Acknowledge{
		FrameworkId: u.GetFrameworkId(), TaskId: u.GetStatus().GetTaskId(), Uuid: u.GetStatus().GetUuid()}})
}

// dropStream closes the current subscription stream.
func (fm *fakeMaster) dropStream() {
	fm.mu.Lock()
	close(fm.drop)
	fm.drop = make(chan struct{})
	fm.mu.Unlock()
}

func (fm *fakeMaster) setAutoAck(v bool) {
	fm.mu.Lock()
	fm.autoAck = v
	fm.mu.Unlock()
}

func (fm *fakeMaster) subscriptions() []*agorapb.AgentCall {
	fm.mu.Lock()
	defer fm.mu.Unlock()
	return append([]*agorapb.AgentCall(nil), fm.subscribes...)
}

// updates returns the status updates received for a task, in arrival order.
func (fm *fakeMaster) updates(taskID string) []*mesos.TaskStatus {
	fm.mu.Lock()
	defer fm.mu.Unlock()
	var out []*mesos.TaskStatus
	for _, c := range fm.calls {
		if c.GetType() == agorapb.AgentCall_STATUS_UPDATE && c.GetStatusUpdate().GetUpdate().GetStatus().GetTaskId().GetValue() == taskID {
			out = append(out, c.GetStatusUpdate().GetUpdate().GetStatus())
		}
	}
	return out
}

func (fm *fakeMaster) callsOf(typ agorapb.AgentCall_Type) []*agorapb.AgentCall {
	fm.mu.Lock()
	defer fm.mu.Unlock()
	var out []*agorapb.AgentCall
	for _, c := range fm.calls {
		if c.GetType() == typ {
			out = append(out, c)
		}
	}
	return out
}

// waitState waits until the task's latest update has state want and returns it.
func (fm *fakeMaster) waitState(t *testing.T, taskID string, want mesos.TaskState) *mesos.TaskStatus {
	t.Helper()
	var last *mesos.TaskStatus
	poll.Eventually(t, 20*time.Second, func() bool {
		us := fm.updates(taskID)
		for _, u := range us {
			if u.GetState() == want {
				last = u
				return true
			}
		}
		return false
	}, "task %s never reached %v", taskID, want)
	return last
}

func states(us []*mesos.TaskStatus) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.GetState().String())
	}
	return out
}

type testAgent struct {
	a    *Agent
	url  string
	cfg  Config
	stop func()
}

// startAgent runs an agent against master addr until the test ends.
func startAgent(t testing.TB, master string, mutate func(*Config)) *testAgent {
	t.Helper()
	return startAgentWith(t, master, mutate, nil)
}

// testConfig is the configuration of a test agent against master, with a work dir of its own.
func testConfig(t testing.TB, master string) Config {
	cfg := DefaultConfig()
	cfg.Master = master
	cfg.Hostname = "localhost"
	cfg.WorkDir = t.TempDir()
	cfg.Resources = "cpus:2;mem:1024;disk:1000;ports:[31000-31010]"
	cfg.Attributes = "rack:r1"
	cfg.ExecutorBinary = os.Args[0]
	// The test binary's scripted executor runs command tasks (TestMain); hosted_test.go
	// turns the executor host on.
	cfg.ExecutorHost = false
	cfg.RegistrationBackoffMin = 10 * time.Millisecond
	cfg.RegistrationBackoffMax = 100 * time.Millisecond
	cfg.ExecutorShutdownGracePeriod = 2 * time.Second
	cfg.ShutdownExecutorsOnExit = true // leave no executors behind a test
	cfg.GPUDetector = fakeGPUs{}       // the host's GPUs, if any, stay out of tests (gpus_test.go)
	return cfg
}

// startAgentWith is startAgent with a hook that can replace parts of the built agent.
func startAgentWith(t testing.TB, master string, mutate func(*Config), hook func(*Agent)) *testAgent {
	t.Helper()
	cfg := testConfig(t, master)
	if mutate != nil {
		mutate(&cfg)
	}
	logger := zap.NewNop()
	if tt, ok := t.(*testing.T); ok {
		logger = zaptest.NewLogger(tt)
	}
	a, err := New(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	if hook != nil {
		hook(a)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, ln) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("agent did not stop")
			}
		})
	}
	t.Cleanup(stop)
	return &testAgent{a: a, url: "http://" + ln.Addr().String(), cfg: cfg, stop: stop}
}

func frameworkInfo(id string) *mesos.FrameworkInfo {
	return &mesos.FrameworkInfo{Id: &mesos.FrameworkID{Value: proto.String(id)}, Name: proto.String("fw"), User: proto.String("")}
}

// commandTask is a command task whose command value tells the test executor what to do.
func commandTask(id, what string) *mesos.TaskInfo {
	return &mesos.TaskInfo{
		Name:    proto.String(id),
		TaskId:  &mesos.TaskID{Value: proto.String(id)},
		AgentId: &mesos.AgentID{Value: proto.String(testAgentID)},
		Command: &mesos.CommandInfo{Value: proto.String(what)},
	}
}

func runTask(fid string, task *mesos.TaskInfo) *agorapb.AgentEvent {
	return &agorapb.AgentEvent{Type: agorapb.AgentEvent_RUN_TASK.Enum(), RunTask: &agorapb.AgentEvent_RunTask{
		FrameworkInfo: frameworkInfo(fid), Task: task}}
}
