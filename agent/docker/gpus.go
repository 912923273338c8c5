package docker

import (
	"github.com/docker/docker/api/types/container"

	"github.com/agoracluster/agora/agent/gpu"
	"github.com/agoracluster/agora/resources"
)

// setGPUs requests the GPUs the agent assigned to the container (their UUIDs in
// NVIDIA_VISIBLE_DEVICES, from the executor's environment) from the engine's nvidia device
// driver (`docker run --gpus device=…`, the NVIDIA Container Toolkit). A task with gpus and no
// assigned device is an error; a container without gpus requests none (and has
// NVIDIA_VISIBLE_DEVICES=void on an agent with GPUs).
func setGPUs(hc *container.HostConfig, res resources.Resources, env []string) error {
	ids := gpu.VisibleIDs(env)
	want := res.Scalar("gpus")
	if want > 0 && float64(len(ids)) != want {
		return invalid("/resources", "gpus:%v, but the agent assigned %d GPUs (%s)", want, len(ids), gpu.EnvNVIDIA)
	}
	if want == 0 || len(ids) == 0 {
		return nil
	}
	hc.DeviceRequests = append(hc.DeviceRequests, container.DeviceRequest{
		Driver:       "nvidia",
		DeviceIDs:    ids,
		Capabilities: [][]string{{"gpu"}},
	})
	return nil
}
