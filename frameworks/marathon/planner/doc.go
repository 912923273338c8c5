// Package planner is Marathon's deployment planner as a pure core. Plan
// compares the deployed app definitions with the target ones and produces a
// DeploymentPlan: stop removed apps, register new ones, then scale or restart
// changed apps in dependency order, one step per dependency layer. Next
// takes a plan, its current step and the observed state (tasks with their
// version, state, health and readiness, plus launches already queued) and
// returns the actions to take now — start N tasks of a version, kill a
// task — honouring minimumHealthCapacity and maximumOverCapacity during
// rolling restarts and killSelection when scaling down. It is level-based
// and idempotent: calling it again with the same state yields no new work,
// so the framework loop calls it after every event.
package planner
