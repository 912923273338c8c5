package planner

import (
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// TestRollingUpgradeBounds drives a rolling upgrade against a random
// cluster (launches, health and kills complete in random order and amounts)
// and checks Marathon's guarantees after every decision: the healthy count
// never drops below ceil(minimumHealthCapacity × instances) and the task
// count (queued launches included) never exceeds
// floor((1 + maximumOverCapacity) × instances), plus Marathon's one task of
// over-capacity when both bounds are equal. Once the cluster cooperates the
// deployment finishes with exactly the new tasks.
func TestRollingUpgradeBounds(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		n := rapid.IntRange(1, 8).Draw(rt, "instances")
		fractions := []float64{0, 0.1, 0.25, 0.3, 0.5, 0.6, 0.7, 0.75, 0.9, 1}
		mhc := rapid.SampledFrom(fractions).Draw(rt, "minimumHealthCapacity")
		moc := rapid.SampledFrom(fractions).Draw(rt, "maximumOverCapacity")
		kill := rapid.SampledFrom([]string{"YOUNGEST_FIRST", "OLDEST_FIRST"}).Draw(rt, "killSelection")
		oldN := rapid.IntRange(1, 8).Draw(rt, "oldInstances")
		target := AppSpec{ID: "/a", Version: "v2", Instances: n, MinimumHealthCapacity: mhc, MaximumOverCapacity: moc, KillSelection: kill}
		current := target
		current.Version, current.Instances = "v1", oldN
		plan, err := NewPlan("d", "t", map[string]AppSpec{"/a": current}, map[string]AppSpec{"/a": target})
		if err != nil {
			rt.Fatal(err)
		}
		s := newSim()
		for i := 0; i < oldN; i++ {
			s.state.Tasks = append(s.state.Tasks, s.newTask("/a", "v1", Running, true))
		}
		c := CapacityOf(target)
		minHealthy := min(c.MinHealthy, oldN) // cannot guarantee more than what runs
		maxTotal := max(c.MaxCapacity+c.Extra, oldN)
		check := func(when string) {
			healthy, total := 0, s.state.Queued["/a"].Count
			for _, tk := range s.state.Tasks {
				total++
				if tk.State == Killing {
					continue
				}
				if tk.State == Running && tk.Healthy && (tk.Version == "v1" || tk.Ready) {
					healthy++
				}
			}
			if healthy < minHealthy {
				rt.Fatalf("%s: %d healthy < %d: %s", when, healthy, minHealthy, s.summary())
			}
			if total > maxTotal {
				rt.Fatalf("%s: %d tasks > %d: %s", when, total, maxTotal, s.summary())
			}
		}
		rounds := rapid.IntRange(0, 40).Draw(rt, "chaoticRounds")
		for r := 0; r < rounds; r++ {
			step, acts, finished := Advance(plan, s.step, s.state, s.clock)
			s.step = step
			if finished {
				break
			}
			s.apply(acts)
			check(fmt.Sprintf("round %d after %s", r, fmtActions(acts)))
			// The cluster moves a random amount.
			if q := s.state.Queued["/a"].Count; q > 0 {
				s.launch("/a", rapid.IntRange(0, q).Draw(rt, "launch"), Staging, false)
			}
			for i := range s.state.Tasks {
				tk := &s.state.Tasks[i]
				if tk.State == Staging && rapid.Bool().Draw(rt, "turnsHealthy") {
					tk.State, tk.Healthy, tk.Ready, tk.StartedAt = Running, true, true, s.clock
				}
			}
			live := s.state.Tasks[:0]
			for _, tk := range s.state.Tasks {
				if tk.State == Killing && rapid.Bool().Draw(rt, "killDone") {
					continue
				}
				live = append(live, tk)
			}
			s.state.Tasks = live
			s.clock = s.clock.Add(time.Second)
			check(fmt.Sprintf("round %d after cluster", r))
		}
		// Now everything succeeds at once; the deployment must finish.
		for r := 0; ; r++ {
			if r > 4*(n+oldN)+10 {
				rt.Fatalf("deployment did not finish: %s", s.summary())
			}
			step, acts, finished := Advance(plan, s.step, s.state, s.clock)
			s.step = step
			if finished {
				break
			}
			s.apply(acts)
			check("settling")
			s.removeKilling()
			s.launch("/a", s.state.Queued["/a"].Count, Running, true)
			for i := range s.state.Tasks {
				tk := &s.state.Tasks[i]
				tk.State, tk.Healthy, tk.Ready = Running, true, true
			}
		}
		if got := len(s.state.Tasks); got != n {
			rt.Fatalf("finished with %d tasks, want %d", got, n)
		}
		for _, tk := range s.state.Tasks {
			if tk.Version != "v2" {
				rt.Fatalf("finished with old task %s", tk.ID)
			}
		}
	})
}

func TestCapacityOf(t *testing.T) {
	tests := []struct {
		n        int
		mhc, moc float64
		want     Capacity
	}{
		{3, 1, 1, Capacity{3, 6, 0}},
		{3, 1, 0, Capacity{3, 3, 1}},
		{4, 0.5, 0, Capacity{2, 4, 0}},
		{3, 0.5, 0.5, Capacity{2, 4, 0}},
		{10, 0.7, 0, Capacity{7, 10, 0}},
		{7, 0.25, 0.5, Capacity{2, 10, 0}}, // ceil(1.75), floor(10.5)
		{0, 1, 1, Capacity{0, 0, 1}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.n, tt.mhc, tt.moc), func(t *testing.T) {
			if got := CapacityOf(AppSpec{Instances: tt.n, MinimumHealthCapacity: tt.mhc, MaximumOverCapacity: tt.moc}); got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
