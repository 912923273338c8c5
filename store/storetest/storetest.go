package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/agoracluster/agora/store"
)

// Run runs the conformance suite. newStore must return a fresh, empty store
// for each subtest (and clean it up with t.Cleanup).
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	tests := []struct {
		name string
		test func(t *testing.T, s store.Store)
	}{
		{"GetMissing", testGetMissing},
		{"CreateOnly", testCreateOnly},
		{"CompareAndSet", testCompareAndSet},
		{"AnyVersion", testAnyVersion},
		{"PutExpectedOnMissing", testPutExpectedOnMissing},
		{"Delete", testDelete},
		{"RecreateAfterDelete", testRecreateAfterDelete},
		{"List", testList},
		{"Values", testValues},
		{"NoAliasing", testNoAliasing},
		{"InvalidKeys", testInvalidKeys},
		{"CanceledContext", testCanceledContext},
		{"ConcurrentCAS", testConcurrentCAS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.test(t, newStore(t)) })
	}
}

func put(t *testing.T, s store.Store, key, value string, expected store.Version) store.Version {
	t.Helper()
	v, err := s.Put(context.Background(), key, []byte(value), expected)
	if err != nil {
		t.Fatalf("Put(%q, expected %d): %v", key, expected, err)
	}
	return v
}

func wantValue(t *testing.T, s store.Store, key, value string, version store.Version) {
	t.Helper()
	got, v, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if string(got) != value || v != version {
		t.Fatalf("Get(%q) = %q@%d, want %q@%d", key, got, v, value, version)
	}
}

func wantAbsent(t *testing.T, s store.Store, key string) {
	t.Helper()
	got, v, err := s.Get(context.Background(), key)
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%q) = %q@%d, %v; want ErrNotFound", key, got, v, err)
	}
}

func testGetMissing(t *testing.T, s store.Store) {
	_, v, err := s.Get(context.Background(), "agents/a1")
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	if v != 0 {
		t.Fatalf("version = %d, want 0", v)
	}
}

func testCreateOnly(t *testing.T, s store.Store) {
	if v := put(t, s, "agents/a1", "one", 0); v != 1 {
		t.Fatalf("first version = %d, want 1", v)
	}
	wantValue(t, s, "agents/a1", "one", 1)
	_, err := s.Put(context.Background(), "agents/a1", []byte("two"), 0)
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("create over existing: err = %v, want ErrConflict", err)
	}
	wantValue(t, s, "agents/a1", "one", 1)
}

func testCompareAndSet(t *testing.T, s store.Store) {
	put(t, s, "k", "v1", 0)
	if v := put(t, s, "k", "v2", 1); v != 2 {
		t.Fatalf("version = %d, want 2", v)
	}
	for _, stale := range []store.Version{1, 3} {
		_, err := s.Put(context.Background(), "k", []byte("stale"), stale)
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("Put with expected %d: err = %v, want ErrConflict", stale, err)
		}
	}
	wantValue(t, s, "k", "v2", 2)
}

func testAnyVersion(t *testing.T, s store.Store) {
	if v := put(t, s, "k", "a", store.AnyVersion); v != 1 {
		t.Fatalf("create with AnyVersion: version %d, want 1", v)
	}
	if v := put(t, s, "k", "b", store.AnyVersion); v != 2 {
		t.Fatalf("overwrite with AnyVersion: version %d, want 2", v)
	}
	wantValue(t, s, "k", "b", 2)
}

func testPutExpectedOnMissing(t *testing.T, s store.Store) {
	_, err := s.Put(context.Background(), "k", []byte("x"), 3)
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
	wantAbsent(t, s, "k")
}

func testDelete(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.Delete(ctx, "k", store.AnyVersion); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete missing: err = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, "k", 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete missing with version: err = %v, want ErrNotFound", err)
	}
	put(t, s, "k", "a", 0)
	put(t, s, "k", "b", 1)
	if err := s.Delete(ctx, "k", 1); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("delete stale: err = %v, want ErrConflict", err)
	}
	wantValue(t, s, "k", "b", 2)
	if err := s.Delete(ctx, "k", 2); err != nil {
		t.Fatalf("delete at version: %v", err)
	}
	wantAbsent(t, s, "k")
	put(t, s, "j", "a", 0)
	if err := s.Delete(ctx, "j", store.AnyVersion); err != nil {
		t.Fatalf("delete any version: %v", err)
	}
	wantAbsent(t, s, "j")
}

func testRecreateAfterDelete(t *testing.T, s store.Store) {
	put(t, s, "agents/a1", "a", 0)
	if err := s.Delete(context.Background(), "agents/a1", store.AnyVersion); err != nil {
		t.Fatal(err)
	}
	if v := put(t, s, "agents/a1", "b", 0); v != 1 {
		t.Fatalf("recreated version = %d, want 1", v)
	}
	wantValue(t, s, "agents/a1", "b", 1)
}

func testList(t *testing.T, s store.Store) {
	ctx := context.Background()
	list := func(prefix string) []string {
		t.Helper()
		keys, err := s.List(ctx, prefix)
		if err != nil {
			t.Fatalf("List(%q): %v", prefix, err)
		}
		return keys
	}
	if got := list("agents"); len(got) != 0 {
		t.Fatalf("List on empty store = %q, want none", got)
	}
	for _, k := range []string{"agents/b", "agents/a", "agents/c:1", "frameworks/f1", "agents2/x", "agents/a/tasks/t1"} {
		put(t, s, k, k, 0)
	}
	want := []string{"agents/a", "agents/b", "agents/c:1"}
	if got := list("agents"); !slices.Equal(got, want) {
		t.Fatalf("List(agents) = %q, want %q", got, want)
	}
	if got := list("agents/a/tasks"); !slices.Equal(got, []string{"agents/a/tasks/t1"}) {
		t.Fatalf("List(agents/a/tasks) = %q", got)
	}
	if got := list("nothing/here"); len(got) != 0 {
		t.Fatalf("List(nothing/here) = %q, want none", got)
	}
	for _, k := range want {
		if err := s.Delete(ctx, k, store.AnyVersion); err != nil {
			t.Fatal(err)
		}
	}
	if got := list("agents"); len(got) != 0 {
		t.Fatalf("List after deletes = %q, want none", got)
	}
	wantValue(t, s, "agents/a/tasks/t1", "agents/a/tasks/t1", 1)
}

func testValues(t *testing.T, s store.Store) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<14) // 256 KiB
	binary := []byte{0, 1, 2, '\n', 0xff, '\n'}
	for i, value := range [][]byte{{}, binary, big} {
		key := fmt.Sprintf("values/v%d", i)
		if _, err := s.Put(context.Background(), key, value, 0); err != nil {
			t.Fatalf("Put(%s): %v", key, err)
		}
		got, _, err := s.Get(context.Background(), key)
		if err != nil {
			t.Fatalf("Get(%s): %v", key, err)
		}
		if !bytes.Equal(got, value) {
			t.Fatalf("value %d: got %d bytes, want %d", i, len(got), len(value))
		}
	}
}

func testNoAliasing(t *testing.T, s store.Store) {
	value := []byte("original")
	if _, err := s.Put(context.Background(), "k", value, 0); err != nil {
		t.Fatal(err)
	}
	value[0] = 'X'
	got, _, err := s.Get(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	got[0] = 'Y'
	wantValue(t, s, "k", "original", 1)
}

func testInvalidKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, key := range []string{"", "/a", "a/", "a//b", "a/../b", "..", ".", "a b", `a\b`, "a/~value", "ä"} {
		if _, _, err := s.Get(ctx, key); !errors.Is(err, store.ErrInvalidKey) {
			t.Errorf("Get(%q): err = %v, want ErrInvalidKey", key, err)
		}
		if _, err := s.Put(ctx, key, []byte("x"), store.AnyVersion); !errors.Is(err, store.ErrInvalidKey) {
			t.Errorf("Put(%q): err = %v, want ErrInvalidKey", key, err)
		}
		if err := s.Delete(ctx, key, store.AnyVersion); !errors.Is(err, store.ErrInvalidKey) {
			t.Errorf("Delete(%q): err = %v, want ErrInvalidKey", key, err)
		}
	}
	for _, prefix := range []string{"/", "a//", "../x", "a b"} {
		if _, err := s.List(ctx, prefix); !errors.Is(err, store.ErrInvalidKey) {
			t.Errorf("List(%q): err = %v, want ErrInvalidKey", prefix, err)
		}
	}
}

func testCanceledContext(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Put(ctx, "k", []byte("x"), 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with canceled ctx: err = %v, want context.Canceled", err)
	}
	if _, _, err := s.Get(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with canceled ctx: err = %v, want context.Canceled", err)
	}
	wantAbsent(t, s, "k")
}

// testConcurrentCAS has goroutines increment a counter with read-modify-CAS
// loops: no increment may be lost and every successful Put must return a
// distinct version.
func testConcurrentCAS(t *testing.T, s store.Store) {
	const workers, perWorker = 4, 10
	ctx := context.Background()
	put(t, s, "counter", "0", 0)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		versions = make(map[store.Version]bool)
		errs     = make(chan error, workers)
	)
	for range workers {
		wg.Go(func() {
			for done := 0; done < perWorker; {
				b, v, err := s.Get(ctx, "counter")
				if err != nil {
					errs <- err
					return
				}
				var n int
				if _, err := fmt.Sscan(string(b), &n); err != nil {
					errs <- fmt.Errorf("counter %q: %w", b, err)
					return
				}
				nv, err := s.Put(ctx, "counter", []byte(fmt.Sprint(n+1)), v)
				if errors.Is(err, store.ErrConflict) {
					continue
				}
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				if versions[nv] {
					mu.Unlock()
					errs <- fmt.Errorf("version %d returned twice", nv)
					return
				}
				versions[nv] = true
				mu.Unlock()
				done++
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	wantValue(t, s, "counter", fmt.Sprint(workers*perWorker), store.Version(workers*perWorker+1))
}
