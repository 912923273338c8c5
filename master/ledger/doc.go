// Package ledger is the master's decision core: its books of the cluster. It holds
// the admitted agents with their resources, the registered frameworks, the tasks
// running on the agents and the offers outstanding, and keeps them balanced against
// the DRF allocator (package allocator): every resource is free, offered once or
// used, never twice.
//
// The name says what it holds: like an accountant's ledger it records who holds
// what, and every entry (an offer made, a task launched, a task finished, an agent
// lost) moves resources between accounts.
//
// Events go in through methods: a scheduler subscribing (SubscribeFramework) or
// calling (SchedulerCall), an agent subscribing (SubscribeAgent) or calling
// (AgentCall), streams ending, the periodic Tick and allocation cycles (Allocate).
// Effects come out in two ways, and the ledger does no IO itself: events for
// frameworks and agents go to the Sink each subscriber brought (Sinks queue and
// never block), and everything else an event left to do is handed out by
// TakeEffects: the registry changes (a registry.Batch) for the owner to write
// before it answers the call, and the lines worth logging (Notes).
// The ledger starts no goroutines, takes the time from an injected Clock and its
// randomness (the allocator's agent order) from an injected *rand.Rand, so tests
// drive it with a fake clock and fake sinks and never sleep.
//
// The ledger is not safe for concurrent use: one goroutine (the master's loop)
// owns it. Snapshot and Gauges are its read side, for /state and metrics.
//
//	Ledger (ledger.go)       the books and the events of the cluster's life:
//	  frameworks.go            subscribe, fail over, disconnect, time out, tear down
//	  agents.go                admit, reconcile reported tasks, disconnect, unreachable, remove
//	  offers.go, tasks.go      allocation cycles and offers; tasks and their resources
//	frameworkCall (scheduler_calls.go)  one scheduler call: ACCEPT (launch), DECLINE, KILL,
//	                                     ACKNOWLEDGE, RECONCILE, SHUTDOWN, MESSAGE, REVIVE, SUPPRESS
//	operations.go                       RESERVE, UNRESERVE, CREATE, DESTROY: validated against the
//	                                     offer (or the agent's free resources for an operator),
//	                                     converting the agent's total, checkpointed to the agent
//	                                     (CHECKPOINT_RESOURCES) and kept in the registry
//	agentCall (agent_calls.go)          one agent call: status updates, resources, executor exits
//	validation.go, effects.go, snapshot.go   call validation; effects out; the read side
//	maintenance.go                      maintenance schedules and machine modes (DRAINING, DOWN),
//	                                     inverse offers, DRAIN/DEACTIVATE/REACTIVATE_AGENT
//	operator.go, operator_calls.go   the operator API: GET_STATE & co. from a Snapshot, the
//	                                 SUBSCRIBE events recorded while watched (Effects.OperatorEvents),
//	                                 weights, quotas (kept in the registry) and teardown
package ledger
