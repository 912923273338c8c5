package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeMarathon is a Marathon whose deployment of /web adds one running task per poll of
// /v2/deployments until the target is reached (never, when stuck).
type fakeMarathon struct {
	mu        sync.Mutex
	target    int
	running   int
	deploying bool
	stuck     bool
	deleted   bool
}

func (f *fakeMarathon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	reply := func(code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
	switch {
	case r.Method == http.MethodPut && r.URL.Path == "/v2/apps/web":
		var def struct {
			CPUs      *float64 `json:"cpus"`
			Instances *int     `json:"instances"`
		}
		_ = json.Unmarshal(body, &def)
		if def.CPUs != nil && *def.CPUs <= 0 {
			reply(422, map[string]any{"message": "Object is not valid",
				"details": []any{map[string]any{"path": "/cpus", "errors": []string{"must be positive"}}}})
			return
		}
		if def.Instances != nil {
			f.target = *def.Instances
		}
		f.deploying = true
		reply(200, map[string]string{"deploymentId": "d1", "version": "v1"})
	case r.Method == http.MethodDelete && r.URL.Path == "/v2/apps/web":
		f.deploying, f.target = true, 0
		reply(200, map[string]string{"deploymentId": "d2", "version": "v2"})
	case r.Method == http.MethodGet && r.URL.Path == "/v2/deployments":
		if !f.deploying {
			reply(200, []any{})
			return
		}
		if f.target == 0 {
			f.deploying, f.deleted = false, true
		}
		if !f.stuck && f.running < f.target {
			f.running++
		} else if f.running >= f.target {
			f.deploying = false
		}
		reply(200, []any{map[string]any{"id": "d1", "currentStep": 1, "totalSteps": 1,
			"currentActions": []any{map[string]string{"action": "StartApplication", "app": "/web"}}}})
	case r.Method == http.MethodGet && r.URL.Path == "/v2/apps/web":
		if f.deleted {
			reply(404, map[string]string{"message": "App '/web' does not exist"})
			return
		}
		app := map[string]any{"id": "/web", "instances": f.target, "tasksRunning": f.running, "cpus": 0.1, "mem": 32,
			"lastTaskFailure": map[string]string{"taskId": "web.0", "state": "TASK_FAILED", "message": "exit 1"}}
		if f.deploying {
			app["deployments"] = []any{map[string]string{"id": "d1"}}
		}
		reply(200, map[string]any{"app": app})
	case r.Method == http.MethodGet && r.URL.Path == "/v2/apps":
		reply(200, map[string]any{"apps": []any{map[string]any{"id": "/web", "instances": 2, "tasksRunning": 2, "cpus": 0.5, "mem": 64, "version": "v1"}}})
	case r.Method == http.MethodGet && r.URL.Path == "/v2/queue":
		q := []any{}
		if f.running < f.target {
			q = append(q, map[string]any{"app": map[string]string{"id": "/web"}, "count": f.target - f.running,
				"processedOffersSummary": map[string]any{"rejectSummaryLastOffers": []any{
					map[string]any{"reason": "InsufficientMemory", "declined": 3, "processed": 3}}}})
		}
		reply(200, map[string]any{"queue": q})
	default:
		reply(404, map[string]string{"message": "Not Found"})
	}
}

// runCLI runs the agora command line in-process.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	t.Setenv("AGORA_POLL", "5ms") // live views poll quickly; commands without --poll ignore it
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = run(ctx, args, &out, &errb)
	return out.String(), errb.String(), err
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAppsDeployShowsProgressAndSucceeds(t *testing.T) {
	srv := httptest.NewServer(&fakeMarathon{})
	defer srv.Close()
	app := writeFile(t, "app.json", `{"id":"/web","cmd":"sleep 100","instances":2,"cpus":0.1,"mem":32}`)
	out, _, err := runCLI(t, "apps", "deploy", "-f", app, "--marathon", srv.URL)
	if err != nil {
		t.Fatalf("deploy: %v\n%s", err, out)
	}
	for _, want := range []string{"deployment d1 of /web (version v1)\n",
		"[##########..........] 1/2 running | step 1/1: StartApplication /web | 1 launch(es) waiting: InsufficientMemory (3/3 offers)\n",
		"[####################] 2/2 running | step 1/1: StartApplication /web\n", "deployment d1 succeeded: 2/2 running\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\r") {
		t.Errorf("output to a non-terminal redraws lines:\n%q", out)
	}
}

func TestAppsDeployJSON(t *testing.T) {
	srv := httptest.NewServer(&fakeMarathon{})
	defer srv.Close()
	app := writeFile(t, "app.json", `{"id":"/web","instances":1}`)
	out, _, err := runCLI(t, "apps", "deploy", "-f", app, "--marathon", srv.URL, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var p progress
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, out)
	}
	if p.Status != "succeeded" || p.Running != 1 || p.DeploymentID != "d1" {
		t.Errorf("result = %+v", p)
	}
}

func TestAppsDeployTimesOutWithTheReason(t *testing.T) {
	srv := httptest.NewServer(&fakeMarathon{stuck: true})
	defer srv.Close()
	app := writeFile(t, "app.json", `{"id":"/web","instances":2}`)
	_, _, err := runCLI(t, "apps", "deploy", "-f", app, "--marathon", srv.URL, "--timeout", "100ms")
	if err == nil {
		t.Fatal("deploy of a stuck app succeeded")
	}
	for _, want := range []string{"timed out after 100ms", "0/2 running", "InsufficientMemory (3/3 offers)", "last task failure: web.0 TASK_FAILED: exit 1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if errors.Is(err, errUsage) {
		t.Error("a failed deployment is reported as a usage error")
	}
}

func TestAppsScaleAndDelete(t *testing.T) {
	f := &fakeMarathon{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	if out, _, err := runCLI(t, "apps", "scale", "web", "3", "--marathon", srv.URL); err != nil || !strings.Contains(out, "succeeded: 3/3 running") {
		t.Fatalf("scale: %v\n%s", err, out)
	}
	if out, _, err := runCLI(t, "apps", "delete", "/web", "--marathon", srv.URL); err != nil || !strings.Contains(out, "deployment d2 succeeded") {
		t.Fatalf("delete: %v\n%s", err, out)
	}
}

func TestServerErrorsAreMessages(t *testing.T) {
	srv := httptest.NewServer(&fakeMarathon{})
	defer srv.Close()
	app := writeFile(t, "app.json", `{"id":"/web","cpus":-1}`)
	_, _, err := runCLI(t, "apps", "deploy", "-f", app, "--marathon", srv.URL)
	if err == nil || err.Error() != "marathon: 422 /cpus: must be positive" {
		t.Fatalf("err = %v, want the server's message", err)
	}
	_, _, err = runCLI(t, "apps", "show", "nope", "--marathon", srv.URL)
	if err == nil || err.Error() != "marathon: 404 Not Found" {
		t.Fatalf("err = %v, want marathon: 404 Not Found", err)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := [][]string{
		{"apps"}, {"apps", "frobnicate"}, {"apps", "scale", "web"}, {"apps", "scale", "web", "many"},
		{"apps", "list", "--bogus"}, {"apps", "list", "-o", "yaml"}, {"apps", "deploy"}, {"logs"},
		{"completion", "fish"}, {"top", "--interval", "0s"},
	}
	for _, args := range tests {
		_, _, err := runCLI(t, append(args, "--marathon", "127.0.0.1:1", "--master", "127.0.0.1:1")...)
		if !errors.Is(err, errUsage) {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
}

func TestAppsListTableAndJSON(t *testing.T) {
	srv := httptest.NewServer(&fakeMarathon{})
	defer srv.Close()
	out, _, err := runCLI(t, "apps", "list", "--marathon", srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "ID ") || !strings.Contains(lines[1], "/web") || !strings.Contains(lines[1], "0.5") {
		t.Fatalf("table:\n%s", out)
	}
	out, _, err = runCLI(t, "apps", "list", "--marathon", srv.URL, "--output", "json")
	if err != nil {
		t.Fatal(err)
	}
	var apps []map[string]any
	if err := json.Unmarshal([]byte(out), &apps); err != nil || len(apps) != 1 || apps[0]["id"] != "/web" {
		t.Fatalf("json: %v\n%s", err, out)
	}
}

// fakeCluster is a master and an agent whose task web.1 wrote "hello\nworld\n" to stdout
// in two pieces and "oops\n" to stderr.
func fakeCluster(t *testing.T) (master string) {
	t.Helper()
	return fakeClusterServing(t, httptest.NewServer)
}

// fakeClusterServing is fakeCluster with its master and agent served by serve.
func fakeClusterServing(t *testing.T, serve func(http.Handler) *httptest.Server) (master string) {
	t.Helper()
	var mu sync.Mutex
	reads := 0
	agent := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/state":
			fmt.Fprint(w, `{"id":"a1","frameworks":[{"id":"f1","executors":[{"id":"e1","directory":"/sb/e1","tasks":[{"id":"web.1"}]}]}]}`)
		case "/files/read":
			mu.Lock()
			defer mu.Unlock()
			q := r.URL.Query()
			files := map[string]string{"/sb/e1/stdout": "hello\nworld\n", "/sb/e1/stderr": "oops\n"}
			data, ok := files[q.Get("path")]
			if !ok {
				http.Error(w, "No such file or directory: "+q.Get("path"), http.StatusNotFound)
				return
			}
			var off int
			fmt.Sscan(q.Get("offset"), &off)
			reads++
			chunk := data[min(off, len(data)):]
			if off == 0 && len(chunk) > 6 {
				chunk = chunk[:6] // the first read answers part of the file
			}
			fmt.Fprintf(w, `{"data":%q,"offset":%d}`, chunk, off)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(agent.Close)
	addr := agent.Listener.Addr().String()
	m := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/state" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, `{"id":"m","slaves":[{"id":"a1","pid":"slave(1)@%s","hostname":"h","port":1,"active":true,
			"resources":{"cpus":4,"mem":1024,"disk":100},"used_resources":{"cpus":1,"mem":256,"disk":0}}],
			"frameworks":[{"id":"f1","name":"marathon","roles":["*"],"active":true,"connected":true,
			"used_resources":{"cpus":1,"mem":256},
			"tasks":[{"id":"web.1","framework_id":"f1","slave_id":"a1","state":"TASK_RUNNING","resources":{"cpus":1,"mem":256}}],
			"completed_tasks":[{"id":"old.1","framework_id":"f1","slave_id":"a1","state":"TASK_FINISHED"}]}]}`, addr)
	}))
	t.Cleanup(m.Close)
	return m.Listener.Addr().String()
}

func TestLogs(t *testing.T) {
	master := fakeCluster(t)
	out, _, err := runCLI(t, "logs", "web", "--master", master)
	if err != nil || out != "hello\nworld\n" {
		t.Fatalf("logs = %q, %v; want the whole stdout", out, err)
	}
	out, _, err = runCLI(t, "logs", "web.1", "--stderr", "--master", master)
	if err != nil || out != "oops\n" {
		t.Fatalf("logs --stderr = %q, %v", out, err)
	}
	_, _, err = runCLI(t, "logs", "nope", "--master", master)
	if err == nil || !strings.Contains(err.Error(), "task not found: nope") {
		t.Fatalf("logs of an unknown task: %v", err)
	}
	_, _, err = runCLI(t, "logs", "old.1", "--master", master)
	if err == nil || !strings.Contains(err.Error(), "no sandbox for task old.1") {
		t.Fatalf("logs of a task without a sandbox: %v", err)
	}
}

func TestLogsFollowStopsWhenInterrupted(t *testing.T) {
	master := fakeCluster(t)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"logs", "web.1", "--follow", "--master", master}, pw, io.Discard)
		pw.Close()
	}()
	buf := make([]byte, 12)
	if _, err := io.ReadFull(pr, buf); err != nil || string(buf) != "hello\nworld\n" {
		t.Fatalf("followed %q, %v", buf, err)
	}
	cancel()
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if err := <-done; err != nil {
		t.Fatalf("logs --follow after interrupt: %v", err)
	}
}

func TestClusterViews(t *testing.T) {
	master := fakeCluster(t)
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"agents"}, []string{"a1", "1/4", "256/1024", "true"}},
		{[]string{"frameworks"}, []string{"f1", "marathon", "*"}},
		{[]string{"tasks"}, []string{"web.1", "TASK_RUNNING", "marathon"}},
		{[]string{"tasks", "--all"}, []string{"old.1", "TASK_FINISHED"}},
		{[]string{"top", "--count", "2", "--interval", "1ms"}, []string{"agents: 1 (1 active)", "cpus:", "1/4 25%", "RUNNING 1"}},
	}
	for _, tt := range tests {
		out, _, err := runCLI(t, append(tt.args, "--master", master)...)
		if err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", tt.args, w, out)
			}
		}
	}
	out, _, err := runCLI(t, "tasks", "-o", "json", "--master", master)
	var tasks []map[string]any
	if err != nil || json.Unmarshal([]byte(out), &tasks) != nil || len(tasks) != 1 || tasks[0]["id"] != "web.1" {
		t.Fatalf("tasks -o json = %s, %v", out, err)
	}
	if out, _, _ := runCLI(t, "top", "--count", "3", "--interval", "1ms", "-o", "json", "--master", master); strings.Count(out, `"agents": 1`) != 3 {
		t.Fatalf("top -o json --count 3:\n%s", out)
	}
}

func TestCompletion(t *testing.T) {
	out, _, err := runCLI(t, "completion", "bash")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`"apps") words="delete deploy list restart rollback scale show versions"`, `"apps deploy") words="--file --marathon`, "complete -F _agora agora", ` marathon master `} {
		if !strings.Contains(out, w) {
			t.Errorf("bash completion lacks %q", w)
		}
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal("bash is needed to check the completion script")
	}
	script := writeFile(t, "agora.bash", out)
	// Complete "agora apps sc" and "agora logs x --f" with the generated function.
	probe := `source ` + script + `
COMP_WORDS=(agora apps sc); COMP_CWORD=2; _agora; echo "${COMPREPLY[*]}"
COMP_WORDS=(agora logs x --f); COMP_CWORD=3; _agora; echo "${COMPREPLY[*]}"
COMP_WORDS=(agora ap); COMP_CWORD=1; _agora; echo "${COMPREPLY[*]}"`
	got, err := exec.Command(bash, "-c", probe).CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, got)
	}
	if want := "scale\n--follow\napps\n"; string(got) != want {
		t.Fatalf("completions = %q, want %q", got, want)
	}
}

func TestProgressOnATerminalRedrawsOneLine(t *testing.T) {
	var out bytes.Buffer
	c := &cli{stdout: &out, tty: true}
	p := progress{Target: 4, Healthy: 1, Running: 3, HealthChecks: true, Step: "step 1/2: RestartApplication /web"}
	line := c.drawProgress(p, "")
	line = c.drawProgress(p, line)
	c.endLine(line)
	want := "\r\033[K[#####...............] 1/4 healthy | step 1/2: RestartApplication /web"
	if got := out.String(); got != want+want+"\n" {
		t.Fatalf("terminal output = %q, want the line drawn twice in place", got)
	}
}

func TestProgressBar(t *testing.T) {
	tests := []struct {
		done, total int
		want        string
	}{
		{0, 2, "[....]"}, {1, 2, "[##..]"}, {2, 2, "[####]"}, {5, 2, "[####]"}, {0, 0, "[####]"}, {1, 0, "[....]"},
	}
	for _, tt := range tests {
		if got := progressBar(tt.done, tt.total, 4); got != tt.want {
			t.Errorf("progressBar(%d, %d) = %q, want %q", tt.done, tt.total, got, tt.want)
		}
	}
}
