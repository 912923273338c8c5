package batch

import (
	"context"
	"sync"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/agoracluster/agora/frameworks/sdk"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// ackWorkers bounds the acknowledgements in flight at once.
const ackWorkers = 16

// acker sends acknowledgements off the loop and the writer, several side by side: an agent
// has at most one unacknowledged update per task in flight, so their order does not matter.
type acker struct {
	mu   sync.Mutex
	q    []*mesos.TaskStatus
	kick chan struct{}
}

func newAcker() *acker { return &acker{kick: make(chan struct{}, 1)} }

// push queues updates to acknowledge (those without a uuid need none).
func (a *acker) push(sts ...*mesos.TaskStatus) {
	a.mu.Lock()
	for _, st := range sts {
		if len(st.GetUuid()) > 0 {
			a.q = append(a.q, st)
		}
	}
	a.mu.Unlock()
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

func (a *acker) run(ctx context.Context, s *sdk.Scheduler, log *zap.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.kick:
		}
		a.mu.Lock()
		q := a.q
		a.q = nil
		a.mu.Unlock()
		var g errgroup.Group
		g.SetLimit(ackWorkers)
		for _, st := range q {
			g.Go(func() error {
				if err := s.Acknowledge(ctx, st); err != nil && ctx.Err() == nil {
					log.Warn("acknowledge update", zap.String("task_id", st.GetTaskId().GetValue()), zap.Error(err))
				}
				return nil
			})
		}
		_ = g.Wait()
	}
}
