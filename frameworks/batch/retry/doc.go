// Package retry is the batch framework's back-off between retries of failed tasks (restart
// policy ON_FAILURE): exponential from Initial by Factor, capped at Max, which a job's
// maxLaunchDelay lowers when shorter; optionally a limit on retries. It is pure arithmetic: the
// caller adds the delay to its own now.
//
// Usage:
//
//	p := retry.Default().ForJob(spec.Run) // 1s, 2s, 4s, ... at most min(1m, maxLaunchDelay)
//	d := r.Update(update, now, p.Delay)   // frameworks/batch/run takes p.Delay as its run.Delay
//	if p.Exhausted(r.Failures) { /* fail the run */ }
package retry
