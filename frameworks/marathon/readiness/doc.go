// Package readiness runs Marathon's readiness checks. During a deployment Marathon itself
// (not the agent) probes each new task of an app with readinessChecks once it is running
// (and healthy when the app has health checks), every intervalSeconds, until a probe
// answers with one of httpStatusCodesForReady; only then does the task count as ready for
// the deployment planner. Runner does the probing: one goroutine per check in flight, at
// most a bounded number of probes at once, each result handed to a report function.
// Tracker is the loop's book of the checks in flight, which tells a current result from a
// stopped check's late one; URL says where a check probes a task.
package readiness
