package zookeeper_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"go.uber.org/zap/zaptest"

	"github.com/agoracluster/agora/zookeeper"
	"github.com/agoracluster/agora/zookeeper/zktest"
)

func connected(st zookeeper.State) bool { return st.Status == zookeeper.Connected }

func TestConfigValidate(t *testing.T) {
	if err := zookeeper.DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	err := zookeeper.Config{SessionTimeout: time.Millisecond}.Validate()
	if err == nil || !strings.Contains(err.Error(), "session timeout 1ms") || !strings.Contains(err.Error(), "connect timeout 0s") {
		t.Fatalf("err = %v, want both problems", err)
	}
}

func TestSessionConnectEnsurePathClose(t *testing.T) {
	srv := zktest.Start(t)
	s := zktest.Connect(t, srv.URL("/agora"), 4*time.Second)
	st, _ := s.State()
	if st.Status != zookeeper.Connected || st.SessionID == 0 {
		t.Fatalf("state after Connect = %+v", st)
	}
	if err := s.EnsurePath(context.Background(), "/agora/a/b"); err != nil {
		t.Fatal(err)
	}
	if err := s.EnsurePath(context.Background(), "/agora/a/b"); err != nil {
		t.Fatalf("second EnsurePath: %v", err)
	}
	if ok, _, err := s.Conn().Exists("/agora/a/b"); err != nil || !ok {
		t.Fatalf("Exists = %v, %v", ok, err)
	}
	if err := s.EnsurePath(context.Background(), "relative"); err == nil {
		t.Fatal("EnsurePath(relative): want an error")
	}
	s.Close()
	if st, _ := s.State(); st.Status != zookeeper.Closed {
		t.Fatalf("state after Close = %v", st.Status)
	}
	if _, err := s.WaitConnected(context.Background()); !errors.Is(err, zookeeper.ErrClosed) {
		t.Fatalf("WaitConnected after Close: %v", err)
	}
}

func TestConnectUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	u, err := zookeeper.ParseURL("zk://" + addr + "/agora")
	if err != nil {
		t.Fatal(err)
	}
	cfg := zookeeper.DefaultConfig()
	cfg.ConnectTimeout = 500 * time.Millisecond
	_, err = zookeeper.Connect(context.Background(), u, cfg, zaptest.NewLogger(t))
	if err == nil || !strings.Contains(err.Error(), "no session within 500ms") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("err = %v, want no session and the dial error", err)
	}
}

func TestSessionDigestACL(t *testing.T) {
	srv := zktest.Start(t)
	owner := zktest.Connect(t, "zk://jo:pw@"+srv.Addr()+"/agora", 4*time.Second)
	if err := owner.EnsurePath(context.Background(), "/agora/x"); err != nil {
		t.Fatal(err)
	}
	other := zktest.Connect(t, srv.URL("/agora"), 4*time.Second)
	if _, _, err := other.Conn().Get("/agora/x"); err != nil {
		t.Fatalf("read without credentials: %v", err)
	}
	if _, err := other.Conn().Set("/agora/x", []byte("y"), -1); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("write without credentials: err = %v, want ErrNoAuth", err)
	}
	if _, err := owner.Conn().Set("/agora/x", []byte("y"), -1); err != nil {
		t.Fatalf("write with credentials: %v", err)
	}
}

// TestSessionSurvivesZooKeeperRestart restarts ZooKeeper under a live
// session: the session reconnects with the same id and keeps its ephemeral
// znode.
func TestSessionSurvivesZooKeeperRestart(t *testing.T) {
	srv := zktest.Start(t)
	s := zktest.Connect(t, srv.URL("/agora"), 10*time.Second)
	first, _ := s.State()
	if _, err := s.Conn().Create("/eph", nil, zk.FlagEphemeral, s.ACL()); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	zktest.WaitState(t, s, "disconnected", func(st zookeeper.State) bool { return st.Status == zookeeper.Disconnected })
	srv.Restart()
	st := zktest.WaitState(t, s, "connected", connected)
	if st.SessionID != first.SessionID {
		t.Fatalf("session id %#x after restart, want %#x", st.SessionID, first.SessionID)
	}
	if ok, _, err := s.Conn().Exists("/eph"); err != nil || !ok {
		t.Fatalf("ephemeral after restart: exists %v, %v", ok, err)
	}
}

// TestSessionExpiresBehindPartition cuts the client off long enough for
// the server to expire its session: the client reports Expired, then a new
// session.
func TestSessionExpiresBehindPartition(t *testing.T) {
	srv := zktest.Start(t)
	proxy := zktest.NewProxy(t, srv.Addr())
	s := zktest.Connect(t, proxy.URL("/agora"), 500*time.Millisecond)
	first, _ := s.State()
	if _, err := s.Conn().Create("/eph", nil, zk.FlagEphemeral, s.ACL()); err != nil {
		t.Fatal(err)
	}
	watcher := zktest.Connect(t, srv.URL("/agora"), 4*time.Second)
	_, _, gone, err := watcher.Conn().ExistsW("/eph")
	if err != nil {
		t.Fatal(err)
	}
	proxy.Cut()
	zktest.WaitState(t, s, "disconnected", func(st zookeeper.State) bool { return st.Status == zookeeper.Disconnected })
	select { // the server expires the silent session and deletes its znode
	case ev := <-gone:
		if ev.Type != zk.EventNodeDeleted {
			t.Fatalf("watch event %v, want node deleted", ev)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ephemeral znode of the partitioned session not deleted after 30s")
	}
	proxy.Heal()
	st := zktest.WaitState(t, s, "connected with a new session", func(st zookeeper.State) bool {
		return connected(st) && st.SessionID != first.SessionID
	})
	if st.SessionID == 0 {
		t.Fatalf("new session id 0")
	}
}

// TestSilentServerGivenUpAfterSessionTimeout: a server that accepts a
// connection but never answers (one still starting) holds the client up
// for at most the session timeout, not the library's 6.7 of them.
func TestSilentServerGivenUpAfterSessionTimeout(t *testing.T) {
	srv := zktest.Start(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		held []net.Conn
	)
	hold := func(cs ...net.Conn) {
		mu.Lock()
		defer mu.Unlock()
		held = append(held, cs...)
	}
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for first := true; ; first = false {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if first {
				hold(c) // silent: read nothing, answer nothing
				continue
			}
			up, err := net.Dial("tcp", srv.Addr())
			if err != nil {
				c.Close()
				continue
			}
			hold(c, up)
			wg.Go(func() { _, _ = io.Copy(up, c); up.Close() })
			wg.Go(func() { _, _ = io.Copy(c, up); c.Close() })
		}
	})
	u, err := zookeeper.ParseURL("zk://" + ln.Addr().String() + "/agora")
	if err != nil {
		t.Fatal(err)
	}
	cfg := zookeeper.Config{SessionTimeout: time.Second, ConnectTimeout: 5 * time.Second}
	s, err := zookeeper.Connect(context.Background(), u, cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatalf("Connect behind a silent first connection: %v", err)
	}
	s.Close()
}
