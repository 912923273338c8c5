package supervisor

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/agoracluster/agora/agent/clock"
)

func TestLaunchSlotsBoundStartingExecutors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
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
		a.Release()
		a.Release() // only the first release gives the slot back
		if !c.acquire(ctx) {
			t.Fatal("no slot after a release")
		}
		if len(slots) != 2 {
			t.Fatalf("%d slots taken, want 2", len(slots))
		}
		b.Release()
		c.Release()
		if len(slots) != 0 {
			t.Fatalf("%d slots taken after every release, want 0", len(slots))
		}
		var none *launchSlot
		none.Release() // recovered executors have none
	})
}

func TestLaunchSlotTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slots := make(chan struct{}, 1)
		s := &launchSlot{slots: slots, clock: clock.Real{}} // the bubble's fake time
		if !s.acquire(context.Background()) {
			t.Fatal("acquire failed")
		}
		s.started()
		time.Sleep(launchSlotTimeout - time.Millisecond)
		synctest.Wait()
		if len(slots) != 1 {
			t.Fatal("the slot was given back before launchSlotTimeout")
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if len(slots) != 0 {
			t.Fatal("the slot of an executor that never subscribed was kept")
		}
		s.Release()
		if len(slots) != 0 {
			t.Fatal("release after the timeout gave back a slot twice")
		}
	})
}
