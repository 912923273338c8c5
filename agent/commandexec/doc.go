// Package commandexec is Agora's command executor: the process the agent starts, as
// `agora executor`, in the sandbox of every command task.
//
// It speaks the Mesos v1 executor API to the agent (POST /api/v1/executor, protobuf in
// RecordIO): it subscribes, receives the task in LAUNCH, runs its command in its own process
// group, reports TASK_STARTING, TASK_RUNNING and the terminal state, kills the task on KILL or
// SHUTDOWN (SIGTERM, then SIGKILL after the kill policy's grace period), runs the task's health
// check, and resends unacknowledged updates when it re-subscribes after the agent restarts.
//
// One goroutine (Run's) owns all state; helper goroutines only read the event stream, wait
// for the process, run the health check and post calls, and report back through one channel.
package commandexec
