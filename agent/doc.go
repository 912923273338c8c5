// Package agent is the Agora agent: it registers with the master over the agent protocol,
// launches executors through a containerizer, serves the Mesos v1 executor API, runs the
// status update manager (agent/statusupdate) with checkpoints, and serves /state, /metrics
// and the sandbox files API.
//
// One goroutine (the loop) owns all agent state. The master connection, the HTTP handlers
// and the process watchers never touch it: they send events (closures) into the loop and
// wait for replies where they need them.
package agent
