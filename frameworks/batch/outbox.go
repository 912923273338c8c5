package batch

import (
	"context"
	"sync"

	"github.com/agoracluster/agora/frameworks/sdk"
)

// outbox carries the loop's calls to the master (kills, the wish for offers) out of the loop:
// the loop queues them without blocking, one goroutine sends them in order.
type outbox struct {
	mu   sync.Mutex
	q    []func(ctx context.Context, s *sdk.Scheduler)
	kick chan struct{}
}

func newOutbox() *outbox { return &outbox{kick: make(chan struct{}, 1)} }

func (o *outbox) push(f func(ctx context.Context, s *sdk.Scheduler)) {
	o.mu.Lock()
	o.q = append(o.q, f)
	o.mu.Unlock()
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

func (o *outbox) run(ctx context.Context, s *sdk.Scheduler) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-o.kick:
		}
		o.mu.Lock()
		q := o.q
		o.q = nil
		o.mu.Unlock()
		for _, f := range q {
			if ctx.Err() != nil {
				return
			}
			f(ctx, s)
		}
	}
}
