// Package loop is the framework loop of Marathon: one goroutine that owns the framework
// state (apps, deployments, tasks, the launch queue and back-off, group metadata) and
// changes it one event at a time. Its inputs are the SDK's events (offers, status
// updates, subscriptions), a tick, readiness results, and the API's requests, which run
// as functions given a Tx (Loop.Do): the Tx's commands (create, update, scale, restart,
// delete, kill, cancel, groups) compute the target state and start deployments; its View
// reads the state for responses.
//
// After every event the loop compares desired with observed state through the pure cores
// — planner.Advance for running deployments, planner.Maintain for the other apps — and
// carries out their actions: launches wait in the queue until matching.Match places them
// on offers and taskinfo.Build renders them, kills and other calls to the master go
// through an ordered outbox, acknowledgements through the acker, and records through
// persist (task records behind the loop, in persist.Writer).
package loop
