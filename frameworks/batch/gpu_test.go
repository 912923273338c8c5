package batch

import (
	"slices"
	"testing"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

func TestGPUResourcesCapability(t *testing.T) {
	for _, on := range []bool{false, true} {
		cfg := DefaultConfig()
		cfg.GPUResources = on
		caps := cfg.capabilities()
		got := slices.ContainsFunc(caps, func(c *mesos.FrameworkInfo_Capability) bool {
			return c.GetType() == mesos.FrameworkInfo_Capability_GPU_RESOURCES
		})
		if got != on {
			t.Errorf("GPUResources=%v: GPU_RESOURCES in capabilities = %v", on, got)
		}
		if len(caps) != 2+map[bool]int{false: 0, true: 1}[on] {
			t.Errorf("capabilities %v", caps)
		}
	}
}
