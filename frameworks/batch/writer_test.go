package batch

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"

	"go.uber.org/zap/zaptest"

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
