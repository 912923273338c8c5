package persist

import (
	"context"
	"maps"
	"slices"
	"sync"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/store"
)

// Writer writes task records behind the loop. A task changes state several times
// within a second of its launch, and a durable write costs milliseconds, so writing each
// change in the loop would bound launches by the disk. The loop hands the writer each
// record's newest value instead; the writer coalesces the values of a key that it has not
// written yet and writes on its own goroutine. Only task records go this way: nothing
// reads them back but the next start, and a task whose record was not written when
// Marathon crashed is reported by the master's reconciliation after the restart and is
// killed as unknown, then replaced (the level-based loop recovers it). Apps, versions,
// deployments and groups, which the API reads back, are still written in the loop.
type Writer struct {
	mu      sync.Mutex
	pending map[string][]byte // key -> newest value; nil deletes the key
	notify  chan struct{}
}

// NewWriter returns a Writer with nothing pending.
func NewWriter() *Writer {
	return &Writer{pending: map[string][]byte{}, notify: make(chan struct{}, 1)}
}

// Put hands the writer key's newest value.
func (w *Writer) Put(key string, value []byte) { w.set(key, value) }

// Delete hands the writer key's deletion.
func (w *Writer) Delete(key string) { w.set(key, nil) }

func (w *Writer) set(key string, value []byte) {
	w.mu.Lock()
	w.pending[key] = value
	w.mu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// Run writes pending records until loopDone is closed, then writes what is left and
// returns. The final writes are not cancelled by ctx: a stopping Marathon keeps its
// records.
func (w *Writer) Run(ctx context.Context, st store.Store, log *zap.Logger, loopDone <-chan struct{}) {
	wctx := context.WithoutCancel(ctx)
	for {
		select {
		case <-w.notify:
			w.flush(wctx, st, log)
		case <-loopDone:
			w.flush(wctx, st, log)
			return
		}
	}
}

// flush writes every pending record, in key order.
func (w *Writer) flush(ctx context.Context, st store.Store, log *zap.Logger) {
	for {
		w.mu.Lock()
		if len(w.pending) == 0 {
			w.mu.Unlock()
			return
		}
		batch := w.pending
		w.pending = map[string][]byte{}
		w.mu.Unlock()
		for _, k := range slices.Sorted(maps.Keys(batch)) {
			var err error
			if v := batch[k]; v != nil {
				_, err = st.Put(ctx, k, v, store.AnyVersion)
			} else {
				err = DeleteKey(ctx, st, k)
			}
			if err != nil {
				log.Error("persist task", zap.String("key", k), zap.Error(err))
			}
		}
	}
}
