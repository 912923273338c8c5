package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/frameworks/batch/job"
	"github.com/agoracluster/agora/frameworks/batch/run"
	"github.com/agoracluster/agora/frameworks/batch/schedule"
	"github.com/agoracluster/agora/store"
)

// Store layout: one key per entity.
const (
	keyFrameworkID = "framework_id"
	prefixJobs     = "jobs"      // jobs/<job id>: the spec
	prefixSched    = "schedules" // schedules/<job id>:<schedule id>: schedule + last fire time
	prefixRuns     = "runs"      // runs/<job id>:<run id>: active and kept finished runs; a run of
	// more than run.PageSize tasks keeps the rest in runs/<job id>:<run id>/tasks-<n>, n ≥ 1
	prefixHistory = "history" // history/<job id>: counts and the kept finished runs
)

// Keys are flat under their prefix (List lists one level); ':' appears in no job id.
func jobKey(id string) string           { return prefixJobs + "/" + id }
func scheduleKey(job, id string) string { return prefixSched + "/" + job + ":" + id }
func runKey(job, id string) string      { return prefixRuns + "/" + job + ":" + id }
func taskPageKey(job, id string, n int) string {
	return runKey(job, id) + "/tasks-" + strconv.Itoa(n)
}
func historyKey(job string) string { return prefixHistory + "/" + job }

// jobOfKey returns the job id of a schedules/ or runs/ key.
func jobOfKey(key string) string {
	k := key[strings.IndexByte(key, '/')+1:]
	if i := strings.IndexByte(k, ':'); i >= 0 {
		return k[:i]
	}
	return k
}

// jobState is one job as the loop keeps it.
type jobState struct {
	spec      *job.Spec
	schedules map[string]*scheduleRecord
	history   run.History
}

// scheduleRecord is a schedule with its watermark: every fire time at or before Handled was
// dealt with (started or skipped), so that a restart neither runs a fire time twice nor skips
// one that fell due while the framework was down.
type scheduleRecord struct {
	Schedule *job.Schedule `json:"schedule"`
	Handled  time.Time     `json:"handled"`

	compiled *schedule.Schedule // compiled on first use
}

// sortedSchedules returns the job's schedules by id.
func (j *jobState) sortedSchedules() []*scheduleRecord {
	out := make([]*scheduleRecord, 0, len(j.schedules))
	for _, s := range j.schedules {
		out = append(out, s)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Schedule.ID < out[b].Schedule.ID })
	return out
}

func getJSON(ctx context.Context, st store.Store, key string, v any) error {
	b, _, err := st.Get(ctx, key)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", key, err)
	}
	return nil
}

// load reads the whole state. Finished runs missing from their job's history (the process
// stopped between the two writes) are recorded now; runs and schedules of deleted jobs are
// removed.
func (b *Batch) load(ctx context.Context) error {
	keys, err := b.st.List(ctx, prefixJobs)
	if err != nil {
		return err
	}
	for _, k := range keys {
		var spec job.Spec
		if err := getJSON(ctx, b.st, k, &spec); err != nil {
			return err
		}
		j := &jobState{spec: &spec, schedules: map[string]*scheduleRecord{}}
		if err := getJSON(ctx, b.st, historyKey(spec.ID), &j.history); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		b.jobs[spec.ID] = j
	}
	skeys, err := b.st.List(ctx, prefixSched)
	if err != nil {
		return err
	}
	for _, sk := range skeys {
		j := b.jobs[jobOfKey(sk)]
		if j == nil {
			b.w.put(sk, nil)
			continue
		}
		var rec scheduleRecord
		if err := getJSON(ctx, b.st, sk, &rec); err != nil {
			return err
		}
		j.schedules[rec.Schedule.ID] = &rec
	}
	rkeys, err := b.st.List(ctx, prefixRuns)
	if err != nil {
		return err
	}
	for _, rk := range rkeys {
		var r run.Run
		if err := getJSON(ctx, b.st, rk, &r); err != nil {
			return err
		}
		j := b.jobs[jobOfKey(rk)]
		if j == nil {
			for n := r.TaskPages; n >= 1; n-- {
				b.w.put(rk+"/tasks-"+strconv.Itoa(n), nil)
			}
			b.w.put(rk, nil)
			continue
		}
		for n := 1; n <= r.TaskPages; n++ {
			var page []*run.Task
			if err := getJSON(ctx, b.st, taskPageKey(r.JobID, r.ID, n), &page); err != nil {
				return fmt.Errorf("run %s: task page %d of %d: %w", r.ID, n, r.TaskPages, err)
			}
			r.Tasks = append(r.Tasks, page...)
		}
		b.runPages[r.ID], r.TaskPages = r.TaskPages, 0
		b.runs[r.ID] = &r
		if r.Status.Terminal() && !j.history.Has(r.ID) {
			b.recordFinished(j, &r)
		}
	}
	// A scheduled run whose schedule record was not written yet still counts as handled.
	for _, r := range b.runs {
		b.noteFire(r.JobID, r.Trigger, r.FireTime)
	}
	for _, j := range b.jobs {
		for _, s := range j.history.Runs {
			b.noteFire(j.spec.ID, s.Trigger, s.FireTime)
		}
	}
	b.metrics.jobs.Set(float64(len(b.jobs)))
	b.metrics.activeRuns.Set(float64(len(b.activeRuns(""))))
	b.log.Info("state loaded", zap.Int("jobs", len(b.jobs)), zap.Int("runs", len(b.runs)))
	return nil
}

// noteFire raises a schedule's last fire time to that of a run it started.
func (b *Batch) noteFire(jobID, trigger string, fire *time.Time) {
	j := b.jobs[jobID]
	if j == nil || fire == nil || len(trigger) <= len(triggerSchedule) || trigger[:len(triggerSchedule)] != triggerSchedule {
		return
	}
	rec := j.schedules[trigger[len(triggerSchedule):]]
	if rec == nil || !fire.After(rec.Handled) {
		return
	}
	rec.Handled = *fire
	b.persistSchedule(j.spec.ID, rec)
}

// Triggers of runs.
const (
	triggerManual   = "manual"
	triggerSchedule = "schedule:"
	triggerDeps     = "dependencies"
)

func (b *Batch) persist(key string, v any) uint64 {
	data, err := json.Marshal(v)
	if err != nil { // the state types always encode
		panic(fmt.Sprintf("batch: encode %s: %v", key, err))
	}
	return b.w.put(key, data)
}

// persistRun marks r for writing; flushRuns encodes each marked run once, so a burst of
// updates of one run costs one encoding.
func (b *Batch) persistRun(r *run.Run) { b.dirtyRuns[r.ID] = r }

// dropRun forgets a run and deletes its records (its task pages first, then the header).
func (b *Batch) dropRun(jobID, id string) {
	delete(b.runs, id)
	delete(b.dirtyRuns, id)
	for n := b.runPages[id]; n >= 1; n-- {
		key := taskPageKey(jobID, id, n)
		delete(b.pageSums, key)
		b.w.put(key, nil)
	}
	delete(b.runPages, id)
	b.w.put(runKey(jobID, id), nil)
}

// flushRuns hands the marked runs, then the terminal updates waiting for them to be
// acknowledged, to the writer, and returns the writer generation that holds them.
func (b *Batch) flushRuns() uint64 {
	for _, r := range b.dirtyRuns {
		b.writeRun(r)
	}
	for _, st := range b.pendingAcks {
		b.w.ack(st)
	}
	b.pendingAcks = b.pendingAcks[:0]
	return b.w.generation()
}

// writeRun encodes a marked run for the writer and unmarks it: the task pages that changed,
// then the header record (last, so that a header never names a page not yet written).
func (b *Batch) writeRun(r *run.Run) {
	header, pages := r.Records() // json.Marshal's bytes, 4x as fast
	for i, page := range pages {
		key := taskPageKey(r.JobID, r.ID, i+1)
		sum := maphash.Bytes(pageSeed, page)
		if b.pageSums[key] == sum {
			continue
		}
		b.pageSums[key] = sum
		b.w.put(key, page)
	}
	b.runPages[r.ID] = len(pages)
	b.w.put(runKey(r.JobID, r.ID), header)
	delete(b.dirtyRuns, r.ID)
}

// pageSeed seeds the checksums of written task pages (within one process).
var pageSeed = maphash.MakeSeed()

func (b *Batch) persistSchedule(jobID string, rec *scheduleRecord) {
	b.persist(scheduleKey(jobID, rec.Schedule.ID), rec)
}

// recordFinished adds a finished run to its job's history and drops the runs that fall out.
func (b *Batch) recordFinished(j *jobState, r *run.Run) {
	for _, id := range j.history.Record(r, b.cfg.HistoryRuns) {
		b.dropRun(j.spec.ID, id)
	}
	b.persist(historyKey(j.spec.ID), &j.history)
}

// activeRuns returns the unfinished runs (of one job, or of all with jobID ""), oldest first.
func (b *Batch) activeRuns(jobID string) []*run.Run {
	var out []*run.Run
	for _, r := range b.runs {
		if !r.Status.Terminal() && (jobID == "" || r.JobID == jobID) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, k int) bool {
		if !out[i].CreatedAt.Equal(out[k].CreatedAt) {
			return out[i].CreatedAt.Before(out[k].CreatedAt)
		}
		return out[i].ID < out[k].ID
	})
	return out
}
