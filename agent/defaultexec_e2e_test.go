package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/internal/poll"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// groupTask is a shell task of a task group that mounts the executor's "shared" ephemeral
// volume at "data" (SANDBOX_PATH, PARENT), as Marathon's pods do.
func groupTask(id, shell string) *mesos.TaskInfo {
	return &mesos.TaskInfo{
		Name:    proto.String(id),
		TaskId:  &mesos.TaskID{Value: proto.String(id)},
		AgentId: &mesos.AgentID{Value: proto.String(testAgentID)},
		Command: &mesos.CommandInfo{Shell: proto.Bool(true), Value: proto.String(shell)},
		Container: &mesos.ContainerInfo{Type: mesos.ContainerInfo_MESOS.Enum(), Volumes: []*mesos.Volume{{
			Mode: mesos.Volume_RW.Enum(), ContainerPath: proto.String("data"),
			Source: &mesos.Volume_Source{Type: mesos.Volume_Source_SANDBOX_PATH.Enum(),
				SandboxPath: &mesos.Volume_Source_SandboxPath{Type: mesos.Volume_Source_SandboxPath_PARENT.Enum(), Path: proto.String("shared")}},
		}}},
	}
}

// defaultExecutorInfo is a DEFAULT executor (no command) with the ephemeral volume "shared".
func defaultExecutorInfo(id string) *mesos.ExecutorInfo {
	return &mesos.ExecutorInfo{
		Type:       mesos.ExecutorInfo_DEFAULT.Enum(),
		ExecutorId: &mesos.ExecutorID{Value: proto.String(id)},
		Container: &mesos.ContainerInfo{Type: mesos.ContainerInfo_MESOS.Enum(), Volumes: []*mesos.Volume{{
			Mode: mesos.Volume_RW.Enum(), ContainerPath: proto.String("shared"),
			Source: &mesos.Volume_Source{Type: mesos.Volume_Source_SANDBOX_PATH.Enum(),
				SandboxPath: &mesos.Volume_Source_SandboxPath{Type: mesos.Volume_Source_SandboxPath_SELF.Enum(), Path: proto.String("volumes/shared")}},
		}}},
	}
}

func runGroup(exInfo *mesos.ExecutorInfo, tasks ...*mesos.TaskInfo) *agorapb.AgentEvent {
	return &agorapb.AgentEvent{Type: agorapb.AgentEvent_RUN_TASK_GROUP.Enum(), RunTaskGroup: &agorapb.AgentEvent_RunTaskGroup{
		FrameworkInfo: frameworkInfo("fw-1"), Executor: exInfo, TaskGroup: &mesos.TaskGroupInfo{Tasks: tasks}}}
}

// TestRealDefaultExecutor runs task groups through `agora default-executor`: two tasks
// share the executor's ephemeral volume and both finish; in a second group a failing task
// takes its sibling down.
func TestRealDefaultExecutor(t *testing.T) {
	bin := agoraBinary(t)
	t.Cleanup(func() { os.RemoveAll(filepath.Dir(bin)) })
	fm := newFakeMaster(t)
	ta := startAgent(t, fm.addr(), func(c *Config) { c.ExecutorBinary = bin })
	waitSubscribed(t, fm, 1)

	fm.send(runGroup(defaultExecutorInfo("pod-1"),
		groupTask("writer", `echo "$MESOS_SANDBOX" > data/hello`),
		groupTask("reader", `for i in $(seq 100); do [ -s data/hello ] && cat data/hello && exit 0; sleep 0.1; done; exit 1`)))
	fm.waitState(t, "writer", mesos.TaskState_TASK_FINISHED)
	fm.waitState(t, "reader", mesos.TaskState_TASK_FINISHED)
	for _, id := range []string{"writer", "reader"} {
		if got := strings.Join(states(fm.updates(id)), ","); got != "TASK_STARTING,TASK_RUNNING,TASK_FINISHED" {
			t.Fatalf("%s: updates = %s", id, got)
		}
	}
	poll.Eventually(t, 20*time.Second, func() bool { return len(fm.callsOf(agorapb.AgentCall_EXECUTOR_EXITED)) == 1 }, "executor did not exit")
	st := getState(t, ta.url)
	dir := st.CompletedFrameworks[0].CompletedExecutors[0].Directory
	shared, err := os.ReadFile(filepath.Join(dir, "volumes", "shared", "hello"))
	if err != nil {
		t.Fatal(err)
	}
	// The writer's MESOS_SANDBOX is its own sandbox, tasks/<task_id>.
	if got, want := strings.TrimSpace(string(shared)), filepath.Join(dir, "tasks", "writer"); got != want {
		t.Fatalf("writer's MESOS_SANDBOX = %q, want %q", got, want)
	}
	out, err := os.ReadFile(filepath.Join(dir, "tasks", "reader", "stdout"))
	if err != nil || !strings.Contains(string(out), "tasks/writer") {
		t.Fatalf("reader's stdout = %q, %v", out, err)
	}

	fm.send(runGroup(defaultExecutorInfo("pod-2"),
		groupTask("fails", "sleep 0.5; exit 1"),
		groupTask("sibling", "sleep 60")))
	fm.waitState(t, "fails", mesos.TaskState_TASK_FAILED)
	fm.waitState(t, "sibling", mesos.TaskState_TASK_KILLED)
	if got := fm.updates("fails"); got[len(got)-1].GetMessage() != "Command exited with status 1" {
		t.Fatalf("failed task's message = %q", got[len(got)-1].GetMessage())
	}
	poll.Eventually(t, 20*time.Second, func() bool { return len(fm.callsOf(agorapb.AgentCall_EXECUTOR_EXITED)) == 2 }, "second executor did not exit")

	// A task whose health check fails is killed, and its group with it.
	web := groupTask("web", "sleep 60")
	web.HealthCheck = &mesos.HealthCheck{Type: mesos.HealthCheck_COMMAND.Enum(),
		Command:             &mesos.CommandInfo{Shell: proto.Bool(true), Value: proto.String("exit 1")},
		IntervalSeconds:     proto.Float64(0.2),
		ConsecutiveFailures: proto.Uint32(1)}
	fm.send(runGroup(defaultExecutorInfo("pod-3"), web, groupTask("web-sidecar", "sleep 60")))
	fm.waitState(t, "web", mesos.TaskState_TASK_KILLED)
	fm.waitState(t, "web-sidecar", mesos.TaskState_TASK_KILLED)
	if got := fm.updates("web"); got[len(got)-1].Healthy == nil || got[len(got)-1].GetHealthy() {
		t.Fatalf("terminal update of the unhealthy task: healthy = %v", got[len(got)-1].Healthy)
	}

	// KILL_TASK for one task kills it and its group; a second group on the same executor
	// (a later LAUNCH_GROUP) runs on until it is killed too.
	fm.send(runGroup(defaultExecutorInfo("pod-4"), groupTask("k1", "sleep 60"), groupTask("k2", "sleep 60")))
	fm.waitState(t, "k1", mesos.TaskState_TASK_RUNNING)
	fm.waitState(t, "k2", mesos.TaskState_TASK_RUNNING)
	fm.send(runGroup(defaultExecutorInfo("pod-4"), groupTask("k3", "sleep 60")))
	fm.waitState(t, "k3", mesos.TaskState_TASK_RUNNING)
	kill := func(id string) {
		fm.send(&agorapb.AgentEvent{Type: agorapb.AgentEvent_KILL_TASK.Enum(), KillTask: &agorapb.AgentEvent_KillTask{
			FrameworkId: frameworkInfo("fw-1").GetId(), TaskId: &mesos.TaskID{Value: proto.String(id)}}})
	}
	kill("k1")
	fm.waitState(t, "k1", mesos.TaskState_TASK_KILLED)
	fm.waitState(t, "k2", mesos.TaskState_TASK_KILLED)
	if s := states(fm.updates("k3")); s[len(s)-1] != "TASK_RUNNING" {
		t.Fatalf("k3 of another group: %v", s)
	}
	kill("k3")
	fm.waitState(t, "k3", mesos.TaskState_TASK_KILLED)
	poll.Eventually(t, 20*time.Second, func() bool { return len(fm.callsOf(agorapb.AgentCall_EXECUTOR_EXITED)) == 4 }, "executors did not exit")
}

// TestCustomExecutorWithoutCommandIsRefused: only a DEFAULT executor may come without a
// command; a CUSTOM one fails its task group at once.
func TestCustomExecutorWithoutCommandIsRefused(t *testing.T) {
	fm := newFakeMaster(t)
	startAgent(t, fm.addr(), nil)
	waitSubscribed(t, fm, 1)
	ex := defaultExecutorInfo("custom-1")
	ex.Type = mesos.ExecutorInfo_CUSTOM.Enum()
	fm.send(runGroup(ex, groupTask("c1", "true"), groupTask("c2", "true")))
	for _, id := range []string{"c1", "c2"} {
		fm.waitState(t, id, mesos.TaskState_TASK_FAILED)
		u := fm.updates(id)
		if got := u[len(u)-1]; got.GetReason() != mesos.TaskStatus_REASON_TASK_GROUP_INVALID || !strings.Contains(got.GetMessage(), "CUSTOM executor has no command") {
			t.Fatalf("%s: reason %v, message %q", id, got.GetReason(), got.GetMessage())
		}
	}
}
