package marathon

import (
	"context"
	"sync"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/frameworks/sdk"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/workqueue"
)

// ackWorkers is how many acknowledgements are in flight to the master at once.
const ackWorkers = 8

// acker acknowledges status updates off the SDK's event goroutine, several at a time:
// the loop has recorded an update by the time it is queued here. Acknowledging inline
// would cost a round trip to the master per update before the next event is read.
// Updates of one task are never acknowledged concurrently: the agent sends a task's next
// update only once the previous one is acknowledged.
type acker struct {
	queue *workqueue.Queue[*mesos.TaskStatus]
}

func newAcker() *acker { return &acker{queue: workqueue.New[*mesos.TaskStatus]()} }

// push queues st for acknowledgement; updates without a uuid need none.
func (a *acker) push(st *mesos.TaskStatus) {
	if len(st.GetUuid()) == 0 {
		return
	}
	a.queue.Push(st)
}

// run acknowledges queued updates with ackWorkers workers until ctx is done.
func (a *acker) run(ctx context.Context, s *sdk.Scheduler, log *zap.Logger) {
	var wg sync.WaitGroup
	for range ackWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				st, ok := a.queue.Pop(ctx)
				if !ok {
					return
				}
				if err := s.Acknowledge(ctx, st); err != nil && ctx.Err() == nil {
					log.Warn("acknowledge update", zap.String("task_id", st.GetTaskId().GetValue()), zap.Error(err))
				}
			}
		}()
	}
	wg.Wait()
}
