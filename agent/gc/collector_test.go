package gc

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/agoracluster/agora/agent/agenttest"
	"github.com/agoracluster/agora/agent/clock/clocktest"
)

// gcHarness runs a collector against a fake clock, a settable disk usage, a set of paths in
// use, and records what it removed.
type gcHarness struct {
	clock   *clocktest.Fake
	g       *Collector
	mu      sync.Mutex
	usage   float64
	inUse   map[string]bool
	removed []string
	claims  int
}

func startGCHarness(t *testing.T, policy Policy) *gcHarness {
	t.Helper()
	h := &gcHarness{clock: clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), inUse: map[string]bool{}}
	usage := func() (float64, error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.usage, nil
	}
	claim := func(_ context.Context, due []Candidate) ([]string, error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.claims++
		var out []string
		for _, c := range due {
			for _, p := range c.Paths {
				if !h.inUse[p] {
					out = append(out, p)
				}
			}
		}
		return out, nil
	}
	remove := func(p string) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.removed = append(h.removed, p)
		return nil
	}
	h.g = NewCollector(policy, h.clock, zaptest.NewLogger(t), usage, claim, remove)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.g.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return h
}

func (h *gcHarness) setUsage(u float64) {
	h.mu.Lock()
	h.usage = u
	h.mu.Unlock()
}

func (h *gcHarness) removedPaths() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := slices.Clone(h.removed)
	slices.Sort(out)
	return out
}

// waitRemoved waits until exactly want (sorted) has been removed and nothing is left
// pending beyond wantPending.
func (h *gcHarness) waitRemoved(t *testing.T, wantPending int, want ...string) {
	t.Helper()
	slices.Sort(want)
	agenttest.Eventually(t, 5*time.Second, func() bool {
		return slices.Equal(h.removedPaths(), want) && h.g.Pending() == wantPending
	}, "removed %v (pending %d), want %v (pending %d)", h.removedPaths(), h.g.Pending(), want, wantPending)
}

func TestSandboxCollectorWaitsForTheDelay(t *testing.T) {
	h := startGCHarness(t, Policy{Delay: time.Hour, Headroom: 0.1, DiskWatch: time.Minute})
	now := h.clock.Now()
	// At an empty disk the allowed age is 54 minutes.
	h.g.Schedule(now.Add(-30*time.Minute), "old")
	h.g.Schedule(now, "young", "young-meta")
	h.clock.Advance(23 * time.Minute) // old is 53 minutes old
	h.clock.Advance(2 * time.Minute)  // 55: old is due, young (25) is not
	h.waitRemoved(t, 1, "old")
	h.clock.Advance(29 * time.Minute) // young is 54 minutes old
	h.waitRemoved(t, 0, "old", "young", "young-meta")
}

func TestSandboxCollectorSoonerWhenTheDiskFills(t *testing.T) {
	h := startGCHarness(t, Policy{Delay: time.Hour, Headroom: 0.1, DiskWatch: time.Minute})
	now := h.clock.Now()
	h.g.Schedule(now, "a")
	h.g.Schedule(now.Add(5*time.Minute), "b")
	h.clock.Advance(10 * time.Minute)
	// The disk fills to 70%: the allowed age shrinks to 12 minutes. The next disk check
	// (within a minute) finds a (10 min) not yet due, b neither.
	h.setUsage(0.7)
	h.clock.Advance(time.Minute)
	h.clock.Advance(time.Minute) // a is 12 minutes old
	h.waitRemoved(t, 1, "a")
	// Past the headroom everything goes at the next disk check.
	h.setUsage(0.95)
	h.clock.Advance(time.Minute)
	h.waitRemoved(t, 0, "a", "b")
}

func TestSandboxCollectorKeepsPathsInUse(t *testing.T) {
	h := startGCHarness(t, Policy{Delay: time.Minute, Headroom: 0, DiskWatch: time.Hour})
	h.mu.Lock()
	h.inUse["executor-dir"] = true
	h.mu.Unlock()
	now := h.clock.Now()
	h.g.Schedule(now, "run-dir", "executor-dir")
	h.clock.Advance(time.Minute)
	// The run goes; the executor dir, in use again, stays and is not retried until it is
	// scheduled again.
	h.waitRemoved(t, 0, "run-dir")
	h.mu.Lock()
	delete(h.inUse, "executor-dir")
	h.mu.Unlock()
	h.g.Schedule(h.clock.Now(), "executor-dir")
	h.clock.Advance(time.Minute)
	h.waitRemoved(t, 0, "run-dir", "executor-dir")
}

func TestSandboxCollectorRescheduleKeepsTheLatestFinish(t *testing.T) {
	h := startGCHarness(t, Policy{Delay: time.Minute, Headroom: 0, DiskWatch: time.Hour})
	now := h.clock.Now()
	h.g.Schedule(now.Add(-2*time.Minute), "x") // due at once...
	h.g.Schedule(now, "y")
	h.waitRemoved(t, 1, "x")
	h.g.Schedule(now, "x") // ...finished again: waits for the delay again
	h.g.Schedule(now.Add(-time.Hour), "z")
	h.waitRemoved(t, 2, "x", "z")
	h.clock.Advance(time.Minute)
	h.waitRemoved(t, 0, "x", "x", "y", "z")
}

func TestGCInUse(t *testing.T) {
	live := []string{"/w/slaves/A/frameworks/F", "/w/slaves/A/frameworks/F/executors/E/runs/C"}
	tests := []struct {
		path string
		want bool
	}{
		{"/w/slaves/A/frameworks/F", true},
		{"/w/slaves/A/frameworks/F/executors/E", true},
		{"/w/slaves/A/frameworks/F/executors/E/runs/C", true},
		{"/w/slaves/A/frameworks/F/executors/E/runs/C2", false},
		{"/w/slaves/A/frameworks/F/executors/E2", false},
		{"/w/slaves/A/frameworks/FF", false},
		{"/w/slaves/B", false},
		{"/w/slaves/A", true},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := InUse(tt.path, live); got != tt.want {
				t.Errorf("InUse(%q) = %v, want %v", tt.path, got, tt.want)
			}
		})
	}
}

func TestDiskUsage(t *testing.T) {
	u, err := DiskUsage(t.TempDir())
	if err != nil || u < 0 || u > 1 {
		t.Fatalf("diskUsage = %v, %v; want a fraction", u, err)
	}
	if _, err := DiskUsage("/does/not/exist"); err == nil {
		t.Fatalf("diskUsage of a missing path = %v, want an error", err)
	}
}
