package clock

import "time"

// Clock tells the time and runs functions later.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has passed; the Timer stops it.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc.
type Timer interface {
	// Stop prevents the call; false when it has run or was stopped already.
	Stop() bool
	// Reset makes the call due d from now (again, when it has run or was stopped); false
	// when it had run or was stopped.
	Reset(d time.Duration) bool
}

// Real is the wall clock.
type Real struct{}

var _ Clock = Real{}

// Now implements Clock.
func (Real) Now() time.Time { return time.Now() }

// AfterFunc implements Clock.
func (Real) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// At returns a channel that is closed once c reaches t, and a function that releases it
// early.
func At(c Clock, t time.Time) (<-chan struct{}, func()) {
	ch := make(chan struct{})
	timer := c.AfterFunc(t.Sub(c.Now()), func() { close(ch) })
	return ch, func() { timer.Stop() }
}
