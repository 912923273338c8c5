package agent

import "context"

func (a *Agent) cleanupIsolation(context.Context, *checkpointState)     {}
func (a *Agent) releaseIsolation(context.Context, string)               {}
func (a *Agent) recoverIsolation(context.Context, []RecoveredContainer) {}
