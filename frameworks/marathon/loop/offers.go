package loop

import (
	"cmp"
	"context"
	"slices"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/launchqueue"
	"github.com/agoracluster/agora/frameworks/marathon/matching"
	"github.com/agoracluster/agora/frameworks/marathon/taskinfo"
	"github.com/agoracluster/agora/frameworks/marathon/tasks"
	"github.com/agoracluster/agora/frameworks/sdk"
	"github.com/agoracluster/agora/frameworks/sdk/offers"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// handleOffers places queued launches on offers and declines the rest. Offers of agents
// on machines in maintenance (they carry an unavailability) are declined, and the
// app's tasks there move off (see planner.MaintainDraining).
func (l *Loop) handleOffers(offered []*mesos.Offer) {
	s := &l.s
	now := l.now()
	pool := make([]*offers.Offer, 0, len(offered))
	var unavailable []*mesos.OfferID
	for _, o := range offered {
		agentID := o.GetAgentId().GetValue()
		if o.Unavailability != nil {
			unavailable = append(unavailable, o.GetId())
			l.setDraining(agentID, true)
			continue
		}
		l.setDraining(agentID, false)
		off := offers.New(o)
		pool = append(pool, off)
		s.agents[agentID] = matching.AgentOf(off)
	}
	if len(unavailable) > 0 {
		l.out.push(func(ctx context.Context, s *sdk.Scheduler) error {
			return s.Decline(ctx, unavailable, l.cfg.WaitingRefuse)
		})
	}
	type waiting struct {
		app *app.App
		q   *launchqueue.Entry
	}
	var ws []waiting
	for id, q := range s.queue {
		a := s.apps[id]
		if a == nil || q.Count <= 0 || specOf(a).Version != q.Version {
			continue
		}
		if _, delayed := s.backoff.Delayed(launchqueue.Key{AppID: id, Version: q.Version}, now); delayed {
			continue
		}
		ws = append(ws, waiting{a, q})
	}
	slices.SortFunc(ws, func(a, b waiting) int {
		return cmp.Or(a.q.Since.Compare(b.q.Since), cmp.Compare(a.app.ID, b.app.ID))
	})
	var reqs []matching.LaunchRequest
	var reqApps []waiting
	for _, w := range ws {
		r, err := matching.ForApp(w.app, w.q.Count, s.placements(w.app.ID))
		if err != nil {
			l.log.Warn("cannot place app", zap.String("app_id", w.app.ID), zap.Error(err))
			continue
		}
		reqs = append(reqs, r)
		reqApps = append(reqApps, w)
	}
	res := matching.Match(pool, reqs)
	launches := map[string][]*mesos.TaskInfo{}
	var order []*offers.Offer
	used := map[int]bool{}
	for _, p := range res.Placements {
		w := reqApps[p.Request]
		used[p.Request] = true
		id := taskinfo.NewTaskID(w.app.ID, l.newID())
		ti := taskinfo.Build(w.app, taskinfo.Spec{
			TaskID: id, AgentID: p.Offer.AgentID().GetValue(), Host: p.Offer.Hostname(),
			Ports: p.Ports, Res: p.Offer.ResourcesProto(p.Resources),
		})
		oid := p.Offer.ID().GetValue()
		if _, ok := launches[oid]; !ok {
			order = append(order, p.Offer)
		}
		launches[oid] = append(launches[oid], ti)
		t := &tasks.Task{
			ID: id, AppID: w.app.ID, ConfigVersion: w.q.Version, AppVersion: w.app.Version,
			AgentID: p.Offer.AgentID().GetValue(), Host: p.Offer.Hostname(), Ports: p.Ports,
			State: tasks.StateStaging, StagedAt: now,
		}
		if t.Ports == nil {
			t.Ports = []uint64{}
		}
		s.tasks.Add(t)
		l.persistTask(t)
		w.q.Count--
		l.log.Info("launching task", zap.String("task_id", id), zap.String("app_id", w.app.ID),
			zap.String("agent_id", t.AgentID), zap.Uint64s("ports", t.Ports))
	}
	for i, w := range reqApps {
		st := &w.q.Stats
		st.Processed += res.Processed[i]
		st.Last = launchqueue.ReasonCounts{}
		st.Last.Add(res.Processed[i], res.Declined[i])
		st.Attempt.Add(res.Processed[i], res.Declined[i])
		if used[i] {
			st.LastUsedAt = now
		}
		if n := matching.DeclinedTotal(res.Declined[i]); n > 0 {
			st.Unused += n
			st.LastUnusedAt = now
			l.log.Debug("offers declined for app", zap.String("app_id", w.app.ID),
				zap.String("reasons", matching.DescribeReasons(res.Declined[i])), zap.String("detail", res.Detail[i]))
		}
		if !used[i] {
			st.LastUnused = nil
			for _, o := range pool {
				st.LastUnused = append(st.LastUnused, launchqueue.UnusedOffer{
					OfferID: o.ID().GetValue(), AgentID: o.AgentID().GetValue(), Hostname: o.Hostname(),
					Reasons: matching.ReasonsFor(res.Declined[i]), At: now,
				})
			}
		}
	}
	for _, o := range order {
		oid, launched := o.ID(), launches[o.ID().GetValue()]
		l.out.push(func(ctx context.Context, s *sdk.Scheduler) error {
			return s.Accept(ctx, []*mesos.OfferID{oid}, []*mesos.Offer_Operation{sdk.LaunchOp(launched...)}, nil)
		})
	}
	var unused []*mesos.OfferID
	for _, o := range pool {
		if _, ok := launches[o.ID().GetValue()]; !ok {
			unused = append(unused, o.ID())
		}
	}
	for id, q := range s.queue {
		if q.Count <= 0 {
			delete(s.queue, id)
		}
	}
	refuse := l.cfg.IdleRefuse
	if len(s.queue) > 0 {
		refuse = l.cfg.WaitingRefuse
	}
	if len(unused) > 0 {
		l.out.push(func(ctx context.Context, s *sdk.Scheduler) error { return s.Decline(ctx, unused, refuse) })
	}
	l.syncOffers(now)
}

// setDraining records whether an agent is draining for maintenance; a change asks for
// a reconciliation, which moves the apps' tasks off a draining agent.
func (l *Loop) setDraining(agentID string, on bool) {
	if l.s.draining[agentID] == on {
		return
	}
	if on {
		l.s.draining[agentID] = true
		l.log.Info("agent draining for maintenance: moving tasks off it", zap.String("agent_id", agentID))
	} else {
		delete(l.s.draining, agentID)
	}
	l.reconcileSoon()
}
