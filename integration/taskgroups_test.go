package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/frameworks/marathon/pod"
	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/internal/poll"
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

// TestPodInstanceAsATaskGroup runs one instance of a two-container Marathon pod (a web
// server and a sidecar reading the volume they share) as the task group marathon/pod makes
// of it, through the SDK on a real master and agent.
func TestPodInstanceAsATaskGroup(t *testing.T) {
	c := cluster.New(t, cluster.Options{Agents: 1})
	f := c.StartFramework(cluster.FrameworkOptions{Name: "pods"})
	p, err := pod.Decode([]byte(`{
	  "id": "/web",
	  "volumes": [{"name": "shared"}],
	  "containers": [
	    {"name": "server", "resources": {"cpus": 0.1, "mem": 32},
	     "exec": {"command": {"shell": "echo served-page > www/index.html; exec sleep 600"}},
	     "volumeMounts": [{"name": "shared", "mountPath": "www"}],
	     "healthCheck": {"exec": {"command": {"shell": "test -s www/index.html"}}, "intervalSeconds": 1, "gracePeriodSeconds": 0, "delaySeconds": 0}},
	    {"name": "sidecar", "resources": {"cpus": 0.1, "mem": 32},
	     "exec": {"command": {"shell": "for i in $(seq 200); do [ -s content/index.html ] && cat content/index.html && exit 0; sleep 0.1; done; exit 1"}},
	     "volumeMounts": [{"name": "shared", "mountPath": "content"}]}
	  ]}`))
	if err != nil {
		t.Fatal(err)
	}
	ex, tasks, err := pod.TaskGroup(p, pod.Instance{ID: "web.instance-1", Host: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	f.LaunchGroup(context.Background(), ex, tasks...)
	f.WaitState("web.instance-1.sidecar", mesos.TaskState_TASK_FINISHED, 60*time.Second)
	poll.Eventually(t, 30*time.Second, func() error {
		if st := f.Latest("web.instance-1.server"); st == nil || st.Healthy == nil || !st.GetHealthy() {
			return fmt.Errorf("server not reported healthy: %v", st)
		}
		return nil
	})
	if st := f.Latest("web.instance-1.server"); st.GetState() != mesos.TaskState_TASK_RUNNING {
		t.Fatalf("server = %v, want it still running once its sidecar finished", st.GetState())
	}
}

// TestDefaultExecutorSurvivesAgentRestart: an agent SIGKILLed under a running task group
// comes back, recovers the default executor (it re-subscribes) and its tasks run on in the
// same processes, with no status but STARTING/RUNNING; a kill afterwards still reaches them.
func TestDefaultExecutorSurvivesAgentRestart(t *testing.T) {
	c := cluster.New(t, cluster.Options{Agents: 1})
	f := c.StartFramework(cluster.FrameworkOptions{Name: "group-recovery", FailoverTimeout: 600})
	ctx := context.Background()
	f.LaunchGroup(ctx, podExecutor("pod-recover"),
		podTask("g-a", `echo $$ > "$MESOS_SANDBOX/task.pid"; exec sleep 600`),
		podTask("g-b", `echo $$ > "$MESOS_SANDBOX/task.pid"; exec sleep 600`))
	pids := map[string]int{}
	for _, id := range []string{"g-a", "g-b"} {
		f.WaitState(id, mesos.TaskState_TASK_RUNNING, 60*time.Second)
		poll.Eventually(t, 30*time.Second, func() error {
			matches, _ := filepath.Glob(filepath.Join(c.Agents[0].WorkDir, "slaves", "*", "frameworks", "*", "executors", "pod-recover", "runs", "latest", "tasks", id, "task.pid"))
			if len(matches) != 1 {
				return fmt.Errorf("task %s: %d task.pid files", id, len(matches))
			}
			b, err := os.ReadFile(matches[0])
			if err != nil {
				return err
			}
			var pid int
			if _, err := fmt.Sscan(string(b), &pid); err != nil {
				return err
			}
			pids[id] = pid
			t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
			return nil
		}, "task.pid of %s", id)
	}

	agent := c.Agents[0]
	agent.Signal(syscall.SIGKILL)
	agent.Wait(10 * time.Second)
	agent.Restart()
	poll.Eventually(t, 60*time.Second, func() error {
		active, _, err := agentIDs(c)
		if err != nil || len(active) != 1 {
			return fmt.Errorf("active agents %v (%v)", active, err)
		}
		return nil
	}, "the agent re-registered")
	for id, pid := range pids {
		if !processAlive(pid) {
			t.Errorf("task %s: process %d is gone after the agent restart", id, pid)
		}
		for _, u := range f.Updates(id) {
			if s := u.GetState(); s != mesos.TaskState_TASK_STARTING && s != mesos.TaskState_TASK_RUNNING {
				t.Errorf("task %s got %v (%q) across the agent restart", id, s, u.GetMessage())
			}
		}
	}
	// The recovered executor still takes kills: the group's other task goes with it.
	if err := f.S.Kill(ctx, &mesos.TaskID{Value: proto.String("g-a")}, f.Latest("g-a").GetAgentId()); err != nil {
		t.Fatal(err)
	}
	f.WaitState("g-a", mesos.TaskState_TASK_KILLED, 60*time.Second)
	f.WaitState("g-b", mesos.TaskState_TASK_KILLED, 60*time.Second)
}
