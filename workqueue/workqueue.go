package workqueue

import (
	"context"
	"sync"
)

// Queue is an unbounded FIFO queue of T. Push never blocks; Pop waits for an item, Ready
// signals that items may be waiting. Create it with New.
type Queue[T any] struct {
	mu     sync.Mutex
	items  []T
	signal chan struct{} // holds a token while items may be waiting
}

// New returns an empty queue.
func New[T any]() *Queue[T] { return &Queue[T]{signal: make(chan struct{}, 1)} }

// Push appends vs in order and wakes a waiting consumer.
func (q *Queue[T]) Push(vs ...T) {
	if len(vs) == 0 {
		return
	}
	q.mu.Lock()
	q.items = append(q.items, vs...)
	q.mu.Unlock()
	q.wake()
}

func (q *Queue[T]) wake() {
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// Pop removes and returns the oldest item, waiting for one; ok is false when ctx ended
// first. When items remain it passes the signal on, so that consumers sharing the queue
// each wake for one.
func (q *Queue[T]) Pop(ctx context.Context) (v T, ok bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			var zero T
			v = q.items[0]
			q.items[0] = zero // let the queue forget it
			q.items = q.items[1:]
			more := len(q.items) > 0
			q.mu.Unlock()
			if more {
				q.wake()
			}
			return v, true
		}
		q.mu.Unlock()
		select {
		case <-q.signal:
		case <-ctx.Done():
			return v, false
		}
	}
}

// Ready receives a token after a Push; a consumer that drains in batches waits on it and
// then calls Drain until Drain returns nothing.
func (q *Queue[T]) Ready() <-chan struct{} { return q.signal }

// Drain removes and returns every queued item, oldest first, without waiting; nil when
// the queue is empty.
func (q *Queue[T]) Drain() []T {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.items
	q.items = nil
	return out
}

// Len is the number of queued items.
func (q *Queue[T]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}
