package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agoracluster/agora/agent/stateapi"
)

// reply is a canned answer of a fake server.
type reply struct {
	status int
	ctype  string
	body   string
}

// serve answers every request with r and records the last request's method, URI and body.
func serve(t *testing.T, r reply) (*httptest.Server, *[3]string) {
	t.Helper()
	var last [3]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		last = [3]string{req.Method, req.URL.RequestURI(), string(b)}
		if r.ctype != "" {
			w.Header().Set("Content-Type", r.ctype)
		}
		w.WriteHeader(r.status)
		_, _ = io.WriteString(w, r.body)
	}))
	t.Cleanup(srv.Close)
	return srv, &last
}

func TestErrorsCarryTheServersMessage(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		r    reply
		call func(url string) error
		want string
	}{
		{"marathon validation details", reply{422, "application/json",
			`{"message":"Object is not valid","details":[{"path":"/cpus","errors":["must be positive"]}]}`},
			func(u string) error {
				m, _ := NewMarathon(u, nil)
				_, err := m.Deploy(ctx, []byte(`{"id":"/a","cpus":-1}`), false)
				return err
			}, "marathon: 422 /cpus: must be positive"},
		{"marathon several details", reply{422, "application/json",
			`{"message":"Object is not valid","details":[{"path":"/cpus","errors":["must be positive"]},{"path":"/mem","errors":["a","b"]}]}`},
			func(u string) error {
				m, _ := NewMarathon(u, nil)
				_, err := m.Scale(ctx, "a", 1, false)
				return err
			}, "marathon: 422 /cpus: must be positive; /mem: a, b"},
		{"marathon not found", reply{404, "application/json", `{"message":"App '/nope' does not exist"}`},
			func(u string) error { m, _ := NewMarathon(u, nil); _, err := m.App(ctx, "nope"); return err },
			"marathon: 404 App '/nope' does not exist"},
		{"marathon locked", reply{409, "application/json", `{"message":"App is locked by one or more deployments.","deployments":[{"id":"d1"}]}`},
			func(u string) error { m, _ := NewMarathon(u, nil); _, err := m.Restart(ctx, "a", false); return err },
			"marathon: 409 App is locked by one or more deployments."},
		{"batch conflict", reply{409, "application/json", `{"message":"job a has active runs"}`},
			func(u string) error { b, _ := NewBatch(u, nil); return b.DeleteJob(ctx, "a", false) },
			"batch: 409 job a has active runs"},
		{"agent plain text", reply{404, "text/plain", "No such file or directory: /x/stdout\n"},
			func(u string) error {
				a, _ := NewAgent(u, nil)
				_, err := a.ReadFile(ctx, "/x/stdout", 0, 10)
				return err
			},
			"agent: 404 No such file or directory: /x/stdout"},
		{"master empty body", reply{503, "", ""},
			func(u string) error { m, _ := NewMaster(u, nil); _, err := m.State(ctx); return err },
			"master: 503 Service Unavailable"},
		{"undecodable success", reply{200, "application/json", "{"},
			func(u string) error { m, _ := NewMaster(u, nil); _, err := m.State(ctx); return err },
			"master: GET /state: decode reply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := serve(t, tt.r)
			err := tt.call(srv.URL)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if tt.r.status >= 400 {
				var e *Error
				if !errors.As(err, &e) || e.Status != tt.r.status {
					t.Fatalf("err = %#v, want an *Error with status %d", err, tt.r.status)
				}
			}
		})
	}
}

func TestRequests(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		body string
		call func(url string) error
		want [3]string // method, URI, body
	}{
		{"deploy replaces the definition", `{"deploymentId":"d1","version":"v1"}`, func(u string) error {
			m, _ := NewMarathon(u, nil)
			d, err := m.Deploy(ctx, []byte(`{"id":"/g/a","cmd":"x"}`), true)
			if err == nil && (d.DeploymentID != "d1" || d.Version != "v1") {
				return errors.New("bad reply " + d.DeploymentID)
			}
			return err
		}, [3]string{"PUT", "/v2/apps/g/a?partialUpdate=false&force=true", `{"id":"/g/a","cmd":"x"}`}},
		{"scale", `{}`, func(u string) error { m, _ := NewMarathon(u, nil); _, err := m.Scale(ctx, "/a", 3, false); return err },
			[3]string{"PUT", "/v2/apps/a", `{"instances":3}`}},
		{"rollback", `{}`, func(u string) error {
			m, _ := NewMarathon(u, nil)
			_, err := m.Rollback(ctx, "a", "2026-01-01T00:00:00.000Z", false)
			return err
		},
			[3]string{"PUT", "/v2/apps/a", `{"version":"2026-01-01T00:00:00.000Z"}`}},
		{"restart", `{}`, func(u string) error { m, _ := NewMarathon(u, nil); _, err := m.Restart(ctx, "a", true); return err },
			[3]string{"POST", "/v2/apps/a/restart?force=true", ""}},
		{"delete app", `{}`, func(u string) error { m, _ := NewMarathon(u, nil); _, err := m.Delete(ctx, "a", false); return err },
			[3]string{"DELETE", "/v2/apps/a", ""}},
		{"versions", `{"versions":["v2","v1"]}`, func(u string) error {
			m, _ := NewMarathon(u, nil)
			vs, err := m.Versions(ctx, "a")
			if err == nil && strings.Join(vs, ",") != "v2,v1" {
				return errors.New("versions " + strings.Join(vs, ","))
			}
			return err
		}, [3]string{"GET", "/v2/apps/a/versions", ""}},
		{"run job", `{"id":"r1","jobId":"j","status":"STARTING"}`, func(u string) error {
			b, _ := NewBatch(u, nil)
			r, err := b.RunJob(ctx, "j")
			if err == nil && r.ID != "r1" {
				return errors.New("run " + r.ID)
			}
			return err
		}, [3]string{"POST", "/v1/jobs/j/runs", "{}"}},
		{"delete job stopping runs", ``, func(u string) error { b, _ := NewBatch(u, nil); return b.DeleteJob(ctx, "j", true) },
			[3]string{"DELETE", "/v1/jobs/j?stopCurrentJobRuns=true", ""}},
		{"read file", `{"data":"hi","offset":5}`, func(u string) error {
			a, _ := NewAgent(u, nil)
			c, err := a.ReadFile(ctx, "/s/stdout", 5, 100)
			if err == nil && (c.Data != "hi" || c.Offset != 5) {
				return errors.New("chunk " + c.Data)
			}
			return err
		}, [3]string{"GET", "/files/read?length=100&offset=5&path=%2Fs%2Fstdout", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, last := serve(t, reply{200, "application/json", tt.body})
			if err := tt.call(srv.URL); err != nil {
				t.Fatal(err)
			}
			if *last != tt.want {
				t.Fatalf("request = %q, want %q", *last, tt.want)
			}
		})
	}
}

func TestDeployNeedsAnID(t *testing.T) {
	m, _ := NewMarathon("127.0.0.1:1", nil)
	for _, def := range []string{`{"cmd":"x"}`, `not json`, `{"id":"/"}`} {
		if _, err := m.Deploy(context.Background(), []byte(def), false); err == nil {
			t.Errorf("Deploy(%s) = nil error, want one", def)
		}
	}
}

func TestNormalizeURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"127.0.0.1:8080", "http://127.0.0.1:8080"},
		{":8081", "http://127.0.0.1:8081"},
		{"http://h:1/", "http://h:1"},
		{"https://h", "https://h"},
		{"", ""},
		{"ftp://h", ""},
	}
	for _, tt := range tests {
		got, err := NormalizeURL(tt.in)
		if tt.want == "" {
			if !errors.Is(err, ErrBadURL) {
				t.Errorf("NormalizeURL(%q) = %q, %v; want ErrBadURL", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestFindTaskAndSandbox(t *testing.T) {
	st := MasterState{Frameworks: []FrameworkState{{ID: "f1",
		Tasks:          []Task{{ID: "web.1", AgentID: "a1"}, {ID: "web.2", AgentID: "a2"}},
		CompletedTasks: []Task{{ID: "batch.9", AgentID: "a1"}}}},
		Agents: []AgentSummary{{ID: "a1", PID: "slave(1)@10.0.0.1:5051", Hostname: "h", Port: 1}, {ID: "a2", Hostname: "h2", Port: 5052}}}
	tests := []struct{ id, want, err string }{
		{"web.1", "web.1", ""}, {"batch", "batch.9", ""}, {"web", "", "ambiguous"}, {"nope", "", "task not found"},
	}
	for _, tt := range tests {
		got, err := st.FindTask(tt.id)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("FindTask(%q) err = %v, want %q", tt.id, err, tt.err)
			}
			continue
		}
		if err != nil || got.ID != tt.want {
			t.Errorf("FindTask(%q) = %q, %v; want %q", tt.id, got.ID, err, tt.want)
		}
	}
	if a, _ := st.Agent("a1"); a.Addr() != "10.0.0.1:5051" {
		t.Errorf("a1 addr = %q, want the PID's", a.Addr())
	}
	if a, _ := st.Agent("a2"); a.Addr() != "h2:5052" {
		t.Errorf("a2 addr = %q, want hostname:port", a.Addr())
	}
	as := AgentState{ID: "a1", CompletedFrameworks: []stateapi.FrameworkState{{ID: "f1",
		CompletedExecutors: []stateapi.ExecutorState{{ID: "e", Directory: "/sb/e", CompletedTasks: []stateapi.TaskState{{ID: "batch.9"}}}}}}}
	if dir, err := Sandbox(as, "f1", "batch.9"); err != nil || dir != "/sb/e" {
		t.Errorf("Sandbox = %q, %v; want /sb/e", dir, err)
	}
	if _, err := Sandbox(as, "f1", "web.1"); !errors.Is(err, ErrNoSandbox) {
		t.Errorf("Sandbox of an unknown task: err = %v, want ErrNoSandbox", err)
	}
}

func TestQueueReason(t *testing.T) {
	var q QueueEntry
	q.Delay.TimeLeftSeconds = 3
	q.ProcessedOffersSummary.RejectSummaryLastOffers = []RejectReason{
		{Reason: "UnfulfilledRole", Declined: 0, Processed: 4}, {Reason: "InsufficientCpus", Declined: 4, Processed: 4}}
	if got, want := q.Reason(), "backoff delay 3s, InsufficientCpus (4/4 offers)"; got != want {
		t.Errorf("Reason() = %q, want %q", got, want)
	}
}

func TestResolveMasterPlainAddress(t *testing.T) {
	got, err := ResolveMaster(context.Background(), "10.0.0.1:5050, 10.0.0.2:5050", nil)
	if err != nil || got != "10.0.0.1:5050" {
		t.Fatalf("ResolveMaster = %q, %v; want the first address", got, err)
	}
	if _, err := ResolveMaster(context.Background(), "zk://", nil); err == nil {
		t.Fatal("ResolveMaster(zk://) = nil error, want a bad URL")
	}
}
