package agent

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/agent/gpu"
	"github.com/agoracluster/agora/resources"
)

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
