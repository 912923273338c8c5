// Package tasks is the framework's instance tracker: Task is one task that Marathon
// launched and has not seen end (as it is persisted, with its health, addresses and
// readiness), and Index holds the live tasks by id and by app with the per-app views the
// loop asks for after every event (sorted tasks, the planner's view). Values here are
// owned by the framework loop's goroutine and are not safe for concurrent use.
package tasks
