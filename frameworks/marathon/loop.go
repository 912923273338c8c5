package marathon

import (
	"context"
	"sort"
	"time"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/constraints"
	"github.com/agoracluster/agora/frameworks/marathon/events"
	"github.com/agoracluster/agora/frameworks/marathon/launchqueue"
	"github.com/agoracluster/agora/frameworks/marathon/planner"
	"github.com/agoracluster/agora/frameworks/sdk"
	"github.com/agoracluster/agora/frameworks/sdk/offers"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
)

// How long a kill may go unanswered before it is sent again, and how long a task may
// stay staging before it is reconciled explicitly.
const (
	killRetry      = 10 * time.Second
	staleStaging   = 30 * time.Second
	staleReconcile = 30 * time.Second
)

// plannerTask is the planner's view of t.
func (m *Marathon) plannerTask(t *task) planner.Task {
	pt := planner.Task{
		ID: t.ID, AppID: t.AppID, Version: t.ConfigVersion, AgentID: t.AgentID,
		StartedAt: t.StartedAt, UnreachableSince: t.UnreachableSince, Ready: true,
	}
	switch {
	case t.Killing:
		pt.State = planner.Killing
	case t.State == stateUnreachable:
		pt.State = planner.Unreachable
	case t.State == stateRunning:
		pt.State = planner.Running
	default:
		pt.State = planner.Staging
	}
	a := m.apps[t.AppID]
	pt.Healthy = a == nil || len(a.HealthChecks) == 0 || (t.Healthy != nil && *t.Healthy)
	pt.Ready = taskReady(a, t)
	return pt
}

// plannerTasks is the planner's view of an app's tasks, by task id. The slice is shared
// (see taskIndex.plannerOf): the planner only reads it.
func (m *Marathon) plannerTasks(appID string) []planner.Task {
	a := m.apps[appID]
	checks := a != nil && len(a.HealthChecks) > 0
	return m.tasks.plannerOf(appID, checks, m.plannerTask)
}

// plannerState is the planner's view of the given apps: their tasks and launch queues.
// The planner looks at nothing else of a deployment than the apps it affects.
func (m *Marathon) plannerState(appIDs []string) planner.State {
	st := planner.State{Queued: map[string]planner.Queued{}}
	if len(appIDs) == 1 {
		st.Tasks = m.plannerTasks(appIDs[0]) // shared, not copied: the planner only reads it
	}
	for _, id := range appIDs {
		if len(appIDs) > 1 {
			st.Tasks = append(st.Tasks, m.plannerTasks(id)...)
		}
		if q := m.queue[id]; q != nil {
			st.Queued[id] = planner.Queued{Version: q.Version, Count: q.Count}
		}
	}
	return st
}

// sortedDeployments returns the running deployments, oldest first.
func (m *Marathon) sortedDeployments() []*deployment {
	out := make([]*deployment, 0, len(m.deployments))
	for _, d := range m.deployments {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Plan.Version != out[j].Plan.Version {
			return out[i].Plan.Version < out[j].Plan.Version
		}
		return out[i].Plan.ID < out[j].Plan.ID
	})
	return out
}

// reconcile compares desired and observed state and acts on the difference: deployments
// advance, untouched apps are maintained, and the offer wish follows the queue.
func (m *Marathon) reconcile() {
	m.reconcilePending = false
	now := m.now()
	touched := map[string]bool{}
	for _, d := range m.sortedDeployments() {
		affected := d.Plan.AffectedApps()
		for _, id := range affected {
			touched[id] = true
		}
		step, acts, finished := planner.Advance(d.Plan, d.Step, m.plannerState(affected), now)
		if step != d.Step {
			ep := m.eventPlan(d.Plan, d.Original)
			for s := d.Step; s < step; s++ {
				m.publish(events.NewDeploymentStepSuccess(ep, s, now))
			}
			if !finished {
				m.publish(events.NewDeploymentInfo(ep, step, now))
			}
			d.Step = step
			m.persist(deploymentKey(d.Plan.ID), d)
		}
		m.apply(acts)
		if finished {
			m.log.Info("deployment finished", zap.String("deployment_id", d.Plan.ID))
			m.publish(events.NewDeploymentSuccess(m.eventPlan(d.Plan, d.Original), now))
			delete(m.eventPlans, d.Plan.ID)
			delete(m.deployments, d.Plan.ID)
			m.remove(deploymentKey(d.Plan.ID))
		}
	}
	ids := make([]string, 0, len(m.apps))
	for id := range m.apps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	// Tasks of apps that no longer exist and that no deployment stops: kill them.
	var orphans []planner.Task
	for _, id := range m.tasks.apps() {
		if _, ok := m.apps[id]; !ok && !touched[id] {
			orphans = append(orphans, m.plannerTasks(id)...)
		}
	}
	for _, id := range ids {
		if touched[id] {
			continue
		}
		q := planner.Queued{}
		if e := m.queue[id]; e != nil {
			q = planner.Queued{Version: e.Version, Count: e.Count}
		}
		m.apply(planner.Maintain(specOf(m.apps[id]), m.plannerTasks(id), q, now))
	}
	for _, t := range orphans {
		if t.State != planner.Killing {
			m.apply([]planner.Action{{Kind: planner.Kill, AppID: t.AppID, TaskID: t.ID, Reason: planner.ReasonDeletingApp}})
		}
	}
	for id, q := range m.queue {
		if _, ok := m.apps[id]; !ok && !touched[id] || q.Count <= 0 {
			delete(m.queue, id)
		}
	}
	m.syncReadiness()
	m.syncOffers(now)
}

// apply carries out planner actions and records them in the state.
func (m *Marathon) apply(acts []planner.Action) {
	now := m.now()
	for _, a := range acts {
		switch a.Kind {
		case planner.Start:
			q := m.queue[a.AppID]
			if q == nil || q.Version != a.Version {
				q = &queueEntry{Version: a.Version, Since: now}
				m.queue[a.AppID] = q
			}
			q.Count += a.Count
			m.needRevive = true
		case planner.Kill:
			if t := m.tasks.get(a.TaskID); t != nil {
				m.log.Info("killing task", zap.String("task_id", t.ID), zap.String("app_id", t.AppID), zap.String("reason", a.Reason))
				m.killTask(t, now)
			}
		case planner.Purge:
			delete(m.queue, a.AppID)
		case planner.Dequeue:
			if q := m.queue[a.AppID]; q != nil {
				q.Count -= a.Count
				if q.Count <= 0 {
					delete(m.queue, a.AppID)
				}
			}
		case planner.Expunge:
			if t := m.tasks.get(a.TaskID); t != nil {
				m.expunged[t.ID] = true
				m.dropTask(t)
			}
		}
	}
}

func (m *Marathon) killTask(t *task, now time.Time) {
	t.Killing = true
	t.KillSentAt = now
	m.persistTask(t)
	taskID, agentID := sdk.TaskID(t.ID), sdk.AgentID(t.AgentID)
	m.out.push(func(ctx context.Context, s *sdk.Scheduler) error { return s.Kill(ctx, taskID, agentID) })
}

func (m *Marathon) dropTask(t *task) {
	m.tasks.remove(t)
	m.writer.del(taskKey(t.ID))
}

// syncOffers asks for offers while launches wait and are not delayed.
func (m *Marathon) syncOffers(now time.Time) {
	want := false
	for id, q := range m.queue {
		if q.Count <= 0 {
			continue
		}
		if _, delayed := m.backoff.Delayed(launchqueue.Key{AppID: id, Version: q.Version}, now); !delayed {
			want = true
			break
		}
	}
	if want != m.wantOffers || want && m.needRevive {
		m.wantOffers = want
		revive := want && m.needRevive
		m.out.push(func(ctx context.Context, s *sdk.Scheduler) error {
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
		m.needRevive = false
	}
}

// tick handles time: back-offs ending, unreachable tasks, unanswered kills, stale tasks.
func (m *Marathon) tick() {
	now := m.now()
	m.backoff.Expire(now)
	var stale []string
	for _, t := range m.tasks.byID {
		if t.Killing && now.Sub(t.KillSentAt) > killRetry {
			m.killTask(t, now)
		}
		if t.State == stateStaging && now.Sub(t.StagedAt) > staleStaging {
			stale = append(stale, t.ID)
		}
	}
	if len(stale) > 0 && now.Sub(m.lastStaleReconcile) > staleReconcile {
		m.lastStaleReconcile = now
		rts := make([]*scheduler.Call_Reconcile_Task, 0, len(stale))
		for _, id := range stale {
			rts = append(rts, sdk.ReconcileTask(id, m.tasks.get(id).AgentID))
		}
		m.out.push(func(ctx context.Context, s *sdk.Scheduler) error { return s.Reconcile(ctx, rts...) })
	}
	// A delay that ended may need offers again.
	for id, q := range m.queue {
		if until, delayed := m.backoff.Delayed(launchqueue.Key{AppID: id, Version: q.Version}, now.Add(-m.cfg.TickInterval)); delayed && !until.After(now) {
			m.needRevive = true
		}
	}
	m.reconcile()
}

// handleOffers places queued launches on offers and declines the rest.
func (m *Marathon) handleOffers(offered []*mesos.Offer) {
	now := m.now()
	pool := make([]*offers.Offer, len(offered))
	for i, o := range offered {
		pool[i] = offers.New(o)
		m.agents[o.GetAgentId().GetValue()] = agentOf(pool[i])
	}
	type waiting struct {
		app *app.App
		q   *queueEntry
	}
	var ws []waiting
	for id, q := range m.queue {
		a := m.apps[id]
		if a == nil || q.Count <= 0 || specOf(a).Version != q.Version {
			continue
		}
		if _, delayed := m.backoff.Delayed(launchqueue.Key{AppID: id, Version: q.Version}, now); delayed {
			continue
		}
		ws = append(ws, waiting{a, q})
	}
	sort.Slice(ws, func(i, j int) bool {
		if !ws[i].q.Since.Equal(ws[j].q.Since) {
			return ws[i].q.Since.Before(ws[j].q.Since)
		}
		return ws[i].app.ID < ws[j].app.ID
	})
	var reqs []LaunchRequest
	var reqApps []waiting
	for _, w := range ws {
		r, err := launchRequest(w.app, w.q.Count, m.placements(w.app.ID))
		if err != nil {
			m.log.Warn("cannot place app", zap.String("app_id", w.app.ID), zap.Error(err))
			continue
		}
		reqs = append(reqs, r)
		reqApps = append(reqApps, w)
	}
	res := Match(pool, reqs)
	launches := map[string][]*mesos.TaskInfo{}
	var order []*offers.Offer
	used := map[int]bool{}
	for _, p := range res.Placements {
		w := reqApps[p.Request]
		used[p.Request] = true
		id := NewTaskID(w.app.ID, m.newID())
		ti := buildTask(w.app, taskSpec{
			TaskID: id, AgentID: p.Offer.AgentID().GetValue(), Host: p.Offer.Hostname(),
			Ports: p.Ports, Res: p.Offer.ResourcesProto(p.Resources),
		})
		oid := p.Offer.ID().GetValue()
		if _, ok := launches[oid]; !ok {
			order = append(order, p.Offer)
		}
		launches[oid] = append(launches[oid], ti)
		t := &task{
			ID: id, AppID: w.app.ID, ConfigVersion: w.q.Version, AppVersion: w.app.Version,
			AgentID: p.Offer.AgentID().GetValue(), Host: p.Offer.Hostname(), Ports: p.Ports,
			State: stateStaging, StagedAt: now,
		}
		if t.Ports == nil {
			t.Ports = []uint64{}
		}
		m.tasks.add(t)
		m.persistTask(t)
		w.q.Count--
		m.log.Info("launching task", zap.String("task_id", id), zap.String("app_id", w.app.ID),
			zap.String("agent_id", t.AgentID), zap.Uint64s("ports", t.Ports))
	}
	for i, w := range reqApps {
		s := &w.q.Stats
		s.Processed += res.Processed[i]
		s.Last = reasonCounts{}
		s.Last.add(res.Processed[i], res.Declined[i])
		s.Attempt.add(res.Processed[i], res.Declined[i])
		if used[i] {
			s.LastUsedAt = now
		}
		if n := declinedTotal(res.Declined[i]); n > 0 {
			s.Unused += n
			s.LastUnusedAt = now
			m.log.Debug("offers declined for app", zap.String("app_id", w.app.ID),
				zap.String("reasons", describeReasons(res.Declined[i])), zap.String("detail", res.Detail[i]))
		}
		if !used[i] {
			s.LastUnused = nil
			for _, o := range pool {
				s.LastUnused = append(s.LastUnused, unusedOffer{
					OfferID: o.ID().GetValue(), AgentID: o.AgentID().GetValue(), Hostname: o.Hostname(),
					Reasons: reasonsFor(res.Declined[i]), At: now,
				})
			}
		}
	}
	for _, o := range order {
		oid, tasks := o.ID(), launches[o.ID().GetValue()]
		m.out.push(func(ctx context.Context, s *sdk.Scheduler) error {
			return s.Accept(ctx, []*mesos.OfferID{oid}, []*mesos.Offer_Operation{sdk.LaunchOp(tasks...)}, nil)
		})
	}
	var unused []*mesos.OfferID
	for _, o := range pool {
		if _, ok := launches[o.ID().GetValue()]; !ok {
			unused = append(unused, o.ID())
		}
	}
	for id, q := range m.queue {
		if q.Count <= 0 {
			delete(m.queue, id)
		}
	}
	refuse := m.cfg.IdleRefuse
	if len(m.queue) > 0 {
		refuse = m.cfg.WaitingRefuse
	}
	if len(unused) > 0 {
		m.out.push(func(ctx context.Context, s *sdk.Scheduler) error { return s.Decline(ctx, unused, refuse) })
	}
	m.syncOffers(now)
}

func declinedTotal(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func reasonsFor(m map[string]int) []string {
	out := []string{}
	for _, r := range reasonOrder {
		if m[r] > 0 {
			out = append(out, r)
		}
	}
	return out
}

// placements lists where the app's live tasks run, for constraints.
func (m *Marathon) placements(appID string) []constraints.Placement {
	var out []constraints.Placement
	for _, t := range m.tasks.ofApp(appID) {
		if t.Killing {
			continue
		}
		a, ok := m.agents[t.AgentID]
		if !ok {
			a = constraints.Agent{Hostname: t.Host}
		}
		out = append(out, a)
	}
	return out
}

// handleUpdate records a task status.
func (m *Marathon) handleUpdate(st *mesos.TaskStatus) {
	now := m.now()
	id := st.GetTaskId().GetValue()
	state := st.GetState()
	t := m.tasks.get(id)
	if t == nil {
		if !sdk.IsTerminal(state) && state != mesos.TaskState_TASK_UNREACHABLE {
			m.log.Info("killing unknown task", zap.String("task_id", id))
			taskID, agentID := sdk.TaskID(id), st.GetAgentId()
			m.out.push(func(ctx context.Context, s *sdk.Scheduler) error { return s.Kill(ctx, taskID, agentID) })
		}
		return
	}
	routine := routineUpdate(t, st)
	if !routine {
		m.flushReconcile() // decide on the updates before this one first, as they came
	}
	if st.GetAgentId().GetValue() != "" {
		t.AgentID = st.GetAgentId().GetValue()
	}
	if st.Healthy != nil {
		m.recordHealth(t, st, now)
	}
	recordIPs(t, st)
	m.publishStatus(t, state.String(), st.GetMessage())
	switch {
	case sdk.IsTerminal(state):
		m.taskEnded(t, st, now)
		m.reconcileAfter(routine)
		return
	case state == mesos.TaskState_TASK_RUNNING:
		t.State = stateRunning
		t.UnreachableSince = time.Time{}
		if t.StartedAt.IsZero() {
			t.StartedAt = statusTime(st, now)
		}
	case state == mesos.TaskState_TASK_KILLING:
		t.State = stateKilling
	case state == mesos.TaskState_TASK_UNREACHABLE:
		t.State = stateUnreachable
		if t.UnreachableSince.IsZero() {
			t.UnreachableSince = now
		}
	case state == mesos.TaskState_TASK_STARTING:
		t.State = stateStarting
	default:
		t.State = stateStaging
	}
	m.persistTask(t)
	m.reconcileAfter(routine)
}

// routineUpdate reports whether st only moves t along the way the framework expects: a
// task coming up (without a failing health check), or a task it is killing ending. Such
// updates only ever move a deployment forward (more tasks serving, fewer being killed),
// so deciding on several of them at once decides what deciding on each in turn would; a
// burst of them shares one reconciliation. Any other update (a failure, a loss, an
// unreachable agent, a failing health check) is decided on at once, after the routine
// updates before it.
func routineUpdate(t *task, st *mesos.TaskStatus) bool {
	switch st.GetState() {
	case mesos.TaskState_TASK_STAGING, mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_RUNNING:
		return st.Healthy == nil || st.GetHealthy()
	case mesos.TaskState_TASK_KILLING, mesos.TaskState_TASK_KILLED:
		return t.Killing
	}
	return false
}

// reconcileAfter reconciles now, or soon after a routine update.
func (m *Marathon) reconcileAfter(routine bool) {
	if routine {
		m.reconcileSoon()
		return
	}
	m.reconcile()
}

func statusTime(st *mesos.TaskStatus, now time.Time) time.Time {
	if ts := st.GetTimestamp(); ts > 0 {
		return time.Unix(0, int64(ts*1e9)).UTC()
	}
	return now
}

func (m *Marathon) recordHealth(t *task, st *mesos.TaskStatus, now time.Time) {
	healthy := st.GetHealthy()
	if t.Healthy == nil || *t.Healthy != healthy {
		m.publishHealth(t, healthy)
	}
	t.Healthy = &healthy
	if healthy {
		if t.FirstSuccess.IsZero() {
			t.FirstSuccess = now
		}
		t.LastSuccess = now
		t.ConsecutiveFailures = 0
	} else {
		t.LastFailure = now
		t.ConsecutiveFailures++
		t.LastFailureCause = st.GetMessage()
	}
}

// taskEnded forgets a terminal task; failures (anything we did not kill) delay the next
// launch of its version and are kept as the app's lastTaskFailure.
func (m *Marathon) taskEnded(t *task, st *mesos.TaskStatus, now time.Time) {
	state := st.GetState()
	m.dropTask(t)
	healthKill := state == mesos.TaskState_TASK_KILLED && !t.Killing
	failed := !t.Killing && (state != mesos.TaskState_TASK_KILLED || healthKill)
	m.log.Info("task ended", zap.String("task_id", t.ID), zap.String("app_id", t.AppID),
		zap.String("state", state.String()), zap.String("message", st.GetMessage()), zap.Bool("failure", failed))
	if !failed {
		return
	}
	if healthKill {
		m.publish(events.NewUnhealthyInstanceKill(t.AppID, t.ID, t.ID, t.AppVersion, "health check failed", t.Host, t.AgentID, now))
	}
	a := m.apps[t.AppID]
	if a == nil {
		return
	}
	m.backoff.Failed(launchqueue.Key{AppID: t.AppID, Version: t.ConfigVersion}, launchqueue.PolicyOf(a), now)
	m.failures[t.AppID] = &taskFailure{
		AppID: t.AppID, Host: t.Host, Message: st.GetMessage(), State: state.String(), TaskID: t.ID,
		Timestamp: app.FormatTime(now), Version: t.AppVersion, SlaveID: t.AgentID,
	}
}

// persist writes v under key; failures are logged (the loop carries on in memory).
func (m *Marathon) persist(key string, v any) {
	if err := putJSON(m.ctx, m.st, key, v); err != nil {
		m.log.Error("persist", zap.String("key", key), zap.Error(err))
	}
}

func (m *Marathon) remove(key string) {
	if err := deleteKey(m.ctx, m.st, key); err != nil {
		m.log.Error("persist", zap.String("key", key), zap.Error(err))
	}
}
