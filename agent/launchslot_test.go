package agent

import (
	"context"
	"testing"
	"time"
)

func TestLaunchSlotsBoundStartingExecutors(t *testing.T) {
	slots := make(chan struct{}, 2)
	a, b, c := &launchSlot{slots: slots}, &launchSlot{slots: slots}, &launchSlot{slots: slots}
	ctx := context.Background()
	if !a.acquire(ctx) || !b.acquire(ctx) {
		t.Fatal("acquire with free slots failed")
	}
	waiting, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if c.acquire(waiting) {
		t.Fatal("a third executor started while two were starting")
	}
	a.release()
	a.release() // only the first release gives the slot back
	if !c.acquire(ctx) {
		t.Fatal("no slot after a release")
	}
	if len(slots) != 2 {
		t.Fatalf("%d slots taken, want 2", len(slots))
	}
	b.release()
	c.release()
	if len(slots) != 0 {
		t.Fatalf("%d slots taken after every release, want 0", len(slots))
	}
	var none *launchSlot
	none.release() // recovered executors have none
}

func TestLaunchSlotTimesOut(t *testing.T) {
	slots := make(chan struct{}, 1)
	s := &launchSlot{slots: slots}
	if !s.acquire(context.Background()) {
		t.Fatal("acquire failed")
	}
	s.started()
	eventually(t, 10*launchSlotTimeout, func() bool { return len(slots) == 0 }, "the slot of an executor that never subscribed was kept")
	s.release()
	if len(slots) != 0 {
		t.Fatal("release after the timeout gave back a slot twice")
	}
}
