// Package master is the Agora master: the small owner that wires the master's
// parts together and runs them.
//
//	master (Master, Config, New, Run, loop)
//	  ├─ httpapi   the HTTP surface: scheduler and agent APIs, streams, /state, /metrics
//	  ├─ ledger    the decision core: agents, frameworks, tasks, offers (pure)
//	  │    └─ allocator   the DRF allocator (pure)
//	  └─ registry  what survives a restart, in a store.Store
//
// New opens the registry's file store under Config.WorkDir; Run recovers the ledger
// from the registry and starts one loop goroutine that owns the ledger. HTTP
// handlers hand their calls to the loop (httpapi.Loop) and wait; the loop also runs
// the periodic tick, batched allocation cycles and refuse-filter expiries, and after
// each step carries out the effects the ledger handed out (registry writes, log
// lines) before the caller hears the answer. A scheduler's ACCEPT thus goes httpapi (decode, validate) →
// loop → ledger.SchedulerCall (offers checked, tasks validated, RUN_TASK queued on
// the agent's stream) → httpapi's agent stream, which writes it to the agent.
//
// The master also answers /health and /redirect (307 to the leading master).
//
// # High availability
//
// A standalone master (New) leads alone with its registry in files under
// WorkDir. Masters made with NewHA contend in ZooKeeper (package election,
// Mesos's json.info_ znodes under HA.Path). While a master is not elected it is
// a standby: it has no ledger and no loop, answers scheduler and agent calls
// (and /redirect, /metrics) with 307 to the leader the detector sees, serves a
// /state with "elected": false and the leader, and /health 200; it never sends
// an offer or writes the registry. Each time it is elected (a new Term) it
// starts a term: it opens the registry in ZooKeeper (store/zkstore under
// HA.Path/registry) fenced on its election znode, syncs, recovers the ledger
// (agents as "recovered", which have AgentReregisterTimeout to come back) and
// leads. The term ends at once when the contender stops leading (connection
// lost, session expired, znode gone) or a registry write is fenced: the loop
// stops, every stream is closed so agents and schedulers look for the leader
// again, and the master contends anew; a later term recovers afresh. Run's
// cancellation withdraws the znode so a standby takes over without waiting for
// the session to expire.
package master
