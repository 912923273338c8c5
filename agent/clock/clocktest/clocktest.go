package clocktest

import (
	"sync"
	"time"

	"github.com/agoracluster/agora/agent/clock"
)

// Fake is a clock.Clock whose time moves only by Advance; the functions whose time has come
// run, each in its own goroutine, during Advance.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	waiters map[*waiter]bool
}

var _ clock.Clock = (*Fake)(nil)

type waiter struct {
	c  *Fake
	at time.Time
	f  func()
}

// New returns a fake clock at now.
func New(now time.Time) *Fake { return &Fake{now: now, waiters: make(map[*waiter]bool)} }

// Now implements clock.Clock.
func (c *Fake) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc implements clock.Clock: f runs once Advance reaches now+d (at once for d <= 0).
func (c *Fake) AfterFunc(d time.Duration, f func()) clock.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := &waiter{c: c, at: c.now.Add(d), f: f}
	if d <= 0 {
		go f()
		return w
	}
	c.waiters[w] = true
	return w
}

// Reset implements clock.Timer.
func (w *waiter) Reset(d time.Duration) bool {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	pending := w.c.waiters[w]
	w.at = w.c.now.Add(d)
	if d <= 0 {
		delete(w.c.waiters, w)
		go w.f()
		return pending
	}
	w.c.waiters[w] = true
	return pending
}

// Stop implements clock.Timer.
func (w *waiter) Stop() bool {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	pending := w.c.waiters[w]
	delete(w.c.waiters, w)
	return pending
}

// Advance moves the clock by d and starts the functions whose time has come.
func (c *Fake) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for w := range c.waiters {
		if !w.at.After(c.now) {
			delete(c.waiters, w)
			go w.f()
		}
	}
}

// Pending is the number of functions waiting for their time.
func (c *Fake) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}
