package poll

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// recorder is a testing.TB that records a Fatal instead of stopping the goroutine.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper()           {}
func (r *recorder) Fatal(args ...any) { r.failed = args[0].(string) }

func TestEventually(t *testing.T) {
	tests := []struct {
		name     string
		run      func(tb testing.TB, calls *atomic.Int32)
		wantFail string // substring of the failure, "" when it must pass
	}{
		{"bool holds after three checks", func(tb testing.TB, calls *atomic.Int32) {
			Eventually(tb, time.Second, func() bool { return calls.Add(1) >= 3 })
		}, ""},
		{"error clears after two checks", func(tb testing.TB, calls *atomic.Int32) {
			Eventually(tb, time.Second, func() error {
				if calls.Add(1) < 2 {
					return errors.New("not yet")
				}
				return nil
			})
		}, ""},
		{"bool never holds: message formatted", func(tb testing.TB, calls *atomic.Int32) {
			Eventually(tb, 30*time.Millisecond, func() bool { calls.Add(1); return false }, "task %s running", "t1")
		}, "task t1 running (not within 30ms)"},
		{"error never clears: last error reported", func(tb testing.TB, calls *atomic.Int32) {
			Eventually(tb, 30*time.Millisecond, func() error { calls.Add(1); return errors.New("state is STAGING") })
		}, "condition not met within 30ms: state is STAGING"},
		{"message and error together", func(tb testing.TB, calls *atomic.Int32) {
			Eventually(tb, 30*time.Millisecond, func() error { calls.Add(1); return errors.New("503") }, "master up")
		}, "master up (not within 30ms): 503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{TB: t}
			var calls atomic.Int32
			tt.run(r, &calls)
			if tt.wantFail == "" && r.failed != "" {
				t.Fatalf("failed: %s", r.failed)
			}
			if tt.wantFail != "" && !strings.Contains(r.failed, tt.wantFail) {
				t.Fatalf("failure %q, want it to contain %q", r.failed, tt.wantFail)
			}
			if calls.Load() < 2 {
				t.Fatalf("cond checked %d times, want at least 2", calls.Load())
			}
		})
	}
}

// TestBackoffBounded: a condition that never holds within 300ms is checked more than a few
// times (the backoff starts short) but not in a busy loop (it grows to Max).
func TestBackoffBounded(t *testing.T) {
	r := &recorder{TB: t}
	var calls atomic.Int32
	Eventually(r, 300*time.Millisecond, func() bool { calls.Add(1); return false })
	if n := int64(calls.Load()); n < 4 || n > 300*time.Millisecond.Milliseconds()/First.Milliseconds()+1 {
		t.Fatalf("checked %d times in 300ms", n)
	}
}
