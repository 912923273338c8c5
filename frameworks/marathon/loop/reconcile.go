package loop

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/frameworks/marathon/events"
	"github.com/agoracluster/agora/frameworks/marathon/launchqueue"
	"github.com/agoracluster/agora/frameworks/marathon/persist"
	"github.com/agoracluster/agora/frameworks/marathon/planner"
	"github.com/agoracluster/agora/frameworks/marathon/readiness"
	"github.com/agoracluster/agora/frameworks/marathon/tasks"
	"github.com/agoracluster/agora/frameworks/sdk"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
)

// How long a kill may go unanswered before it is sent again, and how long a task may
// stay staging before it is reconciled explicitly.
const (
	killRetry      = 10 * time.Second
	staleStaging   = 30 * time.Second
	staleReconcile = 30 * time.Second
)

// reconcile compares desired and observed state and acts on the difference: deployments
// advance, untouched apps are maintained, and the offer wish follows the queue.
func (l *Loop) reconcile() {
	l.reconcilePending = false
	s := &l.s
	now := l.now()
	touched := map[string]bool{}
	for _, d := range s.sortedDeployments() {
		affected := d.Plan.AffectedApps()
		for _, id := range affected {
			touched[id] = true
		}
		step, acts, finished := planner.Advance(d.Plan, d.Step, s.plannerState(affected), now)
		if step != d.Step {
			ep := s.eventPlan(d.Plan, d.Original)
			for st := d.Step; st < step; st++ {
				l.publish(events.NewDeploymentStepSuccess(ep, st, now))
			}
			if !finished {
				l.publish(events.NewDeploymentInfo(ep, step, now))
			}
			d.Step = step
			l.db.Put(l.ctx, persist.DeploymentKey(d.Plan.ID), d)
		}
		l.apply(acts)
		if finished {
			l.log.Info("deployment finished", zap.String("deployment_id", d.Plan.ID))
			l.publish(events.NewDeploymentSuccess(s.eventPlan(d.Plan, d.Original), now))
			delete(s.eventPlans, d.Plan.ID)
			delete(s.deployments, d.Plan.ID)
			l.db.Delete(l.ctx, persist.DeploymentKey(d.Plan.ID))
		}
	}
	ids := slices.Sorted(maps.Keys(s.apps))
	// Tasks of apps that no longer exist and that no deployment stops: kill them.
	var orphans []planner.Task
	for _, id := range s.tasks.Apps() {
		if _, ok := s.apps[id]; !ok && !touched[id] {
			orphans = append(orphans, s.plannerTasks(id)...)
		}
	}
	for _, id := range ids {
		if touched[id] {
			continue
		}
		q := planner.Queued{}
		if e := s.queue[id]; e != nil {
			q = planner.Queued{Version: e.Version, Count: e.Count}
		}
		l.apply(planner.MaintainDraining(specOf(s.apps[id]), s.plannerTasks(id), q, now, s.draining))
	}
	for _, t := range orphans {
		if t.State != planner.Killing {
			l.apply([]planner.Action{{Kind: planner.Kill, AppID: t.AppID, TaskID: t.ID, Reason: planner.ReasonDeletingApp}})
		}
	}
	for id, q := range s.queue {
		if _, ok := s.apps[id]; !ok && !touched[id] || q.Count <= 0 {
			delete(s.queue, id)
		}
	}
	l.syncReadiness()
	l.syncOffers(now)
}

// apply carries out planner actions and records them in the state.
func (l *Loop) apply(acts []planner.Action) {
	s := &l.s
	now := l.now()
	for _, a := range acts {
		switch a.Kind {
		case planner.Start:
			q := s.queue[a.AppID]
			if q == nil || q.Version != a.Version {
				q = &launchqueue.Entry{Version: a.Version, Since: now}
				s.queue[a.AppID] = q
			}
			q.Count += a.Count
			l.needRevive = true
		case planner.Kill:
			if t := s.tasks.Get(a.TaskID); t != nil {
				l.log.Info("killing task", zap.String("task_id", t.ID), zap.String("app_id", t.AppID), zap.String("reason", a.Reason))
				l.killTask(t, now)
			}
		case planner.Purge:
			delete(s.queue, a.AppID)
		case planner.Dequeue:
			if q := s.queue[a.AppID]; q != nil {
				q.Count -= a.Count
				if q.Count <= 0 {
					delete(s.queue, a.AppID)
				}
			}
		case planner.Expunge:
			if t := s.tasks.Get(a.TaskID); t != nil {
				s.expunged[t.ID] = true
				l.dropTask(t)
			}
		}
	}
}

func (l *Loop) killTask(t *tasks.Task, now time.Time) {
	t.Killing = true
	t.KillSentAt = now
	l.persistTask(t)
	if t.Pod != nil {
		l.killContainers(t)
		return
	}
	taskID, agentID := sdk.TaskID(t.ID), sdk.AgentID(t.AgentID)
	l.out.push(func(ctx context.Context, s *sdk.Scheduler) error { return s.Kill(ctx, taskID, agentID) })
}

// killContainers kills the tasks of pod instance t that have not ended (killing one kills
// the group; each is killed so that none is missed).
func (l *Loop) killContainers(t *tasks.Task) {
	agentID := sdk.AgentID(t.AgentID)
	for _, c := range t.Pod.Live() {
		taskID := sdk.TaskID(c.TaskID)
		l.out.push(func(ctx context.Context, s *sdk.Scheduler) error { return s.Kill(ctx, taskID, agentID) })
	}
}

func (l *Loop) dropTask(t *tasks.Task) {
	l.s.tasks.Remove(t)
	l.writer.Delete(persist.TaskKey(t.ID))
}

// persistTask records that t changed: its revision and planner view are refreshed and its
// record is handed to the task writer.
func (l *Loop) persistTask(t *tasks.Task) {
	l.s.tasks.Touch(t)
	b, err := json.Marshal(t)
	if err != nil {
		l.log.Error("encode task", zap.String("task_id", t.ID), zap.Error(err))
		return
	}
	l.writer.Put(persist.TaskKey(t.ID), b)
}

// syncOffers asks for offers while launches wait and are not delayed.
func (l *Loop) syncOffers(now time.Time) {
	want := false
	for id, q := range l.s.queue {
		if q.Count <= 0 {
			continue
		}
		if _, delayed := l.s.backoff.Delayed(launchqueue.Key{AppID: id, Version: q.Version}, now); !delayed {
			want = true
			break
		}
	}
	if want != l.wantOffers || want && l.needRevive {
		l.wantOffers = want
		revive := want && l.needRevive
		l.out.push(func(ctx context.Context, s *sdk.Scheduler) error {
			if err := s.SetWantOffers(ctx, want); err != nil {
				return err
			}
			if revive {
				return s.Revive(ctx)
			}
			return nil
		})
	}
	if want {
		l.needRevive = false
	}
}

// tick handles time: back-offs ending, unreachable tasks, unanswered kills, stale tasks.
func (l *Loop) tick() {
	s := &l.s
	now := l.now()
	s.backoff.Expire(now)
	var stale []string
	for t := range s.tasks.All() {
		if t.Killing && now.Sub(t.KillSentAt) > killRetry {
			l.killTask(t, now)
		}
		if t.State == tasks.StateStaging && now.Sub(t.StagedAt) > staleStaging {
			stale = append(stale, t.ID)
		}
		if lt := l.cfg.TaskLaunchTimeout; lt > 0 && !t.Killing && !t.StagedAt.IsZero() && now.Sub(t.StagedAt) > lt &&
			(t.State == tasks.StateStaging || t.State == tasks.StateStarting) {
			l.log.Warn("task did not start within the launch timeout; killing it",
				zap.String("task_id", t.ID), zap.Duration("task_launch_timeout", lt))
			l.killTask(t, now)
		}
	}
	if ri := l.cfg.ReconciliationInterval; ri > 0 {
		if l.lastReconcile.IsZero() {
			l.lastReconcile = now // the subscription reconciled
		} else if now.Sub(l.lastReconcile) >= ri {
			l.lastReconcile = now
			l.out.push(func(ctx context.Context, s *sdk.Scheduler) error { return s.Reconcile(ctx) })
		}
	}
	if len(stale) > 0 && now.Sub(l.lastStaleReconcile) > staleReconcile {
		l.lastStaleReconcile = now
		rts := make([]*scheduler.Call_Reconcile_Task, 0, len(stale))
		for _, id := range stale {
			t := s.tasks.Get(id)
			if t.Pod == nil {
				rts = append(rts, sdk.ReconcileTask(id, t.AgentID))
				continue
			}
			for _, c := range t.Pod.Containers {
				rts = append(rts, sdk.ReconcileTask(c.TaskID, t.AgentID))
			}
		}
		l.out.push(func(ctx context.Context, s *sdk.Scheduler) error { return s.Reconcile(ctx, rts...) })
	}
	// A delay that ended may need offers again.
	for id, q := range s.queue {
		if until, delayed := s.backoff.Delayed(launchqueue.Key{AppID: id, Version: q.Version}, now.Add(-l.cfg.TickInterval)); delayed && !until.After(now) {
			l.needRevive = true
		}
	}
	l.syncHealth(now)
	l.reconcile()
}

// syncReadiness starts the readiness checks that deployments wait for and stops those
// no longer needed (the task ended, is being killed, or no deployment waits for it).
// Called after every reconciliation.
func (l *Loop) syncReadiness() {
	if l.checks == nil {
		return
	}
	s := &l.s
	want := map[string]readiness.Probe{}
	for id := range s.deployingApps() {
		a := s.apps[id]
		if a == nil || len(a.ReadinessChecks) == 0 {
			continue
		}
		v := specOf(a).Version
		rc := a.ReadinessChecks[0] // Marathon allows at most one
		for _, t := range s.tasks.OfApp(id) {
			if !t.NeedsReadiness(a, v) {
				continue
			}
			if url, ok := readiness.URL(a, t.ReadinessTarget(), rc); ok {
				want[t.ID] = readiness.Probe{TaskID: t.ID, URL: url, Check: rc}
			}
		}
	}
	l.checks.Sync(want, func(ctx context.Context, gen uint64, res readiness.Result) {
		_ = l.doDeferred(ctx, func() { l.readinessReported(gen, res) })
	})
}

// readinessReported records a check's result; a passing one makes the task ready.
func (l *Loop) readinessReported(gen uint64, res readiness.Result) {
	if !l.checks.Current(gen, res.TaskID) {
		return // stopped meanwhile
	}
	t := l.s.tasks.Get(res.TaskID)
	if t == nil {
		return
	}
	t.Readiness = &res
	t.ReadinessPlan = l.s.deployingApps()[t.AppID]
	if res.Ready {
		l.checks.Passed(res.TaskID)
		t.Ready = true
		l.persistTask(t)
		l.reconcileSoon()
	}
}

// publish hands an event to the bus, which never blocks.
func (l *Loop) publish(ev events.Event) { l.bus.Publish(ev) }
