package agent

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/agent/containerizer"
	"github.com/agoracluster/agora/agent/recovery"
	"github.com/agoracluster/agora/agent/sandbox"
)

// The agent's restart: the checkpoints of its previous run are read, agent/recovery decides
// what to do with them and rebuilds the workload, and the agent carries it out (kills the
// executors of a run it does not continue; adopts the live containers of one it does).

// recover restores state from the checkpoints. It runs in Run before the loop starts, so it
// may touch a.st directly.
func (a *Agent) recover(ctx context.Context) error {
	cp, warnings, err := a.ckpt.Read()
	if err != nil {
		return fmt.Errorf("%w (to start afresh remove %s/meta)", err, a.cfg.WorkDir)
	}
	for _, w := range warnings {
		a.log.Warn("skipping an unreadable checkpoint", zap.Error(w))
	}
	if cp == nil {
		return nil
	}
	log := a.log.With(zap.String("agent_id", cp.Agent.GetId().GetValue()))
	switch recovery.Decide(cp, a.bootID, a.cfg.Recover == RecoverCleanup) {
	case recovery.Rebooted:
		log.Info("the host rebooted since the agent last ran: registering as a new agent",
			zap.String("old_boot_id", cp.BootID), zap.String("boot_id", a.bootID))
		// After a real reboot nothing matches (start times differ); this only kills leftovers
		// when the boot id changed without a reboot.
		return a.cleanup(ctx, recovery.Containers(cp))
	case recovery.Cleanup:
		containers := recovery.Containers(cp)
		log.Info("recover=cleanup: killing the executors of the previous run", zap.Int("executors", len(containers)))
		return a.cleanup(ctx, containers)
	}

	rb := recovery.Rebuild(&a.st.State, cp, containerizer.ExecutorAlive)
	for _, w := range rb.Warnings {
		log.Warn("recover status updates", zap.Error(w))
	}
	for _, cid := range rb.Gone {
		a.iso.Release(cid)
	}
	if err := a.containerizer.Recover(ctx, rb.Containers); err != nil {
		return fmt.Errorf("agent: recover containers: %w", err)
	}
	ids := make([]string, 0, len(rb.Containers))
	for _, c := range rb.Containers {
		ids = append(ids, c.ContainerID)
	}
	a.iso.Recover(ids)
	for _, ex := range rb.Adopted {
		a.sup.RecoverGPUs(a.ckpt.RunDir(a.st.AgentID, ex.Framework.ID, ex.ID, ex.ContainerID), ex.ContainerID)
	}
	for _, ex := range rb.Adopted {
		a.sup.WatchRecovered(ex)
	}
	log.Info("recovered from checkpoints", zap.Int("frameworks", len(a.st.Frameworks)),
		zap.Int("executors", len(rb.Adopted)), zap.Int("tasks", len(a.st.Tasks)))
	return nil
}

// cleanup kills the executors of a previous run that the agent does not continue, and what
// else its sandboxes left running, and forgets the run.
func (a *Agent) cleanup(ctx context.Context, containers []containerizer.RecoveredContainer) error {
	a.sup.KillRecovered(ctx, containers)
	a.iso.RemoveOrphans(nil)
	containerizer.KillSandboxProcesses(sandbox.Root(a.cfg.WorkDir))
	return a.ckpt.ForgetLatest()
}
