package zkstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/agoracluster/agora/election"
	"github.com/agoracluster/agora/store"
	"github.com/agoracluster/agora/store/storetest"
	"github.com/agoracluster/agora/store/zkstore"
	"github.com/agoracluster/agora/zookeeper"
	"github.com/agoracluster/agora/zookeeper/zktest"
)

func open(t *testing.T, sess *zookeeper.Session, root string) *zkstore.Store {
	t.Helper()
	s, err := zkstore.New(context.Background(), sess, root)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	srv := zktest.Start(t)
	sess := zktest.Connect(t, srv.URL("/agora"), 4*time.Second)
	var n atomic.Int64
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, sess, fmt.Sprintf("/agora/registry%d", n.Add(1)))
	})
}

func TestLayout(t *testing.T) {
	srv := zktest.Start(t)
	sess := zktest.Connect(t, srv.URL("/agora"), 4*time.Second)
	s := open(t, sess, "/agora/registry")
	ctx := context.Background()
	if _, err := s.Put(ctx, "agents/a1", []byte("x"), 0); err != nil {
		t.Fatal(err)
	}
	data, stat, err := sess.Conn().Get("/agora/registry/agents/~a1")
	if err != nil || string(data) != "agora-zkstore-v1\nx" || stat.Version != 0 {
		t.Fatalf("value znode = %q@%v, %v", data, stat, err)
	}
	if err := s.Delete(ctx, "agents/a1", 1); err != nil {
		t.Fatal(err)
	}
	if ok, _, err := sess.Conn().Exists("/agora/registry/agents"); err != nil || ok {
		t.Fatalf("empty parent left behind: %v, %v", ok, err)
	}
	if ok, _, err := sess.Conn().Exists("/agora/registry"); err != nil || !ok {
		t.Fatalf("root removed: %v, %v", ok, err)
	}
}

func TestTooLarge(t *testing.T) {
	srv := zktest.Start(t)
	sess := zktest.Connect(t, srv.URL("/agora"), 4*time.Second)
	for _, s := range []*zkstore.Store{open(t, sess, "/agora/registry"), open(t, sess, "/agora/fenced").WithFence("/agora", -1)} {
		ctx := context.Background()
		key := "apps/" + strings.Repeat("long-app-id", 20)
		limit := s.MaxValueSize(key)
		if limit < 1<<20-2048 {
			t.Fatalf("limit %d leaves too little of 1 MiB", limit)
		}
		// The largest value allowed goes through ZooKeeper's own limit.
		if _, err := s.Put(ctx, key, bytes.Repeat([]byte{'a'}, limit), 0); err != nil {
			t.Fatalf("Put of %d bytes (the limit): %v", limit, err)
		}
		_, err := s.Put(ctx, key, bytes.Repeat([]byte{'b'}, limit+1), 1)
		if !errors.Is(err, store.ErrTooLarge) || !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), fmt.Sprint(limit+1)) {
			t.Fatalf("err = %v, want ErrTooLarge naming the key and size", err)
		}
		got, v, err := s.Get(ctx, key)
		if err != nil || v != 1 || len(got) != limit || got[0] != 'a' {
			t.Fatalf("after the refused Put: %d bytes@%d, %v", len(got), v, err)
		}
		if _, err := s.Put(ctx, "other", make([]byte, 2<<20), store.AnyVersion); !errors.Is(err, store.ErrTooLarge) {
			t.Fatalf("2 MiB: err = %v", err)
		}
		if _, _, err := s.Get(ctx, "other"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("2 MiB value written: %v", err)
		}
	}
}

func TestForeignZnodes(t *testing.T) {
	srv := zktest.Start(t)
	sess := zktest.Connect(t, srv.URL("/agora"), 4*time.Second)
	s := open(t, sess, "/agora/registry")
	ctx := context.Background()
	for p, data := range map[string]string{
		"/agora/registry/~foreign":       "raw bytes",
		"/agora/registry/somebody-elses": "",
	} {
		if _, err := sess.Conn().Create(p, []byte(data), 0, sess.ACL()); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err := s.Get(ctx, "foreign")
	if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), "/agora/registry/~foreign") {
		t.Fatalf("Get foreign: err = %v, want ErrCorrupt naming the znode", err)
	}
	keys, err := s.List(ctx, "")
	if err != nil || len(keys) != 1 || keys[0] != "foreign" {
		t.Fatalf("List = %q, %v", keys, err)
	}
	if _, err := sess.Conn().Create("/agora/registry/~bad key", nil, 0, sess.ACL()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.List(ctx, ""); !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), "~bad key") {
		t.Fatalf("List with a bad name: err = %v, want ErrCorrupt naming it", err)
	}
}

// TestFencing: writes of a store fenced on a leader's znode go through
// while it leads and fail with ErrFenced, changing nothing, once it lost
// its znode; the new leader's fenced store writes.
func TestFencing(t *testing.T) {
	srv := zktest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	leader := func(name string) (*zookeeper.Session, *election.Contender, string) {
		sess := zktest.Connect(t, srv.URL("/agora"), 4*time.Second)
		c, err := election.Contend(sess, election.DefaultConfig("/agora"), []byte(name), zaptest.NewLogger(t).Named(name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Withdraw(context.Background()) })
		st, err := c.WaitLeading(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return sess, c, st.Node
	}
	sess1, c1, node1 := leader("m1")
	s1 := open(t, sess1, "/agora/registry").WithFence(node1, 0)
	if _, err := s1.Put(ctx, "agents/a1", []byte("one"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s1.Put(ctx, "agents/a1", []byte("two"), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := s1.Put(ctx, "frameworks/f1", []byte("f"), 0); err != nil {
		t.Fatal(err)
	}

	if err := c1.Withdraw(ctx); err != nil {
		t.Fatal(err)
	}
	sess2, _, node2 := leader("m2")
	writes := map[string]func() error{
		"set":     func() error { _, err := s1.Put(ctx, "agents/a1", []byte("stale"), 2); return err },
		"any":     func() error { _, err := s1.Put(ctx, "agents/a1", []byte("stale"), store.AnyVersion); return err },
		"create":  func() error { _, err := s1.Put(ctx, "agents/a2", []byte("stale"), 0); return err },
		"mkdir":   func() error { _, err := s1.Put(ctx, "new/dir/k", []byte("stale"), 0); return err },
		"delete":  func() error { return s1.Delete(ctx, "frameworks/f1", store.AnyVersion) },
		"deleteV": func() error { return s1.Delete(ctx, "frameworks/f1", 1) },
	}
	for name, write := range writes {
		err := write()
		t.Logf("%s: %v", name, err)
		if !errors.Is(err, store.ErrFenced) || !strings.Contains(err.Error(), node1) {
			t.Errorf("%s by the deposed leader: err = %v, want ErrFenced naming %s", name, err, node1)
		}
	}
	s2 := open(t, sess2, "/agora/registry").WithFence(node2, 0)
	if err := s2.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"agents/a1": "two", "frameworks/f1": "f"} {
		if got, _, err := s2.Get(ctx, key); err != nil || string(got) != want {
			t.Fatalf("Get(%s) = %q, %v; want %q", key, got, err, want)
		}
	}
	for _, key := range []string{"agents/a2", "new/dir/k"} {
		if _, _, err := s2.Get(ctx, key); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Get(%s): %v, want ErrNotFound", key, err)
		}
	}
	if ok, _, _ := sess2.Conn().Exists("/agora/registry/new"); ok {
		t.Fatal("the deposed leader created a parent znode")
	}
	if _, err := s2.Put(ctx, "agents/a1", []byte("three"), 2); err != nil {
		t.Fatalf("new leader's write: %v", err)
	}

	// A fence at a version the znode has left fences too.
	if _, err := sess2.Conn().Set(node2, []byte("m2'"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Put(ctx, "agents/a1", []byte("four"), 3); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("fence at an old version: err = %v, want ErrFenced", err)
	}
	if _, err := s2.WithFence(node2, 1).Put(ctx, "agents/a1", []byte("four"), 3); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.WithFence(node2, zkstore.AnyZnodeVersion).Put(ctx, "agents/a1", []byte("five"), 4); err != nil {
		t.Fatal(err)
	}
}

// TestZooKeeperRestart restarts ZooKeeper under a live store: writes fail
// clearly while it is down, and everything written before is there after.
func TestZooKeeperRestart(t *testing.T) {
	srv := zktest.Start(t)
	sess := zktest.Connect(t, srv.URL("/agora"), 10*time.Second)
	s := open(t, sess, "/agora/registry")
	ctx := context.Background()
	for i := range 20 {
		if _, err := s.Put(ctx, fmt.Sprintf("apps/app%02d", i), []byte{byte(i)}, 0); err != nil {
			t.Fatal(err)
		}
	}
	srv.Stop()
	zktest.WaitState(t, sess, "disconnected", func(st zookeeper.State) bool { return st.Status != zookeeper.Connected })
	if _, err := s.Put(ctx, "apps/app00", []byte("x"), 1); err == nil || !strings.Contains(err.Error(), `zkstore: put "apps/app00"`) {
		t.Fatalf("Put while ZooKeeper is down: err = %v", err)
	}
	srv.Restart()
	zktest.WaitState(t, sess, "connected", func(st zookeeper.State) bool { return st.Status == zookeeper.Connected })
	keys, err := s.List(ctx, "apps")
	if err != nil || len(keys) != 20 {
		t.Fatalf("List after restart = %d keys, %v", len(keys), err)
	}
	if v, err := s.Put(ctx, "apps/app00", []byte("y"), 1); err != nil || v != 2 {
		t.Fatalf("Put after restart = %d, %v", v, err)
	}
}
