// Package defaultexec is Agora's default executor, the executor that runs Mesos task
// groups (LAUNCH_GROUP) whose ExecutorInfo is of type DEFAULT and has no command. The agent
// starts it as `agora default-executor` in the executor's sandbox.
//
// It subscribes once over the v1 executor API and takes every LAUNCH_GROUP sent to it.
// Each task runs as its own process group in its own sandbox, tasks/<task_id> under the
// executor's (MESOS_SANDBOX points there), with the executor's sandbox volumes and the
// task's own SANDBOX_PATH and host volumes linked into it. Each task gets TASK_STARTING,
// TASK_RUNNING and its terminal state, can be killed on its own (SIGTERM, SIGKILL after the
// kill policy's grace period) and runs its own health check (agent/healthcheck).
//
// Group semantics follow Mesos: a task that fails or is killed makes the executor kill the
// other live tasks of its group (TASK_KILLED), and the executor exits when no task is
// left, once its updates are acknowledged. The decisions are made by Core, a pure state
// machine fed with events and the time; the loop in Run carries out its Actions. All tasks
// share the executor's container (its cgroup), as with Mesos's default executor.
package defaultexec
