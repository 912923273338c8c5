// Package run is the pure state machine of one job run: the tasks it launched, how many may
// run at once (parallelism) and must succeed (completions), retries per restart policy with
// back-off, the active deadline and the stop action. Events go in (a task launched, a status
// update, a tick, a stop), decisions come out (tasks to launch, tasks to kill, the time to
// wake up next); `now` is always an argument. No IO, no goroutines, no clock.
//
//	r := run.New(jobID, runID, params, now)      // INITIAL
//	for i := 0; i < r.Wants(now); i++ { t := r.Launch(agentID, host, now) ... } // STARTING
//	d := r.Update(run.TaskUpdate{ID: id, State: st}, now, delay) // ACTIVE, SUCCESS, FAILED
//	d = r.Tick(now)                                // active deadline
//	d = r.Stop(now)                                // the stop action
//
// A run that finished (SUCCESS or FAILED) still lists its tasks; the ones not yet terminal are
// in Decision.Kill, and the shell kills every task of a finished run that it still sees.
package run
