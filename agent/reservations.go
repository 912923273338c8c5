package agent

import (
	"fmt"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/volumes"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
)

// Dynamic reservations and persistent volumes on the agent. The master sends
// every change as CHECKPOINT_RESOURCES (all of the agent's dynamically reserved
// resources and persistent volumes); the agent checkpoints it, reports its
// flags' resources with these in place of what they were made from, and keeps
// the volume directories (package volumes) in step. At start the checkpoint is
// applied to the flags' resources again, so reservations and volumes survive
// agent restarts.

// recoverCheckpointedResources applies the checkpointed resources to the
// resources from the flags (a.info.Resources) before the agent first
// subscribes. An agent whose flags no longer hold its reservations and volumes
// does not start, as in Mesos: the operator fixes --resources or removes the
// checkpoint (losing them).
func (a *Agent) recoverCheckpointedResources() error {
	flags, err := resources.FromProto(a.info.GetResources())
	if err != nil {
		return fmt.Errorf("agent: resources: %w", err)
	}
	pbs, err := a.ckpt.ReadResources()
	if err != nil {
		return fmt.Errorf("agent: checkpointed resources: %w", err)
	}
	ckpt, err := resources.FromProto(pbs)
	if err != nil {
		return fmt.Errorf("agent: checkpointed resources %s: %w", a.ckpt.ResourcesPath(), err)
	}
	total, err := resources.ApplyCheckpointed(flags, ckpt)
	if err != nil {
		return fmt.Errorf("agent: the reservations and volumes checkpointed in %s do not fit --resources (fix --resources, or remove the file to drop them): %w",
			a.ckpt.ResourcesPath(), err)
	}
	if err := volumes.Sync(a.cfg.WorkDir, resources.Resources{}, ckpt); err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	a.flagResources = flags
	a.st.checkpointed = ckpt
	a.info.Resources = total.ToProto()
	return nil
}

// checkpointResources handles CHECKPOINT_RESOURCES. Loop only.
func (a *Agent) checkpointResources(pbs []*mesos.Resource) {
	ckpt, err := resources.FromProto(pbs)
	if err == nil {
		var total resources.Resources
		total, err = resources.ApplyCheckpointed(a.flagResources, ckpt)
		if err == nil {
			err = a.ckpt.WriteResources(ckpt.ToProto())
		}
		if err == nil {
			info := proto.Clone(a.info).(*mesos.AgentInfo)
			info.Resources = total.ToProto()
			a.info = info
			had := a.st.checkpointed
			a.st.checkpointed = ckpt
			err = volumes.Sync(a.cfg.WorkDir, had, ckpt)
		}
	}
	if err != nil {
		a.log.Error("cannot apply the master's checkpointed resources", zap.Error(err))
		return
	}
	a.log.Info("checkpointed resources", zap.Stringer("resources", ckpt))
}
