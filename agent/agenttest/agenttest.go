// Package agenttest holds test support shared by the agent's packages.
package agenttest

import (
	"testing"
	"time"

	"github.com/agoracluster/agora/internal/poll"
)

// Eventually is poll.Eventually with a bool condition.
//
// Deprecated: use poll.Eventually; this remains until agent/registration's tests move to it.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	poll.Eventually(t, timeout, cond, append([]any{format}, args...)...)
}
