package zktest

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/agoracluster/agora/zookeeper"
)

// Connect opens a session to rawURL with the given session timeout, closed
// when the test ends.
func Connect(t testing.TB, rawURL string, sessionTimeout time.Duration) *zookeeper.Session {
	t.Helper()
	u, err := zookeeper.ParseURL(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg := zookeeper.DefaultConfig()
	cfg.SessionTimeout = sessionTimeout
	s, err := zookeeper.Connect(context.Background(), u, cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// WaitState waits (at most 30s) until the session's state satisfies ok and
// returns it.
func WaitState(t testing.TB, s *zookeeper.Session, what string, ok func(zookeeper.State) bool) zookeeper.State {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		st, changed := s.State()
		if ok(st) {
			return st
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("zktest: session not %s after 30s (state %s)", what, st.Status)
		}
	}
}
