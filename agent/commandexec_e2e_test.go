package agent

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agoracluster/agora/internal/poll"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

var (
	agoraMu  sync.Mutex
	agoraBin string
)

// agoraBinary builds the agora binary, once per test run while it is there (a test that
// removes it in its cleanup makes the next one build it again).
func agoraBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the agora binary")
	}
	agoraMu.Lock()
	defer agoraMu.Unlock()
	if agoraBin != "" {
		if _, err := os.Stat(agoraBin); err == nil {
			return agoraBin
		}
	}
	dir, err := os.MkdirTemp("", "agora-bin-")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "agora")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/agoracluster/agora/cmd/agora").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/agora: %v\n%s", err, out)
	}
	agoraBin = bin
	return bin
}

// TestRealCommandExecutor runs a command task through `agora executor`.
func TestRealCommandExecutor(t *testing.T) {
	bin := agoraBinary(t)
	t.Cleanup(func() { os.RemoveAll(filepath.Dir(bin)) })
	fm := newFakeMaster(t)
	ta := startAgent(t, fm.addr(), func(c *Config) { c.ExecutorBinary = bin })
	waitSubscribed(t, fm, 1)
	fm.send(runTask("fw-1", commandTask("echo", "echo hello-from-task")))
	fm.waitState(t, "echo", mesos.TaskState_TASK_FINISHED)
	if got := strings.Join(states(fm.updates("echo")), ","); got != "TASK_STARTING,TASK_RUNNING,TASK_FINISHED" {
		t.Fatalf("updates = %s", got)
	}
	poll.Eventually(t, 20*time.Second, func() bool { return len(fm.callsOf(agorapb.AgentCall_EXECUTOR_EXITED)) == 1 }, "executor did not exit")
	st := getState(t, ta.url)
	if len(st.CompletedFrameworks) != 1 {
		t.Fatalf("state = %+v", st)
	}
	dir := st.CompletedFrameworks[0].CompletedExecutors[0].Directory
	out, err := os.ReadFile(filepath.Join(dir, "stdout"))
	if err != nil || !strings.Contains(string(out), "hello-from-task") {
		t.Fatalf("stdout = %q, %v", out, err)
	}

	// A long task is killed through the executor.
	fm.send(runTask("fw-1", commandTask("sleep", "sleep 60")))
	fm.waitState(t, "sleep", mesos.TaskState_TASK_RUNNING)
	fm.send(&agorapb.AgentEvent{Type: agorapb.AgentEvent_KILL_TASK.Enum(), KillTask: &agorapb.AgentEvent_KillTask{
		FrameworkId: frameworkInfo("fw-1").GetId(), TaskId: commandTask("sleep", "").GetTaskId()}})
	fm.waitState(t, "sleep", mesos.TaskState_TASK_KILLED)
}
