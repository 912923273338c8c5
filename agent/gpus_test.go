package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/agent/gpu"
	"github.com/agoracluster/agora/internal/poll"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
)

// fakeGPUs is a gpu.Detector with canned devices (none for the zero value).
type fakeGPUs struct {
	devs []gpu.Device
	err  error
}

func (f fakeGPUs) Detect(context.Context) ([]gpu.Device, error) { return f.devs, f.err }

// threeGPUs are devices whose numbers no host has (195:250…), so denying them harms nothing.
func threeGPUs() []gpu.Device {
	var out []gpu.Device
	for i, u := range []string{"GPU-a", "GPU-b", "GPU-c"} {
		out = append(out, gpu.Device{Index: i, UUID: u, Name: "Fake", MemoryMiB: 1024, Path: "/dev/nvidia" + string(rune('0'+i)), Major: 195, Minor: int64(250 + i)})
	}
	return out
}

func TestDetectGPUs(t *testing.T) {
	tests := []struct {
		name      string
		resources string
		devices   string
		detector  fakeGPUs
		want      []string // UUIDs
		wantErr   string
	}{
		{name: "none", detector: fakeGPUs{}},
		{name: "all detected", detector: fakeGPUs{devs: threeGPUs()}, want: []string{"GPU-a", "GPU-b", "GPU-c"}},
		{name: "first N", resources: "cpus:1;gpus:2", detector: fakeGPUs{devs: threeGPUs()}, want: []string{"GPU-a", "GPU-b"}},
		{name: "gpus:0", resources: "gpus:0", detector: fakeGPUs{devs: threeGPUs()}},
		{name: "listed", devices: "2,0", detector: fakeGPUs{devs: threeGPUs()}, want: []string{"GPU-c", "GPU-a"}},
		{name: "listed and counted", resources: "gpus:1", devices: "[1]", detector: fakeGPUs{devs: threeGPUs()}, want: []string{"GPU-b"}},
		{name: "more than the host has", resources: "gpus:4", detector: fakeGPUs{devs: threeGPUs()}, wantErr: "this host has 3 GPUs"},
		{name: "gpus on a host without", resources: "gpus:1", detector: fakeGPUs{}, wantErr: "this host has 0 GPUs"},
		{name: "fractional", resources: "gpus:1.5", detector: fakeGPUs{devs: threeGPUs()}, wantErr: "whole number"},
		{name: "count mismatch", resources: "gpus:2", devices: "0", detector: fakeGPUs{devs: threeGPUs()}, wantErr: "does not match"},
		{name: "unknown index", devices: "0,3", detector: fakeGPUs{devs: threeGPUs()}, wantErr: "GPU 3 does not exist"},
		{name: "bad index", devices: "zero", detector: fakeGPUs{devs: threeGPUs()}, wantErr: "not a GPU index"},
		{name: "detection failed, nothing asked", detector: fakeGPUs{err: errors.New("nvidia-smi broke")}},
		{name: "detection failed, gpus asked", resources: "gpus:1", detector: fakeGPUs{err: errors.New("nvidia-smi broke")}, wantErr: "nvidia-smi broke"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Resources, cfg.NvidiaGPUDevices, cfg.GPUDetector = tt.resources, tt.devices, tt.detector
			devs, err := detectGPUs(context.Background(), cfg, zap.NewNop())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := gpu.UUIDs(devs); strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("GPUs = %v, want %v", got, tt.want)
			}
		})
	}
	if err := (Config{NvidiaGPUDevices: "x"}).Validate(); err == nil || !strings.Contains(err.Error(), "nvidia_gpu_devices") {
		t.Fatalf("Validate = %v, want the --nvidia_gpu_devices error", err)
	}
}

func TestWithGPUs(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "gpus:2"},
		{"cpus:1", "cpus:1;gpus:2"},
		{"cpus:1;gpus:1", "cpus:1;gpus:1"},
	}
	for _, tt := range tests {
		if got := withGPUs(tt.in, 2); got != tt.want {
			t.Errorf("withGPUs(%q, 2) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := withGPUs("cpus:1", 0); got != "cpus:1" {
		t.Errorf("withGPUs(cpus:1, 0) = %q", got)
	}
}

// gpuTask is a command task with resources.
func gpuTask(id, cmd, res string) *mesos.TaskInfo {
	ti := commandTask(id, cmd)
	ti.Resources = resources.MustParse(res).ToProto()
	return ti
}

// taskStdout is the stdout of a finished task's sandbox (its executor is named after it).
func taskStdout(t *testing.T, ta *testAgent, id string) string {
	t.Helper()
	var out string
	poll.Eventually(t, 10*time.Second, func() bool {
		st := getState(t, ta.url)
		for _, fw := range append(st.Frameworks, st.CompletedFrameworks...) {
			for _, ex := range append(fw.Executors, fw.CompletedExecutors...) {
				if ex.ID == id {
					b, err := os.ReadFile(filepath.Join(ex.Directory, "stdout"))
					out = string(b)
					return err == nil && out != ""
				}
			}
		}
		return false
	}, "no stdout of %s", id)
	return out
}

// A task gets exactly its GPUs (never one another container holds, freed when its container
// ends); a task without gpus sees none.
func TestGPUTasks(t *testing.T) {
	fm := newFakeMaster(t)
	ta := startAgent(t, fm.addr(), func(c *Config) {
		c.ExecutorHost = true // the real command executor, running shell commands
		c.Resources = "cpus:2;mem:1024;disk:1000;ports:[31000-31010];gpus:2"
		c.GPUDetector = fakeGPUs{devs: threeGPUs()}
	})
	waitSubscribed(t, fm, 1)
	info := fm.subscriptions()[0].GetSubscribe().GetAgentInfo()
	got, _ := resources.FromProto(info.GetResources())
	if got.Scalar("gpus") != 2 {
		t.Fatalf("agent resources %s, want gpus:2", got)
	}

	const show = `echo "nvidia=$NVIDIA_VISIBLE_DEVICES cuda=$CUDA_VISIBLE_DEVICES"`
	fm.send(runTask("fw-1", gpuTask("hold", show+"; sleep 60", "cpus:0.1;mem:32;gpus:1")))
	fm.waitState(t, "hold", mesos.TaskState_TASK_RUNNING)
	if out := taskStdout(t, ta, "hold"); !strings.Contains(out, "nvidia=GPU-a cuda=GPU-a") {
		t.Fatalf("hold saw %q", out)
	}
	fm.send(runTask("fw-1", gpuTask("second", show, "cpus:0.1;mem:32;gpus:1")))
	fm.waitState(t, "second", mesos.TaskState_TASK_FINISHED)
	if out := taskStdout(t, ta, "second"); !strings.Contains(out, "nvidia=GPU-b cuda=GPU-b") {
		t.Fatalf("second saw %q", out)
	}
	fm.send(runTask("fw-1", gpuTask("plain", show, "cpus:0.1;mem:32")))
	fm.waitState(t, "plain", mesos.TaskState_TASK_FINISHED)
	if out := taskStdout(t, ta, "plain"); !strings.Contains(out, "nvidia=void cuda=") {
		t.Fatalf("plain saw %q", out)
	}
	// Two asked with one free (GPU-b came back when "second" ended): the launch fails.
	fm.send(runTask("fw-1", gpuTask("toomany", show, "cpus:0.1;mem:32;gpus:2")))
	failed := fm.waitState(t, "toomany", mesos.TaskState_TASK_FAILED)
	if !strings.Contains(failed.GetMessage(), "not enough free GPUs") {
		t.Fatalf("toomany failed with %q", failed.GetMessage())
	}
	// Killing "hold" frees GPU-a.
	fm.send(&agorapb.AgentEvent{Type: agorapb.AgentEvent_KILL_TASK.Enum(), KillTask: &agorapb.AgentEvent_KillTask{
		FrameworkId: frameworkInfo("fw-1").GetId(), TaskId: commandTask("hold", "").GetTaskId()}})
	fm.waitState(t, "hold", mesos.TaskState_TASK_KILLED)
	poll.Eventually(t, 10*time.Second, func() bool { return ta.a.gpus.Free() == 2 }, "GPUs not freed: %d free", ta.a.gpus.Free())
	fm.send(runTask("fw-1", gpuTask("both", show, "cpus:0.1;mem:32;gpus:2")))
	fm.waitState(t, "both", mesos.TaskState_TASK_FINISHED)
	if out := taskStdout(t, ta, "both"); !strings.Contains(out, "nvidia=GPU-a,GPU-b cuda=GPU-a,GPU-b") {
		t.Fatalf("both saw %q", out)
	}
}
