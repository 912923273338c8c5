package agent

import (
	"os"
	"strings"
	"testing"

	"github.com/agoracluster/agora/agent/gpu"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
)

// TestRealGPUTask runs process tasks on the host's real GPUs: one with gpus:1 sees exactly
// its GPU (environment, and where the agent has device control, only its /dev/nvidiaN opens),
// one without sees none. It runs only with AGORA_TEST_REAL_GPU=1 (as root, on a host with
// nvidia-smi), and then a host without GPUs fails it. It needs no source tree:
//
//	CGO_ENABLED=0 go test -c -o bin/agent.test ./agent/
//	AGORA_TEST_REAL_GPU=1 bin/agent.test -test.run TestRealGPUTask -test.v
func TestRealGPUTask(t *testing.T) {
	if os.Getenv("AGORA_TEST_REAL_GPU") != "1" {
		t.Skip("AGORA_TEST_REAL_GPU=1 runs it on a host with NVIDIA GPUs")
	}
	fm := newFakeMaster(t)
	ta := startAgent(t, fm.addr(), func(c *Config) {
		c.ExecutorHost = true // the real command executor, running shell commands
		c.GPUDetector = gpu.SMI{}
	})
	waitSubscribed(t, fm, 1)
	devs := ta.a.gpus.Devices()
	if len(devs) == 0 {
		t.Fatal("the agent found no GPU on a host said to have one")
	}
	for _, d := range devs {
		t.Logf("agent GPU: %s", d)
	}
	info := fm.subscriptions()[0].GetSubscribe().GetAgentInfo()
	offered, _ := resources.FromProto(info.GetResources())
	t.Logf("agent resources: %s", offered)
	if offered.Scalar("gpus") != float64(len(devs)) {
		t.Fatalf("agent resources %s, want gpus:%d", offered, len(devs))
	}
	control := ta.a.iso.DeviceControl()
	t.Logf("device cgroup control: %v", control)

	const script = `echo "nvidia=$NVIDIA_VISIBLE_DEVICES cuda=$CUDA_VISIBLE_DEVICES"; cat /proc/self/cgroup
for d in /dev/nvidia[0-9]*; do if dd if="$d" of=/dev/null count=0 2>/dev/null; then echo "open $d"; else echo "denied $d"; fi; done
nvidia-smi -L 2>&1 || true`
	fm.send(runTask("fw-1", gpuTask("gpu", script, "cpus:0.1;mem:64;gpus:1")))
	fm.waitState(t, "gpu", mesos.TaskState_TASK_FINISHED)
	out := taskStdout(t, ta, "gpu")
	t.Logf("task with gpus:1:\n%s", out)
	mine := devs[0]
	if !strings.Contains(out, "nvidia="+mine.UUID+" cuda="+mine.UUID+"\n") {
		t.Errorf("the gpus:1 task did not get %s in NVIDIA_VISIBLE_DEVICES/CUDA_VISIBLE_DEVICES", mine.UUID)
	}
	if !strings.Contains(out, "open "+mine.Path) {
		t.Errorf("the gpus:1 task could not open its %s", mine.Path)
	}
	for _, d := range devs[1:] {
		if control && !strings.Contains(out, "denied "+d.Path) {
			t.Errorf("the gpus:1 task could open %s, which it does not hold", d.Path)
		}
	}

	fm.send(runTask("fw-1", gpuTask("plain", script, "cpus:0.1;mem:64")))
	fm.waitState(t, "plain", mesos.TaskState_TASK_FINISHED)
	out = taskStdout(t, ta, "plain")
	t.Logf("task without gpus:\n%s", out)
	if !strings.Contains(out, "nvidia=void cuda=\n") {
		t.Errorf("the task without gpus was not given NVIDIA_VISIBLE_DEVICES=void CUDA_VISIBLE_DEVICES=")
	}
	for _, d := range devs {
		if control && !strings.Contains(out, "denied "+d.Path) {
			t.Errorf("the task without gpus could open %s", d.Path)
		}
	}
	if ta.a.gpus.Free() != len(devs) {
		// The containers ended; their GPUs must come back.
		t.Logf("free GPUs right after the tasks: %d of %d", ta.a.gpus.Free(), len(devs))
	}
}
