package batch

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/agoracluster/agora/frameworks/batch/api"
	"github.com/agoracluster/agora/frameworks/batch/job"
	"github.com/agoracluster/agora/frameworks/batch/run"
)

// backend implements api.Backend on the loop.
type backend struct{ b *Batch }

var _ api.Backend = backend{}

func errNoJob(id string) error { return fmt.Errorf("%w: %s", api.ErrJobNotFound, id) }

func cloneRun(r *run.Run) *run.Run { return r.Clone() }

func cloneSpec(s *job.Spec) *job.Spec {
	c := *s // specs are replaced, never changed in place; the copy only protects the pointer
	return &c
}

// view is a job as the API sees it, with copies of its active runs only with activeRuns;
// called on the loop.
func (b *Batch) view(j *jobState, activeRuns bool) api.Job {
	v := api.Job{Spec: cloneSpec(j.spec), History: j.history, Schedules: []*job.Schedule{},
		NextRunAt: map[string]time.Time{}}
	v.History.Runs = append([]run.Summary(nil), j.history.Runs...)
	now := b.now()
	for _, s := range j.sortedSchedules() {
		sc := *s.Schedule
		v.Schedules = append(v.Schedules, &sc)
		if c := s.compile(b.log); c != nil && sc.Enabled {
			if next := c.Next(now); !next.IsZero() {
				v.NextRunAt[sc.ID] = next
			}
		}
	}
	if activeRuns {
		v.ActiveRuns = []*run.Run{}
		for _, r := range b.activeRuns(j.spec.ID) {
			v.ActiveRuns = append(v.ActiveRuns, cloneRun(r))
		}
	}
	return v
}

func (x backend) Jobs(ctx context.Context, activeRuns bool) ([]api.Job, error) {
	var out []api.Job
	err := x.b.do(ctx, func() {
		for _, j := range x.b.jobs {
			out = append(out, x.b.view(j, activeRuns))
		}
	})
	sort.Slice(out, func(i, k int) bool { return out[i].Spec.ID < out[k].Spec.ID })
	return out, err
}

func (x backend) Job(ctx context.Context, id string, activeRuns bool) (api.Job, error) {
	var out api.Job
	var err error
	if derr := x.b.do(ctx, func() {
		j := x.b.jobs[id]
		if j == nil {
			err = errNoJob(id)
			return
		}
		out = x.b.view(j, activeRuns)
	}); derr != nil {
		return out, derr
	}
	return out, err
}

func (x backend) CreateJob(ctx context.Context, spec *job.Spec) error {
	var err error
	if derr := x.b.doDurable(ctx, func() { err = x.b.createJob(spec) }); derr != nil {
		return derr
	}
	return err
}

func (x backend) UpdateJob(ctx context.Context, spec *job.Spec) error {
	var err error
	if derr := x.b.doDurable(ctx, func() { err = x.b.updateJob(spec) }); derr != nil {
		return derr
	}
	return err
}

func (x backend) DeleteJob(ctx context.Context, id string, stopRuns bool) (*job.Spec, error) {
	var spec *job.Spec
	var err error
	if derr := x.b.doDurable(ctx, func() { spec, err = x.b.deleteJob(id, stopRuns) }); derr != nil {
		return nil, derr
	}
	return spec, err
}

func (x backend) CreateSchedule(ctx context.Context, jobID string, s *job.Schedule) error {
	var err error
	if derr := x.b.doDurable(ctx, func() { err = x.b.putSchedule(jobID, s, true) }); derr != nil {
		return derr
	}
	return err
}

func (x backend) UpdateSchedule(ctx context.Context, jobID string, s *job.Schedule) error {
	var err error
	if derr := x.b.doDurable(ctx, func() { err = x.b.putSchedule(jobID, s, false) }); derr != nil {
		return derr
	}
	return err
}

func (x backend) DeleteSchedule(ctx context.Context, jobID, id string) (*job.Schedule, error) {
	var s *job.Schedule
	var err error
	if derr := x.b.doDurable(ctx, func() { s, err = x.b.deleteSchedule(jobID, id) }); derr != nil {
		return nil, derr
	}
	return s, err
}

func (x backend) StartRun(ctx context.Context, jobID string) (*run.Run, error) {
	var out *run.Run
	var err error
	if derr := x.b.doDurable(ctx, func() {
		j := x.b.jobs[jobID]
		if j == nil {
			err = errNoJob(jobID)
			return
		}
		out = cloneRun(x.b.startRun(j, triggerManual, nil))
	}); derr != nil {
		return nil, derr
	}
	return out, err
}

func (x backend) Runs(ctx context.Context, jobID string) ([]*run.Run, error) {
	out := []*run.Run{}
	var err error
	if derr := x.b.do(ctx, func() {
		if x.b.jobs[jobID] == nil {
			err = errNoJob(jobID)
			return
		}
		for _, r := range x.b.activeRuns(jobID) {
			out = append(out, cloneRun(r))
		}
	}); derr != nil {
		return nil, derr
	}
	return out, err
}

// findRun returns run runID of job jobID, or the API's not-found error; called on the loop.
func (b *Batch) findRun(jobID, runID string) (*run.Run, error) {
	if b.jobs[jobID] == nil {
		return nil, errNoJob(jobID)
	}
	r := b.runs[runID]
	if r == nil || r.JobID != jobID {
		return nil, fmt.Errorf("%w: %s/%s", api.ErrRunNotFound, jobID, runID)
	}
	return r, nil
}

func (x backend) Run(ctx context.Context, jobID, runID string) (*run.Run, error) {
	var out *run.Run
	var err error
	if derr := x.b.do(ctx, func() {
		var r *run.Run
		if r, err = x.b.findRun(jobID, runID); err == nil {
			out = cloneRun(r)
		}
	}); derr != nil {
		return nil, derr
	}
	return out, err
}

func (x backend) StopRun(ctx context.Context, jobID, runID string) (*run.Run, error) {
	var out *run.Run
	var err error
	if derr := x.b.doDurable(ctx, func() {
		var r *run.Run
		if r, err = x.b.findRun(jobID, runID); err != nil {
			return
		}
		x.b.apply(r, r.Stop(x.b.now()))
		out = cloneRun(r)
	}); derr != nil {
		return nil, derr
	}
	return out, err
}

func (x backend) Info(context.Context) api.Info {
	return api.Info{Version: Version, FrameworkID: x.b.FrameworkID(), Leader: x.b.leader()}
}
