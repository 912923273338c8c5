package lb

import (
	"context"
	"net"
	"testing"
	"time"
)

// TestDialWaitsForTheBackendSetToChange: when every backend refuses (the old tasks of a
// rolling restart are gone), a connection waits for the new set and is made to it.
func TestDialWaitsForTheBackendSetToChange(t *testing.T) {
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()
	alive, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer alive.Close()
	go func() {
		for {
			c, err := alive.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()

	st := newStats()
	p := newPool("web", RoundRobin, st)
	p.set("/web", []Backend{{TaskID: "old", Addr: deadAddr}}, st)
	go func() {
		time.Sleep(50 * time.Millisecond)
		p.set("/web", []Backend{{TaskID: "new", Addr: alive.Addr().String()}}, st)
	}()
	c, b, err := p.dial(context.Background(), &net.Dialer{})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.Close()
	if b.TaskID != "new" {
		t.Fatalf("connected to %s, want the new task", b.TaskID)
	}

	// Without a change, it gives up and names what failed.
	p.set("/web", []Backend{{TaskID: "old", Addr: deadAddr}}, st)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, _, err := p.dial(ctx, &net.Dialer{}); err == nil {
		t.Fatal("dial to a dead set succeeded")
	}
}
