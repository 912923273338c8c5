package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	dockerclient "github.com/docker/docker/client"
	"go.uber.org/zap"

	"github.com/agoracluster/agora/agent/docker"
	"github.com/agoracluster/agora/agent/sandbox"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// Docker tasks run like Mesos's docker executor: the task's `agora executor` creates, starts,
// watches and stops its container (agent/commandexec, agent/docker), so a container outlives
// an agent restart exactly like a process task. The agent only decides whether docker is
// enabled, tells the executor how to reach the engine and which container id to use
// (AGORA_DOCKER_SOCKET, AGORA_CONTAINER_ID), removes a container whose executor has ended,
// and removes orphans at start: containers labelled with this agent's id that belong to no
// executor it knows, and every container of an earlier agent id of this work dir (after
// --recover=cleanup or a reboot the agent registers under a new id, and the containers of
// the old one would otherwise run on forever).

const (
	// dockerPingTimeout bounds the engine check at start.
	dockerPingTimeout = 5 * time.Second
	// dockerCleanupTimeout bounds each orphan or leftover removal.
	dockerCleanupTimeout = time.Minute
)

// dockerState is the agent's docker containerizer: set in Run (startDocker) before the loop
// starts, read-only afterwards; rt is nil when docker is not enabled.
type dockerState struct {
	rt    *docker.Runtime
	cli   dockerclient.APIClient
	close func() error
}

// containerizerEnabled reports whether name is listed in --containerizers.
func (c Config) containerizerEnabled(name string) bool {
	for _, cz := range c.Containerizers {
		if cz == name {
			return true
		}
	}
	return false
}

// startDocker enables the docker containerizer when it is listed and the engine answers,
// then removes orphan containers of this agent. It runs in Run before the loop starts (after
// recovery, so the recovered executors are known) and may touch a.st directly.
func (a *Agent) startDocker(ctx context.Context) {
	if !a.cfg.containerizerEnabled("docker") {
		return
	}
	log := a.log.Named("docker")
	cli, err := docker.NewClient(a.cfg.DockerSocket)
	if err != nil {
		log.Warn("docker containerizer disabled: no engine client", zap.Error(err))
		return
	}
	rt := docker.New(cli, a.log)
	pctx, cancel := context.WithTimeout(ctx, dockerPingTimeout)
	err = rt.Ping(pctx)
	cancel()
	if err != nil {
		_ = cli.Close()
		log.Warn("docker containerizer disabled: the engine does not answer; DOCKER tasks will fail",
			zap.String("docker_socket", a.cfg.DockerSocket), zap.Error(err))
		return
	}
	a.dock = dockerState{rt: rt, cli: cli, close: cli.Close}
	log.Info("docker containerizer enabled", zap.String("docker_socket", a.cfg.DockerSocket))
	if a.st.agentID != "" {
		a.removeDockerOrphans(ctx, a.st.agentID, a.knownContainerIDs())
	}
	a.removePreviousAgentContainers(ctx)
}

// stopDocker closes the engine client once every watcher is done.
func (a *Agent) stopDocker() {
	if a.dock.close != nil {
		_ = a.dock.close()
	}
}

// knownContainerIDs is the container id of every executor the agent knows. Loop (or before
// the loop starts) only.
func (a *Agent) knownContainerIDs() map[string]bool {
	known := make(map[string]bool)
	for _, fw := range a.st.frameworks {
		for _, ex := range fw.executors {
			known[ex.containerID] = true
		}
	}
	return known
}

// removeDockerOrphans destroys every container labelled with agentID whose container id is
// not in known (its executor is gone: the agent was restarted with recover=reconnect after
// the executor died, or the container outlived a SIGKILLed executor).
func (a *Agent) removeDockerOrphans(ctx context.Context, agentID string, known map[string]bool) {
	log := a.log.Named("docker").With(zap.String("agent_id", agentID))
	lctx, cancel := context.WithTimeout(ctx, dockerCleanupTimeout)
	defer cancel()
	listed, err := a.dock.rt.List(lctx, agentID)
	if err != nil {
		log.Warn("cannot list containers to remove orphans", zap.Error(err))
		return
	}
	for _, c := range listed {
		if known[c.ContainerID] {
			continue
		}
		log.Info("removing orphan container", zap.String("container", c.Name), zap.String("container_id", c.ContainerID),
			zap.String("framework_id", c.FrameworkID), zap.String("task_id", c.TaskID), zap.String("state", c.State))
		if err := a.dock.rt.Destroy(lctx, c.ID, 0); err != nil {
			log.Warn("remove orphan container", zap.String("container", c.Name), zap.Error(err))
		}
	}
}

// previousAgentIDs are the agent ids this work dir has sandboxes or checkpoints of, other
// than the current one. Before the loop starts only.
func (a *Agent) previousAgentIDs() map[string]bool {
	ids := make(map[string]bool)
	for _, tree := range []string{sandbox.Root(a.cfg.WorkDir), filepath.Join(a.cfg.WorkDir, "meta", "slaves")} {
		dirs, _ := sandbox.ListDirs(tree) // "latest" is a symlink, not listed
		for _, id := range dirs {
			if id != a.st.agentID {
				ids[id] = true
			}
		}
	}
	return ids
}

// removePreviousAgentContainers destroys the containers of earlier agent ids of this work
// dir: labelled with such an id AND with their sandbox mount inside this work dir's
// sandboxes, so that another agent on the same host (its own work dir, its own ids) is never
// touched. Before the loop starts only.
func (a *Agent) removePreviousAgentContainers(ctx context.Context) {
	prev := a.previousAgentIDs()
	if len(prev) == 0 {
		return
	}
	log := a.log.Named("docker")
	lctx, cancel := context.WithTimeout(ctx, dockerCleanupTimeout)
	defer cancel()
	cs, err := a.dock.cli.ContainerList(lctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", docker.LabelAgentID)),
	})
	if err != nil {
		log.Warn("cannot list containers to remove those of earlier agent ids", zap.Error(err))
		return
	}
	roots := sandbox.Roots(a.cfg.WorkDir)
	for _, c := range cs {
		aid := c.Labels[docker.LabelAgentID]
		if !prev[aid] {
			continue
		}
		name := strings.TrimPrefix(strings.Join(c.Names, ","), "/")
		if !sandboxMountUnder(c.Mounts, roots) {
			log.Info("leaving a container of an earlier agent id alone: its sandbox is not in this work dir",
				zap.String("container", name), zap.String("agent_id", aid))
			continue
		}
		log.Info("removing a container of an earlier agent id", zap.String("container", name), zap.String("agent_id", aid),
			zap.String("framework_id", c.Labels[docker.LabelFrameworkID]), zap.String("task_id", c.Labels[docker.LabelTaskID]),
			zap.String("state", string(c.State)))
		if err := a.dock.rt.Destroy(lctx, c.ID, 0); err != nil {
			log.Warn("remove a container of an earlier agent id", zap.String("container", name), zap.Error(err))
		}
	}
}

// sandboxMountUnder reports whether the container's sandbox mount comes from below one of
// roots.
func sandboxMountUnder(mounts []container.MountPoint, roots []string) bool {
	for _, m := range mounts {
		if m.Destination != docker.SandboxMountPath {
			continue
		}
		for _, root := range roots {
			if strings.HasPrefix(filepath.Clean(m.Source), root+string(os.PathSeparator)) {
				return true
			}
		}
	}
	return false
}

// isDockerTask: the task asks for a Docker container. ContainerInfo.type defaults to DOCKER,
// so an absent type is not one.
func isDockerTask(t *mesos.TaskInfo) bool {
	ci := t.GetContainer()
	return ci != nil && ci.Type != nil && ci.GetType() == mesos.ContainerInfo_DOCKER
}

// unsupportedContainer explains why tasks cannot run here ("" when they can): DOCKER tasks
// need the docker containerizer, and custom executors cannot run in Docker containers.
// Loop only.
func (a *Agent) unsupportedContainer(groupExecutor *mesos.ExecutorInfo, tasks []*mesos.TaskInfo) string {
	if ci := groupExecutor.GetContainer(); ci != nil && ci.Type != nil && ci.GetType() == mesos.ContainerInfo_DOCKER {
		return "Failed to launch container: executors in Docker containers are not supported; use a DOCKER task with a command"
	}
	for _, t := range tasks {
		if ci := t.GetExecutor().GetContainer(); ci != nil && ci.Type != nil && ci.GetType() == mesos.ContainerInfo_DOCKER {
			return "Failed to launch container: executors in Docker containers are not supported; use a DOCKER task with a command"
		}
		if !isDockerTask(t) {
			continue
		}
		if t.GetExecutor() != nil {
			return "Failed to launch container: a DOCKER task with its own executor is not supported"
		}
		if a.dock.rt == nil {
			if a.cfg.containerizerEnabled("docker") {
				return "Failed to launch container: the docker containerizer is not available on this agent (the Docker Engine did not answer at start)"
			}
			return "Failed to launch container: the docker containerizer is not enabled on this agent (--containerizers)"
		}
	}
	return ""
}

// dockerExecutorEnv is what the command executor needs for docker tasks.
func (a *Agent) dockerExecutorEnv(ex *executor) []string {
	env := []string{"AGORA_CONTAINER_ID=" + ex.containerID}
	if a.dock.rt != nil && a.cfg.DockerSocket != "" {
		env = append(env, "AGORA_DOCKER_SOCKET="+a.cfg.DockerSocket)
	}
	return env
}

// removeExecutorContainer removes the container of an executor that ended (normally the
// executor has removed it already; not when it was killed). Loop only; the IO runs on a
// watcher goroutine.
func (a *Agent) removeExecutorContainer(ex *executor) {
	if a.dock.rt == nil || !ex.command {
		return
	}
	docker := false
	for _, t := range ex.tasks {
		if isDockerTask(t.info) {
			docker = true
		}
	}
	if !docker {
		return
	}
	rt, name := a.dock.rt, dockerName(ex.containerID)
	log := a.log.Named("docker").With(zap.String("executor_id", ex.id), zap.String("container", name))
	a.watchers.Add(1)
	go func() {
		defer a.watchers.Done()
		ctx, cancel := context.WithTimeout(context.Background(), dockerCleanupTimeout)
		defer cancel()
		if err := rt.Destroy(ctx, name, 0); err != nil {
			log.Warn("remove the container of an ended executor", zap.Error(err))
		}
	}()
}

func dockerName(containerID string) string { return docker.Name(containerID) }
