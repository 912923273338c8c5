package run

import (
	"math/rand/v2"
	"testing"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// TestTallyFollowsEveryChange: after any sequence of launches, updates (repeated and
// out-of-order ones included), forgotten and adopted tasks, the tally the run keeps up to
// date equals a fresh count of its tasks, and so does Wants; after an update that changed a task, an unfinished
// run that has started is ACTIVE exactly when one of its tasks runs.
func TestTallyFollowsEveryChange(t *testing.T) {
	states := []mesos.TaskState{mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_RUNNING,
		mesos.TaskState_TASK_FINISHED, mesos.TaskState_TASK_FAILED, mesos.TaskState_TASK_LOST,
		mesos.TaskState_TASK_KILLING, mesos.TaskState_TASK_STAGING}
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 1))
		r := New("job", "r1", Params{Parallelism: 1 + rng.IntN(8), Completions: 1 + rng.IntN(20),
			RetryOnFailure: rng.IntN(2) == 0}, t0)
		for step := range 60 {
			updated := false
			switch k := rng.IntN(10); {
			case k < 3:
				for range min(r.Wants(t0.Add(1e12)), 1+rng.IntN(3)) {
					r.Launch("a1", "h1", t0)
				}
			case k < 8 && r.Seq > 0:
				d := r.Update(TaskUpdate{ID: id(1 + rng.IntN(r.Seq)), State: states[rng.IntN(len(states))]}, t0, nil)
				updated = d.Changed
			case k == 8 && r.Seq > 0:
				r.Forget(id(1 + rng.IntN(r.Seq)))
			default:
				r.Adopt(id(r.Seq+1), "a2", t0)
			}
			fresh := r.Clone() // a clone counts its tasks afresh
			if got, want := *r.counted(), *fresh.counted(); got != want {
				t.Fatalf("seed %d step %d: kept tally %+v, counted afresh %+v", seed, step, got, want)
			}
			if got, want := r.Wants(t0.Add(1e12)), fresh.Wants(t0.Add(1e12)); got != want {
				t.Fatalf("seed %d step %d: Wants %d, afresh %d", seed, step, got, want)
			}
			if started := r.Status == Starting || r.Status == Active; updated && started &&
				(r.Status == Active) != (fresh.counted().running > 0) {
				t.Fatalf("seed %d step %d: status %s with %d running tasks", seed, step, r.Status, fresh.counted().running)
			}
		}
	}
}

// BenchmarkUpdate: the three updates of every task of a run of 1,000 tasks
// (STARTING, RUNNING, FINISHED), with Wants asked after each as the loop does; per update.
func BenchmarkUpdate(b *testing.B) {
	const tasks = 1000
	states := []mesos.TaskState{mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_RUNNING, mesos.TaskState_TASK_FINISHED}
	for b.Loop() {
		b.StopTimer()
		r := New("job", "r1", Params{Parallelism: tasks, Completions: tasks}, t0)
		for range tasks {
			r.Launch("a1", "h1", t0)
		}
		b.StartTimer()
		for _, s := range states {
			for n := 1; n <= tasks; n++ {
				r.Update(TaskUpdate{ID: id(n), State: s}, t0, nil)
				r.Wants(t0)
			}
		}
		if r.Status != Success {
			b.Fatalf("run %s", r.Status)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*tasks*len(states)), "ns/update")
}
