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
//
// One goroutine (the loop, agent.go) owns all agent state (state.go). The packages above
// never touch it: the master connection (masterLink, master_events.go), the executor API
// (executorCalls), the state endpoints (stateSource) and the executor supervisor's watchers
// (supervisor, executors.go) send events (closures) into the loop and wait for replies
// where they need them. Status updates (statusupdates.go) are decided by the pure manager
// of agent/statusupdate and carried out by the loop; recovery (recover.go) rebuilds the
// state from agent/checkpoint before the loop starts.
package agent
