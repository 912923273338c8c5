// Package marathon is Agora's Marathon-compatible app framework: the REST API of Marathon
// 1.x on top of the scheduler SDK. This package only wires the named packages together
// and runs them (Marathon.Run):
//
//	api/          the REST API (/v2/apps, /v2/tasks, /v2/deployments, /v2/queue, /v2/groups,
//	              /v2/events, /v2/info, /v2/leader, /ping, /metrics): decodes requests and
//	              calls the loop's narrow interface (Do with a Tx), renders the answers
//	loop/         the framework loop: one goroutine owns the state; the Tx's commands start
//	              deployments, planner.Advance/Maintain decide, offers and status updates
//	              carry them out through the SDK
//	tasks/        the instance tracker: live tasks, indexed by app, with the planner's view
//	matching/     offer matching: places queued launches on offers (pure)
//	taskinfo/     task ids, environment and the TaskInfo of a launch (pure)
//	persist/      the store layout, stored versions, the task record writer
//	readiness/    readiness checks: the prober and the loop's book of checks in flight
//	health/       health checks: the Mesos translation and the recorded results
//	events/       the event bus behind /v2/events
//	app/ constraints/ planner/ launchqueue/ groups/   the pure cores
//
// A POST /v2/apps reads top-down: api.postApp → loop.Tx.CreateApp (parse, assign service
// ports, stamp, deploy: planner.NewPlan, persist) → loop.reconcile (planner.Advance queues
// the launch) → loop.handleOffers (matching.Match, taskinfo.Build) → the outbox's Accept
// call to the master. Apps, versions, deployments, tasks, group metadata and the
// framework id are persisted through store.Store, one key per entity, so a restarted
// instance re-subscribes with its framework id, reconciles its tasks and carries on.
//
// Run keeps the state in a file store in WorkDir; RunHA makes the instance one of several
// sharing a ZooKeeper (--zk, package frameworks/ha): each time it is elected, a term
// loads the state from the store in ZooKeeper (writes fenced on the latch znode), builds
// the loop, the scheduler and the API, and runs them until the lead is lost; meanwhile
// api.Follower answers /ping, /v2/leader and /v2/info and proxies the rest to the leader.
package marathon
