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
// The master also answers /health and /redirect (the leading master's address;
// this master always leads for now).
package master
