// Package agenttest holds test support shared by the agent's packages.
package agenttest

import (
	"testing"
	"time"
)

// Eventually polls cond every 10ms until it holds; once timeout has passed it fails the
// test with the message format and args. It is for waiting on real processes and servers;
// code driven by a clock is tested with agent/clock/clocktest or testing/synctest.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf(format, args...)
		}
		<-tick.C
	}
}
