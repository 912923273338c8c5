package run

import (
	"reflect"
	"testing"
	"time"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// step is one event of a scenario: launch n tasks, an update of task #n, a tick or a stop,
// at t0+at; then the expected run status, wants and kills.
type step struct {
	at      time.Duration
	launch  int             // launch this many tasks (must be <= Wants)
	task    int             // task number of an update (1-based)
	state   mesos.TaskState // the update's state
	tick    bool
	stop    bool
	status  Status
	wants   int
	kill    []string
	finish  bool
	failure int
}

func delay(k int) time.Duration { return time.Duration(k) * time.Second }

func id(n int) string { return TaskID("job", "r1", n) }

func TestRunScenarios(t *testing.T) {
	tests := []struct {
		name   string
		params Params
		steps  []step
	}{
		{"one task succeeds", Params{}, []step{
			{status: Initial, wants: 1},
			{launch: 1, status: Starting, wants: 0},
			{task: 1, state: mesos.TaskState_TASK_RUNNING, status: Active},
			{task: 1, state: mesos.TaskState_TASK_FINISHED, status: Success, finish: true},
		}},
		{"NEVER: a failed task fails the run", Params{}, []step{
			{launch: 1, status: Starting},
			{task: 1, state: mesos.TaskState_TASK_FAILED, status: Failed, finish: true, failure: 1},
		}},
		{"ON_FAILURE: retried after the back-off", Params{RetryOnFailure: true}, []step{
			{launch: 1, status: Starting},
			{task: 1, state: mesos.TaskState_TASK_RUNNING, status: Active},
			{at: 10 * time.Second, task: 1, state: mesos.TaskState_TASK_FAILED, status: Starting, wants: 0, failure: 1},
			{at: 10*time.Second + 999*time.Millisecond, tick: true, status: Starting, wants: 0, failure: 1},
			{at: 11 * time.Second, tick: true, status: Starting, wants: 1, failure: 1},
			{at: 11 * time.Second, launch: 1, status: Starting, failure: 1},
			{at: 12 * time.Second, task: 2, state: mesos.TaskState_TASK_FINISHED, status: Success, finish: true, failure: 1},
		}},
		{"ON_FAILURE: second failure waits longer", Params{RetryOnFailure: true}, []step{
			{launch: 1},
			{task: 1, state: mesos.TaskState_TASK_LOST, status: Starting, failure: 1},
			{at: time.Second, launch: 1, status: Starting, failure: 1},
			{at: time.Second, task: 2, state: mesos.TaskState_TASK_ERROR, status: Starting, failure: 2},
			{at: 2 * time.Second, tick: true, status: Starting, wants: 0, failure: 2},
			{at: 3 * time.Second, tick: true, status: Starting, wants: 1, failure: 2},
		}},
		{"ON_FAILURE with a retry limit fails after the last retry", Params{RetryOnFailure: true, RetryLimit: 1}, []step{
			{launch: 1},
			{task: 1, state: mesos.TaskState_TASK_FAILED, status: Starting, failure: 1},
			{at: time.Second, launch: 1, status: Starting, failure: 1},
			{at: time.Second, task: 2, state: mesos.TaskState_TASK_FAILED, status: Failed, finish: true, failure: 2},
		}},
		{"active deadline kills the running task", Params{ActiveDeadline: time.Minute, RetryOnFailure: true}, []step{
			{launch: 1},
			{task: 1, state: mesos.TaskState_TASK_RUNNING, status: Active},
			{at: 59 * time.Second, tick: true, status: Active},
			{at: time.Minute, tick: true, status: Failed, kill: []string{id(1)}, finish: true},
			{at: time.Minute, task: 1, state: mesos.TaskState_TASK_KILLED, status: Failed},
		}},
		{"stop kills the tasks", Params{Parallelism: 2, Completions: 2}, []step{
			{status: Initial, wants: 2},
			{launch: 2, status: Starting},
			{stop: true, status: Failed, kill: []string{id(1), id(2)}, finish: true},
			{stop: true, status: Failed},
		}},
		{"stop before launch", Params{}, []step{
			{stop: true, status: Failed, finish: true},
		}},
		{"completions beyond parallelism", Params{Parallelism: 2, Completions: 3}, []step{
			{status: Initial, wants: 2},
			{launch: 2, status: Starting, wants: 0},
			{task: 1, state: mesos.TaskState_TASK_RUNNING, status: Active},
			{task: 1, state: mesos.TaskState_TASK_FINISHED, status: Starting, wants: 1},
			{launch: 1, status: Starting, wants: 0},
			{task: 2, state: mesos.TaskState_TASK_FINISHED, status: Starting, wants: 0},
			{task: 3, state: mesos.TaskState_TASK_RUNNING, status: Active, wants: 0},
			{task: 3, state: mesos.TaskState_TASK_FINISHED, status: Success, finish: true},
		}},
		{"parallelism above completions launches only completions", Params{Parallelism: 3, Completions: 2}, []step{
			{status: Initial, wants: 2},
			{launch: 2},
			{task: 1, state: mesos.TaskState_TASK_FINISHED, status: Starting},
			{task: 2, state: mesos.TaskState_TASK_FINISHED, status: Success, finish: true},
		}},
		{"NEVER with parallel tasks: the others are killed", Params{Parallelism: 2, Completions: 2}, []step{
			{launch: 2},
			{task: 1, state: mesos.TaskState_TASK_RUNNING, status: Active},
			{task: 2, state: mesos.TaskState_TASK_FAILED, status: Failed, kill: []string{id(1)}, finish: true, failure: 1},
		}},
		{"a repeated terminal update changes nothing", Params{Parallelism: 2, Completions: 2}, []step{
			{launch: 2},
			{task: 1, state: mesos.TaskState_TASK_FINISHED, status: Starting},
			{task: 1, state: mesos.TaskState_TASK_FINISHED, status: Starting},
			{task: 1, state: mesos.TaskState_TASK_FAILED, status: Starting},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New("job", "r1", tt.params, t0)
			for i, s := range tt.steps {
				now := t0.Add(s.at)
				var d Decision
				switch {
				case s.launch > 0:
					if w := r.Wants(now); w < s.launch {
						t.Fatalf("step %d: wants %d, cannot launch %d", i, w, s.launch)
					}
					for range s.launch {
						r.Launch("a1", "h1", now)
					}
				case s.task > 0:
					d = r.Update(TaskUpdate{ID: id(s.task), State: s.state}, now, delay)
				case s.tick:
					d = r.Tick(now)
				case s.stop:
					d = r.Stop(now)
				}
				if s.status != "" && r.Status != s.status {
					t.Fatalf("step %d: status %s, want %s", i, r.Status, s.status)
				}
				if got := r.Wants(now); got != s.wants && s.launch == 0 {
					t.Fatalf("step %d: wants %d, want %d", i, got, s.wants)
				}
				if !reflect.DeepEqual(d.Kill, s.kill) {
					t.Fatalf("step %d: kill %v, want %v", i, d.Kill, s.kill)
				}
				if d.Finished != s.finish {
					t.Fatalf("step %d: finished %v, want %v", i, d.Finished, s.finish)
				}
				if r.Failures != s.failure {
					t.Fatalf("step %d: failures %d, want %d", i, r.Failures, s.failure)
				}
			}
		})
	}
}

func TestRunTimesAndExitStatus(t *testing.T) {
	r := New("job", "r1", Params{}, t0)
	task := r.Launch("a1", "h1", t0.Add(time.Second))
	code := 3
	r.Update(TaskUpdate{ID: task.ID, State: mesos.TaskState_TASK_FAILED, ExitStatus: &code, Message: "exit 3"}, t0.Add(5*time.Second), delay)
	code = 4 // the run keeps its own copy
	got := r.Tasks[0]
	if got.ExitStatus == nil || *got.ExitStatus != 3 || got.Message != "exit 3" {
		t.Fatalf("task = %+v", got)
	}
	if !got.StartedAt.Equal(t0.Add(time.Second)) || got.CompletedAt == nil || !got.CompletedAt.Equal(t0.Add(5*time.Second)) {
		t.Fatalf("task times = %v %v", got.StartedAt, got.CompletedAt)
	}
	if r.CompletedAt == nil || !r.CompletedAt.Equal(t0.Add(5*time.Second)) {
		t.Fatalf("run completed at %v", r.CompletedAt)
	}
	if r.Reason != "TASK_FAILED: task job_r1.1 TASK_FAILED: exit 3" {
		t.Fatalf("reason %q", r.Reason)
	}
}

func TestRunWake(t *testing.T) {
	tests := []struct {
		name   string
		params Params
		fail   bool
		want   time.Time
	}{
		{"nothing to wait for", Params{}, false, time.Time{}},
		{"deadline", Params{ActiveDeadline: time.Hour}, false, t0.Add(time.Hour)},
		{"back-off before deadline", Params{ActiveDeadline: time.Hour, RetryOnFailure: true}, true, t0.Add(time.Second)},
		{"back-off only", Params{RetryOnFailure: true}, true, t0.Add(time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New("job", "r1", tt.params, t0)
			task := r.Launch("a1", "h1", t0)
			if tt.fail {
				r.Update(TaskUpdate{ID: task.ID, State: mesos.TaskState_TASK_FAILED}, t0, delay)
			}
			if got := r.Wake(); !got.Equal(tt.want) {
				t.Fatalf("wake %v, want %v", got, tt.want)
			}
		})
	}
}

func TestForget(t *testing.T) {
	r := New("job", "r1", Params{}, t0)
	task := r.Launch("a1", "h1", t0)
	r.Forget(task.ID)
	if r.Status != Initial || r.Wants(t0) != 1 || len(r.Tasks) != 0 {
		t.Fatalf("after forget: %s wants %d tasks %d", r.Status, r.Wants(t0), len(r.Tasks))
	}
	if next := r.Launch("a1", "h1", t0); next.ID != id(2) {
		t.Fatalf("next task id %s, want %s (ids are never reused)", next.ID, id(2))
	}
}

func TestParseTaskID(t *testing.T) {
	tests := []struct {
		in       string
		job, run string
		ok       bool
	}{
		{TaskID("prod.backup", "20260102030405abcde", 7), "prod.backup", "20260102030405abcde", true},
		{"a_b_c.1", "a_b", "c", true},
		{"nodot", "", "", false},
		{"_r.1", "", "", false},
		{"job_.1", "", "", false},
		{"job.1", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			job, run, ok := ParseTaskID(tt.in)
			if job != tt.job || run != tt.run || ok != tt.ok {
				t.Fatalf("ParseTaskID(%q) = %q %q %v, want %q %q %v", tt.in, job, run, ok, tt.job, tt.run, tt.ok)
			}
		})
	}
}

func TestCloneIsDeep(t *testing.T) {
	r := New("job", "r1", Params{}, t0)
	task := r.Launch("a1", "h1", t0)
	c := r.Clone()
	r.Update(TaskUpdate{ID: task.ID, State: mesos.TaskState_TASK_RUNNING}, t0, delay)
	if got := c.Task(task.ID); got == nil || got.Status != "TASK_STAGING" || c.Status != Starting {
		t.Fatalf("the clone changed with the run: %+v %s", got, c.Status)
	}
}
