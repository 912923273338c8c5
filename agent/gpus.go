package agent

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/agent/cgroups"
	"github.com/agoracluster/agora/agent/gpu"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
)

// gpusFile, in an executor run's checkpoint directory, lists the UUIDs of the GPUs its
// container holds, one a line, so that a restarted agent knows them.
const gpusFile = "gpus"

// detectGPUs finds the GPUs this agent hands out: the detected ones, narrowed to
// --nvidia_gpu_devices, and checked against a gpus:N in --resources (which, without
// --nvidia_gpu_devices, takes the first N). A failed detection is an error only when
// GPUs were asked for; otherwise the agent runs without.
func detectGPUs(ctx context.Context, cfg Config, log *zap.Logger) ([]gpu.Device, error) {
	given, err := resources.Parse(cfg.Resources, resources.Unreserved)
	if err != nil {
		return nil, fmt.Errorf("agent: --resources: %w", err)
	}
	haveGiven := namesGPUs(cfg.Resources) // gpus:0 (which Parse drops) too
	want := given.Scalar("gpus")
	indices, err := gpu.ParseIndices(cfg.NvidiaGPUDevices)
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	det := cfg.GPUDetector
	if det == nil {
		det = gpu.SMI{}
	}
	devs, err := det.Detect(ctx)
	if err != nil {
		if !haveGiven && indices == nil {
			log.Warn("GPU detection failed: the agent offers no gpus", zap.Error(err))
			return nil, nil
		}
		return nil, fmt.Errorf("agent: %w", err)
	}
	if indices != nil {
		sel, err := gpu.Select(devs, indices)
		if err != nil {
			return nil, fmt.Errorf("agent: %w", err)
		}
		if haveGiven && want != float64(len(sel)) {
			return nil, fmt.Errorf("agent: --resources gpus:%v does not match --nvidia_gpu_devices %s (%d GPUs)", want, cfg.NvidiaGPUDevices, len(sel))
		}
		devs = sel
	} else if haveGiven {
		if want != math.Trunc(want) || want < 0 {
			return nil, fmt.Errorf("agent: --resources gpus:%v is not a whole number of GPUs", want)
		}
		if int(want) > len(devs) {
			return nil, fmt.Errorf("agent: --resources gpus:%v, but this host has %d GPUs", want, len(devs))
		}
		devs = devs[:int(want)]
	}
	for _, d := range devs {
		log.Info("GPU", zap.Int("index", d.Index), zap.String("uuid", d.UUID), zap.String("name", d.Name),
			zap.Uint64("memory_mib", d.MemoryMiB), zap.String("device", d.Path))
	}
	return devs, nil
}

// withGPUs adds gpus:N to a --resources text that names no gpus.
func withGPUs(text string, n int) string {
	if n == 0 {
		return text
	}
	if namesGPUs(text) {
		return text
	}
	if strings.TrimSpace(text) == "" {
		return "gpus:" + strconv.Itoa(n)
	}
	return text + ";gpus:" + strconv.Itoa(n)
}

// namesGPUs reports whether a --resources text names gpus.
func namesGPUs(text string) bool {
	for _, part := range strings.Split(text, ";") {
		name, _, _ := strings.Cut(part, ":")
		name, _, _ = strings.Cut(name, "(")
		if strings.TrimSpace(name) == "gpus" {
			return true
		}
	}
	return false
}

// gpusOf is the number of GPUs an executor and its tasks ask for.
func gpusOf(info *mesos.ExecutorInfo, tasks []*mesos.TaskInfo) (int, error) {
	var n float64
	add := func(rs []*mesos.Resource) {
		if r, err := resources.FromProto(rs); err == nil {
			n += r.Scalar("gpus")
		}
	}
	add(info.GetResources())
	for _, t := range tasks {
		add(t.GetResources())
	}
	if n != math.Trunc(n) {
		return 0, fmt.Errorf("gpus:%v is not a whole number of GPUs", n)
	}
	return int(n), nil
}

// assignGPUs gives a container its GPUs (none when it asks for none) and checkpoints them;
// it returns the environment variables and the device denials of the container. Off the loop.
func (a *Agent) assignGPUs(runDir, containerID string, n int, log *zap.Logger) ([]string, []cgroups.Device, error) {
	held, err := a.gpus.Allocate(containerID, n)
	if err != nil {
		return nil, nil, err
	}
	if len(held) > 0 {
		log.Info("container GPUs", zap.Strings("uuids", gpu.UUIDs(held)))
		data := strings.Join(gpu.UUIDs(held), "\n") + "\n"
		if err := os.MkdirAll(runDir, 0o755); err != nil {
			log.Warn("checkpoint GPUs", zap.Error(err))
		} else if err := os.WriteFile(filepath.Join(runDir, gpusFile), []byte(data), 0o644); err != nil {
			log.Warn("checkpoint GPUs", zap.Error(err))
		}
	}
	var deny []cgroups.Device
	for _, d := range a.gpus.Deny(held) {
		deny = append(deny, cgroups.Device{Major: d.Major, Minor: d.Minor})
	}
	return a.gpus.Env(held), deny, nil
}

// recoverGPUs gives a recovered container back the GPUs its checkpoint lists.
func (a *Agent) recoverGPUs(runDir, containerID string) {
	data, err := os.ReadFile(filepath.Join(runDir, gpusFile))
	if err != nil {
		return
	}
	if err := a.gpus.Restore(containerID, strings.Fields(string(data))); err != nil {
		a.log.Warn("recovered container's GPUs", zap.String("container_id", containerID), zap.Error(err))
	}
}
