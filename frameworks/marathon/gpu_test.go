package marathon

import (
	"slices"
	"testing"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

func hasCap(caps []*mesos.FrameworkInfo_Capability, t mesos.FrameworkInfo_Capability_Type) bool {
	return slices.ContainsFunc(caps, func(c *mesos.FrameworkInfo_Capability) bool { return c.GetType() == t })
}

func TestEnableFeaturesGPUResources(t *testing.T) {
	tests := []struct {
		features string
		wantGPU  bool
		wantErr  bool
	}{
		{features: "", wantGPU: false},
		{features: "gpu_resources", wantGPU: true},
		{features: " gpu_resources ,", wantGPU: true},
		{features: "vips", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.features, func(t *testing.T) {
			cfg := DefaultConfig()
			err := cfg.ParseFeatures(tt.features)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("accepted %q", tt.features)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			caps := cfg.capabilities()
			if got := hasCap(caps, mesos.FrameworkInfo_Capability_GPU_RESOURCES); got != tt.wantGPU {
				t.Fatalf("GPU_RESOURCES = %v, want %v", got, tt.wantGPU)
			}
			if !hasCap(caps, mesos.FrameworkInfo_Capability_MULTI_ROLE) || !hasCap(caps, mesos.FrameworkInfo_Capability_PARTITION_AWARE) {
				t.Fatalf("capabilities %v lost MULTI_ROLE or PARTITION_AWARE", caps)
			}
		})
	}
}
