package marathon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/agoracluster/agora/frameworks/sdk/sdktest"
	"github.com/agoracluster/agora/internal/poll"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// harness runs a Marathon against the fake master.
type harness struct {
	t      *testing.T
	master *sdktest.Master
	m      *Marathon
	base   string
}

func newHarness(t *testing.T, opts ...func(*Config)) *harness {
	t.Helper()
	fm := sdktest.NewMaster()
	cfg := DefaultConfig()
	cfg.Masters = []string{fm.Addr()}
	cfg.WorkDir = t.TempDir()
	cfg.Hostname = "127.0.0.1"
	cfg.TickInterval = 20 * time.Millisecond
	for _, o := range opts {
		o(&cfg)
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
	errc := make(chan error, 1)
	go func() { errc <- m.Run(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
		fm.Close()
	})
	h := &harness{t: t, master: fm, m: m, base: "http://" + ln.Addr().String()}
	if _, err := fm.Next(scheduler.Call_SUBSCRIBE, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	h.eventually(func() error {
		var info struct{ FrameworkID string }
		_, body := h.do(http.MethodGet, "/v2/info", "")
		if err := json.Unmarshal([]byte(body), &info); err != nil || info.FrameworkID == "" {
			return errors.New("not subscribed")
		}
		return nil
	})
	return h
}

func (h *harness) eventually(cond func() error) {
	h.t.Helper()
	poll.Eventually(h.t, 10*time.Second, cond)
}

func (h *harness) do(method, path, body string, hdr ...string) (*http.Response, string) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.base+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// launch offers enough resources and returns the tasks launched on the offer.
func (h *harness) launch(offerID string) []*mesos.TaskInfo {
	h.t.Helper()
	if err := h.master.SendOffers(h.master.NewOffer(offerID, "agent-1", "cpus:4;mem:4096;disk:1000;ports:[31000-31009]")); err != nil {
		h.t.Fatal(err)
	}
	c, err := h.master.Next(scheduler.Call_ACCEPT, 10*time.Second)
	if err != nil {
		h.t.Fatal(err)
	}
	return c.GetAccept().GetOperations()[0].GetLaunch().GetTaskInfos()
}

func TestAPIErrors(t *testing.T) {
	h := newHarness(t)
	big := `{"id":"/big","cmd":"` + strings.Repeat("x", 2<<20) + `"}`
	tests := []struct {
		name, method, path, body string
		code                     int
		contains                 string
	}{
		{"malformed", http.MethodPost, "/v2/apps", `{"id":`, 400, `"message"`},
		{"invalid", http.MethodPost, "/v2/apps", `{"id":"/x","cmd":"true","cpus":-1}`, 422, `"path":"/cpus"`},
		{"no cmd", http.MethodPost, "/v2/apps", `{"id":"/x"}`, 422, `Object is not valid`},
		{"bad id", http.MethodPost, "/v2/apps", `{"id":"/Bad_Id","cmd":"true"}`, 422, `"path":"/id"`},
		{"too large", http.MethodPost, "/v2/apps", big, 413, `"message"`},
		{"unknown app", http.MethodGet, "/v2/apps/nope", "", 404, `{"message":"App '/nope' does not exist"}`},
		{"unknown nested app", http.MethodDelete, "/v2/apps/a/b", "", 404, `App '/a/b' does not exist`},
		{"patch unknown", http.MethodPatch, "/v2/apps/nope", `{"instances":2}`, 404, `does not exist`},
		{"unknown deployment", http.MethodDelete, "/v2/deployments/nope", "", 404, `does not exist`},
		{"ping", http.MethodGet, "/ping", "", 200, "pong"},
		{"leader", http.MethodGet, "/v2/leader", "", 200, `{"leader":"127.0.0.1:8080"}`},
		{"abdicate", http.MethodDelete, "/v2/leader", "", 200, `Leadership abdicated`},
		{"info", http.MethodGet, "/v2/info", "", 200, `"frameworkId":"fake-0000"`},
		{"metrics", http.MethodGet, "/metrics", "", 200, `marathon_apps_active 0`},
		{"empty queue", http.MethodGet, "/v2/queue", "", 200, `{"queue":[]}`},
		{"empty deployments", http.MethodGet, "/v2/deployments", "", 200, `[]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := h.do(tc.method, tc.path, tc.body)
			if resp.StatusCode != tc.code || !strings.Contains(body, tc.contains) {
				t.Fatalf("%s %s = %d %s; want %d containing %s", tc.method, tc.path, resp.StatusCode, body, tc.code, tc.contains)
			}
		})
	}
}

func TestCreateLaunchAndStatus(t *testing.T) {
	h := newHarness(t)
	resp, body := h.do(http.MethodPost, "/v2/apps", `{"id":"group/app","cmd":"sleep 100","cpus":0.5,"mem":64,"instances":2,"labels":{"team":"x"},"env":{"FOO":"bar"}}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST = %d %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Location"); got != "/v2/apps/group/app" {
		t.Errorf("Location = %q", got)
	}
	dep := resp.Header.Get("Marathon-Deployment-Id")
	var created map[string]any
	if err := json.Unmarshal([]byte(body), &created); err != nil {
		t.Fatal(err)
	}
	if deps := created["deployments"].([]any); len(deps) != 1 || deps[0].(map[string]any)["id"] != dep {
		t.Errorf("deployments = %v, header %s", created["deployments"], dep)
	}
	for _, f := range []string{"tasksRunning", "tasksStaged", "tasksHealthy", "tasksUnhealthy", "version", "versionInfo", "tasks"} {
		if _, ok := created[f]; !ok {
			t.Errorf("created app lacks %q", f)
		}
	}
	// Duplicate id.
	if resp, body := h.do(http.MethodPost, "/v2/apps", `{"id":"/group/app","cmd":"sleep 1"}`); resp.StatusCode != http.StatusConflict {
		t.Errorf("duplicate POST = %d %s", resp.StatusCode, body)
	}
	// Locked by the deployment.
	if resp, body := h.do(http.MethodPut, "/v2/apps/group/app", `{"instances":3}`); resp.StatusCode != http.StatusConflict || !strings.Contains(body, dep) {
		t.Errorf("PUT during deployment = %d %s", resp.StatusCode, body)
	}

	tasks := h.launch("o1")
	if len(tasks) != 2 {
		t.Fatalf("launched %d tasks, want 2", len(tasks))
	}
	ti := tasks[0]
	if !strings.HasPrefix(ti.GetTaskId().GetValue(), "group_app.") || ti.GetName() != "app.group" {
		t.Errorf("task id %s name %s", ti.GetTaskId().GetValue(), ti.GetName())
	}
	env := map[string]string{}
	for _, v := range ti.GetCommand().GetEnvironment().GetVariables() {
		env[v.GetName()] = v.GetValue()
	}
	for k, want := range map[string]string{
		"FOO": "bar", "MARATHON_APP_ID": "/group/app", "PORT0": "31000", "PORT": "31000", "PORTS": "31000",
		"MARATHON_APP_LABEL_TEAM": "x", "MARATHON_APP_LABELS": "TEAM", "HOST": "agent-1.test",
		"MESOS_TASK_ID": ti.GetTaskId().GetValue(), "MARATHON_APP_RESOURCE_CPUS": "0.5",
	} {
		if env[k] != want {
			t.Errorf("env %s = %q, want %q", k, env[k], want)
		}
	}
	for _, task := range tasks {
		if err := h.master.SendUpdate(sdktest.NewStatus(task.GetTaskId().GetValue(), "agent-1", mesos.TaskState_TASK_RUNNING, []byte("u1"))); err != nil {
			t.Fatal(err)
		}
	}
	h.eventually(func() error {
		_, body := h.do(http.MethodGet, "/v2/apps/group/app", "")
		var out struct {
			App struct {
				TasksRunning int
				Deployments  []any
				Tasks        []map[string]any
			}
		}
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			return err
		}
		if out.App.TasksRunning != 2 || len(out.App.Deployments) != 0 {
			return fmt.Errorf("app: %s", body)
		}
		for _, f := range []string{"appId", "host", "id", "ports", "servicePorts", "slaveId", "stagedAt", "startedAt", "state", "version"} {
			if _, ok := out.App.Tasks[0][f]; !ok {
				return fmt.Errorf("task lacks %q: %v", f, out.App.Tasks[0])
			}
		}
		return nil
	})
	// Filters.
	for q, want := range map[string]int{"": 1, "?cmd=sleep": 1, "?cmd=nope": 0, "?id=group": 1, "?label=team==x": 1, "?label=team==y": 0, "?embed=apps.tasks": 1} {
		_, body := h.do(http.MethodGet, "/v2/apps"+q, "")
		var out struct{ Apps []map[string]any }
		if err := json.Unmarshal([]byte(body), &out); err != nil || len(out.Apps) != want {
			t.Errorf("GET /v2/apps%s = %s, want %d apps", q, body, want)
		}
	}
	// HAProxy text form.
	resp, body = h.do(http.MethodGet, "/v2/tasks", "", "Accept", "text/plain")
	if !strings.HasPrefix(body, "group_app\t10000\tagent-1.test:3100") {
		t.Errorf("text tasks = %q", body)
	}
	_, body = h.do(http.MethodGet, "/v2/tasks?status=staging", "")
	if body != `{"tasks":[]}` {
		t.Errorf("staging tasks = %s", body)
	}
	// A task failure is replaced after the back-off and shows as lastTaskFailure.
	failed := sdktest.NewStatus(tasks[0].GetTaskId().GetValue(), "agent-1", mesos.TaskState_TASK_FAILED, []byte("u2"))
	failed.Message = protoString("Command exited with status 1")
	if err := h.master.SendUpdate(failed); err != nil {
		t.Fatal(err)
	}
	h.eventually(func() error {
		_, body := h.do(http.MethodGet, "/v2/apps/group/app", "")
		if !strings.Contains(body, `"lastTaskFailure":{`) || !strings.Contains(body, "Command exited with status 1") {
			return fmt.Errorf("no lastTaskFailure: %s", body)
		}
		return nil
	})
	// Kill with scale: the app shrinks.
	resp, body = h.do(http.MethodDelete, "/v2/apps/group/app/tasks/"+tasks[1].GetTaskId().GetValue()+"?scale=true", "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "deploymentId") {
		t.Fatalf("kill and scale = %d %s", resp.StatusCode, body)
	}
	if _, err := h.master.Next(scheduler.Call_KILL, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	_, body = h.do(http.MethodGet, "/v2/apps/group/app", "")
	if !strings.Contains(body, `"instances":1`) {
		t.Errorf("after kill and scale: %s", body)
	}
}

func TestQueueShowsDeclineReasons(t *testing.T) {
	h := newHarness(t)
	if resp, body := h.do(http.MethodPost, "/v2/apps", `{"id":"/huge","cmd":"sleep 1","cpus":100}`); resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST = %d %s", resp.StatusCode, body)
	}
	if err := h.master.SendOffers(h.master.NewOffer("o1", "agent-1", "cpus:4;mem:4096")); err != nil {
		t.Fatal(err)
	}
	if _, err := h.master.Next(scheduler.Call_DECLINE, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	_, body := h.do(http.MethodGet, "/v2/queue", "")
	if !strings.Contains(body, `{"reason":"InsufficientCpus","declined":1,"processed":1}`) || !strings.Contains(body, `"count":1`) {
		t.Errorf("queue = %s", body)
	}
	// Force-deleting the deployment leaves the app; deleting the app empties the queue.
	if resp, _ := h.do(http.MethodDelete, "/v2/apps/huge", ""); resp.StatusCode != http.StatusConflict {
		t.Errorf("DELETE during deployment = %d, want 409", resp.StatusCode)
	}
	resp, body := h.do(http.MethodDelete, "/v2/apps/huge?force=true", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE = %d %s", resp.StatusCode, body)
	}
	_, body = h.do(http.MethodGet, "/v2/queue", "")
	if body != `{"queue":[]}` {
		t.Errorf("queue after delete = %s", body)
	}
}

func TestRestartKeepsState(t *testing.T) {
	fm := sdktest.NewMaster()
	defer fm.Close()
	dir := t.TempDir()
	start := func() (string, func()) {
		cfg := DefaultConfig()
		cfg.Masters, cfg.WorkDir, cfg.TickInterval = []string{fm.Addr()}, dir, 20*time.Millisecond
		m, err := New(cfg, zaptest.NewLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { errc <- m.Run(ctx, ln) }()
		return "http://" + ln.Addr().String(), func() { cancel(); <-errc }
	}
	base, stop := start()
	h := &harness{t: t, master: fm, base: base}
	if _, err := fm.Next(scheduler.Call_SUBSCRIBE, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if resp, body := h.do(http.MethodPost, "/v2/apps", `{"id":"/a","cmd":"sleep 100","cpus":0.1,"mem":16}`); resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST = %d %s", resp.StatusCode, body)
	}
	tasks := h.launch("o1")
	stop()

	base, stop = start()
	defer stop()
	h.base = base
	sub, err := fm.Next(scheduler.Call_SUBSCRIBE, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := sub.GetSubscribe().GetFrameworkInfo().GetId().GetValue(); got != "fake-0000" {
		t.Errorf("re-subscribed with framework id %q", got)
	}
	var ts []*scheduler.Call_Reconcile_Task
	for len(ts) == 0 {
		rec, err := fm.Next(scheduler.Call_RECONCILE, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		ts = rec.GetReconcile().GetTasks()
	}
	if len(ts) != 1 || ts[0].GetTaskId().GetValue() != tasks[0].GetTaskId().GetValue() {
		t.Errorf("reconciled %v, want %s", ts, tasks[0].GetTaskId().GetValue())
	}
	_, body := h.do(http.MethodGet, "/v2/apps/a", "")
	if !strings.Contains(body, tasks[0].GetTaskId().GetValue()) || !strings.Contains(body, `"deployments":[{"id"`) {
		t.Errorf("after restart: %s", body)
	}
}

func protoString(s string) *string { return &s }

func TestEventStream(t *testing.T) {
	h := newHarness(t)
	req, err := http.NewRequest(http.MethodGet, h.base+"/v2/events?event_type=api_post_event&event_type=deployment_info", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("events = %d", resp.StatusCode)
	}
	if r, body := h.do(http.MethodPost, "/v2/apps", `{"id":"/ev","cmd":"sleep 1"}`); r.StatusCode != http.StatusCreated {
		t.Fatalf("POST = %d %s", r.StatusCode, body)
	}
	seen := map[string]bool{}
	buf := make([]byte, 64<<10)
	var got strings.Builder
	for !(seen["api_post_event"] && seen["deployment_info"]) {
		n, err := resp.Body.Read(buf)
		if err != nil {
			t.Fatalf("read events: %v (got %s)", err, got.String())
		}
		got.Write(buf[:n])
		for _, typ := range []string{"api_post_event", "deployment_info"} {
			if strings.Contains(got.String(), "event: "+typ+"\n") {
				seen[typ] = true
			}
		}
	}
	if strings.Contains(got.String(), "event: status_update_event") {
		t.Errorf("filter let through other events: %s", got.String())
	}
}

func TestGroups(t *testing.T) {
	h := newHarness(t)
	body := `{"id":"/prod","apps":[{"id":"db","cmd":"sleep 1","instances":0},{"id":"web","cmd":"sleep 1","instances":0,"dependencies":["/prod/db"]}]}`
	resp, out := h.do(http.MethodPost, "/v2/groups", body)
	if resp.StatusCode != http.StatusCreated || !strings.Contains(out, "deploymentId") {
		t.Fatalf("POST group = %d %s", resp.StatusCode, out)
	}
	if resp, out := h.do(http.MethodPost, "/v2/groups", body); resp.StatusCode != http.StatusConflict {
		t.Errorf("POST again = %d %s", resp.StatusCode, out)
	}
	_, out = h.do(http.MethodGet, "/v2/groups/prod", "")
	for _, want := range []string{`"id":"/prod"`, `"id":"/prod/db"`, `"id":"/prod/web"`} {
		if !strings.Contains(out, want) {
			t.Errorf("GET group lacks %s: %s", want, out)
		}
	}
	if resp, _ := h.do(http.MethodGet, "/v2/apps/prod/web", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("app of the group: %d", resp.StatusCode)
	}
	if resp, out := h.do(http.MethodGet, "/v2/groups/nope", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown group = %d %s", resp.StatusCode, out)
	}
	h.eventually(func() error {
		if _, out := h.do(http.MethodGet, "/v2/deployments", ""); out != "[]" {
			return fmt.Errorf("deployments: %s", out)
		}
		return nil
	})
	if resp, out := h.do(http.MethodDelete, "/v2/groups/prod", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE group = %d %s", resp.StatusCode, out)
	}
	if resp, _ := h.do(http.MethodGet, "/v2/apps/prod/web", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("app after group delete: %d", resp.StatusCode)
	}
}

// TestUnreachableAndLostReplaced: an unreachable task (default strategy: expunge at once) and
// a lost task are replaced; the unreachable one is killed when it comes back.
func TestUnreachableAndLostReplaced(t *testing.T) {
	h := newHarness(t)
	if resp, body := h.do(http.MethodPost, "/v2/apps", `{"id":"/u","cmd":"sleep 100","cpus":0.1,"mem":16,"instances":2}`); resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST = %d %s", resp.StatusCode, body)
	}
	tasks := h.launch("o1")
	for _, tk := range tasks {
		if err := h.master.SendUpdate(sdktest.NewStatus(tk.GetTaskId().GetValue(), "agent-1", mesos.TaskState_TASK_RUNNING, nil)); err != nil {
			t.Fatal(err)
		}
	}
	gone, lost := tasks[0].GetTaskId().GetValue(), tasks[1].GetTaskId().GetValue()
	if err := h.master.SendUpdate(sdktest.NewStatus(gone, "agent-1", mesos.TaskState_TASK_UNREACHABLE, nil)); err != nil {
		t.Fatal(err)
	}
	if err := h.master.SendUpdate(sdktest.NewStatus(lost, "agent-1", mesos.TaskState_TASK_LOST, nil)); err != nil {
		t.Fatal(err)
	}
	h.eventually(func() error {
		_, body := h.do(http.MethodGet, "/v2/queue", "")
		if !strings.Contains(body, `"count":2`) {
			return fmt.Errorf("queue: %s", body)
		}
		return nil
	})
	// The lost task failed: its replacement waits out the back-off (1s by default).
	var replaced []*mesos.TaskInfo
	h.eventually(func() error {
		if err := h.master.SendOffers(h.master.NewOffer("o-"+fmt.Sprint(time.Now().UnixNano()), "agent-1", "cpus:4;mem:4096;ports:[31000-31009]")); err != nil {
			return err
		}
		c, err := h.master.Next(scheduler.Call_ACCEPT, 200*time.Millisecond)
		if err != nil {
			return err
		}
		replaced = append(replaced, c.GetAccept().GetOperations()[0].GetLaunch().GetTaskInfos()...)
		if len(replaced) < 2 {
			return fmt.Errorf("%d replacements", len(replaced))
		}
		return nil
	})
	// The expunged task comes back: it is killed.
	if err := h.master.SendUpdate(sdktest.NewStatus(gone, "agent-1", mesos.TaskState_TASK_RUNNING, nil)); err != nil {
		t.Fatal(err)
	}
	h.eventually(func() error {
		c, err := h.master.Next(scheduler.Call_KILL, 200*time.Millisecond)
		if err != nil {
			return err
		}
		if c.GetKill().GetTaskId().GetValue() != gone {
			return fmt.Errorf("killed %s", c.GetKill().GetTaskId().GetValue())
		}
		return nil
	})
}
