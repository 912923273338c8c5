package loop

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/launchqueue"
	"github.com/agoracluster/agora/frameworks/marathon/matching"
	"github.com/agoracluster/agora/frameworks/marathon/pod"
	"github.com/agoracluster/agora/frameworks/marathon/taskinfo"
	"github.com/agoracluster/agora/frameworks/marathon/tasks"
	"github.com/agoracluster/agora/frameworks/sdk"
	"github.com/agoracluster/agora/frameworks/sdk/offers"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
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
	launchGroups := map[string][]*mesos.Offer_Operation{} // of pod instances, by offer id
	var order []*offers.Offer
	used := map[int]bool{}
	for _, p := range res.Placements {
		w := reqApps[p.Request]
		oid := p.Offer.ID().GetValue()
		var id string
		var inst *tasks.PodInstance
		var group *mesos.Offer_Operation
		var ti *mesos.TaskInfo
		if pd := w.app.Pod; pd != nil {
			id = taskinfo.NewTaskID(w.app.ID, "instance-"+l.newID())
			var err error
			if group, err = podLaunch(pd, pod.Instance{ID: id, Host: p.Offer.Hostname(), Ports: p.Ports}, p.Offer, p.Resources); err != nil {
				l.log.Error("cannot launch pod instance", zap.String("pod_id", w.app.ID), zap.Error(err))
				continue
			}
			names, checked := pod.Containers(pd)
			inst = tasks.NewPodInstance(id, names, checked, now)
			recordEndpoints(inst, pd, p.Ports)
		} else {
			id = taskinfo.NewTaskID(w.app.ID, l.newID())
			ti = taskinfo.Build(w.app, taskinfo.Spec{
				TaskID: id, AgentID: p.Offer.AgentID().GetValue(), Host: p.Offer.Hostname(),
				Ports: p.Ports, Res: p.Offer.ResourcesProto(p.Resources),
			})
		}
		if len(launches[oid]) == 0 && len(launchGroups[oid]) == 0 {
			order = append(order, p.Offer)
		}
		if group != nil {
			launchGroups[oid] = append(launchGroups[oid], group)
		} else {
			launches[oid] = append(launches[oid], ti)
		}
		used[p.Request] = true
		t := &tasks.Task{
			ID: id, AppID: w.app.ID, ConfigVersion: w.q.Version, AppVersion: w.app.Version,
			AgentID: p.Offer.AgentID().GetValue(), Host: p.Offer.Hostname(), Ports: p.Ports,
			State: tasks.StateStaging, StagedAt: now, Pod: inst,
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
		var ops []*mesos.Offer_Operation
		if len(launched) > 0 {
			ops = append(ops, sdk.LaunchOp(launched...))
		}
		ops = append(ops, launchGroups[oid.GetValue()]...)
		l.out.push(func(ctx context.Context, s *sdk.Scheduler) error {
			return s.Accept(ctx, []*mesos.OfferID{oid}, ops, nil)
		})
	}
	var unused []*mesos.OfferID
	for _, o := range pool {
		if id := o.ID().GetValue(); len(launches[id]) == 0 && len(launchGroups[id]) == 0 {
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

// recordEndpoints keeps, on each container of inst, its endpoints with the host ports the
// instance got (ports: in the order of Pod.HostPorts).
func recordEndpoints(inst *tasks.PodInstance, pd *app.Pod, ports []uint64) {
	i := 0
	for _, c := range pd.Containers {
		cs := inst.Container(c.Name)
		for _, e := range c.Endpoints {
			if cs != nil && i < len(ports) {
				cs.Endpoints = append(cs.Endpoints, tasks.Endpoint{Name: e.Name, HostPort: ports[i]})
			}
			i++
		}
	}
}

// podLaunch is the LAUNCH_GROUP of one instance of pd on offer, in the resources
// placed there for it: each container's and the executor's share (with the endpoints'
// ports) is carved out of them.
func podLaunch(pd *app.Pod, in pod.Instance, offer *offers.Offer, placed resources.Resources) (*mesos.Offer_Operation, error) {
	ex, group, err := pod.TaskGroup(pd, in)
	if err != nil {
		return nil, err
	}
	share := offers.New(&mesos.Offer{
		Id: offer.ID(), AgentId: offer.AgentID(), Hostname: proto.String(offer.Hostname()),
		Resources: offer.ResourcesProto(placed),
	})
	carve := func(need []*mesos.Resource) ([]*mesos.Resource, error) {
		want, err := resources.FromProto(need)
		if err != nil {
			return nil, err
		}
		got, ok := share.Take(want)
		if !ok {
			return nil, fmt.Errorf("the resources placed do not hold %v", want)
		}
		return share.ResourcesProto(got), nil
	}
	for _, t := range group {
		if t.Resources, err = carve(t.Resources); err != nil {
			return nil, err
		}
		t.AgentId = offer.AgentID()
	}
	if ex.Resources, err = carve(ex.Resources); err != nil {
		return nil, err
	}
	return sdk.LaunchGroupOp(ex, group...), nil
}
