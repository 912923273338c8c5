// Package agent is the Agora agent. Its root is the owner that wires the named packages
// together and holds the agent's state:
//
//	registration/   the connection to the master (agent protocol), behind a MasterDetector
//	containerizer/  Process, Hosted (executor host) and Docker behind one Containerizer
//	isolation/      cgroups for executor containers          proc/     what /proc says
//	checkpoint/     checkpoints and their recovery           sandbox/  the sandbox layout
//	executorapi/    POST /api/v1/executor                     files/    /files/*
//	stateapi/       /state, /health, /metrics, /monitor/statistics
//	statusupdate/   the pure status update streams            gc/       sandbox collection
//	clock/          the injected time source
//	commandexec/    the command executor (`agora executor`)  taskproc/ a task's process
//	defaultexec/    the default executor of task groups (`agora default-executor`)
//	executorclient/ the executor side of the executor API, shared by both executors
//
// One goroutine (the loop, agent.go) owns all agent state (agent/workload). The packages above
// never touch it: the master connection (masterLink, master_events.go), the executor API
// (executorCalls), the state endpoints (stateSource) and the executor supervisor's watchers
// (supervisor, executors.go) send events (closures) into the loop and wait for replies
// where they need them. Status updates (statusupdates.go) are decided by the pure manager
// of agent/statusupdate and carried out by the loop; recovery (recover.go) rebuilds the
// state from agent/checkpoint before the loop starts. A task group (RUN_TASK_GROUP) whose
// ExecutorInfo has no command is Mesos's DEFAULT executor: the agent runs
// `agora default-executor` as that executor's container (executorCommand, executors.go).
package agent
