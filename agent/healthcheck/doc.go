// Package healthcheck runs a task's Mesos HealthCheck inside the executor.
//
// Tracker is the pure core: it is fed each probe result with the time it was observed and
// decides, with Mesos's semantics (grace period, consecutive failures), whether the task's
// health changed and whether the task must be killed. Runner is the shell: one goroutine,
// owned by the caller, that waits delay_seconds, runs the HTTP, TCP or COMMAND probe every
// interval_seconds with timeout_seconds, feeds the Tracker and reports changes through a
// callback.
package healthcheck
