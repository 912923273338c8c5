// Package master is the Agora master: it admits agents over the agent protocol
// (POST /api/v1/agent), serves the Mesos v1 scheduler API (POST /api/v1/scheduler),
// offers the agents' resources to frameworks through the DRF allocator, routes task
// launches to agents and status updates back to frameworks, and tracks agent and
// framework liveness.
//
// One goroutine owns all master state (the *state value, see loop in master.go).
// HTTP handlers decode and validate their input, hand a closure to that goroutine
// and wait for its reply; the decisions themselves are plain methods on *state that
// take the current time from an injected Clock, so they are tested without HTTP and
// without sleeping. Streams to frameworks and agents are eventSinks: the state
// enqueues encoded events and never blocks; one HTTP handler goroutine per stream
// writes them out, with heartbeats.
//
//	HTTP handler ──decode/validate──▶ exec(func(*state)) ──▶ loop goroutine
//	                                                          │ state methods:
//	  scheduler_api.go, agent_api.go                          │  frameworks.go  subscribe, failover, teardown
//	  http_state.go (/state), metrics.go                      │  agents.go      admission, reconciliation, liveness
//	                                                          │  offers.go      allocation cycles, ACCEPT, DECLINE
//	                                                          │  tasks.go       status updates, acks, kill, reconcile
//	                                                          │  validation.go  calls, framework infos, tasks
//	  stream.go ◀──────────── events (eventSink.Send) ────────┘  registry.go    agents/<id>, frameworks/<id>
//
// The registry (package store) keeps admitted agents and frameworks with their
// failover deadlines, so a restarted master recognises re-registering agents and
// re-subscribing frameworks.
package master
