package master

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/apicodec"
	"github.com/agoracluster/agora/loglevel"
	"github.com/agoracluster/agora/master/httpapi"
	"github.com/agoracluster/agora/master/mastertest"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	masterpb "github.com/agoracluster/agora/proto/mesos/v1/master"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
	"github.com/agoracluster/agora/resources"
)

const testCredentials = `{"credentials": [
	{"principal": "ops", "secret": "ops-secret"},
	{"principal": "fw", "secret": "fw-secret"},
	{"principal": "agent", "secret": "agent-secret"},
	{"principal": "eve", "secret": "eve-secret"}]}`

const testACLs = `{
	"permissive": false,
	"register_frameworks": [{"principals": {"values": ["fw"]}, "roles": {"values": ["web"]}}],
	"run_tasks": [{"principals": {"values": ["fw"]}, "users": {"values": ["nobody"]}}],
	"teardown_frameworks": [{"principals": {"values": ["ops"]}, "framework_principals": {"type": "ANY"}}],
	"update_weights": [{"principals": {"values": ["ops"]}, "roles": {"type": "ANY"}}],
	"update_quotas": [{"principals": {"values": ["ops"]}, "roles": {"type": "ANY"}}],
	"reserve_resources": [{"principals": {"values": ["ops"]}, "roles": {"values": ["web"]}}],
	"view_frameworks": [{"principals": {"values": ["ops", "fw"]}, "users": {"type": "ANY"}}],
	"view_tasks": [{"principals": {"values": ["ops"]}, "users": {"type": "ANY"}}],
	"drain_agents": [{"principals": {"values": ["ops"]}, "agents": {"type": "ANY"}}],
	"start_maintenances": [{"principals": {"values": ["ops"]}, "machines": {"type": "ANY"}}],
	"update_maintenance_schedules": [{"principals": {"values": ["ops"]}, "machines": {"type": "ANY"}}],
	"get_maintenance_schedules": [{"principals": {"values": ["ops"]}, "machines": {"type": "ANY"}}],
	"view_flags": [{"principals": {"values": ["ops"]}, "flags": {"type": "ANY"}}],
	"set_log_level": [{"principals": {"values": ["ops"]}, "level": {"type": "ANY"}}],
	"get_endpoints": [{"principals": {"values": ["ops"]}, "paths": {"type": "ANY"}},
		{"principals": {"values": ["eve"]}, "paths": {"values": ["/metrics/snapshot", "/logging/toggle"]}}],
	"view_roles": [{"principals": {"values": ["ops"]}, "roles": {"type": "ANY"}}],
	"get_quotas": [{"principals": {"values": ["ops"]}, "roles": {"type": "ANY"}}]
}`

func startSecureMaster(t *testing.T) *testMaster {
	t.Helper()
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials.json")
	if err := os.WriteFile(creds, []byte(testCredentials), 0o600); err != nil {
		t.Fatal(err)
	}
	logLevel := loglevel.New(zap.NewAtomicLevelAt(zapcore.InfoLevel))
	t.Cleanup(logLevel.Stop)
	return startMaster(t, func(c *Config) {
		c.LogLevel = logLevel
		c.Credentials, c.ACLs = creds, testACLs
		c.AuthenticateFrameworks, c.AuthenticateAgents = true, true
		c.AuthenticateHTTPReadWrite, c.AuthenticateHTTPReadOnly = true, true
	})
}

// as returns headers carrying principal's credentials ("" none; secret "bad": a wrong one).
func as(principal string, headers map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range headers {
		out[k] = v
	}
	if principal != "" {
		secret := principal + "-secret"
		if principal == "bad" {
			principal, secret = "ops", "wrong"
		}
		out["Authorization"] = "Basic " + base64.StdEncoding.EncodeToString([]byte(principal+":"+secret))
	}
	return out
}

func (tm *testMaster) do(method, path string, headers map[string]string, body string) (int, string) {
	tm.t.Helper()
	req, err := http.NewRequest(method, tm.url+path, strings.NewReader(body))
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
	defer resp.Body.Close()
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/recordio") || resp.Header.Get(httpapi.StreamIDHeader) != "" {
		return resp.StatusCode, "" // a stream: its status is the answer
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAuthorizationMatrix: every kind of endpoint answers no credentials (and wrong ones)
// with 401, a principal the ACLs do not allow with 403, and an allowed one with success;
// a refused call changes nothing.
func TestAuthorizationMatrix(t *testing.T) {
	tm := startSecureMaster(t)
	js := map[string]string{"Content-Type": apicodec.MediaJSON, "Accept": apicodec.MediaJSON}
	op := func(call *masterpb.Call) string { return string(mustMarshal(t, apicodec.JSON, call)) }
	weights := op(&masterpb.Call{Type: masterpb.Call_UPDATE_WEIGHTS.Enum(), UpdateWeights: &masterpb.Call_UpdateWeights{
		WeightInfos: []*mesos.WeightInfo{{Role: proto.String("web"), Weight: proto.Float64(3)}}}})
	fwInfo := func(principal string) string {
		info := &mesos.FrameworkInfo{User: proto.String("nobody"), Name: proto.String("f"), Roles: []string{"web"},
			Capabilities: []*mesos.FrameworkInfo_Capability{{Type: mesos.FrameworkInfo_Capability_MULTI_ROLE.Enum()}}}
		if principal != "" {
			info.Principal = proto.String(principal)
		}
		return string(mustMarshal(t, apicodec.JSON, subscribeCall(info)))
	}
	agentSubscribe := string(mustMarshal(t, apicodec.JSON, &agorapb.AgentCall{Type: agorapb.AgentCall_SUBSCRIBE.Enum(),
		Subscribe: &agorapb.AgentCall_Subscribe{AgentInfo: &mesos.AgentInfo{Hostname: proto.String("a"), Port: proto.Int32(5051),
			Resources: resources.MustParse("cpus:1;mem:64").ToProto()}, Version: proto.String("test")}}))

	reserve := op(&masterpb.Call{Type: masterpb.Call_RESERVE_RESOURCES.Enum(), ReserveResources: &masterpb.Call_ReserveResources{
		AgentId: &mesos.AgentID{Value: proto.String("no-such-agent")},
		Resources: []*mesos.Resource{{Name: proto.String("cpus"), Type: mesos.Value_SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: proto.Float64(1)},
			Reservations: []*mesos.Resource_ReservationInfo{{Type: mesos.Resource_ReservationInfo_DYNAMIC.Enum(), Role: proto.String("web"), Principal: proto.String("ops")}}}}}})
	setLevel := op(&masterpb.Call{Type: masterpb.Call_SET_LOGGING_LEVEL.Enum(), SetLoggingLevel: &masterpb.Call_SetLoggingLevel{
		Level: proto.Uint32(1), Duration: &mesos.DurationInfo{Nanoseconds: proto.Int64(int64(10 * time.Minute))}}})
	tests := []struct {
		name, method, path, body string
		headers                  map[string]string
		want                     map[string]int // principal ("" none, "bad" wrong secret) → status
	}{
		{"health is open", http.MethodGet, "/health", "", nil, map[string]int{"": 200, "bad": 200}},
		{"operator read", http.MethodPost, "/api/v1", op(opCall(masterpb.Call_GET_HEALTH)), js,
			map[string]int{"": 401, "bad": 401, "eve": 200, "ops": 200}},
		{"state", http.MethodGet, "/state", "", nil, map[string]int{"": 401, "bad": 401, "eve": 200}},
		// get_endpoints: eve may GET /metrics/snapshot, fw no guarded endpoint; GET_METRICS
		// (the same figures) is held to the same rule.
		{"metrics", http.MethodGet, "/metrics/snapshot", "", nil, map[string]int{"": 401, "eve": 200, "fw": 403, "ops": 200}},
		{"metrics under /master, .json", http.MethodGet, "/master/metrics/snapshot.json", "", nil, map[string]int{"eve": 200, "fw": 403}},
		{"operator GET_METRICS", http.MethodPost, "/api/v1", op(opCall(masterpb.Call_GET_METRICS)), js,
			map[string]int{"": 401, "eve": 200, "fw": 403}},
		{"prometheus metrics", http.MethodGet, "/metrics", "", nil, map[string]int{"": 401, "eve": 403, "ops": 200}},
		// view_flags.
		{"legacy /flags", http.MethodGet, "/flags", "", nil, map[string]int{"": 401, "bad": 401, "eve": 403, "ops": 200}},
		{"legacy /master/flags.json", http.MethodGet, "/master/flags.json", "", nil, map[string]int{"eve": 403, "ops": 200}},
		{"operator GET_FLAGS", http.MethodPost, "/api/v1", op(opCall(masterpb.Call_GET_FLAGS)), js,
			map[string]int{"": 401, "bad": 401, "eve": 403, "ops": 200}},
		// The log level: /logging/toggle is a change (read-write credentials), guarded by
		// get_endpoints (fw) and set_log_level (eve); only refusals here, the level is
		// checked unchanged below.
		{"/logging/toggle reading the level", http.MethodGet, "/logging/toggle", "", nil,
			map[string]int{"": 401, "bad": 401, "fw": 403, "ops": 200}},
		{"/logging/toggle", http.MethodGet, "/logging/toggle?level=1&duration=10mins", "", nil,
			map[string]int{"": 401, "bad": 401, "fw": 403, "eve": 403}},
		{"operator SET_LOGGING_LEVEL", http.MethodPost, "/api/v1", setLevel, js,
			map[string]int{"": 401, "bad": 401, "fw": 403, "eve": 403}},
		{"operator UPDATE_WEIGHTS", http.MethodPost, "/api/v1", weights, js,
			map[string]int{"": 401, "bad": 401, "eve": 403, "ops": 200}},
		// Allowed, the call reaches the master, which knows no such agent (400).
		{"operator RESERVE_RESOURCES", http.MethodPost, "/api/v1", reserve, js,
			map[string]int{"": 401, "eve": 403, "ops": 400}},
		{"operator GET_MAINTENANCE_STATUS", http.MethodPost, "/api/v1", op(opCall(masterpb.Call_GET_MAINTENANCE_STATUS)), js,
			map[string]int{"": 401, "bad": 401, "eve": 200}},
		// Allowed (drain_agents), the call reaches the master, which knows no such agent.
		{"operator DRAIN_AGENT", http.MethodPost, "/api/v1", op(&masterpb.Call{Type: masterpb.Call_DRAIN_AGENT.Enum(),
			DrainAgent: &masterpb.Call_DrainAgent{AgentId: &mesos.AgentID{Value: proto.String("no-such-agent")}}}), js,
			map[string]int{"": 401, "bad": 401, "eve": 403, "ops": 400}},
		{"legacy GET /maintenance/status", http.MethodGet, "/maintenance/status", "", nil, map[string]int{"": 401, "eve": 200}},
		{"legacy POST /machine/down", http.MethodPost, "/machine/down", `[{"hostname":"x"}]`, js,
			map[string]int{"": 401, "bad": 401, "eve": 403, "ops": 400}},
		{"legacy POST /maintenance/schedule", http.MethodPost, "/maintenance/schedule",
			`{"windows":[{"machine_ids":[{"hostname":"m1"}],"unavailability":{"start":{"nanoseconds":1}}}]}`, js,
			map[string]int{"": 401, "eve": 403, "ops": 200}},
		{"legacy PUT /weights", http.MethodPut, "/weights", `[{"role": "web", "weight": 2}]`, js,
			map[string]int{"": 401, "bad": 401, "eve": 403, "ops": 200}},
		{"legacy POST /quota", http.MethodPost, "/quota", `{"role": "web", "guarantee": [], "force": true}`, js,
			map[string]int{"": 401, "eve": 403}},
		{"scheduler SUBSCRIBE as itself", http.MethodPost, "/api/v1/scheduler", fwInfo("fw"), js,
			map[string]int{"": 401, "bad": 401, "eve": 403, "fw": 200}},
		{"scheduler SUBSCRIBE, principal filled in", http.MethodPost, "/api/v1/scheduler", fwInfo(""), js,
			map[string]int{"eve": 403, "fw": 200}},
		{"agent SUBSCRIBE", http.MethodPost, "/api/v1/agent", agentSubscribe, js,
			map[string]int{"": 401, "bad": 401, "agent": 200}},
	}
	for _, tt := range tests {
		for principal, want := range tt.want {
			code, body := tm.do(tt.method, tt.path, as(principal, tt.headers), tt.body)
			if code != want {
				t.Errorf("%s as %q: %d %s, want %d", tt.name, principal, code, body, want)
			}
			if code == 403 && !strings.Contains(body, "Forbidden") {
				t.Errorf("%s as %q: 403 body %q does not say why", tt.name, principal, body)
			}
		}
	}

	// Only ops sees the schedule it set (get_maintenance_schedules); eve sees no machine.
	for principal, want := range map[string]string{"ops": `"hostname":"m1"`, "eve": `{}`} {
		code, body := tm.do(http.MethodGet, "/maintenance/schedule", as(principal, nil), "")
		if code != 200 || !strings.Contains(body, want) || (principal == "eve" && strings.Contains(body, "m1")) {
			t.Errorf("GET /maintenance/schedule as %s: %d %s, want %s", principal, code, body, want)
		}
	}

	// The refused weight changes left the weights as ops set them last (2, by PUT /weights).
	code, body := tm.do(http.MethodGet, "/weights", as("ops", nil), "")
	if code != 200 || !strings.Contains(body, `"weight":2`) {
		t.Errorf("weights after the matrix: %d %s, want web at 2", code, body)
	}

	// The refused log level changes left it as it was; ops changes it, by either way.
	logLevel := tm.m.cfg.LogLevel
	if logLevel.Level() != 0 {
		t.Fatalf("the log level after the refused changes: %d, want 0", logLevel.Level())
	}
	if code, body := tm.do(http.MethodPost, "/api/v1", as("ops", js), setLevel); code != 200 || logLevel.Level() != 1 {
		t.Fatalf("SET_LOGGING_LEVEL as ops: %d %s, level %d", code, body, logLevel.Level())
	}
	if code, body := tm.do(http.MethodGet, "/logging/toggle?level=0&duration=1mins", as("ops", nil), ""); code != 200 || logLevel.Level() != 0 {
		t.Fatalf("/logging/toggle as ops: %d %s, level %d", code, body, logLevel.Level())
	}

	// view_roles and get_quotas: eve sees no role, no weight and no quota; ops all of them.
	if code, body := tm.do(http.MethodPost, "/quota", as("ops", js), `{"role": "web", "guarantee": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1}}], "force": true}`); code != 200 {
		t.Fatalf("POST /quota as ops: %d %s", code, body)
	}
	for _, tt := range []struct{ name, method, path, body string }{
		{"/roles", http.MethodGet, "/roles", ""},
		{"GET_ROLES", http.MethodPost, "/api/v1", op(opCall(masterpb.Call_GET_ROLES))},
		{"/weights", http.MethodGet, "/weights", ""},
		{"GET_WEIGHTS", http.MethodPost, "/api/v1", op(opCall(masterpb.Call_GET_WEIGHTS))},
		{"/quota", http.MethodGet, "/quota", ""},
		{"GET_QUOTA", http.MethodPost, "/api/v1", op(opCall(masterpb.Call_GET_QUOTA))},
	} {
		for principal, want := range map[string]bool{"ops": true, "eve": false} {
			code, body := tm.do(tt.method, tt.path, as(principal, js), tt.body)
			if code != 200 || strings.Contains(body, `"web"`) != want {
				t.Errorf("%s as %s: %d %s, want role web shown: %v", tt.name, principal, code, body, want)
			}
		}
	}
}

// TestACLsRefuseTeardownAndUnauthorizedUsers: a task of a user run_tasks does not allow
// ends TASK_ERROR (REASON_TASK_UNAUTHORIZED) while the allowed one launches; only a
// principal of teardown_frameworks tears a framework down.
func TestACLsRefuseTeardownAndUnauthorizedUsers(t *testing.T) {
	tm := startSecureMaster(t)
	op := func(call *masterpb.Call) string { return string(mustMarshal(t, apicodec.JSON, call)) }
	pb := as("agent", map[string]string{"Content-Type": apicodec.MediaProtobuf, "Accept": apicodec.MediaProtobuf})
	agent := openStream(t, tm.post("/api/v1/agent", pb, mustMarshal(t, apicodec.Protobuf, &agorapb.AgentCall{
		Type: agorapb.AgentCall_SUBSCRIBE.Enum(), Subscribe: &agorapb.AgentCall_Subscribe{
			AgentInfo: &mesos.AgentInfo{Hostname: proto.String("agent1"), Port: proto.Int32(5051), Resources: resources.MustParse("cpus:2;mem:256").ToProto()},
			Version:   proto.String("test")}})))
	aev := &agorapb.AgentEvent{}
	agent.next(aev, func() bool { return aev.GetType() == agorapb.AgentEvent_SUBSCRIBED })
	agentID := aev.GetSubscribed().GetAgentId().GetValue()

	js := as("fw", map[string]string{"Content-Type": apicodec.MediaJSON})
	info := &mesos.FrameworkInfo{User: proto.String("nobody"), Name: proto.String("f"), Roles: []string{"web"},
		Capabilities: []*mesos.FrameworkInfo_Capability{{Type: mesos.FrameworkInfo_Capability_MULTI_ROLE.Enum()}}}
	fw := openStream(t, tm.post("/api/v1/scheduler", js, mustMarshal(t, apicodec.JSON, subscribeCall(info))))
	ev := &scheduler.Event{}
	fw.next(ev, func() bool { return ev.GetType() == scheduler.Event_SUBSCRIBED })
	fwID := ev.GetSubscribed().GetFrameworkId().GetValue()
	fw.next(ev, func() bool { return ev.GetType() == scheduler.Event_OFFERS })

	asRoot := mastertest.CommandTask("as-root", agentID, "cpus:0.5;mem:32")
	asRoot.Command.User = proto.String("root")
	asNobody := mastertest.CommandTask("as-nobody", agentID, "cpus:0.5;mem:32")
	launch := mastertest.LaunchCall(mastertest.OfferIDs(ev.GetOffers().GetOffers()[0]), asRoot, asNobody)
	launch.FrameworkId = mastertest.FrameworkID(fwID)
	js[httpapi.StreamIDHeader] = fw.streamID
	resp := tm.post("/api/v1/scheduler", js, mustMarshal(t, apicodec.JSON, launch))
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("ACCEPT: %s", resp.Status)
	}
	fw.next(ev, func() bool { return ev.GetType() == scheduler.Event_UPDATE })
	st := ev.GetUpdate().GetStatus()
	if st.GetTaskId().GetValue() != "as-root" || st.GetState() != mesos.TaskState_TASK_ERROR ||
		st.GetReason() != mesos.TaskStatus_REASON_TASK_UNAUTHORIZED || !strings.Contains(st.GetMessage(), "user 'root'") {
		t.Fatalf("update = %v, want TASK_ERROR REASON_TASK_UNAUTHORIZED for as-root", st)
	}
	agent.next(aev, func() bool { return aev.GetType() == agorapb.AgentEvent_RUN_TASK })
	if got := aev.GetRunTask().GetTask().GetTaskId().GetValue(); got != "as-nobody" {
		t.Fatalf("agent was sent %q, want only as-nobody", got)
	}

	// The /state family shows each principal what the view ACLs let it see.
	for _, tt := range []struct {
		principal       string
		framework, task bool
	}{{"eve", false, false}, {"fw", true, false}, {"ops", true, true}} {
		code, body := tm.do(http.MethodGet, "/state", as(tt.principal, nil), "")
		if code != 200 {
			t.Fatalf("/state as %s: %d %s", tt.principal, code, body)
		}
		if got := strings.Contains(body, fwID); got != tt.framework {
			t.Errorf("/state as %s shows the framework: %v, want %v", tt.principal, got, tt.framework)
		}
		if got := strings.Contains(body, `"as-nobody"`); got != tt.task {
			t.Errorf("/state as %s shows the task: %v, want %v", tt.principal, got, tt.task)
		}
	}
	// The operator SUBSCRIBE stream, too: its state and its events.
	jsonAs := func(p string) map[string]string {
		return as(p, map[string]string{"Content-Type": apicodec.MediaJSON, "Accept": apicodec.MediaJSON})
	}
	streams := map[string]*eventStream{}
	for _, p := range []string{"eve", "ops"} {
		streams[p] = openStream(t, tm.post("/api/v1", jsonAs(p), mustMarshal(t, apicodec.JSON, opCall(masterpb.Call_SUBSCRIBE))))
		ev := &masterpb.Event{}
		streams[p].next(ev, func() bool { return ev.GetType() == masterpb.Event_SUBSCRIBED })
		if got := len(ev.GetSubscribed().GetGetState().GetGetFrameworks().GetFrameworks()); got != map[string]int{"eve": 0, "ops": 1}[p] {
			t.Errorf("SUBSCRIBED as %s shows %d frameworks", p, got)
		}
	}
	update := tm.post("/api/v1/agent", as("agent", map[string]string{"Content-Type": apicodec.MediaProtobuf, httpapi.StreamIDHeader: agent.streamID}),
		mustMarshal(t, apicodec.Protobuf, mastertest.StatusUpdateCall(agentID, fwID, "as-nobody", mesos.TaskState_TASK_RUNNING, []byte("0123456789abcdef"))))
	update.Body.Close()
	if update.StatusCode != http.StatusAccepted {
		t.Fatalf("STATUS_UPDATE: %s", update.Status)
	}
	oev := &masterpb.Event{}
	streams["ops"].next(oev, func() bool { return oev.GetType() == masterpb.Event_TASK_UPDATED })
	// A second agent: an event eve may see, after the task's.
	other := openStream(t, tm.post("/api/v1/agent", pb, mustMarshal(t, apicodec.Protobuf, &agorapb.AgentCall{
		Type: agorapb.AgentCall_SUBSCRIBE.Enum(), Subscribe: &agorapb.AgentCall_Subscribe{
			AgentInfo: &mesos.AgentInfo{Hostname: proto.String("agent2"), Port: proto.Int32(5052), Resources: resources.MustParse("cpus:1;mem:64").ToProto()},
			Version:   proto.String("test")}})))
	_ = other
	streams["eve"].next(oev, func() bool {
		if oev.GetType() == masterpb.Event_TASK_UPDATED || oev.GetType() == masterpb.Event_TASK_ADDED {
			t.Errorf("eve's stream carried %s of a task view_tasks hides", oev.GetType())
		}
		return oev.GetType() == masterpb.Event_AGENT_ADDED
	})

	getTasks := op(opCall(masterpb.Call_GET_TASKS))
	if code, body := tm.do(http.MethodPost, "/api/v1", as("fw", map[string]string{"Content-Type": apicodec.MediaJSON, "Accept": apicodec.MediaJSON}), getTasks); code != 200 || strings.Contains(body, "as-nobody") {
		t.Errorf("GET_TASKS as fw: %d %s, want no task (view_tasks)", code, body)
	}

	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	body := url.Values{"frameworkId": {fwID}}.Encode()
	if code, msg := tm.do(http.MethodPost, "/teardown", as("eve", form), body); code != 403 || !strings.Contains(msg, "teardown_frameworks") {
		t.Fatalf("teardown by eve: %d %s, want 403", code, msg)
	}
	if code, msg := tm.do(http.MethodPost, "/teardown", as("ops", form), body); code != 200 {
		t.Fatalf("teardown by ops: %d %s", code, msg)
	}
}

func TestSecurityFlagsNeedCredentialsAndValidFiles(t *testing.T) {
	cfg := DefaultConfig()
	cfg.WorkDir = t.TempDir()
	cfg.AuthenticateFrameworks = true
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "need --credentials") {
		t.Errorf("Validate = %v", err)
	}
	cfg.AuthenticateFrameworks = false
	cfg.ACLs = `{"run_task": []}`
	if _, err := New(cfg, zap.NewNop()); err == nil || !strings.Contains(err.Error(), `--acls: acls: unknown action "run_task"`) {
		t.Errorf("New with bad ACLs = %v", err)
	}
	cfg.ACLs = ""
	cfg.Credentials = filepath.Join(t.TempDir(), "missing")
	if _, err := New(cfg, zap.NewNop()); err == nil || !strings.Contains(err.Error(), "--credentials") {
		t.Errorf("New with a missing credentials file = %v", err)
	}
}

// TestRunTasksAsRootNeedsAnExplicitRule: with ACLs in force, a task runs as root (or as the
// agent's own user, naming none) only under a run_tasks rule explicit about root; permissive
// ACLs without one, and a rule for any principal and any user, end it TASK_ERROR
// (REASON_TASK_UNAUTHORIZED) saying why, while a task as another user launches.
func TestRunTasksAsRootNeedsAnExplicitRule(t *testing.T) {
	tests := []struct {
		name, acls string
		launched   []string // the others end TASK_ERROR
	}{
		{"permissive, no run_tasks rule", `{}`, []string{"as-nobody"}},
		{"any principal, any user", `{"run_tasks": [{"principals": {"type": "ANY"}, "users": {"type": "ANY"}}]}`, []string{"as-nobody"}},
		{"a rule naming root", `{"run_tasks": [{"principals": {"values": ["fw"]}, "users": {"values": ["root"]}}]}`,
			[]string{"as-nobody", "as-root", "no-user"}},
		{"any user for a named principal", `{"permissive": false, "register_frameworks": [{"principals": {"type": "ANY"}, "roles": {"type": "ANY"}}],
			"run_tasks": [{"principals": {"values": ["fw"]}, "users": {"type": "ANY"}}]}`,
			[]string{"as-nobody", "as-root", "no-user"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm := startMaster(t, func(c *Config) { c.ACLs = tt.acls })
			pb := map[string]string{"Content-Type": apicodec.MediaProtobuf, "Accept": apicodec.MediaProtobuf}
			agent := openStream(t, tm.post("/api/v1/agent", pb, mustMarshal(t, apicodec.Protobuf, &agorapb.AgentCall{
				Type: agorapb.AgentCall_SUBSCRIBE.Enum(), Subscribe: &agorapb.AgentCall_Subscribe{
					AgentInfo: &mesos.AgentInfo{Hostname: proto.String("agent1"), Port: proto.Int32(5051), Resources: resources.MustParse("cpus:2;mem:256").ToProto()},
					Version:   proto.String("test")}})))
			aev := &agorapb.AgentEvent{}
			agent.next(aev, func() bool { return aev.GetType() == agorapb.AgentEvent_SUBSCRIBED })
			agentID := aev.GetSubscribed().GetAgentId().GetValue()

			js := map[string]string{"Content-Type": apicodec.MediaJSON}
			info := &mesos.FrameworkInfo{User: proto.String(""), Name: proto.String("f"), Principal: proto.String("fw")}
			fw := openStream(t, tm.post("/api/v1/scheduler", js, mustMarshal(t, apicodec.JSON, subscribeCall(info))))
			ev := &scheduler.Event{}
			fw.next(ev, func() bool { return ev.GetType() == scheduler.Event_SUBSCRIBED })
			fwID := ev.GetSubscribed().GetFrameworkId().GetValue()
			fw.next(ev, func() bool { return ev.GetType() == scheduler.Event_OFFERS })

			tasks := map[string]*mesos.TaskInfo{}
			for id, user := range map[string]string{"as-root": "root", "as-nobody": "nobody", "no-user": ""} {
				tasks[id] = mastertest.CommandTask(id, agentID, "cpus:0.5;mem:32")
				if user != "" {
					tasks[id].Command.User = proto.String(user)
				}
			}
			launch := mastertest.LaunchCall(mastertest.OfferIDs(ev.GetOffers().GetOffers()[0]), tasks["as-root"], tasks["as-nobody"], tasks["no-user"])
			launch.FrameworkId = mastertest.FrameworkID(fwID)
			js[httpapi.StreamIDHeader] = fw.streamID
			resp := tm.post("/api/v1/scheduler", js, mustMarshal(t, apicodec.JSON, launch))
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("ACCEPT: %s", resp.Status)
			}

			refused := map[string]string{} // task → message
			for range len(tasks) - len(tt.launched) {
				fw.next(ev, func() bool { return ev.GetType() == scheduler.Event_UPDATE })
				st := ev.GetUpdate().GetStatus()
				if st.GetState() != mesos.TaskState_TASK_ERROR || st.GetReason() != mesos.TaskStatus_REASON_TASK_UNAUTHORIZED {
					t.Fatalf("update %v, want TASK_ERROR REASON_TASK_UNAUTHORIZED", st)
				}
				refused[st.GetTaskId().GetValue()] = st.GetMessage()
			}
			var launched []string
			for range tt.launched {
				agent.next(aev, func() bool { return aev.GetType() == agorapb.AgentEvent_RUN_TASK })
				launched = append(launched, aev.GetRunTask().GetTask().GetTaskId().GetValue())
			}
			slices.Sort(launched)
			if !slices.Equal(launched, tt.launched) {
				t.Errorf("launched %v, want %v (refused: %v)", launched, tt.launched, refused)
			}
			for id, msg := range refused {
				if !strings.Contains(msg, "root") || !strings.Contains(msg, "run_tasks") || !strings.Contains(msg, "principal 'fw'") {
					t.Errorf("%s refused with %q, want the reason (run_tasks, root, the principal)", id, msg)
				}
			}
			if msg, ok := refused["no-user"]; ok && !strings.Contains(msg, "the agent's own user") {
				t.Errorf("no-user refused with %q, want it to say the task runs as the agent's user", msg)
			}
		})
	}
}
