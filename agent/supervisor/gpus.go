package supervisor

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
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
func (s *Supervisor) assignGPUs(runDir, containerID string, n int, log *zap.Logger) ([]string, []cgroups.Device, error) {
	held, err := s.gpus.Allocate(containerID, n)
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
	for _, d := range s.gpus.Deny(held) {
		deny = append(deny, cgroups.Device{Major: d.Major, Minor: d.Minor})
	}
	return s.gpus.Env(held), deny, nil
}

// recoverGPUs gives a recovered container back the GPUs its checkpoint lists.
func (s *Supervisor) RecoverGPUs(runDir, containerID string) {
	data, err := os.ReadFile(filepath.Join(runDir, gpusFile))
	if err != nil {
		return
	}
	if err := s.gpus.Restore(containerID, strings.Fields(string(data))); err != nil {
		s.log.Warn("recovered container's GPUs", zap.String("container_id", containerID), zap.Error(err))
	}
}
