// Package workload is what an agent runs, as its loop keeps it: the frameworks with
// executors on the agent, each executor's container, launch queue and tasks, the tasks'
// latest statuses, and the status update streams (agent/statusupdate) that carry them to
// the master. It holds data and the bookkeeping on it (completing tasks, forgetting
// terminated executors and idle frameworks); it does no IO and starts nothing. Only the
// agent's loop goroutine touches a State.
package workload
