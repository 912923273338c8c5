// Package commandexec is Agora's command executor: the process the agent starts, as
// `agora executor`, in the sandbox of every command task.
//
// It speaks the Mesos v1 executor API to the agent (POST /api/v1/executor, protobuf in
// RecordIO): it subscribes, receives the task in LAUNCH, runs its command in its own process
// group, reports TASK_STARTING, TASK_RUNNING and the terminal state, kills the task on KILL or
// SHUTDOWN (SIGTERM, then SIGKILL after the kill policy's grace period), runs the task's health
// check, and resends unacknowledged updates when it re-subscribes after the agent restarts.
//
// A task whose ContainerInfo is of type DOCKER runs as a Docker container instead (as with
// Mesos's docker executor): the executor pulls the image when needed (a failed pull is
// TASK_FAILED with the engine's error), creates and starts the container named
// agora-<AGORA_CONTAINER_ID> through agent/docker, reports TASK_RUNNING with the container's
// IP address in container_status, copies its output into the sandbox, stops it on KILL
// (stop signal, SIGKILL after the grace period) and removes it once it has exited;
// "Container exited with status N", and an OOM kill fails the task with
// REASON_CONTAINER_LIMITATION_MEMORY. HTTP and TCP health checks reach the container through
// the host port mapped to the checked port (or its own address); COMMAND checks run inside
// it. Both kinds of task sit behind the small runner interface, so the update, kill and
// health-check logic is shared.
//
// One goroutine (Run's) owns all state; helper goroutines only read the event stream, wait
// for the process, run the health check and post calls, and report back through one channel.
package commandexec
