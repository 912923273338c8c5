package autoscale

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agoracluster/agora/client"
)

// fakeAgent serves /monitor/statistics from cumulative CPU seconds per executor, and
// counts the requests.
type fakeAgent struct {
	mu       sync.Mutex
	now      time.Time
	cpuSecs  map[string]float64 // executor id → cumulative cpu seconds
	limit    float64
	requests int
	srv      *httptest.Server
}

func newFakeAgent(t *testing.T, limit float64) *fakeAgent {
	a := &fakeAgent{cpuSecs: map[string]float64{}, limit: limit, now: time.Unix(1000, 0)}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/monitor/statistics" {
			http.NotFound(w, r)
			return
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		a.requests++
		out := []client.ExecutorStatistics{}
		for id, secs := range a.cpuSecs {
			var s client.ExecutorStatistics
			s.ExecutorID, s.FrameworkID = id, "marathon"
			s.Statistics.Timestamp = float64(a.now.UnixNano()) / 1e9
			s.Statistics.CPUsUserTimeSecs = secs
			s.Statistics.CPUsLimit = a.limit
			s.Statistics.MemRSSBytes, s.Statistics.MemLimitBytes = 10<<20, 100<<20
			out = append(out, s)
		}
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(a.srv.Close)
	return a
}

// burn advances the agent's clock by d, each executor of shares using its share of the
// cpu limit (an executor not seen before starts then).
func (a *fakeAgent) burn(d time.Duration, shares map[string]float64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.now = a.now.Add(d)
	for id, share := range shares {
		a.cpuSecs[id] += d.Seconds() * share * a.limit
	}
}

func (a *fakeAgent) requestCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.requests
}

type harness struct {
	now       time.Time
	targets   []Target
	agents    map[string]string
	scaled    []Decision
	scaleErr  error
	statsHits map[string]int
	lb        map[string]int64 // the balancers' request counts; nil: no balancer
}

func (h *harness) runner(t *testing.T) *Runner {
	t.Helper()
	r, err := NewRunner(Deps{
		Targets: func(context.Context) ([]Target, error) { return h.targets, nil },
		Agents:  func(context.Context) (map[string]string, error) { return h.agents, nil },
		Statistics: func(ctx context.Context, base string) ([]client.ExecutorStatistics, error) {
			ac, err := client.NewAgent(base, nil)
			if err != nil {
				return nil, err
			}
			return ac.Statistics(ctx)
		},
		Scale: func(_ context.Context, d Decision) error {
			if h.scaleErr != nil {
				return h.scaleErr
			}
			h.scaled = append(h.scaled, d)
			for i := range h.targets {
				if h.targets[i].AppID == d.AppID {
					h.targets[i].Instances = d.To
				}
			}
			return nil
		},
		Now: func() time.Time { return h.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	if h.lb != nil {
		r.deps.LBRequests = func(context.Context) (map[string]int64, error) { return maps.Clone(h.lb), nil }
	}
	return r
}

func TestRunnerScalesFromMeasuredUsageOneRequestPerAgent(t *testing.T) {
	ag1, ag2 := newFakeAgent(t, 1), newFakeAgent(t, 1)
	h := &harness{now: time.Unix(0, 0), agents: map[string]string{"a1": ag1.srv.URL, "a2": ag2.srv.URL}}
	h.targets = []Target{
		{AppID: "/hot", Policy: policy(), Instances: 2, Executors: map[string]string{"hot.1": "a1", "hot.2": "a2"}},
		{AppID: "/cool", Policy: policy(), Instances: 1, Executors: map[string]string{"cool.1": "a1"}},
	}
	r := h.runner(t)
	ctx := context.Background()
	ag1.burn(0, map[string]float64{"hot.1": 0, "cool.1": 0})
	ag2.burn(0, map[string]float64{"hot.2": 0})

	if err := r.Round(ctx); err != nil { // the first round has nothing to compare with
		t.Fatal(err)
	}
	if len(h.scaled) != 0 {
		t.Fatalf("scaled on the first sample: %+v", h.scaled)
	}
	// /hot burns 90% of its cpus (1.8 × the 0.5 target), /cool 50% (on target).
	ag1.burn(10*time.Second, map[string]float64{"hot.1": 0.9, "cool.1": 0.5})
	ag2.burn(10*time.Second, map[string]float64{"hot.2": 0.9})
	h.now = h.now.Add(10 * time.Second)
	if err := r.Round(ctx); err != nil {
		t.Fatal(err)
	}
	if len(h.scaled) != 1 || h.scaled[0].AppID != "/hot" || h.scaled[0].From != 2 || h.scaled[0].To != 4 {
		t.Fatalf("decisions = %+v, want /hot 2 → 4 (ceil(2 × 1.8))", h.scaled)
	}
	if got1, got2 := ag1.requestCount(), ag2.requestCount(); got1 != 2 || got2 != 2 {
		t.Errorf("requests per agent over two rounds = %d, %d; want 2 each (one per round, whatever the apps)", got1, got2)
	}
	st := r.Status()
	if len(st) != 2 || st[1].AppID != "/hot" || st[1].Instances != 4 || len(st[1].Decisions) != 1 || st[1].Usage == nil {
		t.Fatalf("status = %+v", st)
	}
	if u := st[0].Usage; u == nil || u.CPU < 0.49 || u.CPU > 0.51 {
		t.Errorf("/cool usage = %+v, want cpu 0.5", u)
	}
}

func TestRunnerLeavesDeployingAppsAndUnknownAgentsAlone(t *testing.T) {
	ag := newFakeAgent(t, 1)
	h := &harness{now: time.Unix(0, 0), agents: map[string]string{"a1": ag.srv.URL}}
	h.targets = []Target{
		{AppID: "/busy", Policy: policy(), Instances: 1, Deploying: true, Executors: map[string]string{"busy.1": "a1"}},
		{AppID: "/lost", Policy: policy(), Instances: 1, Executors: map[string]string{"lost.1": "gone-agent"}},
	}
	r := h.runner(t)
	ctx := context.Background()
	for range 3 {
		ag.burn(10*time.Second, map[string]float64{"busy.1": 1})
		h.now = h.now.Add(10 * time.Second)
		if err := r.Round(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if len(h.scaled) != 0 {
		t.Fatalf("scaled %+v: a deploying app or one measured on no agent", h.scaled)
	}
}

func TestRunnerBringsAppsIntoBoundsAndReportsScaleErrors(t *testing.T) {
	h := &harness{now: time.Unix(0, 0), agents: map[string]string{}}
	h.targets = []Target{{AppID: "/small", Policy: policy(), Instances: 0, Executors: map[string]string{}}}
	h.scaleErr = errors.New("app is locked by a deployment")
	r := h.runner(t)
	err := r.Round(context.Background())
	if err == nil || !strings.Contains(err.Error(), "scale /small from 0 to 1") {
		t.Fatalf("Round = %v, want the failed scaling named", err)
	}
	h.scaleErr = nil
	h.now = h.now.Add(2 * time.Minute) // past the cool-down the failed decision started
	if err := r.Round(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(h.scaled) != 1 || h.scaled[0].To != 1 {
		t.Fatalf("decisions = %+v, want /small 0 → 1 (below the minimum)", h.scaled)
	}
}

func TestRunnerForgetsAppsNoLongerAutoscaled(t *testing.T) {
	h := &harness{now: time.Unix(0, 0), agents: map[string]string{}}
	h.targets = []Target{{AppID: "/a", Policy: policy(), Instances: 1, Executors: map[string]string{}}}
	r := h.runner(t)
	if err := r.Round(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.targets = nil
	if err := r.Round(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := r.Status(); len(st) != 0 {
		t.Fatalf("status keeps %+v", st)
	}
}

func TestNewRunnerNamesMissingDependencies(t *testing.T) {
	_, err := NewRunner(Deps{Targets: func(context.Context) ([]Target, error) { return nil, nil }})
	if err == nil || !strings.Contains(err.Error(), "Agents") || !strings.Contains(err.Error(), "Scale") {
		t.Fatalf("NewRunner = %v", err)
	}
}

// TestRoundScalesOnRequestRate: an app with a request-rate target is scaled by the rate the
// balancers counted between two rounds, per running instance; without a balancer its
// status says why nothing is measured.
func TestRoundScalesOnRequestRate(t *testing.T) {
	rps := Policy{Min: 1, Max: 5, TargetRPS: 10, CooldownUp: time.Minute, CooldownDown: time.Minute, Tolerance: 0.1}
	h := &harness{now: t0, agents: map[string]string{}, lb: map[string]int64{"/web": 1000},
		targets: []Target{{AppID: "/web", Policy: rps, Instances: 2, Executors: map[string]string{"web.1": "a1", "web.2": "a1"}}}}
	r := h.runner(t)
	ctx := context.Background()
	if err := r.Round(ctx); err != nil || len(h.scaled) != 0 {
		t.Fatalf("first round (one reading): %v, scaled %v", err, h.scaled)
	}
	h.now = h.now.Add(10 * time.Second)
	h.lb["/web"] += 600 // 60 requests/s over 2 instances: 30 each against 10
	if err := r.Round(ctx); err != nil {
		t.Fatal(err)
	}
	if len(h.scaled) != 1 || h.scaled[0].To != 5 || h.scaled[0].RPS != 30 {
		t.Fatalf("scaled %+v, want one decision to 5 (capped) at 30 requests/s per instance", h.scaled)
	}
	if st := r.Status(); len(st) != 1 || st[0].Usage == nil || !st[0].Usage.RPSMeasured || st[0].Problem != "" {
		t.Fatalf("status = %+v", st)
	}

	unmeasured := &harness{now: t0, agents: map[string]string{},
		targets: []Target{{AppID: "/web", Policy: rps, Instances: 2, Executors: map[string]string{"web.1": "a1"}}}}
	r = unmeasured.runner(t)
	for range 2 {
		if err := r.Round(ctx); err != nil {
			t.Fatal(err)
		}
		unmeasured.now = unmeasured.now.Add(10 * time.Second)
	}
	if st := r.Status(); len(st) != 1 || st[0].Problem != noLB || len(unmeasured.scaled) != 0 {
		t.Fatalf("without a balancer: status %+v, scaled %v", st, unmeasured.scaled)
	}
}
