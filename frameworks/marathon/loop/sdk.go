package loop

import (
	"context"
	"sync"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/frameworks/marathon/events"
	"github.com/agoracluster/agora/frameworks/sdk"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
	"github.com/agoracluster/agora/workqueue"
)

// SDKHandler feeds the scheduler SDK's events into the loop.
func (l *Loop) SDKHandler() sdk.Handler { return &handler{l: l} }

var _ sdk.InverseOfferHandler = (*handler)(nil)

// handler feeds SDK events into the loop.
type handler struct {
	sdk.NoopHandler
	l *Loop
}

func (h *handler) Subscribed(ctx context.Context, _ *sdk.Scheduler, ev *scheduler.Event_Subscribed) {
	h.l.SetFrameworkID(ev.GetFrameworkId().GetValue())
	_ = h.l.do(ctx, func() {
		h.l.publish(events.NewSchedulerRegistered(ev.GetFrameworkId().GetValue(), h.l.cfg.Master, h.l.now()))
		h.l.needRevive = true
		h.l.reconcile()
	})
}

func (h *handler) Offers(ctx context.Context, s *sdk.Scheduler, offers []*mesos.Offer) {
	if err := h.l.do(ctx, func() { h.l.handleOffers(offers) }); err != nil {
		_ = s.DeclineOffers(ctx, offers, 0)
	}
}

// InverseOffers marks the agents draining, so that the apps' tasks move off them, and
// accepts: Marathon will vacate them.
func (h *handler) InverseOffers(ctx context.Context, s *sdk.Scheduler, inverse []*mesos.InverseOffer) {
	var ids []*mesos.OfferID
	_ = h.l.do(ctx, func() {
		for _, io := range inverse {
			h.l.setDraining(io.GetAgentId().GetValue(), true)
			ids = append(ids, io.GetId())
		}
	})
	if err := s.AcceptInverseOffers(ctx, ids); err != nil {
		h.l.log.Warn("accept inverse offers", zap.Error(err))
	}
}

// RescindInverseOffer: the machine's maintenance changed; offers tell again whether the
// agent is draining.
func (h *handler) RescindInverseOffer(context.Context, *sdk.Scheduler, *mesos.OfferID) {}

func (h *handler) Update(ctx context.Context, _ *sdk.Scheduler, status *mesos.TaskStatus) {
	if err := h.l.doDeferred(ctx, func() { h.l.handleUpdate(status) }); err == nil {
		h.l.acks.push(status) // recorded: acknowledge it
	}
}

// KnownTasks lists the tasks to reconcile explicitly after a subscription (the SDK's
// KnownTasks).
func (l *Loop) KnownTasks(ctx context.Context) []*scheduler.Call_Reconcile_Task {
	var out []*scheduler.Call_Reconcile_Task
	_ = l.do(ctx, func() {
		for t := range l.s.tasks.All() {
			out = append(out, sdk.ReconcileTask(t.ID, t.AgentID))
		}
	})
	return out
}

// call is one call to the master.
type call = func(ctx context.Context, s *sdk.Scheduler) error

// outbox carries calls to the master in order, off the loop goroutine.
type outbox struct {
	calls *workqueue.Queue[call]
}

func newOutbox() *outbox { return &outbox{calls: workqueue.New[call]()} }

func (o *outbox) push(f call) { o.calls.Push(f) }

// run makes the calls in order until ctx is done.
func (o *outbox) run(ctx context.Context, s *sdk.Scheduler, log *zap.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-o.calls.Ready():
		}
		for calls := o.calls.Drain(); len(calls) > 0; calls = o.calls.Drain() {
			for _, c := range calls {
				if ctx.Err() != nil {
					return
				}
				if err := c(ctx, s); err != nil {
					log.Warn("call to master failed", zap.Error(err))
				}
			}
		}
	}
}

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
		wg.Go(func() {
			for {
				st, ok := a.queue.Pop(ctx)
				if !ok {
					return
				}
				if err := s.Acknowledge(ctx, st); err != nil && ctx.Err() == nil {
					log.Warn("acknowledge update", zap.String("task_id", st.GetTaskId().GetValue()), zap.Error(err))
				}
			}
		})
	}
	wg.Wait()
}
