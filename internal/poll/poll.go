// Package poll waits in tests for something real (a process, a server, a file) to reach a
// state, with a deadline. It is the one deadline poll of the repository's tests; code driven by
// a clock is tested with a fake clock or testing/synctest instead.
package poll

import (
	"fmt"
	"testing"
	"time"
)

// First and Max bound the backoff between two checks: the first wait is First, each next one
// doubles, up to Max.
const (
	First = 5 * time.Millisecond
	Max   = 100 * time.Millisecond
)

// Cond is what Eventually checks: a func() bool that reports whether the state is reached, or a
// func() error that returns nil once it is (its last error goes into the failure message).
type Cond interface {
	func() bool | func() error
}

// Eventually checks cond until it holds, waiting First, then twice as long each time up to Max,
// between checks. Once timeout has passed it fails the test (t.Fatal) with msg, formatted as
// fmt.Sprintf(msg[0], msg[1:]...) when msg[0] is a string, and cond's last error.
func Eventually[C Cond](t testing.TB, timeout time.Duration, cond C, msg ...any) {
	t.Helper()
	var check func() error
	switch c := any(cond).(type) {
	case func() bool:
		check = func() error {
			if c() {
				return nil
			}
			return errNotYet
		}
	case func() error:
		check = c
	}
	deadline := time.Now().Add(timeout)
	delay := First
	for {
		err := check()
		if err == nil {
			return
		}
		if !time.Now().Before(deadline) {
			t.Fatal(failure(timeout, err, msg))
			return
		}
		tm := time.NewTimer(min(delay, time.Until(deadline)))
		<-tm.C
		delay = min(2*delay, Max)
	}
}

var errNotYet = fmt.Errorf("condition still false")

func failure(timeout time.Duration, err error, msg []any) string {
	what := ""
	if len(msg) > 0 {
		if f, ok := msg[0].(string); ok {
			what = fmt.Sprintf(f, msg[1:]...)
		} else {
			what = fmt.Sprint(msg...)
		}
	}
	if what == "" {
		return fmt.Sprintf("condition not met within %v: %v", timeout, err)
	}
	if err == errNotYet {
		return fmt.Sprintf("%s (not within %v)", what, timeout)
	}
	return fmt.Sprintf("%s (not within %v): %v", what, timeout, err)
}
