package batch

import (
	"time"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/frameworks/batch/job"
	"github.com/agoracluster/agora/frameworks/batch/run"
	"github.com/agoracluster/agora/frameworks/marathon/constraints"
	"github.com/agoracluster/agora/frameworks/sdk/offers"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
)

// launch is one offer's share of a plan: the tasks to launch on it.
type launch struct {
	offer *mesos.OfferID
	tasks []*mesos.TaskInfo
}

// plan is what the loop decided for a batch of offers.
type plan struct {
	launches []launch
	decline  []*mesos.OfferID
	gen      uint64 // the writer generation holding the launched tasks
	refuse   time.Duration
}

// need is the resources one task of spec takes.
func need(spec *job.Spec) resources.Resources {
	rs := []resources.Resource{resources.ScalarResource("cpus", "", spec.Run.CPUs),
		resources.ScalarResource("mem", "", spec.Run.Mem)}
	if spec.Run.Disk > 0 {
		rs = append(rs, resources.ScalarResource("disk", "", spec.Run.Disk))
	}
	if spec.Run.GPUs > 0 {
		rs = append(rs, resources.ScalarResource("gpus", "", float64(spec.Run.GPUs)))
	}
	return resources.Of(rs...)
}

// planOffers places the tasks that runs want, oldest run first, on the offers (first fit,
// many tasks per offer, all offers of the batch), records them in their runs and returns
// what to launch and decline.
func (b *Batch) planOffers(offered []*mesos.Offer) plan {
	now := b.now()
	pool := offers.NewPool(offered)
	agents := make([]constraints.Agent, len(pool.Offers()))
	for i, o := range pool.Offers() {
		agents[i] = constraints.Agent{Hostname: o.Hostname(), Attributes: o.Attributes()}
	}
	tasks := map[*offers.Offer][]*mesos.TaskInfo{}
	for _, r := range b.activeRuns("") {
		want := r.Wants(now)
		if want == 0 {
			continue
		}
		j := b.jobs[r.JobID]
		if j == nil {
			continue
		}
		cs, err := parseConstraints(j.spec)
		if err != nil {
			b.log.Error("job constraints", zap.String("job_id", j.spec.ID), zap.Error(err))
			continue
		}
		n := need(j.spec)
		var placed []constraints.Placement // where the run's tasks are; only constraints need it
		if len(cs) > 0 {
			placed = placements(r)
		}
		changed := false
		for i := 0; i < len(pool.Offers()) && want > 0; {
			o := pool.Offers()[i]
			if len(tasks[o]) >= b.cfg.MaxTasksPerOffer {
				i++
				continue
			}
			if len(cs) > 0 {
				if ok, _ := constraints.FeasibleAll(cs, agents[i], placed); !ok {
					i++
					continue
				}
			}
			res, ok := o.Take(n)
			if !ok {
				i++
				continue
			}
			t := r.Launch(o.AgentID().GetValue(), o.Hostname(), now)
			if len(cs) > 0 {
				placed = append(placed, agents[i])
			}
			info := buildTask(j.spec, r, t.ID, b.cfg.User)
			info.Resources = o.ResourcesProto(res)
			o.AddTask(info)
			tasks[o] = append(tasks[o], info)
			b.metrics.tasksLaunched.Inc()
			want--
			changed = true
		}
		if changed {
			b.persistRun(r)
		}
	}
	p := plan{gen: b.flushRuns(), refuse: b.cfg.WaitingRefuse}
	for _, o := range pool.Used() {
		p.launches = append(p.launches, launch{offer: o.ID(), tasks: o.Tasks()})
	}
	p.decline = pool.Unused()
	b.metrics.offers.WithLabelValues("used").Add(float64(len(p.launches)))
	b.metrics.offers.WithLabelValues("declined").Add(float64(len(p.decline)))
	return p
}

// placements lists where the run's active tasks are, for UNIQUE and the like.
func placements(r *run.Run) []constraints.Placement {
	var out []constraints.Placement
	for _, t := range r.ActiveTasks() {
		out = append(out, constraints.Placement{Hostname: t.Host})
	}
	return out
}

func parseConstraints(spec *job.Spec) ([]constraints.Constraint, error) {
	if spec.Run.Placement == nil {
		return nil, nil
	}
	out := make([]constraints.Constraint, 0, len(spec.Run.Placement.Constraints))
	for _, c := range spec.Run.Placement.Constraints {
		pc, err := c.Parse()
		if err != nil {
			return nil, err
		}
		out = append(out, pc)
	}
	return out, nil
}
