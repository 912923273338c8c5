package agent

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/sandbox"
	"github.com/agoracluster/agora/agent/stateapi"
	"github.com/agoracluster/agora/internal/poll"
	"github.com/agoracluster/agora/loglevel"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

const agentTestCredentials = `{"credentials": [
	{"principal": "ops", "secret": "ops-secret"},
	{"principal": "alice", "secret": "alice-secret"},
	{"principal": "eve", "secret": "eve-secret"},
	{"principal": "carol", "secret": "carol-secret"}]}`

// ops sees and reads everything, alice what runs as alice, eve and carol nothing. Of the
// endpoints get_endpoints guards ops may GET all, alice /containers, /monitor/statistics and
// /logging/toggle, eve /containers, carol none; only ops may read the flags and change the
// log level.
const agentTestACLs = `{
	"permissive": false,
	"view_frameworks": [{"principals": {"values": ["ops"]}, "users": {"type": "ANY"}},
		{"principals": {"values": ["alice"]}, "users": {"values": ["alice"]}}],
	"view_executors": [{"principals": {"values": ["ops"]}, "users": {"type": "ANY"}},
		{"principals": {"values": ["alice"]}, "users": {"values": ["alice"]}}],
	"view_tasks": [{"principals": {"values": ["ops"]}, "users": {"type": "ANY"}},
		{"principals": {"values": ["alice"]}, "users": {"values": ["alice"]}}],
	"access_sandboxes": [{"principals": {"values": ["ops"]}, "users": {"type": "ANY"}},
		{"principals": {"values": ["alice"]}, "users": {"values": ["alice"]}}],
	"get_endpoints": [{"principals": {"values": ["ops"]}, "paths": {"type": "ANY"}},
		{"principals": {"values": ["alice"]}, "paths": {"values": ["/slave(1)/containers", "/monitor/statistics", "/logging/toggle"]}},
		{"principals": {"values": ["eve"]}, "paths": {"values": ["/containers"]}}],
	"view_flags": [{"principals": {"values": ["ops"]}, "flags": {"type": "ANY"}}],
	"set_log_level": [{"principals": {"values": ["ops"]}, "level": {"type": "ANY"}}]
}`

// runTaskAs is runTask for a framework whose tasks run as user.
func runTaskAs(fid, user string, task *mesos.TaskInfo) *agorapb.AgentEvent {
	ev := runTask(fid, task)
	ev.GetRunTask().GetFrameworkInfo().User = proto.String(user)
	return ev
}

// request sends method path (body for POST, as JSON) as principal ("" none; "bad" ops
// with a wrong secret) and returns the status and body.
func request(t *testing.T, base, method, path, principal, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
	}
	if principal != "" {
		secret := principal + "-secret"
		if principal == "bad" {
			principal, secret = "ops", "wrong"
		}
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(principal+":"+secret)))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAgentAuthorizationMatrix: with --authenticate_http_readonly and _readwrite every
// endpoint that reads the agent answers no credentials (and wrong ones) with 401 and valid
// ones with success, /health and the executor API (tasks still run) staying open; the
// sandboxes are read only by principals access_sandboxes allows (403 for others), and
// /state, GET_STATE, /containers and /monitor/statistics show each principal only the
// frameworks, executors and tasks the view ACLs let it see. A refused call leaves the
// task running.
func TestAgentAuthorizationMatrix(t *testing.T) {
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials.json")
	if err := os.WriteFile(creds, []byte(agentTestCredentials), 0o600); err != nil {
		t.Fatal(err)
	}
	fm := newFakeMaster(t)
	logLevel := loglevel.New(zap.NewAtomicLevelAt(zapcore.InfoLevel))
	t.Cleanup(logLevel.Stop)
	ta := startAgent(t, fm.addr(), func(c *Config) {
		c.LogLevel = logLevel
		c.HTTPCredentials, c.ACLs = creds, agentTestACLs
		c.AuthenticateHTTPReadOnly, c.AuthenticateHTTPReadWrite = true, true
		c.SwitchUser = false // the users are the ACLs' objects; the tasks run as the test's user
	})
	waitSubscribed(t, fm, 1)
	fm.send(runTaskAs("fw-alice", "alice", commandTask("ta", "run")))
	fm.send(runTaskAs("fw-bob", "bob", commandTask("tb", "run")))
	fm.waitState(t, "ta", mesos.TaskState_TASK_RUNNING)
	fm.waitState(t, "tb", mesos.TaskState_TASK_RUNNING)

	stateAs := func(principal string) stateapi.State {
		t.Helper()
		code, body := request(t, ta.url, http.MethodGet, "/state", principal, "")
		var st stateapi.State
		if code != http.StatusOK || json.Unmarshal([]byte(body), &st) != nil {
			t.Fatalf("/state as %q: %d %s", principal, code, body)
		}
		return st
	}
	sandboxOf := func(fid string) string {
		for _, fw := range stateAs("ops").Frameworks {
			if fw.ID == fid && len(fw.Executors) == 1 {
				return fw.Executors[0].Directory
			}
		}
		t.Fatalf("no sandbox of %s in /state", fid)
		return ""
	}
	aliceOut, bobOut := sandboxOf("fw-alice")+"/stdout", sandboxOf("fw-bob")+"/stdout"
	read := func(p string) string { return "/files/read?" + url.Values{"path": {p}, "offset": {"0"}}.Encode() }
	op := func(call string) string { return `{"type": "` + call + `"}` }
	setLevel := `{"type": "SET_LOGGING_LEVEL", "set_logging_level": {"level": 1, "duration": {"nanoseconds": 600000000000}}}`
	readFile := func(p string) string {
		return `{"type": "READ_FILE", "read_file": {"path": "` + p + `", "offset": 0}}`
	}

	tests := []struct {
		name, method, path, body string
		want                     map[string]int // principal ("" none, "bad" wrong secret) → status
	}{
		{"health is open", http.MethodGet, "/health", "", map[string]int{"": 200, "bad": 200}},
		{"state", http.MethodGet, "/state", "", map[string]int{"": 401, "bad": 401, "eve": 200}},
		{"state.json", http.MethodGet, "/state.json", "", map[string]int{"": 401, "eve": 200}},
		// get_endpoints, on the paths in every form; the operator API's calls that show the
		// same are held to the same rules.
		{"monitor/statistics", http.MethodGet, "/monitor/statistics", "", map[string]int{"": 401, "bad": 401, "eve": 403, "alice": 200, "ops": 200}},
		{"monitor/statistics.json", http.MethodGet, "/monitor/statistics.json", "", map[string]int{"eve": 403, "alice": 200}},
		{"containers", http.MethodGet, "/containers", "", map[string]int{"": 401, "carol": 403, "eve": 200, "alice": 200}},
		{"slave(1)/containers", http.MethodGet, "/slave(1)/containers", "", map[string]int{"carol": 403, "alice": 200}},
		{"operator GET_CONTAINERS", http.MethodPost, "/api/v1", op("GET_CONTAINERS"), map[string]int{"": 401, "carol": 403, "alice": 200}},
		{"metrics/snapshot", http.MethodGet, "/metrics/snapshot", "", map[string]int{"": 401, "alice": 403, "ops": 200}},
		{"operator GET_METRICS", http.MethodPost, "/api/v1", op("GET_METRICS"), map[string]int{"": 401, "alice": 403, "ops": 200}},
		{"metrics", http.MethodGet, "/metrics", "", map[string]int{"": 401, "eve": 403, "ops": 200}},
		// view_flags.
		{"flags", http.MethodGet, "/flags", "", map[string]int{"": 401, "bad": 401, "eve": 403, "ops": 200}},
		{"flags.json", http.MethodGet, "/flags.json", "", map[string]int{"alice": 403, "ops": 200}},
		// The log level: get_endpoints (eve) and set_log_level (alice) refuse; the level is
		// checked unchanged below.
		{"logging/toggle reading the level", http.MethodGet, "/logging/toggle", "", map[string]int{"": 401, "eve": 403, "alice": 200}},
		{"logging/toggle", http.MethodGet, "/logging/toggle?level=1&duration=10mins", "", map[string]int{"": 401, "bad": 401, "eve": 403, "alice": 403}},
		{"operator SET_LOGGING_LEVEL", http.MethodPost, "/api/v1", setLevel, map[string]int{"": 401, "bad": 401, "alice": 403, "eve": 403}},
		{"files/read of alice's sandbox", http.MethodGet, read(aliceOut), "",
			map[string]int{"": 401, "bad": 401, "eve": 403, "alice": 200, "ops": 200}},
		{"files/read of bob's sandbox", http.MethodGet, read(bobOut), "", map[string]int{"alice": 403, "ops": 200}},
		{"files/browse of alice's sandbox", http.MethodGet, "/files/browse?path=" + url.QueryEscape(filepath.Dir(aliceOut)), "",
			map[string]int{"": 401, "eve": 403, "alice": 200}},
		{"files/browse of every sandbox", http.MethodGet, "/files/browse?path=" + url.QueryEscape(sandbox.Root(ta.cfg.WorkDir)), "",
			map[string]int{"alice": 403, "ops": 200}},
		{"files/download of alice's stdout", http.MethodGet, "/files/download?path=" + url.QueryEscape(aliceOut), "",
			map[string]int{"": 401, "eve": 403, "alice": 200}},
		{"operator GET_STATE", http.MethodPost, "/api/v1", op("GET_STATE"), map[string]int{"": 401, "bad": 401, "eve": 200}},
		{"operator GET_FLAGS", http.MethodPost, "/api/v1", op("GET_FLAGS"), map[string]int{"": 401, "eve": 403, "ops": 200}},
		{"operator READ_FILE of alice's stdout", http.MethodPost, "/api/v1", readFile(aliceOut),
			map[string]int{"": 401, "bad": 401, "eve": 403, "alice": 200, "bob": 401}},
		{"operator READ_FILE of bob's stdout", http.MethodPost, "/api/v1", readFile(bobOut), map[string]int{"alice": 403, "ops": 200}},
		// A call that would change the agent needs credentials first; Agora's agent then
		// says it does not make it.
		{"operator KILL_CONTAINER", http.MethodPost, "/api/v1",
			`{"type": "KILL_CONTAINER", "kill_container": {"container_id": {"value": "x"}}}`,
			map[string]int{"": 401, "bad": 401, "eve": 501}},
		{"a POST to a read endpoint", http.MethodPost, "/state", "{}", map[string]int{"": 401}},
	}
	for _, tt := range tests {
		for principal, want := range tt.want {
			code, body := request(t, ta.url, tt.method, tt.path, principal, tt.body)
			if code != want {
				t.Errorf("%s as %q: %d %s, want %d", tt.name, principal, code, body, want)
			}
			if code == 401 && tt.path != "/api/v1" && !strings.Contains(body, "credentials") {
				t.Errorf("%s as %q: 401 body %q does not say why", tt.name, principal, body)
			}
			if code == 403 && !strings.Contains(body, "Forbidden") {
				t.Errorf("%s as %q: 403 body %q does not say why", tt.name, principal, body)
			}
		}
	}

	// The refused log level changes left it as it was; ops changes it, by either way.
	if logLevel.Level() != 0 {
		t.Fatalf("the log level after the refused changes: %d, want 0", logLevel.Level())
	}
	if code, body := request(t, ta.url, http.MethodPost, "/api/v1", "ops", setLevel); code != 200 || logLevel.Level() != 1 {
		t.Fatalf("SET_LOGGING_LEVEL as ops: %d %s, level %d", code, body, logLevel.Level())
	}
	if code, body := request(t, ta.url, http.MethodGet, "/logging/toggle?level=0&duration=1mins", "ops", ""); code != 200 || logLevel.Level() != 0 {
		t.Fatalf("/logging/toggle as ops: %d %s, level %d", code, body, logLevel.Level())
	}

	// What each principal sees.
	for _, tt := range []struct {
		principal string
		tasks     []string
	}{{"eve", nil}, {"alice", []string{"ta"}}, {"ops", []string{"ta", "tb"}}} {
		st := stateAs(tt.principal)
		var seen []string
		for _, id := range []string{"ta", "tb"} {
			if taskStateIn(st, id) != "" {
				seen = append(seen, id)
			}
		}
		if strings.Join(seen, ",") != strings.Join(tt.tasks, ",") {
			t.Errorf("/state as %s shows tasks %v, want %v", tt.principal, seen, tt.tasks)
		}
		_, body := request(t, ta.url, http.MethodPost, "/api/v1", tt.principal, op("GET_STATE"))
		for _, id := range []string{"ta", "tb"} {
			want := strings.Contains(strings.Join(tt.tasks, ","), id)
			if got := strings.Contains(body, `"value":"`+id+`"`); got != want {
				t.Errorf("GET_STATE as %s shows %s: %v, want %v", tt.principal, id, got, want)
			}
		}
		_, body = request(t, ta.url, http.MethodGet, "/containers", tt.principal, "")
		if got, want := strings.Count(body, `"executor_id"`), len(tt.tasks); got != want {
			t.Errorf("/containers as %s lists %d containers, want %d: %s", tt.principal, got, want, body)
		}
	}

	// Nothing the refused calls asked for happened: the tasks run on.
	poll.Eventually(t, 5*time.Second, func() bool {
		st := stateAs("ops")
		return taskStateIn(st, "ta") == "TASK_RUNNING" && taskStateIn(st, "tb") == "TASK_RUNNING"
	}, "the tasks stopped running")
}

// TestAgentAuthenticationNeedsCredentials: --authenticate_http_* without --http_credentials,
// and a malformed credentials or ACL file, are errors at start that name the flag.
func TestAgentAuthenticationNeedsCredentials(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"credentials": [{"principal": "x"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"readonly without credentials", func(c *Config) { c.AuthenticateHTTPReadOnly = true }, "need --http_credentials"},
		{"readwrite without credentials", func(c *Config) { c.AuthenticateHTTPReadWrite = true }, "need --http_credentials"},
		{"a malformed credentials file", func(c *Config) { c.HTTPCredentials = bad }, "--http_credentials"},
		{"malformed ACLs", func(c *Config) { c.ACLs = `{"view_tasks": [{"principals": {}}]}` }, "--acls"},
	} {
		cfg := testConfig(t, "127.0.0.1:1")
		tt.mutate(&cfg)
		if _, err := New(cfg, zap.NewNop()); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error naming %s", tt.name, err, tt.want)
		}
	}
}
