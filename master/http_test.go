package master

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/apicodec"
	"github.com/agoracluster/agora/master/httpapi"
	"github.com/agoracluster/agora/master/ledger"
	"github.com/agoracluster/agora/master/mastertest"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
	"github.com/agoracluster/agora/recordio"
	"github.com/agoracluster/agora/resources"
)

// testMaster is a master serving on 127.0.0.1:0.
type testMaster struct {
	t      *testing.T
	m      *Master
	url    string
	client *http.Client
}

func startMaster(t *testing.T, mutate func(*Config)) *testMaster {
	t.Helper()
	cfg := DefaultConfig()
	cfg.WorkDir = t.TempDir()
	cfg.Hostname = "localhost"
	if mutate != nil {
		mutate(&cfg)
	}
	m, err := New(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, ln) }()
	transport := &http.Transport{}
	tm := &testMaster{t: t, m: m, url: "http://" + ln.Addr().String(), client: &http.Client{Transport: transport}}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		transport.CloseIdleConnections()
	})
	return tm
}

func (tm *testMaster) post(path string, headers map[string]string, body []byte) *http.Response {
	tm.t.Helper()
	req, err := http.NewRequest(http.MethodPost, tm.url+path, bytes.NewReader(body))
	if err != nil {
		tm.t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := tm.client.Do(req)
	if err != nil {
		tm.t.Fatal(err)
	}
	return resp
}

func mustMarshal(t *testing.T, c apicodec.Codec, m proto.Message) []byte {
	t.Helper()
	b, err := c.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// eventStream reads a RecordIO stream of events into a channel.
type eventStream struct {
	t        *testing.T
	streamID string
	ch       chan []byte
	codec    apicodec.Codec
}

func openStream(t *testing.T, resp *http.Response) *eventStream {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("subscribe: %s: %s", resp.Status, b)
	}
	c, err := apicodec.ForRequest(resp.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	es := &eventStream{t: t, streamID: resp.Header.Get(httpapi.StreamIDHeader), ch: make(chan []byte, 100), codec: c}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(es.ch)
		r := recordio.NewReader(resp.Body, 0)
		for {
			rec, err := r.ReadRecord()
			if err != nil {
				return
			}
			es.ch <- rec
		}
	}()
	t.Cleanup(func() {
		resp.Body.Close()
		<-done
	})
	return es
}

// next decodes the next event of the wanted type into m, skipping heartbeats and
// other types.
func (es *eventStream) next(m proto.Message, match func() bool) {
	es.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case rec, ok := <-es.ch:
			if !ok {
				es.t.Fatalf("stream ended")
			}
			proto.Reset(m)
			if err := es.codec.Unmarshal(rec, m); err != nil {
				es.t.Fatalf("decode event: %v", err)
			}
			if err := proto.CheckInitialized(m); err != nil {
				es.t.Errorf("event not initialized: %v", err)
			}
			if match() {
				return
			}
		case <-deadline:
			es.t.Fatalf("no matching event within 10s")
		}
	}
}

func subscribeCall(info *mesos.FrameworkInfo) *scheduler.Call {
	return &scheduler.Call{Type: scheduler.Call_SUBSCRIBE.Enum(), Subscribe: &scheduler.Call_Subscribe{FrameworkInfo: info}}
}

func TestSchedulerHTTPStatusCodes(t *testing.T) {
	tm := startMaster(t, func(c *Config) { c.MaxBodySize = 1 << 20 })
	json := map[string]string{"Content-Type": apicodec.MediaJSON}
	sub := mustMarshal(t, apicodec.JSON, subscribeCall(mastertest.FrameworkInfo("fw")))
	revive := func(fwID string) []byte {
		return mustMarshal(t, apicodec.JSON, &scheduler.Call{FrameworkId: mastertest.FrameworkID(fwID), Type: scheduler.Call_REVIVE.Enum()})
	}
	es := openStream(t, tm.post("/api/v1/scheduler", json, sub))
	ev := &scheduler.Event{}
	es.next(ev, func() bool { return ev.GetType() == scheduler.Event_SUBSCRIBED })
	fwID := ev.GetSubscribed().GetFrameworkId().GetValue()

	tests := []struct {
		name    string
		method  string
		headers map[string]string
		body    []byte
		code    int
		message string
	}{
		{"GET", http.MethodGet, nil, nil, 405, "POST"},
		{"no content type", "", map[string]string{}, sub, 415, "Content-Type"},
		{"unsupported content type", "", map[string]string{"Content-Type": "text/plain"}, sub, 415, "Content-Type"},
		{"malformed json", "", json, []byte(`{"type":`), 400, "Failed to parse"},
		{"malformed protobuf", "", map[string]string{"Content-Type": apicodec.MediaProtobuf}, []byte{0xff, 0xff, 0xff}, 400, "Failed to parse"},
		{"missing required field", "", json, []byte(`{"type":"SUBSCRIBE","subscribe":{"framework_info":{"name":"x"}}}`), 400, "user"},
		{"no type", "", json, []byte(`{}`), 400, "'type'"},
		{"no framework id", "", json, []byte(`{"type":"REVIVE"}`), 400, "framework_id"},
		{"kill without kill", "", json, []byte(`{"type":"KILL","framework_id":{"value":"x"}}`), 400, "'kill'"},
		{"not acceptable", "", map[string]string{"Content-Type": apicodec.MediaJSON, "Accept": "text/html"}, sub, 406, "Accept"},
		{"subscribe with stream id", "", map[string]string{"Content-Type": apicodec.MediaJSON, httpapi.StreamIDHeader: "x"}, sub, 400, "Mesos-Stream-Id"},
		{"too large", "", json, bytes.Repeat([]byte(" "), 2<<20), 413, "limit"},
		{"unknown framework", "", json, revive("nope"), 403, "cannot be found"},
		{"missing stream id", "", json, revive(fwID), 400, "Mesos-Stream-Id"},
		{"wrong stream id", "", map[string]string{"Content-Type": apicodec.MediaJSON, httpapi.StreamIDHeader: "other"}, revive(fwID), 400, "stream ID"},
		{"ok", "", map[string]string{"Content-Type": apicodec.MediaJSON, httpapi.StreamIDHeader: es.streamID}, revive(fwID), 202, ""},
		{"roles without MULTI_ROLE", "", json, []byte(`{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","roles":["a"]}}}`), 400, "MULTI_ROLE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			req, _ := http.NewRequest(method, tm.url+"/api/v1/scheduler", bytes.NewReader(tt.body))
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			resp, err := tm.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.code || !strings.Contains(string(b), tt.message) {
				t.Errorf("got %d %q, want %d containing %q", resp.StatusCode, b, tt.code, tt.message)
			}
		})
	}
}

func TestSubscribeProtobufAndFailover(t *testing.T) {
	tm := startMaster(t, nil)
	pb := map[string]string{"Content-Type": apicodec.MediaProtobuf, "Accept": apicodec.MediaProtobuf}
	info := mastertest.FrameworkInfo("fw")
	info.FailoverTimeout = proto.Float64(3600)
	es := openStream(t, tm.post("/api/v1/scheduler", pb, mustMarshal(t, apicodec.Protobuf, subscribeCall(info))))
	if es.codec != apicodec.Protobuf {
		t.Fatalf("response codec %v", es.codec)
	}
	ev := &scheduler.Event{}
	es.next(ev, func() bool { return ev.GetType() == scheduler.Event_SUBSCRIBED })
	fwID := ev.GetSubscribed().GetFrameworkId().GetValue()
	if ev.GetSubscribed().GetMasterInfo().GetPort() == 0 || es.streamID == "" {
		t.Errorf("SUBSCRIBED %v stream id %q", ev, es.streamID)
	}

	// A second scheduler instance fails the first over.
	info.Id = mastertest.FrameworkID(fwID)
	es2 := openStream(t, tm.post("/api/v1/scheduler", map[string]string{"Content-Type": apicodec.MediaJSON}, mustMarshal(t, apicodec.JSON, subscribeCall(info))))
	ev2 := &scheduler.Event{}
	es2.next(ev2, func() bool { return ev2.GetType() == scheduler.Event_SUBSCRIBED })
	if ev2.GetSubscribed().GetFrameworkId().GetValue() != fwID {
		t.Errorf("failover got framework %v", ev2.GetSubscribed().GetFrameworkId())
	}
	es.next(ev, func() bool { return ev.GetType() == scheduler.Event_ERROR })
	if ev.GetError().GetMessage() != "Framework failed over" {
		t.Errorf("ERROR %q", ev.GetError().GetMessage())
	}
	select {
	case _, ok := <-es.ch:
		if ok {
			t.Errorf("old stream still open")
		}
	case <-time.After(10 * time.Second):
		t.Errorf("old stream not closed")
	}
}

func TestHeartbeats(t *testing.T) {
	tm := startMaster(t, func(c *Config) { c.FrameworkHeartbeatInterval = 20 * time.Millisecond })
	es := openStream(t, tm.post("/api/v1/scheduler", map[string]string{"Content-Type": apicodec.MediaJSON}, mustMarshal(t, apicodec.JSON, subscribeCall(mastertest.FrameworkInfo("fw")))))
	ev := &scheduler.Event{}
	es.next(ev, func() bool { return ev.GetType() == scheduler.Event_SUBSCRIBED })
	es.next(ev, func() bool { return ev.GetType() == scheduler.Event_HEARTBEAT })
}

// TestLaunchThroughFakeAgent drives a task from offer to acknowledged update over
// HTTP, with a fake agent speaking the agent protocol.
func TestLaunchThroughFakeAgent(t *testing.T) {
	tm := startMaster(t, nil)
	pb := map[string]string{"Content-Type": apicodec.MediaProtobuf, "Accept": apicodec.MediaProtobuf}
	agentCall := &agorapb.AgentCall{Type: agorapb.AgentCall_SUBSCRIBE.Enum(), Subscribe: &agorapb.AgentCall_Subscribe{
		AgentInfo: &mesos.AgentInfo{Hostname: proto.String("agent1"), Resources: resources.MustParse("cpus:2;mem:256").ToProto()},
	}}
	agent := openStream(t, tm.post("/api/v1/agent", pb, mustMarshal(t, apicodec.Protobuf, agentCall)))
	aev := &agorapb.AgentEvent{}
	agent.next(aev, func() bool { return aev.GetType() == agorapb.AgentEvent_SUBSCRIBED })
	agentID := aev.GetSubscribed().GetAgentId().GetValue()

	json := map[string]string{"Content-Type": apicodec.MediaJSON}
	fw := openStream(t, tm.post("/api/v1/scheduler", json, mustMarshal(t, apicodec.JSON, subscribeCall(mastertest.FrameworkInfo("fw")))))
	ev := &scheduler.Event{}
	fw.next(ev, func() bool { return ev.GetType() == scheduler.Event_SUBSCRIBED })
	fwID := ev.GetSubscribed().GetFrameworkId().GetValue()
	fw.next(ev, func() bool { return ev.GetType() == scheduler.Event_OFFERS })
	offer := ev.GetOffers().GetOffers()[0]
	if offer.GetAgentId().GetValue() != agentID || offer.GetHostname() != "agent1" {
		t.Fatalf("offer %v", offer)
	}

	call := func(c *scheduler.Call) {
		t.Helper()
		c.FrameworkId = mastertest.FrameworkID(fwID)
		resp := tm.post("/api/v1/scheduler", map[string]string{"Content-Type": apicodec.MediaJSON, httpapi.StreamIDHeader: fw.streamID}, mustMarshal(t, apicodec.JSON, c))
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("%s: %d %s", c.GetType(), resp.StatusCode, b)
		}
	}
	call(mastertest.LaunchCall(mastertest.OfferIDs(offer), mastertest.CommandTask("t1", agentID, "cpus:1;mem:128")))
	agent.next(aev, func() bool { return aev.GetType() == agorapb.AgentEvent_RUN_TASK })
	if aev.GetRunTask().GetTask().GetTaskId().GetValue() != "t1" {
		t.Fatalf("RUN_TASK %v", aev)
	}

	uuid := []byte("0123456789abcdef")
	agentPost := func(c *agorapb.AgentCall) {
		t.Helper()
		resp := tm.post("/api/v1/agent", map[string]string{"Content-Type": apicodec.MediaProtobuf, httpapi.StreamIDHeader: agent.streamID}, mustMarshal(t, apicodec.Protobuf, c))
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("agent %s: %d %s", c.GetType(), resp.StatusCode, b)
		}
	}
	agentPost(mastertest.StatusUpdateCall(agentID, fwID, "t1", mesos.TaskState_TASK_RUNNING, uuid))
	fw.next(ev, func() bool { return ev.GetType() == scheduler.Event_UPDATE })
	if st := ev.GetUpdate().GetStatus(); st.GetState() != mesos.TaskState_TASK_RUNNING || !bytes.Equal(st.GetUuid(), uuid) {
		t.Fatalf("UPDATE %v", st)
	}
	call(&scheduler.Call{Type: scheduler.Call_ACKNOWLEDGE.Enum(), Acknowledge: &scheduler.Call_Acknowledge{
		AgentId: mastertest.AgentID(agentID), TaskId: mastertest.TaskID("t1"), Uuid: uuid,
	}})
	agent.next(aev, func() bool { return aev.GetType() == agorapb.AgentEvent_ACKNOWLEDGE })
	if !bytes.Equal(aev.GetAcknowledge().GetUuid(), uuid) {
		t.Errorf("ACKNOWLEDGE %v", aev)
	}

	// The task shows in /state.
	resp, err := tm.client.Get(tm.url + "/state")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`"activated_slaves":1`, `"id":"t1"`, `"state":"TASK_RUNNING"`, `"hostname":"agent1"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/state lacks %s: %s", want, b)
		}
	}
	resp, err = tm.client.Get(tm.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`agora_master_tasks{state="TASK_RUNNING"} 1`, `agora_master_scheduler_calls_total{type="ACCEPT"} 1`, `agora_master_agents{state="active"} 1`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// SHUTDOWN reaches the agent as SHUTDOWN_EXECUTOR.
	call(&scheduler.Call{Type: scheduler.Call_SHUTDOWN.Enum(), Shutdown: &scheduler.Call_Shutdown{
		AgentId: mastertest.AgentID(agentID), ExecutorId: mastertest.ExecutorID("t1"),
	}})
	agent.next(aev, func() bool { return aev.GetType() == agorapb.AgentEvent_SHUTDOWN_EXECUTOR })
	if sh := aev.GetShutdownExecutor(); sh.GetFrameworkId().GetValue() != fwID || sh.GetExecutorId().GetValue() != "t1" {
		t.Errorf("SHUTDOWN_EXECUTOR %v", aev)
	}
}

func TestAgentReconnectsAfterMasterRestart(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cfg := DefaultConfig()
	cfg.WorkDir = dir
	m, err := New(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, ln) }()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	subscribe := func(url string, id string) string {
		got, stream := subscribeAgent(t, client, url, id)
		stream.Close()
		return got
	}
	id := subscribe("http://"+ln.Addr().String(), "")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	tm := startMaster(t, func(c *Config) { c.WorkDir = dir })
	var recovered bool
	if err := tm.m.Do(context.Background(), func(l *ledger.Ledger) {
		for _, a := range l.Snapshot().Agents {
			recovered = recovered || (a.Info.GetId().GetValue() == id && a.State == "recovered")
		}
	}); err != nil {
		t.Fatal(err)
	}
	if !recovered {
		t.Fatalf("agent %s not recovered from the registry", id)
	}
	tm.client = client
	if got := subscribe(tm.url, id); got != id {
		t.Errorf("re-registered as %s, want %s", got, id)
	}
}

func TestOtherEndpoints(t *testing.T) {
	tm := startMaster(t, nil)
	noRedirect := &http.Client{Transport: tm.client.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tests := []struct {
		path string
		code int
	}{
		{"/health", 200},
		{"/state", 200},
		{"/master/state", 200},
		{"/metrics", 200},
		{"/redirect", 307},
		{"/master/redirect", 307},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := noRedirect.Get(tm.url + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.code {
				t.Errorf("%s: %d, want %d", tt.path, resp.StatusCode, tt.code)
			}
		})
	}
}

// cancelOnHeader cancels the request once a response status is written, so a
// SUBSCRIBE handler returns instead of streaming forever.
type cancelOnHeader struct {
	header http.Header
	code   int
	body   bytes.Buffer
	cancel context.CancelFunc
}

func (c *cancelOnHeader) Header() http.Header { return c.header }
func (c *cancelOnHeader) Write(b []byte) (int, error) {
	if c.code == 0 {
		c.WriteHeader(200)
	}
	return c.body.Write(b)
}
func (c *cancelOnHeader) WriteHeader(code int) {
	if c.code == 0 {
		c.code = code
		c.cancel()
	}
}

// startFuzzMaster runs a master for a fuzz target and returns its handler.
func startFuzzMaster(f *testing.F) http.Handler {
	cfg := DefaultConfig()
	cfg.WorkDir = f.TempDir()
	m, err := New(cfg, zap.NewNop())
	if err != nil {
		f.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, ln) }()
	f.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			f.Error(err)
		}
	})
	h, err := m.routes()
	if err != nil {
		f.Fatal(err)
	}
	return h
}

// fuzzPost posts body to path and fails on a server error.
func fuzzPost(t *testing.T, handler http.Handler, path string, body []byte, isJSON bool) {
	rctx, rcancel := context.WithCancel(context.Background())
	defer rcancel()
	req, _ := http.NewRequestWithContext(rctx, http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", map[bool]string{true: apicodec.MediaJSON, false: apicodec.MediaProtobuf}[isJSON])
	w := &cancelOnHeader{header: http.Header{}, cancel: rcancel}
	handler.ServeHTTP(w, req)
	if w.code >= 500 {
		t.Errorf("status %d for %q: %s", w.code, body, w.body.String())
	}
}

func FuzzSchedulerCall(f *testing.F) {
	f.Add([]byte(`{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n"}}}`), true)
	f.Add([]byte(`{"type":"ACCEPT","framework_id":{"value":"x"},"accept":{"offer_ids":[{"value":"o"}]}}`), true)
	f.Add([]byte(`{"type":"ACKNOWLEDGE","framework_id":{"value":"x"},"acknowledge":{"agent_id":{"value":"a"},"task_id":{"value":"t"},"uuid":"AAAA"}}`), true)
	f.Add([]byte{0x10, 0x01, 0x1a, 0x00}, false)
	f.Add([]byte(`{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","failover_timeout":1e308,"capabilities":[{"type":"MULTI_ROLE"}],"roles":["a","b/c"]}}}`), true)
	handler := startFuzzMaster(f)
	f.Fuzz(func(t *testing.T, body []byte, isJSON bool) {
		fuzzPost(t, handler, "/api/v1/scheduler", body, isJSON)
	})
}

func FuzzAgentCall(f *testing.F) {
	f.Add([]byte(`{"type":"SUBSCRIBE","subscribe":{"agent_info":{"hostname":"h","resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":1}}]}}}`), true)
	f.Add([]byte(`{"type":"SUBSCRIBE","subscribe":{"agent_info":{"hostname":"h","id":{"value":"x-S1"}},"tasks":[{"name":"t","task_id":{"value":"t"},"framework_id":{"value":"f"},"agent_id":{"value":"x-S1"},"state":"TASK_RUNNING"}]}}`), true)
	f.Add([]byte(`{"type":"STATUS_UPDATE","agent_id":{"value":"a"},"status_update":{"update":{"framework_id":{"value":"f"},"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING"}}}}`), true)
	f.Add([]byte{0x10, 0x03, 0x0a, 0x03, 0x0a, 0x01, 0x61}, false)
	handler := startFuzzMaster(f)
	f.Fuzz(func(t *testing.T, body []byte, isJSON bool) {
		fuzzPost(t, handler, "/api/v1/agent", body, isJSON)
	})
}

func TestStreamBreakStartsFailoverTimeout(t *testing.T) {
	tm := startMaster(t, func(c *Config) { c.AllocationInterval = 10 * time.Millisecond })
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, tm.url+"/api/v1/scheduler",
		bytes.NewReader(mustMarshal(t, apicodec.JSON, subscribeCall(mastertest.FrameworkInfo("fw")))))
	req.Header.Set("Content-Type", apicodec.MediaJSON)
	resp, err := tm.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	es := openStream(t, resp)
	ev := &scheduler.Event{}
	es.next(ev, func() bool { return ev.GetType() == scheduler.Event_SUBSCRIBED })
	fwID := ev.GetSubscribed().GetFrameworkId().GetValue()
	cancel() // the scheduler goes away; failover_timeout is 0

	deadline := time.Now().Add(10 * time.Second)
	for {
		var removed bool
		if err := tm.m.Do(context.Background(), func(l *ledger.Ledger) {
			snap := l.Snapshot()
			removed = !slices.ContainsFunc(snap.Frameworks, func(fw ledger.FrameworkView) bool { return fw.Info.GetId().GetValue() == fwID }) &&
				slices.ContainsFunc(snap.CompletedFrameworks, func(fw ledger.FrameworkView) bool { return fw.Info.GetId().GetValue() == fwID })
		}); err != nil {
			t.Fatal(err)
		}
		if removed {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("framework %s not removed after its stream broke", fwID)
		}
		<-time.After(5 * time.Millisecond) // poll interval
	}
}
