package batch

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

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

// Retry pacing of failed writes: the first retry after retryMin, doubling up to retryMax.
const (
	retryMin = 10 * time.Millisecond
	retryMax = 5 * time.Second
)

// run writes until ctx is done, then, once the loop has ended (loopDone), writes what is
// left. Store operations do not take ctx's cancellation (they are short and local), so that
// a clean shutdown loses nothing. A failed write is retried, with back-off, before anything
// recorded after it: nothing is acknowledged and no launch proceeds on state that is not durable.
func (w *writer) run(ctx context.Context, st store.Store, a *acker, log *zap.Logger, loopDone <-chan struct{}) {
	defer func() {
		<-loopDone
		w.flush(ctx, st, nil, log) // once: what fails now stays unwritten, and its waiters hear so
		w.mu.Lock()
		w.stopped = true
		w.cond.Broadcast()
		w.mu.Unlock()
	}()
	backoff := time.Duration(0)
	var retry <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.kick:
			if retry != nil {
				continue // a write is failing: new changes wait behind it
			}
		case <-retry:
			retry = nil
		}
		if w.flush(ctx, st, a, log) {
			backoff = 0
			continue
		}
		backoff = min(max(2*backoff, retryMin), retryMax)
		retry = time.After(backoff)
	}
}

// flush writes the pending values in the order of their last change, then hands the pending
// updates to the acker (nil: none) and reports true. When a write fails, the failed key and
// everything after it go back in front of what was recorded meanwhile, the updates wait with
// them, and flush reports false. A value the store refuses outright (too large, invalid key)
// is logged and dropped, as no retry could write it.
func (w *writer) flush(ctx context.Context, st store.Store, a *acker, log *zap.Logger) bool {
	w.mu.Lock()
	pending, order, acks, gen := w.pending, w.order, w.acks, w.gen
	w.pending, w.order, w.acks = map[string][]byte{}, nil, nil
	w.mu.Unlock()
	sctx := context.WithoutCancel(ctx)
	keys := lastChanged(order)
	for i, key := range keys {
		err := write(sctx, st, key, pending[key])
		if errors.Is(err, store.ErrTooLarge) || errors.Is(err, store.ErrInvalidKey) {
			// No retry can succeed: the rest must not wait behind it forever.
			log.Error("persist state: dropped a value the store refuses", zap.String("key", key), zap.Error(err))
			continue
		}
		if err != nil {
			log.Error("persist state; retrying", zap.String("key", key), zap.Error(err))
			w.requeue(keys[i:], pending, acks)
			return false
		}
	}
	if a != nil && len(acks) > 0 {
		a.push(acks...) // before the waiters wake: what they waited for is handed on
	}
	w.mu.Lock()
	w.done = gen
	w.cond.Broadcast()
	w.mu.Unlock()
	return true
}

// requeue puts unwritten keys (with their values) and unsent acknowledgements back in front of
// what was recorded since they were taken; a key changed since keeps its newer value.
func (w *writer) requeue(keys []string, values map[string][]byte, acks []*mesos.TaskStatus) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, key := range keys {
		if _, newer := w.pending[key]; !newer {
			w.pending[key] = values[key]
		}
	}
	w.order = append(slices.Clip(keys), w.order...)
	w.acks = append(slices.Clip(acks), w.acks...)
}

// write stores value under key (nil: deletes key; deleting what is gone succeeds).
func write(ctx context.Context, st store.Store, key string, value []byte) error {
	if value == nil {
		if err := st.Delete(ctx, key, store.AnyVersion); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return nil
	}
	_, err := st.Put(ctx, key, value, store.AnyVersion)
	return err
}
