package agent

import (
	"context"
	"path/filepath"

	"github.com/agoracluster/agora/agent/containerizer"
	"github.com/agoracluster/agora/agent/sandbox"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// The agent's part of the docker containerizer (agent/containerizer.Docker): whether it is
// enabled, which tasks it takes, and which containers are orphans at start.

// startDocker enables the docker containerizer when it is listed and the engine answers.
// It runs in Run before recovery, so that recovered executors of DOCKER tasks are routed
// to it.
func (a *Agent) startDocker(ctx context.Context) {
	if !a.cfg.containerizerEnabled("docker") {
		return
	}
	a.docker = containerizer.NewDocker(ctx, a.cfg.DockerSocket, a.process, a.clock, a.log)
	if a.docker != nil {
		a.router.UseDocker(a.docker)
	}
}

// removeDockerOrphans removes the containers of this agent that belong to no executor it
// knows, and those of earlier agent ids of this work dir. It runs in Run after recovery,
// before the loop starts, and may touch a.st.
func (a *Agent) removeDockerOrphans(ctx context.Context) {
	if a.docker == nil {
		return
	}
	if a.st.AgentID != "" {
		a.docker.RemoveOrphans(ctx, a.st.AgentID, a.st.KnownContainerIDs())
	}
	a.docker.RemovePreviousAgentContainers(ctx, a.previousAgentIDs(), sandbox.Roots(a.cfg.WorkDir))
}

// previousAgentIDs are the agent ids this work dir has sandboxes or checkpoints of, other
// than the current one. Before the loop starts only.
func (a *Agent) previousAgentIDs() map[string]bool {
	ids := make(map[string]bool)
	for _, tree := range []string{sandbox.Root(a.cfg.WorkDir), filepath.Join(a.cfg.WorkDir, "meta", "slaves")} {
		dirs, _ := sandbox.ListDirs(tree) // "latest" is a symlink, not listed
		for _, id := range dirs {
			if id != a.st.AgentID {
				ids[id] = true
			}
		}
	}
	return ids
}

// isDockerTask: the task asks for a Docker container.
func isDockerTask(t *mesos.TaskInfo) bool { return containerizer.IsDocker(t.GetContainer()) }

// unsupportedContainer explains why tasks cannot run here ("" when they can): DOCKER tasks
// need the docker containerizer, and custom executors cannot run in Docker containers.
// Loop only.
func (a *Agent) unsupportedContainer(groupExecutor *mesos.ExecutorInfo, tasks []*mesos.TaskInfo) string {
	const dockerExecutors = "Failed to launch container: executors in Docker containers are not supported; use a DOCKER task with a command"
	if containerizer.IsDocker(groupExecutor.GetContainer()) {
		return dockerExecutors
	}
	for _, t := range tasks {
		if containerizer.IsDocker(t.GetExecutor().GetContainer()) {
			return dockerExecutors
		}
		if !isDockerTask(t) {
			continue
		}
		if t.GetExecutor() != nil {
			return "Failed to launch container: a DOCKER task with its own executor is not supported"
		}
		if a.docker == nil {
			if a.cfg.containerizerEnabled("docker") {
				return "Failed to launch container: the docker containerizer is not available on this agent (the Docker Engine did not answer at start)"
			}
			return "Failed to launch container: the docker containerizer is not enabled on this agent (--containerizers)"
		}
	}
	return ""
}
