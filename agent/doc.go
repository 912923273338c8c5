// Package agent is the Agora agent. Its root is the owner that wires the named packages
// together and runs the loop that owns the agent's state:
//
//	workload/       what the agent runs: frameworks, executors, tasks, their update streams
//	supervisor/     starts, watches and stops the executors' containers
//	recovery/       what a restart does with the previous run's checkpoints
//	registration/   the connection to the master (agent protocol), behind a MasterDetector
//	containerizer/  Process, Hosted (executor host) and Docker behind one Containerizer
//	isolation/      cgroups for executor containers          proc/     what /proc says
//	checkpoint/     checkpoints under <work_dir>/meta        sandbox/  the sandbox layout
//	executorapi/    POST /api/v1/executor                     files/    /files/*
//	stateapi/       /state, /health, /metrics, /monitor/statistics (rendered from workload)
//	operatorapi/    the v1 operator API of the agent (rendered from workload)
//	statusupdate/   the pure status update streams            gc/       sandbox collection
//	volumes/        persistent volumes                        clock/    the injected time source
//	commandexec/    the command executor (`agora executor`)  taskproc/ a task's process
//	defaultexec/    the default executor of task groups (`agora default-executor`)
//	executorclient/ the executor side of the executor API, shared by both executors
//
// One goroutine (the loop, agent.go) owns the workload (agent/workload) and the rest of the
// agent's mutable state. Everything else sends events (closures) into the loop and waits
// for replies where it needs them: the master connection (masterLink, registration.go) whose
// events (master_events.go) launch, kill and shut down executors through the supervisor;
// the executor API (executorCalls, executor_calls.go); the state and operator endpoints
// (http.go); the supervisor's watchers (wired in supervise.go). Status updates
// (statusupdates.go) are decided by the pure manager of agent/statusupdate and carried out by
// the loop; at start, restart.go reads the checkpoints, lets agent/recovery rebuild the
// workload and adopts the live containers before the loop starts.
//
// A scheduler's ACCEPT reaches the agent as RUN_TASK or RUN_TASK_GROUP on the registration
// stream: registration.Conn → masterLink.Event → runTasks (master_events.go) →
// supervisor.Launch → containerizer.Launch; the executor then subscribes through
// executorapi → executorCalls.subscribe, which sends it the queued launches.
package agent
