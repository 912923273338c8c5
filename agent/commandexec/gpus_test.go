package commandexec

import (
	"slices"
	"testing"
)

func TestContainerEnvPassesGPUs(t *testing.T) {
	base := []string{
		"PATH=/bin", "MESOS_AGENT_ENDPOINT=x", "MARATHON_APP_ID=/a",
		"NVIDIA_VISIBLE_DEVICES=GPU-a", "CUDA_VISIBLE_DEVICES=GPU-a",
	}
	got := containerEnv(base, "fw", "ex", "t")
	want := []string{
		"MARATHON_APP_ID=/a", "NVIDIA_VISIBLE_DEVICES=GPU-a", "CUDA_VISIBLE_DEVICES=GPU-a",
		"MESOS_FRAMEWORK_ID=fw", "MESOS_EXECUTOR_ID=ex", "MESOS_TASK_ID=t",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("containerEnv = %v, want %v", got, want)
	}
}
