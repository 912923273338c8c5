package run

import (
	"fmt"
	"time"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// Status is a run's state, as Metronome names it.
type Status string

// The run states: INITIAL (created, nothing launched) → STARTING (tasks launched, none
// running) → ACTIVE (a task runs) → SUCCESS | FAILED.
const (
	Initial  Status = "INITIAL"
	Starting Status = "STARTING"
	Active   Status = "ACTIVE"
	Success  Status = "SUCCESS"
	Failed   Status = "FAILED"
)

// Terminal reports whether s is SUCCESS or FAILED.
func (s Status) Terminal() bool { return s == Success || s == Failed }

// Why a run failed.
const (
	ReasonTaskFailed = "TASK_FAILED" // a task failed under restart policy NEVER
	ReasonDeadline   = "ACTIVE_DEADLINE_EXCEEDED"
	ReasonStopped    = "STOPPED" // the stop action, or the job was deleted
)

// Params is what a run needs from its job spec.
type Params struct {
	// Parallelism is how many tasks may be active at once (at least 1).
	Parallelism int `json:"parallelism"`
	// Completions is how many tasks must finish successfully (at least 1).
	Completions int `json:"completions"`
	// RetryOnFailure relaunches failed tasks (restart policy ON_FAILURE); without it the
	// first failed task fails the run (NEVER).
	RetryOnFailure bool `json:"retryOnFailure"`
	// ActiveDeadline fails and kills the run this long after it was created; 0 = none.
	ActiveDeadline time.Duration `json:"activeDeadline"`
	// RetryLimit is how many failed tasks RetryOnFailure retries; the next failure fails the
	// run. 0 = no limit (Metronome's: until the active deadline).
	RetryLimit int `json:"retryLimit,omitempty"`
}

// Task is one task of a run.
type Task struct {
	ID          string     `json:"id"`
	Status      string     `json:"status"` // TASK_STAGING, TASK_RUNNING, TASK_FINISHED, ...
	StartedAt   time.Time  `json:"startedAt"`
	CompletedAt *time.Time `json:"completedAt"`
	AgentID     string     `json:"agentId,omitempty"`
	Host        string     `json:"host,omitempty"`
	// AgentURL is the agent's base URL; Sandbox the task's sandbox directory on it (both
	// filled by the shell when known): stdout and stderr are AgentURL/files/read?path=Sandbox/stdout.
	AgentURL   string `json:"agentUrl,omitempty"`
	Sandbox    string `json:"sandbox,omitempty"`
	ExitStatus *int   `json:"exitStatus,omitempty"`
	Message    string `json:"message,omitempty"`
}

func (t *Task) state() mesos.TaskState {
	return mesos.TaskState(mesos.TaskState_value[t.Status])
}

// Terminal reports whether the task has reached a terminal state.
func (t *Task) Terminal() bool { return t.state().IsTerminal() }

// Run is one run of a job.
type Run struct {
	ID          string     `json:"id"`
	JobID       string     `json:"jobId"`
	Status      Status     `json:"status"`
	CreatedAt   time.Time  `json:"createdAt"`
	CompletedAt *time.Time `json:"completedAt"`
	Tasks       []*Task    `json:"tasks"`
	Params      Params     `json:"params"`
	// Failures counts the tasks that failed; RetryAt is when the next one may be launched.
	Failures int        `json:"failures"`
	RetryAt  *time.Time `json:"retryAt,omitempty"`
	// Reason says why a FAILED run failed.
	Reason string `json:"reason,omitempty"`
	// Trigger says what started the run: "manual", "schedule:<id>" or "dependencies".
	Trigger string `json:"trigger,omitempty"`
	// FireTime is the schedule's fire time a scheduled run was started for.
	FireTime *time.Time `json:"fireTime,omitempty"`
	// Seq is the number of the last task launched (task ids end in .<seq>).
	Seq int `json:"seq"`
	// TaskPages is set only in a stored record of a run of more than PageSize tasks: the
	// record holds the first PageSize tasks, and so many further pages the rest (Records).
	TaskPages int `json:"taskPages,omitempty"`

	// derived from Tasks on demand, then kept up to date by the methods that change them, so
	// that an update costs the same in a run of a thousand tasks as in a run of one
	tally tally
	index map[string]*Task
}

// tally counts a run's tasks by what the run's decisions need.
type tally struct {
	known                      bool // false: count Tasks again before use
	active, succeeded, running int  // not terminal; TASK_FINISHED; TASK_RUNNING
}

// add counts (n = 1) or uncounts (n = -1) a task in state s.
func (c *tally) add(s mesos.TaskState, n int) {
	switch {
	case !s.IsTerminal():
		c.active += n
		if s == mesos.TaskState_TASK_RUNNING {
			c.running += n
		}
	case s == mesos.TaskState_TASK_FINISHED:
		c.succeeded += n
	}
}

// changed drops what was derived from Tasks.
func (r *Run) changed() { r.tally, r.index = tally{}, nil }

// counted returns the tally of the run's tasks, counting them once after a change it could
// not follow (a load, a clone, a forgotten task).
func (r *Run) counted() *tally {
	if !r.tally.known {
		r.tally = tally{known: true}
		for _, t := range r.Tasks {
			r.tally.add(t.state(), 1)
		}
	}
	return &r.tally
}

// added follows a task appended to Tasks.
func (r *Run) added(t *Task) {
	if r.tally.known {
		r.tally.add(t.state(), 1)
	}
	if r.index != nil {
		r.index[t.ID] = t
	}
}

// TaskUpdate is a task status update.
type TaskUpdate struct {
	ID         string
	State      mesos.TaskState
	Message    string
	ExitStatus *int
}

// Decision is what the shell must do after an event.
type Decision struct {
	// Kill lists the tasks to kill.
	Kill []string
	// Changed is true when the run (or one of its tasks) changed and must be persisted.
	Changed bool
	// Finished is true when the run became SUCCESS or FAILED with this event.
	Finished bool
}

// Delay is the back-off before retry number `failures` (1 = the first retry).
type Delay func(failures int) time.Duration

// New returns a run in state INITIAL. Parallelism and Completions below 1 count as 1.
func New(jobID, id string, p Params, now time.Time) *Run {
	p.Parallelism, p.Completions = max(p.Parallelism, 1), max(p.Completions, 1)
	return &Run{ID: id, JobID: jobID, Status: Initial, CreatedAt: now, Params: p, Tasks: []*Task{}}
}

// TaskID is the id of task number n of run runID of job jobID: "<jobId>_<runId>.<n>".
func TaskID(jobID, runID string, n int) string { return fmt.Sprintf("%s_%s.%d", jobID, runID, n) }

// ParseTaskID splits a task id made by TaskID into job id and run id.
func ParseTaskID(taskID string) (jobID, runID string, ok bool) {
	dot := -1
	for i := len(taskID) - 1; i >= 0; i-- {
		if taskID[i] == '.' {
			dot = i
			break
		}
	}
	if dot < 0 {
		return "", "", false
	}
	head := taskID[:dot]
	for i := len(head) - 1; i >= 0; i-- {
		if head[i] == '_' {
			if i == 0 || i == len(head)-1 {
				return "", "", false
			}
			return head[:i], head[i+1:], true
		}
	}
	return "", "", false
}

// counts returns the tasks not yet terminal and the tasks that finished successfully.
func (r *Run) counts() (active, succeeded int) {
	c := r.counted()
	return c.active, c.succeeded
}

// Wants returns how many tasks the run wants launched now.
func (r *Run) Wants(now time.Time) int {
	if r.Status.Terminal() || r.RetryAt != nil && now.Before(*r.RetryAt) {
		return 0
	}
	active, succeeded := r.counts()
	return max(0, min(r.Params.Completions-succeeded-active, r.Params.Parallelism-active))
}

// Launch records a new task placed on an agent (TASK_STAGING) and returns it; the run goes
// to STARTING if it was INITIAL.
func (r *Run) Launch(agentID, host string, now time.Time) *Task {
	r.Seq++
	t := &Task{ID: TaskID(r.JobID, r.ID, r.Seq), Status: mesos.TaskState_TASK_STAGING.String(),
		StartedAt: now, AgentID: agentID, Host: host}
	r.Tasks = append(r.Tasks, t)
	r.added(t)
	r.RetryAt = nil
	if r.Status == Initial {
		r.Status = Starting
	}
	return t
}

// Forget removes a task that never reached the master (its launch call failed), so that
// Wants counts it again.
func (r *Run) Forget(taskID string) {
	for i, t := range r.Tasks {
		if t.ID == taskID {
			r.Tasks = append(r.Tasks[:i], r.Tasks[i+1:]...)
			r.changed()
			break
		}
	}
	if len(r.Tasks) == 0 && r.Status == Starting {
		r.Status = Initial
	}
}

// Task returns the task with the given id, or nil.
func (r *Run) Task(id string) *Task {
	if r.index == nil {
		r.index = make(map[string]*Task, len(r.Tasks))
		for _, t := range r.Tasks {
			r.index[t.ID] = t
		}
	}
	return r.index[id]
}

// ActiveTasks returns the tasks not yet terminal.
func (r *Run) ActiveTasks() []*Task {
	var out []*Task
	for _, t := range r.Tasks {
		if !t.Terminal() {
			out = append(out, t)
		}
	}
	return out
}

// failure reports whether a terminal state counts as a failed task.
func failure(s mesos.TaskState) bool {
	return s.IsTerminal() && s != mesos.TaskState_TASK_FINISHED
}

// Update applies a status update of one of the run's tasks. Updates of unknown tasks, and
// repeated terminal updates, change nothing.
func (r *Run) Update(u TaskUpdate, now time.Time, delay Delay) Decision {
	t := r.Task(u.ID)
	if t == nil || t.Terminal() {
		return Decision{}
	}
	c := r.counted()
	c.add(t.state(), -1)
	t.Status = u.State.String()
	c.add(u.State, 1)
	if u.Message != "" {
		t.Message = u.Message
	}
	if u.ExitStatus != nil {
		code := *u.ExitStatus
		t.ExitStatus = &code
	}
	if u.State.IsTerminal() {
		at := now
		t.CompletedAt = &at
	}
	d := Decision{Changed: true}
	if r.Status.Terminal() {
		return d // a task of a finished run ends, as it was told to
	}
	switch {
	case u.State == mesos.TaskState_TASK_RUNNING:
		r.Status = Active
	case u.State == mesos.TaskState_TASK_FINISHED:
		if _, succeeded := r.counts(); succeeded >= r.Params.Completions {
			return r.finish(Success, "", now)
		}
	case failure(u.State):
		r.Failures++
		if exhausted := r.Params.RetryLimit > 0 && r.Failures > r.Params.RetryLimit; !r.Params.RetryOnFailure || exhausted {
			reason := fmt.Sprintf("%s: task %s %s", ReasonTaskFailed, t.ID, t.Status)
			if exhausted {
				reason = fmt.Sprintf("%s: %d retries exhausted; task %s %s", ReasonTaskFailed, r.Params.RetryLimit, t.ID, t.Status)
			}
			if t.Message != "" {
				reason += ": " + t.Message
			}
			return r.finish(Failed, reason, now)
		}
		at := now
		if delay != nil {
			at = now.Add(delay(r.Failures))
		}
		r.RetryAt = &at
	}
	r.settle()
	return d
}

// settle recomputes STARTING/ACTIVE from the tasks of an unfinished run.
func (r *Run) settle() {
	if r.Status.Terminal() || r.Status == Initial {
		return
	}
	r.Status = Starting
	if r.counted().running > 0 {
		r.Status = Active
	}
}

// finish ends the run and asks for its remaining tasks to be killed.
func (r *Run) finish(s Status, reason string, now time.Time) Decision {
	r.Status, r.Reason = s, reason
	at := now
	r.CompletedAt = &at
	r.RetryAt = nil
	d := Decision{Changed: true, Finished: true}
	for _, t := range r.ActiveTasks() {
		d.Kill = append(d.Kill, t.ID)
	}
	return d
}

// Deadline returns when the active deadline expires, or the zero time without one.
func (r *Run) Deadline() time.Time {
	if r.Params.ActiveDeadline <= 0 {
		return time.Time{}
	}
	return r.CreatedAt.Add(r.Params.ActiveDeadline)
}

// Tick fails the run and kills its tasks once its active deadline has passed.
func (r *Run) Tick(now time.Time) Decision {
	if r.Status.Terminal() {
		return Decision{}
	}
	if dl := r.Deadline(); !dl.IsZero() && !now.Before(dl) {
		return r.finish(Failed, fmt.Sprintf("%s: %s", ReasonDeadline, r.Params.ActiveDeadline), now)
	}
	return Decision{}
}

// Stop fails the run and kills its tasks (the stop action). Stopping a finished run changes
// nothing.
func (r *Run) Stop(now time.Time) Decision {
	if r.Status.Terminal() {
		return Decision{}
	}
	return r.finish(Failed, ReasonStopped, now)
}

// Wake returns the next time the run needs a Tick or a launch without any event (the end of
// a back-off, the active deadline), or the zero time.
func (r *Run) Wake() time.Time {
	if r.Status.Terminal() {
		return time.Time{}
	}
	var w time.Time
	if r.RetryAt != nil {
		w = *r.RetryAt
	}
	if dl := r.Deadline(); !dl.IsZero() && (w.IsZero() || dl.Before(w)) {
		w = dl
	}
	return w
}

// Adopt records a task of the run that the master reports but the run does not know (it
// was launched just before a restart lost its record), so that it is followed and counted.
func (r *Run) Adopt(taskID, agentID string, now time.Time) *Task {
	t := &Task{ID: taskID, Status: mesos.TaskState_TASK_STAGING.String(), StartedAt: now, AgentID: agentID}
	r.Tasks = append(r.Tasks, t)
	r.added(t)
	var n int
	if _, err := fmt.Sscanf(taskID[len(TaskID(r.JobID, r.ID, 0))-1:], "%d", &n); err == nil && n > r.Seq {
		r.Seq = n
	}
	if r.Status == Initial {
		r.Status = Starting
	}
	return t
}

// Clone returns a deep copy of r (its tasks copied too).
func (r *Run) Clone() *Run {
	c := *r
	c.changed()
	c.Tasks = make([]*Task, len(r.Tasks))
	for i, t := range r.Tasks {
		tc := *t
		c.Tasks[i] = &tc
	}
	return &c
}
