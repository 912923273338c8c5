package batch

import (
	"context"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/frameworks/batch/job"
	"github.com/agoracluster/agora/frameworks/batch/run"
	"github.com/agoracluster/agora/frameworks/sdk"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
)

// loop owns the state: it runs the closures of the API and the SDK handler and ticks.
func (b *Batch) loop(ctx context.Context) {
	defer close(b.done)
	t := time.NewTicker(b.cfg.TickInterval)
	defer t.Stop()
	flush := time.NewTicker(b.cfg.FlushInterval)
	defer flush.Stop()
	defer b.flushRuns()      // the writer writes what is left after the loop
	var flushAgain time.Time // pacing of the periodic flush (flushShare)
	b.tick()
	for {
		select {
		case <-ctx.Done():
			return
		case f := <-b.reqs:
			f()
		case <-t.C:
			b.tick()
		case <-flush.C:
			// While the writer is busy, changes pile up and are encoded once.
			if b.w.idle() && !time.Now().Before(flushAgain) {
				start := time.Now()
				b.flushRuns()
				took := time.Since(start)
				flushAgain = start.Add(time.Duration(float64(took) / flushShare))
			}
		}
		b.syncWantOffers()
	}
}

// flushShare bounds the loop's time spent encoding changed runs for the periodic flush:
// after a flush that took d, the next waits d*(1/flushShare-1) at least. Runs of a few tasks
// are written every FlushInterval; when a hundred runs of a thousand tasks change at once,
// flushes space out, each covering more updates, instead of taking the loop from them.
const flushShare = 0.1

// tick starts what fell due (schedules), ends overrunning runs and lets back-offs expire.
func (b *Batch) tick() {
	now := b.now()
	for _, r := range b.activeRuns("") {
		b.apply(r, r.Tick(now))
	}
	b.startDueSchedules(now)
}

// waiting reports whether any run wants tasks launched now.
func (b *Batch) waiting(now time.Time) bool {
	for _, r := range b.runs {
		if r.Wants(now) > 0 {
			return true
		}
	}
	return false
}

// syncWantOffers suppresses offers when nothing waits and revives them when work arrives.
func (b *Batch) syncWantOffers() {
	want := b.waiting(b.now())
	if want == b.wantOffers {
		return
	}
	b.wantOffers = want
	b.out.push(func(ctx context.Context, s *sdk.Scheduler) {
		if err := s.SetWantOffers(ctx, want); err != nil && ctx.Err() == nil {
			b.log.Warn("set want offers", zap.Bool("want", want), zap.Error(err))
		}
	})
}

// newRunID returns a Metronome-like run id: the UTC timestamp and 5 random characters.
func (b *Batch) newRunID(now time.Time) string {
	const chars = "abcdefghijklmnopqrstuvwxyz0123456789"
	for {
		buf := []byte(now.UTC().Format("20060102150405"))
		for range 5 {
			buf = append(buf, chars[b.rand.IntN(len(chars))])
		}
		if _, taken := b.runs[string(buf)]; !taken {
			return string(buf)
		}
	}
}

// params derives a run's parameters from its job's spec and the retry limit.
func params(spec *job.Spec, retryLimit int) run.Params {
	return run.Params{
		RetryLimit:     retryLimit,
		Parallelism:    spec.Run.Parallelism,
		Completions:    spec.Run.Completions,
		RetryOnFailure: spec.Run.Restart.Policy == job.RestartOnFailure,
		ActiveDeadline: time.Duration(spec.Run.Restart.ActiveDeadlineSeconds) * time.Second,
	}
}

// startRun starts a run of job j.
func (b *Batch) startRun(j *jobState, trigger string, fire *time.Time) *run.Run {
	now := b.now()
	r := run.New(j.spec.ID, b.newRunID(now), params(j.spec, b.cfg.Retry.Limit), now)
	r.Trigger, r.FireTime = trigger, fire
	b.runs[r.ID] = r
	b.persistRun(r)
	b.metrics.runsStarted.Inc()
	b.metrics.activeRuns.Inc()
	b.publish(EventRunStarted, j.spec.ID, r)
	b.log.Info("run started", zap.String("job_id", j.spec.ID), zap.String("run_id", r.ID), zap.String("trigger", trigger))
	return r
}

// apply carries out a run's decision: persist, kill, and on the end of the run record it
// in the history and start the jobs that depend on it.
func (b *Batch) apply(r *run.Run, d run.Decision) {
	if d.Changed {
		b.persistRun(r)
	}
	for _, id := range d.Kill {
		b.kill(r, id)
	}
	if !d.Finished {
		return
	}
	b.metrics.runsFinished.WithLabelValues(string(r.Status)).Inc()
	b.metrics.activeRuns.Dec()
	b.publish(EventRunFinished, r.JobID, r)
	b.log.Info("run finished", zap.String("job_id", r.JobID), zap.String("run_id", r.ID),
		zap.String("status", string(r.Status)), zap.String("reason", r.Reason))
	if j := b.jobs[r.JobID]; j != nil {
		b.recordFinished(j, r)
		b.startDependents(r.JobID)
	}
}

// kill asks the master to kill one task of r.
func (b *Batch) kill(r *run.Run, taskID string) {
	var agent string
	if t := r.Task(taskID); t != nil {
		agent = t.AgentID
	}
	b.killTask(taskID, agent)
}

func (b *Batch) killTask(taskID, agentID string) {
	b.out.push(func(ctx context.Context, s *sdk.Scheduler) {
		var aid *mesos.AgentID
		if agentID != "" {
			aid = sdk.AgentID(agentID)
		}
		if err := s.Kill(ctx, sdk.TaskID(taskID), aid); err != nil && ctx.Err() == nil {
			b.log.Warn("kill task", zap.String("task_id", taskID), zap.Error(err))
		}
	})
}

// onUpdate applies a task status update. A terminal update is acknowledged once its run is
// on disk (the master then forgets it); a non-terminal one at once: losing it in a crash
// costs nothing, as reconciliation after the restart answers the task's latest state.
func (b *Batch) onUpdate(st *mesos.TaskStatus) {
	defer func() {
		if st.GetState().IsTerminal() {
			b.pendingAcks = append(b.pendingAcks, st)
		} else {
			b.acks.push(st)
		}
	}()
	id := st.GetTaskId().GetValue()
	state := st.GetState()
	jobID, runID, ok := run.ParseTaskID(id)
	r := b.runs[runID]
	if !ok || r == nil || r.JobID != jobID {
		if !state.IsTerminal() {
			b.log.Info("killing a task of no known run", zap.String("task_id", id))
			b.killTask(id, st.GetAgentId().GetValue())
		}
		return
	}
	t := r.Task(id)
	if t == nil {
		if state.IsTerminal() {
			return
		}
		// A task launched just before a restart that lost its record: adopt it.
		t = r.Adopt(id, st.GetAgentId().GetValue(), b.now())
		b.log.Info("adopted task", zap.String("task_id", id))
	}
	if neverLaunched(st, t) {
		// The master does not know a task we hold as staging: its launch never reached the
		// master (a failed call, or a restart between recording and launching). Launch it
		// again rather than count a failure.
		b.log.Info("task never reached the master; launching it again", zap.String("task_id", id))
		r.Forget(id)
		b.persistRun(r)
		return
	}
	if r.Status.Terminal() && !state.IsTerminal() {
		b.kill(r, id) // a task of a finished run: make sure it goes
	}
	if state.IsTerminal() && !t.Terminal() {
		b.metrics.tasksEnded.WithLabelValues(state.String()).Inc()
	}
	u := run.TaskUpdate{ID: id, State: state, Message: st.GetMessage()}
	if code, ok := exitStatus(st); ok {
		u.ExitStatus = &code
	}
	before := r.Status
	j := b.jobs[r.JobID]
	var delay run.Delay
	if j != nil {
		delay = b.cfg.Retry.ForJob(j.spec.Run).Delay
	}
	if state == mesos.TaskState_TASK_RUNNING || state.IsTerminal() {
		b.askSandbox(t)
	}
	d := r.Update(u, b.now(), delay)
	b.apply(r, d)
	if r.Status != before && !d.Finished {
		b.publish(EventRunUpdated, r.JobID, r)
	}
}

// neverLaunched reports whether st is the master's answer to reconciliation for a task it
// does not know, about a task the run still holds as staging.
func neverLaunched(st *mesos.TaskStatus, t *run.Task) bool {
	return st.GetState() == mesos.TaskState_TASK_LOST && st.GetReason() == mesos.TaskStatus_REASON_RECONCILIATION &&
		st.GetSource() == mesos.TaskStatus_SOURCE_MASTER && t.Status == mesos.TaskState_TASK_STAGING.String()
}

// exitStatus reads the exit status from an update: the command executor words it "Command
// exited with status N", the Docker one "Container exited with status N"; a finished task
// exited with 0.
func exitStatus(st *mesos.TaskStatus) (int, bool) {
	msg := st.GetMessage()
	for _, prefix := range []string{"Command exited with status ", "Container exited with status "} {
		if rest, ok := strings.CutPrefix(msg, prefix); ok {
			if code, ok := leadingInt(rest); ok {
				return code, true
			}
		}
	}
	if st.GetState() == mesos.TaskState_TASK_FINISHED {
		return 0, true
	}
	return 0, false
}

// leadingInt reads the optionally signed decimal number that s starts with (what follows it,
// such as " (killed)", is ignored).
func leadingInt(s string) (int, bool) {
	end := 0
	if end < len(s) && (s[end] == '-' || s[end] == '+') {
		end++
	}
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(s[:end])
	return n, err == nil
}

// knownTasks lists the tasks of unfinished runs, for the explicit reconciliation.
func (b *Batch) knownTasks(ctx context.Context) []*scheduler.Call_Reconcile_Task {
	var out []*scheduler.Call_Reconcile_Task
	_ = b.do(ctx, func() {
		for _, r := range b.runs {
			for _, t := range r.ActiveTasks() {
				out = append(out, sdk.ReconcileTask(t.ID, t.AgentID))
			}
		}
	})
	return out
}
