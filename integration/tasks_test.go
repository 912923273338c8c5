package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/internal/poll"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"google.golang.org/protobuf/proto"
)

// TestHundredTasksFinish launches 100 command tasks through the SDK; all of them finish.
func TestHundredTasksFinish(t *testing.T) {
	c := cluster.New(t, cluster.Options{Agents: 1})
	f := c.StartFramework(cluster.FrameworkOptions{Name: "hundred"})
	ctx := context.Background()
	const n = 100
	for i := 0; i < n; i++ {
		f.Launch(ctx, cluster.ShellTask(fmt.Sprintf("t-%03d", i), "echo hello from $MESOS_TASK_ID", "cpus:0.05;mem:16"))
	}
	poll.Eventually(t, 90*time.Second, func() error {
		if got := f.CountLatest(mesos.TaskState_TASK_FINISHED); got < n {
			return fmt.Errorf("%d of %d tasks finished (failed: %d)", got, n, f.CountLatest(mesos.TaskState_TASK_FAILED))
		}
		return nil
	})
	// Every task went through STARTING and RUNNING before FINISHED, in order.
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("t-%03d", i)
		var states []string
		for _, u := range f.Updates(id) {
			states = append(states, u.GetState().String())
		}
		if got, want := strings.Join(states, ","), "TASK_STARTING,TASK_RUNNING,TASK_FINISHED"; got != want {
			t.Errorf("task %s updates = %s, want %s", id, got, want)
		}
	}
	// The task's stdout landed in its sandbox.
	out := sandboxFile(t, c.Agents[0].WorkDir, "t-007", "stdout")
	if !strings.Contains(out, "hello from t-007") {
		t.Errorf("stdout of t-007 = %q, want it to contain the task's echo", out)
	}
}

// TestFailingTaskReportsExitStatus: a command exiting 3 ends TASK_FAILED naming the status.
func TestFailingTaskReportsExitStatus(t *testing.T) {
	c := cluster.New(t, cluster.Options{Agents: 1})
	f := c.StartFramework(cluster.FrameworkOptions{Name: "failing"})
	f.Launch(context.Background(), cluster.ShellTask("fails", "echo oops >&2; exit 3", "cpus:0.1;mem:32"))
	st := f.WaitState("fails", mesos.TaskState_TASK_FAILED, 30*time.Second)
	if !strings.Contains(st.GetMessage(), "status 3") {
		t.Errorf("message = %q, want it to name exit status 3", st.GetMessage())
	}
	if err := sandboxFileContains(c.Agents[0].WorkDir, "fails", "stderr", "oops"); err != nil {
		t.Error(err)
	}
}

// TestKillHonoursGracePeriod: a task that handles SIGTERM exits cleanly within its grace
// period; one that ignores SIGTERM is killed with SIGKILL once the grace period ends.
func TestKillHonoursGracePeriod(t *testing.T) {
	c := cluster.New(t, cluster.Options{Agents: 1})
	f := c.StartFramework(cluster.FrameworkOptions{Name: "killer"})
	ctx := context.Background()

	graceful := cluster.ShellTask("graceful", `trap 'echo got-term; exit 0' TERM; echo started; while true; do sleep 0.05; done`, "cpus:0.1;mem:32")
	graceful.KillPolicy = &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: proto.Int64(int64(30 * time.Second))}}
	stubborn := cluster.ShellTask("stubborn", `trap '' TERM; echo started; while true; do sleep 0.05; done`, "cpus:0.1;mem:32")
	stubborn.KillPolicy = &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: proto.Int64(int64(time.Second))}}
	f.Launch(ctx, graceful, stubborn)

	for _, id := range []string{"graceful", "stubborn"} {
		st := f.WaitState(id, mesos.TaskState_TASK_RUNNING, 30*time.Second)
		poll.Eventually(t, 10*time.Second, func() error {
			return sandboxFileContains(c.Agents[0].WorkDir, id, "stdout", "started")
		})
		if err := f.S.Kill(ctx, st.GetTaskId(), st.GetAgentId()); err != nil {
			t.Fatalf("kill %s: %v", id, err)
		}
	}
	f.WaitState("graceful", mesos.TaskState_TASK_KILLED, 20*time.Second)
	if err := sandboxFileContains(c.Agents[0].WorkDir, "graceful", "stdout", "got-term"); err != nil {
		t.Errorf("graceful task did not see SIGTERM: %v", err)
	}
	// The stubborn task ignores SIGTERM: only the SIGKILL after its 1s grace period ends it.
	f.WaitState("stubborn", mesos.TaskState_TASK_KILLED, 20*time.Second)
}

// TestHealthCheckKillsUnhealthyTask: a task whose command health check keeps failing is
// reported unhealthy and killed.
func TestHealthCheckKillsUnhealthyTask(t *testing.T) {
	c := cluster.New(t, cluster.Options{Agents: 1})
	f := c.StartFramework(cluster.FrameworkOptions{Name: "health"})
	task := cluster.ShellTask("sick", "sleep 1000", "cpus:0.1;mem:32")
	task.HealthCheck = &mesos.HealthCheck{
		Type:                mesos.HealthCheck_COMMAND.Enum(),
		Command:             &mesos.CommandInfo{Shell: proto.Bool(true), Value: proto.String("exit 1")},
		DelaySeconds:        proto.Float64(0),
		IntervalSeconds:     proto.Float64(0.2),
		TimeoutSeconds:      proto.Float64(5),
		GracePeriodSeconds:  proto.Float64(0),
		ConsecutiveFailures: proto.Uint32(3),
	}
	f.Launch(context.Background(), task)
	st := f.WaitState("sick", mesos.TaskState_TASK_KILLED, 60*time.Second)
	if st.Healthy == nil || st.GetHealthy() {
		t.Errorf("final update healthy = %v, want false", st.Healthy)
	}
	sawUnhealthy := false
	for _, u := range f.Updates("sick") {
		if u.Healthy != nil && !u.GetHealthy() {
			sawUnhealthy = true
		}
	}
	if !sawUnhealthy {
		t.Error("no update reported the task unhealthy")
	}
}

// sandboxFile reads a file of the latest run of a command task's executor (executor id =
// task id) under an agent's work dir.
func sandboxFile(t *testing.T, agentWorkDir, taskID, name string) string {
	t.Helper()
	path, err := findSandboxFile(agentWorkDir, taskID, name)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sandboxFileContains(agentWorkDir, taskID, name, want string) error {
	path, err := findSandboxFile(agentWorkDir, taskID, name)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !strings.Contains(string(b), want) {
		return fmt.Errorf("%s of %s = %q, want it to contain %q", name, taskID, b, want)
	}
	return nil
}

func findSandboxFile(agentWorkDir, taskID, name string) (string, error) {
	pattern := filepath.Join(agentWorkDir, "slaves", "*", "frameworks", "*", "executors", taskID, "runs", "latest", name)
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return "", err
	}
	if len(matches) != 1 {
		return "", fmt.Errorf("sandbox file %s: %d matches for %s", name, len(matches), pattern)
	}
	return matches[0], nil
}
