// Package supervisor runs an agent's executors: for a RUN_TASK or RUN_TASK_GROUP it picks
// the executor (the task's own, Agora's command executor, or the default executor of a task
// group), creates its sandbox, checkpoints its run, links its persistent volumes, assigns
// its GPUs, prepares its cgroup and launches its container through the containerizer
// (launch slots bound the executors starting at once); it waits for the container to end,
// times out executors that do not subscribe, shuts them down (SHUTDOWN, then SIGKILL after
// the grace period), kills containers over their memory limit, and adopts the containers
// of a recovered run. What happens to the executors is carried onto the agent's loop (Loop)
// and reported to the agent (Owner); the executors' state is the loop's workload.
package supervisor
