package persist

import (
	"context"
	"errors"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/agoracluster/agora/store"
)

// TestWriterCoalesces: the writer writes each key's newest value, deletes what was
// deleted, and writes what is left once the loop ends.
func TestWriterCoalesces(t *testing.T) {
	st, err := store.OpenFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := st.Put(ctx, TaskKey("gone"), []byte(`{}`), store.AnyVersion); err != nil {
		t.Fatal(err)
	}
	w := NewWriter()
	w.Put(TaskKey("t1"), []byte(`{"v":1}`))
	w.Put(TaskKey("t1"), []byte(`{"v":2}`))
	w.Delete(TaskKey("gone"))
	w.Put(TaskKey("t2"), []byte(`{"v":3}`))
	w.Delete(TaskKey("t2"))
	done := make(chan struct{})
	close(done) // the loop has ended: Run writes what is pending and returns
	w.Run(ctx, st, zaptest.NewLogger(t), done)
	if b, _, err := st.Get(ctx, TaskKey("t1")); err != nil || string(b) != `{"v":2}` {
		t.Errorf("t1 = %s, %v", b, err)
	}
	for _, k := range []string{TaskKey("gone"), TaskKey("t2")} {
		if _, _, err := st.Get(ctx, k); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: %v, want not found", k, err)
		}
	}
}
