package simulate

import (
	"context"
	"net"
	"testing"
)

func TestSourceAddrSkipsNetworkAndBroadcastHostParts(t *testing.T) {
	for i, want := range map[int]string{0: "127.1.0.1", 253: "127.1.0.254", 254: "127.1.1.1", 254*254 - 1: "127.1.253.254", 254 * 254: "127.1.0.1"} {
		if got := sourceAddr(i).String(); got != want {
			t.Errorf("sourceAddr(%d) = %s, want %s", i, got, want)
		}
	}
}

func TestLoopbackDialerSpreadsSourceAddresses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	seen := make(chan string, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
			seen <- host
			c.Close()
		}
	}()
	d := newLoopbackDialer(3)
	for range 4 {
		c, err := d.DialContext(context.Background(), "tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	want := []string{"127.1.0.1", "127.1.0.2", "127.1.0.3", "127.1.0.1"}
	for i, w := range want {
		if got := <-seen; got != w {
			t.Errorf("connection %d came from %s, want %s", i, got, w)
		}
	}
}
