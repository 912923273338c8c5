package batch

import (
	"fmt"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/frameworks/batch/api"
	"github.com/agoracluster/agora/frameworks/batch/deps"
	"github.com/agoracluster/agora/frameworks/batch/job"
	"github.com/agoracluster/agora/frameworks/batch/schedule"
)

// errHasDependents refuses to delete a job that others depend on.
func errHasDependents(id string, children []string) error {
	return fmt.Errorf("%w: job %s is a dependency of %v; delete or change them first", api.ErrHasDependents, id, children)
}

func (b *Batch) createJob(spec *job.Spec) error {
	if b.jobs[spec.ID] != nil {
		return fmt.Errorf("%w: %s", api.ErrJobExists, spec.ID)
	}
	if err := deps.CheckJob(b.graph(), spec.ID, spec.Dependencies); err != nil {
		return err
	}
	b.jobs[spec.ID] = &jobState{spec: spec, schedules: map[string]*scheduleRecord{}}
	b.persist(jobKey(spec.ID), spec)
	b.metrics.jobs.Set(float64(len(b.jobs)))
	b.publish(EventJobCreated, spec.ID, nil)
	b.log.Info("job created", zap.String("job_id", spec.ID))
	return nil
}

func (b *Batch) updateJob(spec *job.Spec) error {
	j := b.jobs[spec.ID]
	if j == nil {
		return errNoJob(spec.ID)
	}
	if err := deps.CheckJob(b.graph(), spec.ID, spec.Dependencies); err != nil {
		return err
	}
	j.spec = spec // active runs keep their parameters; new tasks use the new spec
	b.persist(jobKey(spec.ID), spec)
	b.publish(EventJobUpdated, spec.ID, nil)
	return nil
}

func (b *Batch) deleteJob(id string, stopRuns bool) (*job.Spec, error) {
	j := b.jobs[id]
	if j == nil {
		return nil, errNoJob(id)
	}
	active := b.activeRuns(id)
	if len(active) > 0 && !stopRuns {
		return nil, fmt.Errorf("%w: job %s has %d active runs; stop them first or pass stopCurrentJobRuns=true",
			api.ErrActiveRuns, id, len(active))
	}
	if children := b.graph().Children(id); len(children) > 0 {
		return nil, errHasDependents(id, children)
	}
	now := b.now()
	for _, r := range active {
		b.apply(r, r.Stop(now))
	}
	for _, r := range b.runs {
		if r.JobID == id {
			b.dropRun(id, r.ID)
		}
	}
	for sid := range j.schedules {
		b.w.put(scheduleKey(id, sid), nil)
	}
	b.w.put(historyKey(id), nil)
	b.w.put(jobKey(id), nil)
	delete(b.jobs, id)
	b.metrics.jobs.Set(float64(len(b.jobs)))
	b.publish(EventJobDeleted, id, nil)
	b.log.Info("job deleted", zap.String("job_id", id))
	return j.spec, nil
}

func (b *Batch) putSchedule(jobID string, s *job.Schedule, create bool) error {
	j := b.jobs[jobID]
	if j == nil {
		return errNoJob(jobID)
	}
	old := j.schedules[s.ID]
	switch {
	case create && old != nil:
		return fmt.Errorf("%w: %s/%s", api.ErrScheduleExists, jobID, s.ID)
	case !create && old == nil:
		return fmt.Errorf("%w: %s/%s", api.ErrScheduleNotFound, jobID, s.ID)
	}
	compiled, err := schedule.Compile(*s)
	if err != nil { // DecodeSchedule validated it; a failure here is a bug, said as a 422
		return &job.InvalidError{Details: []job.Detail{{Path: "/cron", Errors: []string{err.Error()}}}}
	}
	rec := &scheduleRecord{Schedule: s, Handled: b.now(), compiled: compiled}
	if old != nil {
		rec.Handled = old.Handled
	}
	j.schedules[s.ID] = rec
	b.persistSchedule(jobID, rec)
	b.publishSchedule(jobID, s.ID)
	return nil
}

func (b *Batch) deleteSchedule(jobID, id string) (*job.Schedule, error) {
	j := b.jobs[jobID]
	if j == nil {
		return nil, errNoJob(jobID)
	}
	rec := j.schedules[id]
	if rec == nil {
		return nil, fmt.Errorf("%w: %s/%s", api.ErrScheduleNotFound, jobID, id)
	}
	delete(j.schedules, id)
	b.w.put(scheduleKey(jobID, id), nil)
	b.publishSchedule(jobID, id)
	return rec.Schedule, nil
}
