package ledger

import (
	"slices"
	"testing"

	"github.com/agoracluster/agora/master/mastertest"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// Agents with GPUs are offered only to frameworks with GPU_RESOURCES (Mesos's rule).
func TestGPUAgentsOfferedOnlyWithCapability(t *testing.T) {
	tests := []struct {
		name string
		caps []mesos.FrameworkInfo_Capability_Type
		want []string // hostnames offered
	}{
		{name: "without GPU_RESOURCES", want: []string{"plain"}},
		{name: "with GPU_RESOURCES", caps: []mesos.FrameworkInfo_Capability_Type{mesos.FrameworkInfo_Capability_GPU_RESOURCES}, want: []string{"gpu", "plain"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.addAgent("gpu", "cpus:4;mem:1024;gpus:2")
			h.addAgent("plain", "cpus:4;mem:1024")
			_, sink := h.subscribe(mastertest.FrameworkInfo("fw", tt.caps...), "s1")
			var got []string
			for _, o := range h.offers(sink) {
				got = append(got, o.GetHostname())
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("offered %v, want %v", got, tt.want)
			}
		})
	}
}
