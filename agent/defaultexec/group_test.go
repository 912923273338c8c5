package defaultexec

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func taskInfo(id string, health bool, grace time.Duration) *mesos.TaskInfo {
	ti := &mesos.TaskInfo{Name: proto.String(id), TaskId: &mesos.TaskID{Value: proto.String(id)}}
	if health {
		ti.HealthCheck = &mesos.HealthCheck{Type: mesos.HealthCheck_COMMAND.Enum()}
	}
	if grace > 0 {
		ti.KillPolicy = &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: proto.Int64(int64(grace))}}
	}
	return ti
}

// render writes actions one per line, the way the tests compare them.
func render(actions []Action) string {
	var b strings.Builder
	for _, a := range actions {
		switch a.Kind {
		case SendUpdate:
			u := a.Update
			if u.HealthUpdate {
				fmt.Fprintf(&b, "update %s healthy=%v\n", u.TaskID, *u.Healthy)
				continue
			}
			fmt.Fprintf(&b, "update %s %s", u.TaskID, strings.TrimPrefix(u.State.String(), "TASK_"))
			if u.Message != "" {
				fmt.Fprintf(&b, " %q", u.Message)
			}
			if u.Healthy != nil {
				fmt.Fprintf(&b, " healthy=%v", *u.Healthy)
			}
			b.WriteString("\n")
		case StartTask:
			fmt.Fprintf(&b, "start %s\n", a.TaskID)
		case StartHealthCheck:
			fmt.Fprintf(&b, "health-start %s\n", a.TaskID)
		case StopHealthCheck:
			fmt.Fprintf(&b, "health-stop %s\n", a.TaskID)
		case TerminateTask:
			fmt.Fprintf(&b, "sigterm %s grace=%v\n", a.TaskID, a.Grace)
		case KillTask:
			fmt.Fprintf(&b, "sigkill %s\n", a.TaskID)
		case Exit:
			b.WriteString("exit\n")
		}
	}
	return b.String()
}

func lines(s ...string) string { return strings.Join(s, "\n") + "\n" }

// launched returns a core running the tasks of one group, each started successfully.
func launched(t *testing.T, tasks ...*mesos.TaskInfo) *Core {
	t.Helper()
	c := NewCore(3*time.Second, 3*time.Second)
	for _, a := range c.Launch(tasks) {
		if a.Kind == StartTask {
			c.Started(a.TaskID, nil, t0)
		}
	}
	return c
}

func TestLaunchStartsEveryTaskOfTheGroup(t *testing.T) {
	c := NewCore(3*time.Second, 3*time.Second)
	got := render(c.Launch([]*mesos.TaskInfo{taskInfo("web", true, 0), taskInfo("sidecar", false, 0)}))
	want := lines("update web STARTING", "start web", "update sidecar STARTING", "start sidecar")
	if got != want {
		t.Fatalf("launch:\n%s\nwant:\n%s", got, want)
	}
	if got, want := render(c.Started("web", nil, t0)), lines("update web RUNNING", "health-start web"); got != want {
		t.Fatalf("started web:\n%s\nwant:\n%s", got, want)
	}
	if got, want := render(c.Started("sidecar", nil, t0)), lines("update sidecar RUNNING"); got != want {
		t.Fatalf("started sidecar:\n%s\nwant:\n%s", got, want)
	}
	if c.Active() != 2 {
		t.Fatalf("active = %d, want 2", c.Active())
	}
}

func TestGroupFinishesWhenEveryTaskExitsZero(t *testing.T) {
	c := launched(t, taskInfo("a", false, 0), taskInfo("b", false, 0))
	if got, want := render(c.Exited("a", true, "Command exited with status 0", t0)), lines(`update a FINISHED "Command exited with status 0"`); got != want {
		t.Fatalf("a exits:\n%s\nwant:\n%s", got, want)
	}
	if got, want := render(c.Exited("b", true, "Command exited with status 0", t0)), lines(`update b FINISHED "Command exited with status 0"`, "exit"); got != want {
		t.Fatalf("b exits:\n%s\nwant:\n%s", got, want)
	}
}

func TestFailedTaskKillsTheRestOfItsGroupOnly(t *testing.T) {
	c := launched(t, taskInfo("a", false, 0), taskInfo("b", true, 5*time.Second))
	for _, a := range c.Launch([]*mesos.TaskInfo{taskInfo("other", false, 0)}) {
		if a.Kind == StartTask {
			c.Started(a.TaskID, nil, t0)
		}
	}
	got := render(c.Exited("a", false, "Command exited with status 1", t0))
	want := lines(`update a FAILED "Command exited with status 1"`, "health-stop b", "sigterm b grace=5s")
	if got != want {
		t.Fatalf("a fails:\n%s\nwant:\n%s", got, want)
	}
	if got, want := render(c.Exited("b", false, "Command terminated with signal Terminated", t0.Add(time.Second))),
		lines(`update b KILLED "Command terminated with signal Terminated"`); got != want {
		t.Fatalf("b ends:\n%s\nwant:\n%s", got, want)
	}
	if c.Active() != 1 {
		t.Fatalf("the other group's task must keep running; active = %d", c.Active())
	}
}

func TestKillOfOneTaskKillsItsGroup(t *testing.T) {
	c := launched(t, taskInfo("a", false, 0), taskInfo("b", false, 0))
	c.KillingState = true
	acts, ok := c.Kill("a", &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: proto.Int64(int64(time.Second))}}, t0)
	if !ok {
		t.Fatal("kill of a running task refused")
	}
	if got, want := render(acts), lines("update a KILLING", "sigterm a grace=1s"); got != want {
		t.Fatalf("kill:\n%s\nwant:\n%s", got, want)
	}
	got := render(c.Exited("a", false, "Command terminated with signal Terminated", t0))
	want := lines(`update a KILLED "Command terminated with signal Terminated"`, "update b KILLING", "sigterm b grace=3s")
	if got != want {
		t.Fatalf("a ends:\n%s\nwant:\n%s", got, want)
	}
	if _, ok := c.Kill("a", nil, t0); ok {
		t.Fatal("kill of an ended task accepted")
	}
	if _, ok := c.Kill("nope", nil, t0); ok {
		t.Fatal("kill of an unknown task accepted")
	}
}

func TestKillEscalatesAfterGraceAndASecondKillShortensIt(t *testing.T) {
	c := launched(t, taskInfo("a", false, 10*time.Second))
	c.Kill("a", nil, t0)
	if next, ok := c.NextDeadline(); !ok || !next.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("deadline = %v %v, want t0+10s", next, ok)
	}
	c.Kill("a", &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: proto.Int64(int64(2 * time.Second))}}, t0.Add(time.Second))
	if got := render(c.Tick(t0.Add(2 * time.Second))); got != "" {
		t.Fatalf("tick before the deadline: %s", got)
	}
	if got, want := render(c.Tick(t0.Add(3*time.Second))), lines("sigkill a"); got != want {
		t.Fatalf("tick at the deadline:\n%s\nwant:\n%s", got, want)
	}
	if got := render(c.Tick(t0.Add(4 * time.Second))); got != "" {
		t.Fatalf("SIGKILL sent twice: %s", got)
	}
	if _, ok := c.NextDeadline(); ok {
		t.Fatal("a deadline is left after escalation")
	}
}

func TestUnhealthyTaskIsKilledAndTakesItsGroup(t *testing.T) {
	c := launched(t, taskInfo("web", true, 0), taskInfo("sidecar", false, 0))
	if got, want := render(c.Health("web", true, false, t0)), lines("update web healthy=true"); got != want {
		t.Fatalf("healthy:\n%s\nwant:\n%s", got, want)
	}
	got := render(c.Health("web", false, true, t0))
	want := lines("update web healthy=false", "health-stop web", "sigterm web grace=3s")
	if got != want {
		t.Fatalf("unhealthy:\n%s\nwant:\n%s", got, want)
	}
	if got := render(c.Health("web", false, true, t0)); got != "" {
		t.Fatalf("a late result after the kill: %s", got)
	}
	got = render(c.Exited("web", false, "Command terminated with signal Terminated", t0))
	want = lines(`update web KILLED "Command terminated with signal Terminated" healthy=false`, "sigterm sidecar grace=3s")
	if got != want {
		t.Fatalf("web ends:\n%s\nwant:\n%s", got, want)
	}
}

func TestStartFailureFailsTheTaskAndKillsTheGroup(t *testing.T) {
	c := NewCore(3*time.Second, 3*time.Second)
	var out []Action
	for _, a := range c.Launch([]*mesos.TaskInfo{taskInfo("a", false, 0), taskInfo("b", false, 0)}) {
		if a.Kind != StartTask {
			continue
		}
		var err error
		if a.TaskID == "a" {
			err = errors.New("no such file")
		}
		out = append(out, c.Started(a.TaskID, err, t0)...)
	}
	got := render(out)
	// b was still starting when a failed: it is terminated as soon as it runs.
	want := lines(`update a FAILED "Failed to launch task: no such file"`, "sigterm b grace=3s")
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestShutdownKillsEveryTaskThenExits(t *testing.T) {
	c := launched(t, taskInfo("a", false, 10*time.Second), taskInfo("b", false, time.Second))
	c.ShutdownGrace = 2 * time.Second
	if got, want := render(c.Shutdown(t0)), lines("sigterm a grace=2s", "sigterm b grace=1s"); got != want {
		t.Fatalf("shutdown:\n%s\nwant:\n%s", got, want)
	}
	c.Exited("a", false, "", t0)
	got := render(c.Exited("b", false, "", t0))
	if !strings.HasSuffix(got, "exit\n") || strings.Contains(got, "sigterm") {
		t.Fatalf("last task's end on shutdown: %s", got)
	}
	if got := render(c.Launch([]*mesos.TaskInfo{taskInfo("late", false, 0)})); got != lines(`update late FAILED "Executor is shutting down"`) {
		t.Fatalf("launch after shutdown: %s", got)
	}
}

func TestShutdownWithoutTasksExitsAtOnce(t *testing.T) {
	c := NewCore(3*time.Second, 3*time.Second)
	if got := render(c.Shutdown(t0)); got != lines("exit") {
		t.Fatalf("shutdown: %s", got)
	}
}

func TestRepeatedTaskIDIsIgnored(t *testing.T) {
	c := launched(t, taskInfo("a", false, 0))
	acts := c.Launch([]*mesos.TaskInfo{taskInfo("a", false, 0), taskInfo("b", false, 0)})
	if slices.ContainsFunc(acts, func(a Action) bool { return a.TaskID == "a" }) {
		t.Fatalf("a repeated task id was launched again: %s", render(acts))
	}
	if !c.Known("b") {
		t.Fatal("b not launched")
	}
}
