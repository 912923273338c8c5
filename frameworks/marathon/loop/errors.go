package loop

import "fmt"

// NotFoundError says that something a request names does not exist.
type NotFoundError struct{ Message string }

func (e *NotFoundError) Error() string { return e.Message }

func notFound(format string, args ...any) error {
	return &NotFoundError{Message: fmt.Sprintf(format, args...)}
}

func appNotFound(id string) error { return notFound("App '%s' does not exist", id) }

// ConflictError says that a request conflicts with what exists (an app id taken).
type ConflictError struct{ Message string }

func (e *ConflictError) Error() string { return e.Message }

// LockedError says that running deployments hold apps that a change touches; a forced
// change cancels them.
type LockedError struct{ Deployments []string }

func (e *LockedError) Error() string {
	return fmt.Sprintf("App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/%s'.", e.Deployments[0])
}
