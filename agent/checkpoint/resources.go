package checkpoint

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// ResourcesPath is where the agent keeps its checkpointed resources (its
// dynamic reservations and persistent volumes, as the master last sent them):
// <work_dir>/meta/resources/resources.info, an agora.v1.AgentEvent.CheckpointResources.
// As in Mesos it is not under the agent id: the reservations and volumes
// belong to the host's resources and outlive a new agent id.
func (c Store) ResourcesPath() string {
	return filepath.Join(c.WorkDir, "meta", "resources", "resources.info")
}

// WriteResources replaces the checkpointed resources.
func (c Store) WriteResources(res []*mesos.Resource) error {
	p := c.ResourcesPath()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return writeProto(p, &agorapb.AgentEvent_CheckpointResources{Resources: res})
}

// ReadResources returns the checkpointed resources; none when nothing was
// checkpointed.
func (c Store) ReadResources() ([]*mesos.Resource, error) {
	m := &agorapb.AgentEvent_CheckpointResources{}
	if err := readProto(c.ResourcesPath(), m); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	return m.GetResources(), nil
}
