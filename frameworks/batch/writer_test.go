package batch

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/agoracluster/agora/internal/poll"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/store"
)

func TestLastChanged(t *testing.T) {
	tests := []struct {
		in, want []string
	}{
		{nil, []string{}},
		{[]string{"a", "b"}, []string{"a", "b"}},
		{[]string{"a", "b", "a"}, []string{"b", "a"}},
		{[]string{"run", "schedule", "run", "schedule"}, []string{"run", "schedule"}},
	}
	for _, tt := range tests {
		if got := lastChanged(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("lastChanged(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestWriterWritesCoalescedAndWaits(t *testing.T) {
	st, err := store.OpenFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := st.Put(ctx, "gone", []byte("x"), store.AnyVersion); err != nil {
		t.Fatal(err)
	}
	w := newWriter()
	w.put("a", []byte("1"))
	w.put("a", []byte("2"))
	w.put("gone", nil)
	gen := w.put("b", []byte("3"))
	rctx, cancel := context.WithCancel(ctx)
	loopDone := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); w.run(rctx, st, nil, zaptest.NewLogger(t), loopDone) }()
	if err := w.wait(gen); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"a": "2", "b": "3"} {
		got, v, err := st.Get(ctx, key)
		if err != nil || string(got) != want || v != 1 {
			t.Errorf("%s = %q version %d (%v), want %q written once", key, got, v, err, want)
		}
	}
	if _, _, err := st.Get(ctx, "gone"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted key: %v", err)
	}
	last := w.put("late", []byte("4")) // recorded as the loop ends: written on the way out
	cancel()
	close(loopDone)
	wg.Wait()
	if err := w.wait(last); err != nil {
		t.Fatal(err)
	}
	if got, _, err := st.Get(ctx, "late"); err != nil || string(got) != "4" {
		t.Errorf("late = %q (%v)", got, err)
	}
	if err := w.wait(last + 1); !errors.Is(err, errWriterStopped) {
		t.Errorf("wait after stop = %v, want errWriterStopped", err)
	}
}

// flakyStore fails the first failures Puts of one key, and records the keys written.
type flakyStore struct {
	store.Store
	mu       sync.Mutex
	key      string
	failures int
	written  []string
}

func (s *flakyStore) Put(ctx context.Context, key string, value []byte, version store.Version) (store.Version, error) {
	s.mu.Lock()
	if key == s.key && s.failures > 0 {
		s.failures--
		s.mu.Unlock()
		return 0, errors.New("injected: disk full")
	}
	s.written = append(s.written, key)
	s.mu.Unlock()
	return s.Store.Put(ctx, key, value, version)
}

func (s *flakyStore) writes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.written)
}

func TestWriterRetriesFailedWritesInOrderBeforeAcknowledging(t *testing.T) {
	fs, err := store.OpenFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st := &flakyStore{Store: fs, key: "b", failures: 3}
	w := newWriter()
	a := newAcker()
	w.put("a", []byte("1"))
	w.put("b", []byte("2"))
	w.ack(&mesos.TaskStatus{Uuid: []byte("u1")})
	gen := w.put("c", []byte("3"))
	ctx, cancel := context.WithCancel(context.Background())
	loopDone := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); w.run(ctx, st, a, zaptest.NewLogger(t), loopDone) }()
	defer func() { cancel(); close(loopDone); wg.Wait() }()

	if err := w.wait(gen); err != nil {
		t.Fatal(err)
	}
	// c was recorded after b: it is written only once b is, and b holds its newest value.
	if got, want := st.writes(), []string{"a", "b", "c"}; !slices.Equal(got, want) {
		t.Errorf("writes = %v, want %v", got, want)
	}
	if got, _, err := fs.Get(context.Background(), "b"); err != nil || string(got) != "2" {
		t.Errorf("b = %q (%v), want 2", got, err)
	}
	a.mu.Lock()
	queued := len(a.q)
	a.mu.Unlock()
	if queued != 1 {
		t.Errorf("acknowledgements handed on = %d, want 1 (after the retried write succeeded)", queued)
	}
}

func TestWriterHoldsAcknowledgementsWhileAWriteFails(t *testing.T) {
	fs, err := store.OpenFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st := &flakyStore{Store: fs, key: "b", failures: 1 << 30}
	w := newWriter()
	a := newAcker()
	w.put("b", []byte("1"))
	w.ack(&mesos.TaskStatus{Uuid: []byte("u1")})
	gen := w.put("b", []byte("2")) // a newer value of the failing key replaces the older
	ctx, cancel := context.WithCancel(context.Background())
	loopDone := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); w.run(ctx, st, a, zaptest.NewLogger(t), loopDone) }()
	// Several retries pass; the generation never completes and nothing is acknowledged.
	poll.Eventually(t, 10*time.Second, func() bool {
		st.mu.Lock()
		defer st.mu.Unlock()
		return st.failures <= (1<<30)-3
	}, "three failed writes of b")
	if w.idle() {
		t.Error("writer idle while a write fails")
	}
	a.mu.Lock()
	if len(a.q) != 0 {
		t.Errorf("acknowledged %d updates whose state is not durable", len(a.q))
	}
	a.mu.Unlock()
	cancel()
	close(loopDone)
	wg.Wait()
	if err := w.wait(gen); !errors.Is(err, errWriterStopped) {
		t.Errorf("wait on an unwritten generation after stop = %v, want errWriterStopped", err)
	}
}

func TestWriterDropsValuesTheStoreRefuses(t *testing.T) {
	fs, err := store.OpenFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w := newWriter()
	w.put("bad key with spaces/../x", []byte("1"))
	gen := w.put("good", []byte("2"))
	if !w.flush(context.Background(), fs, nil, zaptest.NewLogger(t)) {
		t.Fatal("flush reported failure for a refused value")
	}
	if err := w.wait(gen); err != nil {
		t.Fatal(err)
	}
	if got, _, err := fs.Get(context.Background(), "good"); err != nil || string(got) != "2" {
		t.Errorf("good = %q (%v)", got, err)
	}
}
