// Package recovery is an agent's restart from its checkpoints (as Mesos's). At start the
// agent reads the checkpoints of its previous run (agent/checkpoint) and Decide says what
// to do with them. When the host rebooted since (another boot id) every process of that run
// is gone and the agent registers as a new agent; the master reports the old agent's tasks
// lost when the old agent id times out. With --recover=cleanup every live executor found is
// killed and the agent registers as a new agent. Otherwise (--recover=reconnect) Rebuild
// rebuilds the frameworks, executors, tasks and status update streams (agent/workload); the
// agent adopts the executors that are still alive (same pid and start time), fails the
// tasks of the dead ones, gives the live ones ExecutorReregistrationTimeout to subscribe
// again and registers with the master under its old agent id, reporting every recovered
// task. Tasks the previous run never delivered end when their executor re-subscribes
// (Undelivered).
//
// The package decides and rebuilds; it does no IO: the agent reads the checkpoints and
// kills, recovers and watches the containers.
package recovery
