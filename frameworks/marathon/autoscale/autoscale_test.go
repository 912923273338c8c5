package autoscale

import (
	"math"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func policy() Policy {
	return Policy{Min: 1, Max: 5, TargetCPU: 0.5, CooldownUp: time.Minute, CooldownDown: 5 * time.Minute, Tolerance: 0.1}
}

func TestPolicyFromLabels(t *testing.T) {
	p, err := PolicyFromLabels(map[string]string{"other": "x"})
	if p != nil || err != nil {
		t.Fatalf("no autoscale labels: %+v, %v", p, err)
	}
	p, err = PolicyFromLabels(map[string]string{
		LabelMinInstances: "1", LabelMaxInstances: "4", LabelTargetCPU: "0.6", LabelCooldownUp: "30s", LabelCooldownDown: "2mins",
	})
	if err != nil || *p != (Policy{Min: 1, Max: 4, TargetCPU: 0.6, CooldownUp: 30 * time.Second, CooldownDown: 2 * time.Minute, Tolerance: DefaultTolerance}) {
		t.Fatalf("policy = %+v, %v", p, err)
	}
	for _, c := range []struct {
		labels map[string]string
		want   string
	}{
		{map[string]string{LabelMinInstances: "1", LabelTargetCPU: "0.5"}, LabelMaxInstances + ": required"},
		{map[string]string{LabelMinInstances: "1", LabelMaxInstances: "2"}, "one target is required"},
		{map[string]string{LabelMinInstances: "3", LabelMaxInstances: "2", LabelTargetCPU: "0.5"}, "below"},
		{map[string]string{LabelMinInstances: "x", LabelMaxInstances: "2", LabelTargetCPU: "0.5"}, LabelMinInstances},
		{map[string]string{LabelMinInstances: "1", LabelMaxInstances: "2", LabelTargetCPU: "1.5"}, LabelTargetCPU},
		{map[string]string{LabelMinInstances: "1", LabelMaxInstances: "2", LabelTargetMem: "0.5", LabelCooldownUp: "soon"}, LabelCooldownUp},
		{map[string]string{LabelMinInstances: "1", LabelMaxInstances: "2", LabelTargetMem: "0.5", LabelTolerance: "1"}, LabelTolerance},
	} {
		if _, err := PolicyFromLabels(c.labels); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err %v, want %q", c.labels, err, c.want)
		}
	}
}

// TestScaleUpUnderLoadAndDownWhenItStops walks one app through a load and its end with a
// fake clock: up proportionally (capped at Max), not again within the up cool-down,
// down after the load stops only once the down cool-down has passed, never below Min.
func TestScaleUpUnderLoadAndDownWhenItStops(t *testing.T) {
	c := NewController()
	p := policy()
	now := t0
	// Two instances burning 100% of their cpus against a 50% target: double them.
	d, ok := c.Decide(now, "/burn", p, 2, Usage{Instances: 2, CPU: 1.0})
	if !ok || d.From != 2 || d.To != 4 || !strings.Contains(d.Reason, "cpu") {
		t.Fatalf("under load: %+v, %v", d, ok)
	}
	// Still loaded 30s later: within the up cool-down.
	now = now.Add(30 * time.Second)
	if d, ok := c.Decide(now, "/burn", p, 4, Usage{Instances: 4, CPU: 1.0}); ok {
		t.Fatalf("scaled within the cool-down: %+v", d)
	}
	// After it, capped at Max.
	now = now.Add(31 * time.Second)
	if d, ok := c.Decide(now, "/burn", p, 4, Usage{Instances: 4, CPU: 1.0}); !ok || d.To != 5 {
		t.Fatalf("second scale up: %+v, %v", d, ok)
	}
	// At Max and loaded: nothing to do.
	now = now.Add(2 * time.Minute)
	if d, ok := c.Decide(now, "/burn", p, 5, Usage{Instances: 5, CPU: 1.0}); ok {
		t.Fatalf("above max: %+v", d)
	}
	// The load stops; the down cool-down counts from the last scaling (3 minutes ago).
	now = now.Add(time.Minute)
	if d, ok := c.Decide(now, "/burn", p, 5, Usage{Instances: 5, CPU: 0.01}); ok {
		t.Fatalf("scaled down within the down cool-down: %+v", d)
	}
	now = now.Add(2 * time.Minute)
	d, ok = c.Decide(now, "/burn", p, 5, Usage{Instances: 5, CPU: 0.01})
	if !ok || d.To != 1 || !strings.Contains(d.Reason, "below") {
		t.Fatalf("idle: %+v, %v", d, ok)
	}
	// At Min and idle: stays.
	now = now.Add(time.Hour)
	if d, ok := c.Decide(now, "/burn", p, 1, Usage{Instances: 1, CPU: 0}); ok {
		t.Fatalf("below min: %+v", d)
	}
}

// TestHysteresis: within target×(1±tolerance) nothing changes, whichever way the load
// drifts; just outside it, the app scales.
func TestHysteresis(t *testing.T) {
	c := NewController()
	p := policy()
	for _, cpu := range []float64{0.46, 0.5, 0.54} {
		if d, ok := c.Decide(t0, "/a", p, 3, Usage{Instances: 3, CPU: cpu}); ok {
			t.Errorf("cpu %.2f (target 0.5): scaled %+v", cpu, d)
		}
	}
	if d, ok := c.Decide(t0, "/a", p, 3, Usage{Instances: 3, CPU: 0.6}); !ok || d.To != 4 {
		t.Errorf("cpu 0.6: %+v, %v", d, ok)
	}
	// Slightly under target after scaling up: the rounding up keeps the instances.
	if d, ok := c.Decide(t0.Add(time.Hour), "/a", p, 4, Usage{Instances: 4, CPU: 0.44}); ok && d.To < 4 {
		t.Errorf("cpu 0.44 at 4: scaled down to %d, below what the load needs", d.To)
	}
}

// TestBoundsAndMemory: an app outside [Min, Max] is brought inside at once, cool-down or
// not, even without usage; memory is a target like cpu, the larger ratio wins; no usage
// means no decision.
func TestBoundsAndMemory(t *testing.T) {
	c := NewController()
	p := policy()
	if d, ok := c.Decide(t0, "/a", p, 0, Usage{}); !ok || d.To != 1 {
		t.Fatalf("below min: %+v, %v", d, ok)
	}
	if d, ok := c.Decide(t0, "/a", p, 9, Usage{}); !ok || d.To != 5 {
		t.Fatalf("above max: %+v, %v", d, ok)
	}
	if _, ok := c.Decide(t0.Add(time.Hour), "/a", p, 3, Usage{}); ok {
		t.Fatal("decided without usage")
	}
	p.TargetMem = 0.5
	d, ok := c.Decide(t0.Add(time.Hour), "/a", p, 2, Usage{Instances: 2, CPU: 0.5, Mem: 0.9})
	if !ok || d.To != 4 || !strings.Contains(d.Reason, "mem") {
		t.Fatalf("memory pressure: %+v, %v", d, ok)
	}
	c.Forget("/a")
	if _, ok := c.last["/a"]; ok {
		t.Fatal("Forget kept the app")
	}
}

// TestUsages: CPU shares from two rounds of cumulative samples, averaged per app;
// executors of other apps or without an earlier sample are left out.
func TestUsages(t *testing.T) {
	prev := map[string]Sample{
		"web.1": {Timestamp: 100, CPUSecs: 10, CPULimit: 0.5, MemRSS: 10, MemLimit: 100},
		"web.2": {Timestamp: 100, CPUSecs: 20, CPULimit: 0.5, MemRSS: 30, MemLimit: 100},
		"other": {Timestamp: 100, CPUSecs: 0, CPULimit: 1},
	}
	cur := map[string]Sample{
		"web.1": {Timestamp: 110, CPUSecs: 15, CPULimit: 0.5, MemRSS: 20, MemLimit: 100}, // 0.5 cpu of 0.5: 100%
		"web.2": {Timestamp: 110, CPUSecs: 20, CPULimit: 0.5, MemRSS: 40, MemLimit: 100}, // idle: 0%
		"web.3": {Timestamp: 110, CPUSecs: 99, CPULimit: 0.5},                            // new
		"other": {Timestamp: 110, CPUSecs: 5, CPULimit: 1},
	}
	appOf := func(id string) (string, bool) {
		if strings.HasPrefix(id, "web.") {
			return "/web", true
		}
		return "", false
	}
	u := Usages(prev, cur, appOf)
	w := u["/web"]
	if len(u) != 1 || w.Instances != 2 || math.Abs(w.CPU-0.5) > 1e-9 || math.Abs(w.Mem-0.3) > 1e-9 {
		t.Fatalf("usages = %+v", u)
	}
}

// TestRequestRateTarget: a policy on requests per second per instance scales by the rate
// the load balancers measured, the larger ratio of the measured targets winning; without
// a measured rate (no balancer, or the first reading) nothing is decided on it.
func TestRequestRateTarget(t *testing.T) {
	p, err := PolicyFromLabels(map[string]string{LabelMinInstances: "1", LabelMaxInstances: "10", LabelTargetRPS: "20"})
	if err != nil || p.TargetRPS != 20 {
		t.Fatalf("policy = %+v, %v", p, err)
	}
	if _, err := PolicyFromLabels(map[string]string{LabelMinInstances: "1", LabelMaxInstances: "10", LabelTargetRPS: "-3"}); err == nil ||
		!strings.Contains(err.Error(), LabelTargetRPS+`: "-3" must be a positive number`) {
		t.Fatalf("negative rate: %v", err)
	}
	c := NewController()
	if d, ok := c.Decide(t0, "/web", *p, 2, Usage{}); ok {
		t.Fatalf("decided without a measured rate: %+v", d)
	}
	d, ok := c.Decide(t0, "/web", *p, 2, Usage{RPS: 50, RPSMeasured: true})
	if !ok || d.To != 5 || d.RPS != 50 || !strings.Contains(d.Reason, "request rate utilisation 2.50") {
		t.Fatalf("2 instances at 50 rps each against 20: %+v, %v; want 5", d, ok)
	}
	both := *p
	both.TargetCPU = 0.5
	if d, ok := NewController().Decide(t0, "/web", both, 4, Usage{Instances: 4, CPU: 0.3, RPS: 10, RPSMeasured: true}); !ok || d.To != 3 {
		t.Fatalf("cpu 0.6 of target, rate 0.5 of target: %+v, %v; want down to 3 (by the larger ratio, 0.6)", d, ok)
	}
	if d, ok := NewController().Decide(t0, "/web", both, 2, Usage{Instances: 2, CPU: 0.4, RPS: 60, RPSMeasured: true}); !ok || d.To != 6 {
		t.Fatalf("rate 3 of target wins over cpu: %+v, %v; want 6", d, ok)
	}
}

func TestRequestRates(t *testing.T) {
	prev := LBReading{At: t0, Requests: map[string]int64{"/a": 100, "/b": 50, "/gone": 1}}
	cur := LBReading{At: t0.Add(2 * time.Second), Requests: map[string]int64{"/a": 300, "/b": 10, "/new": 7}}
	got := RequestRates(prev, cur)
	if len(got) != 1 || got["/a"] != 100 {
		t.Fatalf("rates = %v, want only /a at 100/s (/b restarted, /new has no earlier count)", got)
	}
	if got := RequestRates(cur, cur); len(got) != 0 {
		t.Fatalf("no time passed: %v", got)
	}
}
