// Package simagent runs many simulated agents in one process. Each speaks the real agent
// protocol (proto/agora/v1) to a real master over loopback: a SUBSCRIBE stream per agent,
// HEARTBEAT calls, and STATUS_UPDATE calls with fresh uuids, resent until the master
// acknowledges them, one update per task in flight at a time, as a real agent's status
// update manager does. Tasks are not run: a launched task reports TASK_STARTING, then
// TASK_RUNNING (after Config.RunningDelay; healthy when it has a health check), and
// TASK_KILLED when it is killed. It exists to measure the master and the frameworks at a
// scale one machine cannot run for real (DESIGN.md §7).
//
// Cost: one goroutine per agent (its event stream), a shared pool of call workers, one
// timer goroutine and one heartbeat goroutine, all on one shared HTTP transport.
package simulate
