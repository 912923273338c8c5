package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agoracluster/agora/internal/poll"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// A restarted agent knows which GPUs its recovered containers hold (from the checkpoint) and
// never gives them to another container; they come back when the container ends.
func TestGPUsRecoveredAfterRestart(t *testing.T) {
	fm := newFakeMaster(t)
	cfg := testConfig(t, fm.addr())
	cfg.ExecutorHost = true
	cfg.Resources = "cpus:2;mem:1024;disk:1000;ports:[31000-31010];gpus:2"
	cfg.GPUDetector = fakeGPUs{devs: threeGPUs()}
	cfg.BootIDPath = filepath.Join(cfg.WorkDir, "boot_id")
	if err := os.WriteFile(cfg.BootIDPath, []byte("boot-1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run, addrOf := restartable(t, cfg)

	a, stop := run(false)
	waitSubscribed(t, fm, 1)
	fm.send(runTask("fw-1", gpuTask("survivor", "sleep 60", "cpus:0.1;mem:32;gpus:1")))
	fm.waitState(t, "survivor", mesos.TaskState_TASK_RUNNING)
	if a.gpus.Free() != 1 {
		t.Fatalf("free GPUs = %d, want 1", a.gpus.Free())
	}
	stop()

	a, _ = run(true)
	waitSubscribed(t, fm, 2)
	if a.gpus.Free() != 1 {
		t.Fatalf("free GPUs after the restart = %d, want 1", a.gpus.Free())
	}
	fm.send(runTask("fw-1", gpuTask("newcomer", `echo "nvidia=$NVIDIA_VISIBLE_DEVICES"`, "cpus:0.1;mem:32;gpus:1")))
	fm.waitState(t, "newcomer", mesos.TaskState_TASK_FINISHED)
	ta := &testAgent{a: a, url: "http://" + addrOf()}
	if out := taskStdout(t, ta, "newcomer"); !strings.Contains(out, "nvidia=GPU-b") {
		t.Fatalf("newcomer saw %q, want GPU-b (GPU-a is the survivor's)", out)
	}
	fm.send(&agorapb.AgentEvent{Type: agorapb.AgentEvent_KILL_TASK.Enum(), KillTask: &agorapb.AgentEvent_KillTask{
		FrameworkId: frameworkInfo("fw-1").GetId(), TaskId: commandTask("survivor", "").GetTaskId()}})
	fm.waitState(t, "survivor", mesos.TaskState_TASK_KILLED)
	poll.Eventually(t, 10*time.Second, func() bool { return a.gpus.Free() == 2 }, "GPUs not freed: %d free", a.gpus.Free())
}
