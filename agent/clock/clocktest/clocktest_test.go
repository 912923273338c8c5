package clocktest

import (
	"testing"
	"time"

	"github.com/agoracluster/agora/agent/clock"
)

func TestFakeRunsWhatIsDueOnAdvance(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := New(start)
	fired := make(chan string, 3)
	c.AfterFunc(time.Second, func() { fired <- "1s" })
	stopped := c.AfterFunc(2*time.Second, func() { fired <- "2s" })
	at, _ := clock.At(c, start.Add(3*time.Second))

	c.Advance(999 * time.Millisecond)
	if c.Pending() != 3 {
		t.Fatalf("pending = %d before the first is due, want 3", c.Pending())
	}
	c.Advance(time.Millisecond)
	if got := <-fired; got != "1s" {
		t.Fatalf("fired %s, want 1s", got)
	}
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop of a pending timer: want true once, then false")
	}
	c.Advance(2 * time.Second)
	<-at
	select {
	case got := <-fired:
		t.Fatalf("a stopped timer fired: %s", got)
	default:
	}
	// A timer that ran can be set again; a reset pending one moves.
	again := c.AfterFunc(time.Second, func() { fired <- "again" })
	if !again.Reset(2 * time.Second) {
		t.Fatal("Reset of a pending timer: want true")
	}
	c.Advance(time.Second)
	select {
	case got := <-fired:
		t.Fatalf("a timer fired before its reset time: %s", got)
	default:
	}
	c.Advance(time.Second)
	if got := <-fired; got != "again" {
		t.Fatalf("fired %s, want again", got)
	}
	if again.Reset(time.Second) {
		t.Fatal("Reset of a timer that ran: want false")
	}
	c.Advance(time.Second)
	if got := <-fired; got != "again" {
		t.Fatalf("fired %s after the reset of a timer that ran, want again", got)
	}
	if !c.Now().Equal(start.Add(6 * time.Second)) {
		t.Fatalf("now = %v", c.Now())
	}
}
