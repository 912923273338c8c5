// Package marathon is Agora's Marathon-compatible app framework: the REST API of Marathon
// 1.x (/v2/apps, /v2/tasks, /v2/deployments, /v2/queue, /v2/groups, /v2/events, /v2/info,
// /v2/leader, /ping, /metrics) on top of the scheduler SDK.
//
// One goroutine, the loop, owns the framework state (apps, deployments, tasks, the launch
// queue and back-off); HTTP handlers decode and validate requests and hand the loop
// closures, and the SDK's callbacks hand it offers and status updates. After every event
// the loop compares desired with observed state through the pure cores — planner.Advance
// for running deployments, planner.Maintain for the other apps — and carries out their
// actions: launches wait in the queue until Match (matching.go, pure) places them on
// offers, kills and other calls to the master go through an ordered outbox goroutine.
// Apps, versions, deployments, tasks, group metadata and the framework id are persisted
// through store.Store, one key per entity, so a restarted instance re-subscribes with its
// framework id, reconciles its tasks and carries on.
package marathon
