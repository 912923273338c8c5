package readiness

import "context"

// Tracker is the loop's book of the readiness checks in flight, by task id. Loop only: it
// is not safe for concurrent use.
type Tracker struct {
	runner   *Runner
	gen      uint64
	inflight map[string]inFlight
}

type inFlight struct {
	gen  uint64 // tells a stopped check's late results from the current one's
	stop func()
}

// NewTracker returns a Tracker that starts its checks on r.
func NewTracker(r *Runner) *Tracker {
	return &Tracker{runner: r, inflight: map[string]inFlight{}}
}

// Sync makes the checks in flight those of want (task id -> probe): it stops the checks of
// tasks not in want and starts those not yet in flight. report gets every result of a
// started check with the check's generation, on the check's goroutine; it must give up
// when its context is done.
func (x *Tracker) Sync(want map[string]Probe, report func(ctx context.Context, gen uint64, res Result)) {
	for id, c := range x.inflight {
		if _, ok := want[id]; !ok {
			c.stop()
			delete(x.inflight, id)
		}
	}
	for id, p := range want {
		if _, ok := x.inflight[id]; ok {
			continue
		}
		x.gen++
		gen := x.gen
		stop, ok := x.runner.Start(p, func(ctx context.Context, res Result) { report(ctx, gen, res) })
		if ok {
			x.inflight[id] = inFlight{gen: gen, stop: stop}
		}
	}
}

// Current reports whether a result of generation gen for taskID comes from the check in
// flight for the task (and not from one stopped meanwhile).
func (x *Tracker) Current(gen uint64, taskID string) bool {
	c, ok := x.inflight[taskID]
	return ok && c.gen == gen
}

// Passed forgets the check of taskID, which ended because a probe passed.
func (x *Tracker) Passed(taskID string) { delete(x.inflight, taskID) }
