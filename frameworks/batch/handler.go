package batch

import (
	"context"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/agoracluster/agora/frameworks/sdk"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
)

// handler receives the SDK's events and hands them to the loop; it launches what the loop
// planned once the launched tasks are on disk.
type handler struct {
	sdk.NoopHandler
	b *Batch
}

var _ sdk.Handler = (*handler)(nil)

func (h *handler) Subscribed(_ context.Context, _ *sdk.Scheduler, ev *scheduler.Event_Subscribed) {
	h.b.setFrameworkID(ev.GetFrameworkId().GetValue())
	h.b.log.Info("subscribed", zap.String("framework_id", ev.GetFrameworkId().GetValue()))
}

func (h *handler) Offers(ctx context.Context, _ *sdk.Scheduler, offered []*mesos.Offer) {
	var p plan
	if err := h.b.do(ctx, func() { p = h.b.planOffers(offered) }); err != nil {
		return
	}
	// Launch off the SDK's event goroutine: waiting for the writer must not stop the stream.
	h.b.launcher.push(func(ctx context.Context, s *sdk.Scheduler) { h.b.launch(ctx, s, p) })
}

// launch carries out a plan once the launched tasks are on disk.
func (b *Batch) launch(ctx context.Context, s *sdk.Scheduler, p plan) {
	if len(p.launches) > 0 {
		if err := b.w.wait(p.gen); err != nil {
			return
		}
	}
	var g errgroup.Group // offers are independent: their ACCEPTs go out side by side
	g.SetLimit(launchWorkers)
	for _, l := range p.launches {
		g.Go(func() error {
			b.launchOne(ctx, s, l)
			return nil
		})
	}
	_ = g.Wait()
	if len(p.decline) > 0 {
		if err := s.Decline(ctx, p.decline, p.refuse); err != nil && ctx.Err() == nil {
			b.log.Warn("decline offers", zap.Error(err))
		}
	}
}

// launchWorkers bounds the ACCEPT calls of one plan in flight at once.
const launchWorkers = 8

// launchOne launches one offer's tasks.
func (b *Batch) launchOne(ctx context.Context, s *sdk.Scheduler, l launch) {
	err := s.Launch(ctx, l.offer, l.tasks...)
	if err == nil {
		return
	}
	// The master may have launched them anyway (a timeout): ask it. Tasks it does not know
	// come back TASK_LOST for reconciliation and are launched again (onUpdate).
	b.log.Warn("launch", zap.String("offer_id", l.offer.GetValue()), zap.Int("tasks", len(l.tasks)), zap.Error(err))
	var rt []*scheduler.Call_Reconcile_Task
	for _, t := range l.tasks {
		rt = append(rt, sdk.ReconcileTask(t.GetTaskId().GetValue(), t.GetAgentId().GetValue()))
	}
	if err := s.Reconcile(ctx, rt...); err != nil && ctx.Err() == nil {
		b.log.Warn("reconcile tasks of a failed launch", zap.Error(err)) // reconciled again on resubscription
	}
}

func (h *handler) Update(ctx context.Context, _ *sdk.Scheduler, st *mesos.TaskStatus) {
	_ = h.b.do(ctx, func() { h.b.onUpdate(st) })
}

func (h *handler) Failure(_ context.Context, _ *sdk.Scheduler, f *scheduler.Event_Failure) {
	h.b.log.Info("failure", zap.String("agent_id", f.GetAgentId().GetValue()), zap.String("executor_id", f.GetExecutorId().GetValue()))
}

func (h *handler) Error(_ context.Context, _ *sdk.Scheduler, msg string) {
	h.b.log.Error("master error", zap.String("message", msg))
}

func (h *handler) Disconnected(_ context.Context, _ *sdk.Scheduler, err error) {
	h.b.log.Info("disconnected", zap.Error(err))
}
