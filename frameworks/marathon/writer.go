package marathon

import (
	"context"
	"encoding/json"
	"sort"
	"sync"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/store"
)

// taskWriter writes task records behind the loop. A task changes state several times
// within a second of its launch, and a durable write costs milliseconds, so writing each
// change in the loop would bound launches by the disk. The loop hands the writer each
// record's newest value instead; the writer coalesces the values of a key that it has not
// written yet and writes on its own goroutine. Only task records go this way: nothing
// reads them back but the next start, and a task whose record was not written when
// Marathon crashed is reported by the master's reconciliation after the restart and is
// killed as unknown, then replaced (the level-based loop recovers it). Apps, versions,
// deployments and groups, which the API reads back, are still written in the loop.
type taskWriter struct {
	mu      sync.Mutex
	pending map[string][]byte // key -> newest value; nil deletes the key
	notify  chan struct{}
}

func newTaskWriter() *taskWriter {
	return &taskWriter{pending: map[string][]byte{}, notify: make(chan struct{}, 1)}
}

func (w *taskWriter) put(key string, value []byte) { w.set(key, value) }
func (w *taskWriter) del(key string)               { w.set(key, nil) }

func (w *taskWriter) set(key string, value []byte) {
	w.mu.Lock()
	w.pending[key] = value
	w.mu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// run writes pending records until loopDone is closed, then writes what is left and
// returns. The final writes are not cancelled by ctx: a stopping Marathon keeps its
// records.
func (w *taskWriter) run(ctx context.Context, st store.Store, log *zap.Logger, loopDone <-chan struct{}) {
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
func (w *taskWriter) flush(ctx context.Context, st store.Store, log *zap.Logger) {
	for {
		w.mu.Lock()
		if len(w.pending) == 0 {
			w.mu.Unlock()
			return
		}
		batch := w.pending
		w.pending = map[string][]byte{}
		w.mu.Unlock()
		keys := make([]string, 0, len(batch))
		for k := range batch {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			var err error
			if v := batch[k]; v != nil {
				_, err = st.Put(ctx, k, v, store.AnyVersion)
			} else {
				err = deleteKey(ctx, st, k)
			}
			if err != nil {
				log.Error("persist task", zap.String("key", k), zap.Error(err))
			}
		}
	}
}

// persistTask records that t changed: its planner view is refreshed and its record is
// handed to the task writer.
func (m *Marathon) persistTask(t *task) {
	m.tasks.touch(t)
	t.rendered = nil
	b, err := json.Marshal(t)
	if err != nil {
		m.log.Error("encode task", zap.String("task_id", t.ID), zap.Error(err))
		return
	}
	m.writer.put(taskKey(t.ID), b)
}
