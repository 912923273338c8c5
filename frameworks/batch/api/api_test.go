package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/agoracluster/agora/frameworks/batch/job"
	"github.com/agoracluster/agora/frameworks/batch/run"
	"github.com/agoracluster/agora/frameworks/marathon/events"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// fakeBackend keeps jobs and runs in memory, as the loop would.
type fakeBackend struct {
	mu   sync.Mutex
	jobs map[string]*Job
	runs map[string]*run.Run
}

func newFake() *fakeBackend {
	return &fakeBackend{jobs: map[string]*Job{}, runs: map[string]*run.Run{}}
}

func (f *fakeBackend) Jobs(_ context.Context, activeRuns bool) ([]Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Job
	for _, j := range f.jobs {
		out = append(out, withRuns(*j, activeRuns))
	}
	return out, nil
}

func (f *fakeBackend) Job(_ context.Context, id string, activeRuns bool) (Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j := f.jobs[id]
	if j == nil {
		return Job{}, fmt.Errorf("%w: %s", ErrJobNotFound, id)
	}
	return withRuns(*j, activeRuns), nil
}

// withRuns is j with its active runs only when they were asked for, as the Backend returns it.
func withRuns(j Job, activeRuns bool) Job {
	if !activeRuns {
		j.ActiveRuns = nil
	}
	return j
}

func (f *fakeBackend) CreateJob(_ context.Context, s *job.Spec) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.jobs[s.ID] != nil {
		return ErrJobExists
	}
	f.jobs[s.ID] = &Job{Spec: s}
	return nil
}

func (f *fakeBackend) UpdateJob(_ context.Context, s *job.Spec) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.jobs[s.ID] == nil {
		return ErrJobNotFound
	}
	f.jobs[s.ID].Spec = s
	return nil
}

func (f *fakeBackend) DeleteJob(_ context.Context, id string, stop bool) (*job.Spec, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j := f.jobs[id]
	if j == nil {
		return nil, ErrJobNotFound
	}
	if len(j.ActiveRuns) > 0 && !stop {
		return nil, ErrActiveRuns
	}
	delete(f.jobs, id)
	return j.Spec, nil
}

func (f *fakeBackend) CreateSchedule(_ context.Context, jobID string, s *job.Schedule) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	j := f.jobs[jobID]
	if j == nil {
		return ErrJobNotFound
	}
	for _, o := range j.Schedules {
		if o.ID == s.ID {
			return ErrScheduleExists
		}
	}
	j.Schedules = append(j.Schedules, s)
	if j.NextRunAt == nil {
		j.NextRunAt = map[string]time.Time{}
	}
	j.NextRunAt[s.ID] = time.Date(2026, 1, 3, 2, 0, 0, 0, time.UTC)
	return nil
}

func (f *fakeBackend) UpdateSchedule(_ context.Context, jobID string, s *job.Schedule) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	j := f.jobs[jobID]
	if j == nil {
		return ErrJobNotFound
	}
	for i, o := range j.Schedules {
		if o.ID == s.ID {
			j.Schedules[i] = s
			return nil
		}
	}
	return ErrScheduleNotFound
}

func (f *fakeBackend) DeleteSchedule(_ context.Context, jobID, id string) (*job.Schedule, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j := f.jobs[jobID]
	if j == nil {
		return nil, ErrJobNotFound
	}
	for i, o := range j.Schedules {
		if o.ID == id {
			j.Schedules = append(j.Schedules[:i], j.Schedules[i+1:]...)
			return o, nil
		}
	}
	return nil, ErrScheduleNotFound
}

func (f *fakeBackend) StartRun(_ context.Context, jobID string) (*run.Run, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j := f.jobs[jobID]
	if j == nil {
		return nil, ErrJobNotFound
	}
	r := run.New(jobID, fmt.Sprintf("20260102030405run%d", len(f.runs)), run.Params{}, t0)
	f.runs[r.ID] = r
	j.ActiveRuns = append(j.ActiveRuns, r)
	return r, nil
}

func (f *fakeBackend) Runs(_ context.Context, jobID string) ([]*run.Run, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j := f.jobs[jobID]
	if j == nil {
		return nil, ErrJobNotFound
	}
	return j.ActiveRuns, nil
}

func (f *fakeBackend) Run(_ context.Context, jobID, runID string) (*run.Run, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.jobs[jobID] == nil {
		return nil, ErrJobNotFound
	}
	r := f.runs[runID]
	if r == nil || r.JobID != jobID {
		return nil, ErrRunNotFound
	}
	return r, nil
}

func (f *fakeBackend) StopRun(ctx context.Context, jobID, runID string) (*run.Run, error) {
	r, err := f.Run(ctx, jobID, runID)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r.Stop(t0.Add(time.Minute))
	return r, nil
}

func (f *fakeBackend) Info(context.Context) Info {
	return Info{Version: "1.2.3", FrameworkID: "fw-1", Leader: "batch.example:8081"}
}

type fixture struct {
	t   *testing.T
	srv *httptest.Server
	bus *events.Bus
	b   *fakeBackend
}

func newFixture(t *testing.T) *fixture {
	bus, err := events.NewBus(events.DefaultConfig(), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "batch_test_total", Help: "test"})
	reg.MustRegister(c)
	c.Inc()
	f := &fixture{t: t, bus: bus, b: newFake()}
	f.srv = httptest.NewServer(Handler(Options{Backend: f.b, Events: bus, Metrics: reg, MaxBodyBytes: 1 << 10, Log: zaptest.NewLogger(t)}))
	t.Cleanup(func() { bus.Close(); f.srv.Close() })
	return f
}

func (f *fixture) do(method, path, body string) (int, string) {
	f.t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const hello = `{"id":"hello","run":{"cmd":"echo hi","cpus":0.1,"mem":32}}`

func TestStatusCodes(t *testing.T) {
	tests := []struct {
		name         string
		setup        []string // "METHOD path body" run first, each must succeed
		method, path string
		body         string
		code         int
		contains     string
	}{
		{"create", nil, "POST", "/v1/jobs", hello, 201, `"id":"hello"`},
		{"duplicate", []string{"POST /v1/jobs " + hello}, "POST", "/v1/jobs", hello, 409, "already exists"},
		{"malformed JSON", nil, "POST", "/v1/jobs", `{"id":`, 400, "Invalid JSON"},
		{"invalid spec", nil, "POST", "/v1/jobs", `{"id":"Bad_Id","run":{"cmd":"x","cpus":-1,"mem":32}}`, 422, `"path":"/id"`},
		{"invalid spec names the field", nil, "POST", "/v1/jobs", `{"id":"ok","run":{"cmd":"x","cpus":-1,"mem":32}}`, 422, `"/run/cpus"`},
		{"unknown field", nil, "POST", "/v1/jobs", `{"id":"ok","run":{"cmd":"x"},"bogus":1}`, 422, "bogus"},
		{"too large", nil, "POST", "/v1/jobs", `{"id":"big","description":"` + strings.Repeat("x", 2000) + `","run":{"cmd":"x"}}`, 413, "limit of 1024 bytes"},
		{"unknown job", nil, "GET", "/v1/jobs/nope", "", 404, "job not found"},
		{"unknown run", []string{"POST /v1/jobs " + hello}, "GET", "/v1/jobs/hello/runs/nope", "", 404, "run not found"},
		{"runs of unknown job", nil, "POST", "/v1/jobs/nope/runs", "", 404, "job not found"},
		{"start run", []string{"POST /v1/jobs " + hello}, "POST", "/v1/jobs/hello/runs", "", 201, `"status":"INITIAL"`},
		{"delete with active runs", []string{"POST /v1/jobs " + hello, "POST /v1/jobs/hello/runs "}, "DELETE", "/v1/jobs/hello", "", 409, "active runs"},
		{"delete stopping runs", []string{"POST /v1/jobs " + hello, "POST /v1/jobs/hello/runs "}, "DELETE", "/v1/jobs/hello?stopCurrentJobRuns=true", "", 200, `"id":"hello"`},
		{"delete with a bad flag", []string{"POST /v1/jobs " + hello}, "DELETE", "/v1/jobs/hello?stopCurrentJobRuns=yes", "", 422, "stopCurrentJobRuns"},
		{"put with another id", []string{"POST /v1/jobs " + hello}, "PUT", "/v1/jobs/hello", `{"id":"other","run":{"cmd":"x"}}`, 422, "the job id of the path"},
		{"put", []string{"POST /v1/jobs " + hello}, "PUT", "/v1/jobs/hello", `{"id":"hello","run":{"cmd":"echo new"}}`, 200, "echo new"},
		{"unknown embed", []string{"POST /v1/jobs " + hello}, "GET", "/v1/jobs/hello?embed=everything", "", 422, "unknown embed"},
		{"schedule", []string{"POST /v1/jobs " + hello}, "POST", "/v1/jobs/hello/schedules", `{"id":"nightly","cron":"0 2 * * *"}`, 201, `"nightly"`},
		{"bad cron", []string{"POST /v1/jobs " + hello}, "POST", "/v1/jobs/hello/schedules", `{"id":"nightly","cron":"0 2 * *"}`, 422, "/cron"},
		{"bad time zone", []string{"POST /v1/jobs " + hello}, "POST", "/v1/jobs/hello/schedules", `{"id":"n","cron":"0 2 * * *","timezone":"Mars/Olympus"}`, 422, "/timezone"},
		{"duplicate schedule", []string{"POST /v1/jobs " + hello, `POST /v1/jobs/hello/schedules {"id":"n","cron":"0 2 * * *"}`}, "POST", "/v1/jobs/hello/schedules", `{"id":"n","cron":"0 3 * * *"}`, 409, "already exists"},
		{"schedule with its next run", []string{"POST /v1/jobs " + hello, `POST /v1/jobs/hello/schedules {"id":"n","cron":"0 2 * * *"}`}, "GET", "/v1/jobs/hello/schedules/n", "", 200, `"nextRunAt":"2026-01-03T02:00:00.000+0000"`},
		{"unknown schedule", []string{"POST /v1/jobs " + hello}, "GET", "/v1/jobs/hello/schedules/n", "", 404, "schedule not found"},
		{"delete schedule", []string{"POST /v1/jobs " + hello, `POST /v1/jobs/hello/schedules {"id":"n","cron":"0 2 * * *"}`}, "DELETE", "/v1/jobs/hello/schedules/n", "", 200, `"id":"n"`},
		{"ping", nil, "GET", "/ping", "", 200, "pong"},
		{"info", nil, "GET", "/v1/info", "", 200, `"version":"1.2.3"`},
		{"leader", nil, "GET", "/v1/leader", "", 200, `"leader":"batch.example:8081"`},
		{"metrics", nil, "GET", "/metrics", "", 200, "batch_test_total 1"},
		{"method not allowed", nil, "PATCH", "/v1/jobs", "", 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			for _, s := range tt.setup {
				parts := strings.SplitN(s, " ", 3)
				if code, body := f.do(parts[0], parts[1], parts[2]); code >= 300 {
					t.Fatalf("setup %s: %d %s", s, code, body)
				}
			}
			code, body := f.do(tt.method, tt.path, tt.body)
			if code != tt.code || !strings.Contains(body, tt.contains) {
				t.Fatalf("%s %s = %d %s, want %d containing %q", tt.method, tt.path, code, body, tt.code, tt.contains)
			}
		})
	}
}

func TestEmbeds(t *testing.T) {
	f := newFixture(t)
	f.do("POST", "/v1/jobs", hello)
	f.do("POST", "/v1/jobs/hello/runs", "")
	end := t0.Add(time.Hour)
	f.b.jobs["hello"].History = run.History{SuccessCount: 2, LastSuccessAt: &end,
		Runs: []run.Summary{{ID: "r1", CreatedAt: t0, FinishedAt: end, Status: run.Success}}}
	tests := []struct {
		query    string
		has, not []string
	}{
		{"", nil, []string{"activeRuns", "schedules", "history"}},
		{"?embed=activeRuns", []string{`"activeRuns":[{"id":"20260102030405run0"`}, []string{"history"}},
		{"?embed=schedules", []string{`"schedules":[]`}, []string{"activeRuns"}},
		{"?embed=historySummary", []string{`"historySummary":{"successCount":2,"failureCount":0,"lastSuccessAt":"2026-01-02T04:04:05.000+0000","lastFailureAt":null}`}, []string{`"history":`}},
		{"?embed=history", []string{`"successfulFinishedRuns":[{"id":"r1","createdAt":"2026-01-02T03:04:05.000+0000","finishedAt":"2026-01-02T04:04:05.000+0000"}]`, `"failedFinishedRuns":[]`}, nil},
		{"?embed=activeRuns,schedules", []string{`"activeRuns":`, `"schedules":`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			for _, path := range []string{"/v1/jobs/hello", "/v1/jobs"} {
				code, body := f.do("GET", path+tt.query, "")
				if code != 200 {
					t.Fatalf("GET %s = %d %s", path+tt.query, code, body)
				}
				for _, s := range tt.has {
					if !strings.Contains(body, s) {
						t.Errorf("GET %s: %s lacks %s", path+tt.query, body, s)
					}
				}
				for _, s := range tt.not {
					if strings.Contains(body, s) {
						t.Errorf("GET %s: %s has %s", path+tt.query, body, s)
					}
				}
			}
		})
	}
}

func TestStopRun(t *testing.T) {
	f := newFixture(t)
	f.do("POST", "/v1/jobs", hello)
	_, body := f.do("POST", "/v1/jobs/hello/runs", "")
	var r struct{ ID string }
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	code, body := f.do("POST", "/v1/jobs/hello/runs/"+r.ID+"/actions/stop", "")
	if code != 200 || !strings.Contains(body, `"status":"FAILED"`) || !strings.Contains(body, `"reason":"STOPPED"`) {
		t.Fatalf("stop = %d %s", code, body)
	}
}

type testEvent struct{ Name string }

func (e testEvent) Type() string { return "run_started" }

func TestEventStream(t *testing.T) {
	f := newFixture(t)
	req, err := http.NewRequest("GET", f.srv.URL+"/v1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /v1/events = %d", resp.StatusCode)
	}
	f.bus.Publish(testEvent{Name: "x"})
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if sc.Text() == "event: run_started" {
			return
		}
	}
	t.Fatalf("stream ended without the event: %v", sc.Err())
}
