package docker

import (
	"errors"
	"slices"
	"testing"

	"github.com/agoracluster/agora/resources"
)

func TestContainerConfigGPUs(t *testing.T) {
	tests := []struct {
		name    string
		res     string
		env     []string
		wantIDs []string
		wantErr bool
	}{
		{name: "no gpus", res: "cpus:1"},
		{name: "no gpus on a GPU agent", res: "cpus:1", env: []string{"NVIDIA_VISIBLE_DEVICES=void", "CUDA_VISIBLE_DEVICES="}},
		{name: "two gpus", res: "cpus:1;gpus:2", env: []string{"NVIDIA_VISIBLE_DEVICES=GPU-a,GPU-b"}, wantIDs: []string{"GPU-a", "GPU-b"}},
		{name: "gpus not assigned", res: "cpus:1;gpus:1", env: []string{"NVIDIA_VISIBLE_DEVICES=void"}, wantErr: true},
		{name: "fewer assigned", res: "cpus:1;gpus:2", env: []string{"NVIDIA_VISIBLE_DEVICES=GPU-a"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := baseSpec()
			s.Task.Resources = resources.MustParse(tt.res).ToProto()
			s.Env = append(s.Env, tt.env...)
			cfg, hc, _, err := ContainerConfig(s)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidSpec) {
					t.Fatalf("error = %v, want ErrInvalidSpec", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantIDs == nil {
				if len(hc.DeviceRequests) != 0 {
					t.Fatalf("device requests %+v for a container without gpus", hc.DeviceRequests)
				}
				return
			}
			if len(hc.DeviceRequests) != 1 {
				t.Fatalf("device requests = %+v", hc.DeviceRequests)
			}
			dr := hc.DeviceRequests[0]
			if dr.Driver != "nvidia" || !slices.Equal(dr.DeviceIDs, tt.wantIDs) || len(dr.Capabilities) != 1 || !slices.Equal(dr.Capabilities[0], []string{"gpu"}) {
				t.Fatalf("device request = %+v", dr)
			}
			if !slices.Contains(cfg.Env, "NVIDIA_VISIBLE_DEVICES="+tt.env[0][len("NVIDIA_VISIBLE_DEVICES="):]) {
				t.Fatalf("env %v lacks NVIDIA_VISIBLE_DEVICES", cfg.Env)
			}
		})
	}
}
