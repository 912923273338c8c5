package batch

import (
	"context"
	"errors"
	"sync"

	"go.uber.org/zap"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/store"
)

// writer persists behind the loop: the loop records the latest value of each key (nil:
// delete) and the status updates to acknowledge once those values are durable; one goroutine
// writes what accumulated, coalescing many changes of one key into one write, then hands the
// acknowledgements to the acker. Launches wait for the generation holding their tasks (wait), so that no
// task reaches an agent before it is on disk.
type writer struct {
	mu      sync.Mutex
	pending map[string][]byte // key → value (nil: delete)
	order   []string          // keys in change order, with repeats (flush keeps the last)
	acks    []*mesos.TaskStatus
	gen     uint64 // generation of the last change
	done    uint64 // generation written
	kick    chan struct{}
	cond    *sync.Cond
	stopped bool
}

func newWriter() *writer {
	w := &writer{pending: map[string][]byte{}, kick: make(chan struct{}, 1)}
	w.cond = sync.NewCond(&w.mu)
	return w
}

// put records key's new value (nil: delete) and returns its generation.
func (w *writer) put(key string, value []byte) uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.order = append(w.order, key)
	w.pending[key] = value
	w.gen++
	w.signal()
	return w.gen
}

// ack records an update to acknowledge after everything recorded before it is written.
func (w *writer) ack(st *mesos.TaskStatus) {
	if len(st.GetUuid()) == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.acks = append(w.acks, st)
	w.signal()
}

// idle reports whether everything recorded so far is written.
func (w *writer) idle() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.done == w.gen
}

// generation returns the generation of the last change recorded.
func (w *writer) generation() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.gen
}

func (w *writer) signal() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// errWriterStopped is returned by wait once the writer has stopped.
var errWriterStopped = errors.New("batch: state writer stopped")

// wait blocks until generation gen is written, or the writer stops.
func (w *writer) wait(gen uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.done < gen && !w.stopped {
		w.cond.Wait()
	}
	if w.done < gen {
		return errWriterStopped
	}
	return nil
}

// lastChanged returns the keys in the order of their last change: a key changed again is
// written after the keys changed before that (a scheduled run before its schedule's watermark).
func lastChanged(order []string) []string {
	seen := make(map[string]bool, len(order))
	out := make([]string, 0, len(order))
	for i := len(order) - 1; i >= 0; i-- {
		if !seen[order[i]] {
			seen[order[i]] = true
			out = append(out, order[i])
		}
	}
	for i, k := 0, len(out)-1; i < k; i, k = i+1, k-1 {
		out[i], out[k] = out[k], out[i]
	}
	return out
}

// run writes until ctx is done, then, once the loop has ended (loopDone), writes what is
// left. Store operations do not take ctx's cancellation (they are short and local), so that
// a clean shutdown loses nothing.
func (w *writer) run(ctx context.Context, st store.Store, a *acker, log *zap.Logger, loopDone <-chan struct{}) {
	defer func() {
		<-loopDone
		w.flush(ctx, st, nil, log)
		w.mu.Lock()
		w.stopped = true
		w.cond.Broadcast()
		w.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.kick:
			w.flush(ctx, st, a, log)
		}
	}
}

// flush writes the pending values, then hands the pending updates to the acker (nil: none).
func (w *writer) flush(ctx context.Context, st store.Store, a *acker, log *zap.Logger) {
	w.mu.Lock()
	pending, order, acks, gen := w.pending, w.order, w.acks, w.gen
	w.pending, w.order, w.acks = map[string][]byte{}, nil, nil
	w.mu.Unlock()
	sctx := context.WithoutCancel(ctx)
	for _, key := range lastChanged(order) {
		v := pending[key]
		var err error
		if v == nil {
			err = st.Delete(sctx, key, store.AnyVersion)
			if errors.Is(err, store.ErrNotFound) {
				err = nil
			}
		} else {
			_, err = st.Put(sctx, key, v, store.AnyVersion)
		}
		if err != nil {
			log.Error("persist state", zap.String("key", key), zap.Error(err))
		}
	}
	w.mu.Lock()
	w.done = gen
	w.cond.Broadcast()
	w.mu.Unlock()
	if a != nil && len(acks) > 0 {
		a.push(acks...)
	}
}
