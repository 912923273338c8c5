package integration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/integration/cluster"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
)

// podExecutor is a DEFAULT executor (no command: the agent runs its default executor) with
// the ephemeral volume "shared" in its sandbox.
func podExecutor(id string) *mesos.ExecutorInfo {
	return &mesos.ExecutorInfo{
		Type:       mesos.ExecutorInfo_DEFAULT.Enum(),
		ExecutorId: &mesos.ExecutorID{Value: proto.String(id)},
		Resources:  resources.MustParse("cpus:0.1;mem:32").ToProto(),
		Container: &mesos.ContainerInfo{Type: mesos.ContainerInfo_MESOS.Enum(), Volumes: []*mesos.Volume{{
			Mode: mesos.Volume_RW.Enum(), ContainerPath: proto.String("shared"),
			Source: &mesos.Volume_Source{Type: mesos.Volume_Source_SANDBOX_PATH.Enum(),
				SandboxPath: &mesos.Volume_Source_SandboxPath{Type: mesos.Volume_Source_SandboxPath_SELF.Enum(), Path: proto.String("volumes/shared")}},
		}}},
	}
}

// podTask is a shell task that sees the executor's shared volume at "data".
func podTask(id, cmd string) *mesos.TaskInfo {
	t := cluster.ShellTask(id, cmd, "cpus:0.1;mem:32")
	t.Container = &mesos.ContainerInfo{Type: mesos.ContainerInfo_MESOS.Enum(), Volumes: []*mesos.Volume{{
		Mode: mesos.Volume_RW.Enum(), ContainerPath: proto.String("data"),
		Source: &mesos.Volume_Source{Type: mesos.Volume_Source_SANDBOX_PATH.Enum(),
			SandboxPath: &mesos.Volume_Source_SandboxPath{Type: mesos.Volume_Source_SandboxPath_PARENT.Enum(), Path: proto.String("shared")}},
	}}}
	return t
}

// TestTaskGroupsOnTheDefaultExecutor launches task groups through the SDK with a real master
// and agent: two tasks sharing an ephemeral volume both finish (one writes a file, the other
// waits for it); in a group where one task exits 1, that task fails and its sibling is killed.
func TestTaskGroupsOnTheDefaultExecutor(t *testing.T) {
	c := cluster.New(t, cluster.Options{Agents: 1})
	f := c.StartFramework(cluster.FrameworkOptions{Name: "groups"})
	ctx := context.Background()

	f.LaunchGroup(ctx, podExecutor("pod-ok"),
		podTask("writer", "echo hello-from-writer > data/greeting"),
		podTask("reader", "for i in $(seq 200); do [ -s data/greeting ] && cat data/greeting && exit 0; sleep 0.1; done; exit 1"))
	for _, id := range []string{"writer", "reader"} {
		f.WaitState(id, mesos.TaskState_TASK_FINISHED, 60*time.Second)
		var states []string
		for _, u := range f.Updates(id) {
			states = append(states, u.GetState().String())
		}
		if got, want := strings.Join(states, ","), "TASK_STARTING,TASK_RUNNING,TASK_FINISHED"; got != want {
			t.Errorf("task %s updates = %s, want %s", id, got, want)
		}
	}
	// Each task has its own sandbox, tasks/<task_id> under the executor's.
	matches, _ := filepath.Glob(filepath.Join(c.Agents[0].WorkDir, "slaves", "*", "frameworks", "*", "executors", "pod-ok", "runs", "latest", "tasks", "reader", "stdout"))
	if len(matches) != 1 {
		t.Fatalf("reader's stdout: %d matches", len(matches))
	}
	if out, err := os.ReadFile(matches[0]); err != nil || !strings.Contains(string(out), "hello-from-writer") {
		t.Errorf("reader's stdout = %q, %v; want the writer's greeting", out, err)
	}

	f.LaunchGroup(ctx, podExecutor("pod-fails"),
		podTask("fails", "sleep 0.5; exit 1"),
		podTask("sibling", "sleep 600"))
	st := f.WaitState("fails", mesos.TaskState_TASK_FAILED, 60*time.Second)
	if !strings.Contains(st.GetMessage(), "status 1") {
		t.Errorf("failed task's message = %q, want it to name exit status 1", st.GetMessage())
	}
	f.WaitState("sibling", mesos.TaskState_TASK_KILLED, 60*time.Second)
}
