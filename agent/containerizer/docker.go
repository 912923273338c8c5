package containerizer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	dockerclient "github.com/docker/docker/client"
	"go.uber.org/zap"

	"github.com/agoracluster/agora/agent/clock"
	"github.com/agoracluster/agora/agent/docker"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// Docker tasks run like Mesos's docker executor: the task's `agora executor` creates, starts,
// watches and stops its container (agent/commandexec, agent/docker), so a container outlives
// an agent restart exactly like a process task. The Docker containerizer launches that
// executor through the process containerizer, with what it needs to reach the engine and
// the container id to use (AGORA_DOCKER_SOCKET, AGORA_CONTAINER_ID) in its environment;
// removes the container once its executor has ended (normally the executor has removed it
// already; not when it was killed); and removes orphans at start: containers labelled with
// this agent's id that belong to no executor it knows, and every container of an earlier
// agent id of this work dir (after --recover=cleanup or a reboot the agent registers under
// a new id, and the containers of the old one would otherwise run on forever).
type Docker struct {
	log    *zap.Logger
	exec   Containerizer // runs the executors
	rt     *docker.Runtime
	cli    dockerclient.APIClient
	socket string // as configured; "" means the executor finds the engine as the agent did

	wg sync.WaitGroup // removals of the containers of ended executors
}

var _ Containerizer = (*Docker)(nil)

const (
	// dockerPingTimeout bounds the engine check at start.
	dockerPingTimeout = 5 * time.Second
	// dockerCleanupTimeout bounds each orphan or leftover removal.
	dockerCleanupTimeout = time.Minute
)

// NewDocker connects to the engine on socket (empty: DOCKER_HOST, else
// /var/run/docker.sock) and returns the docker containerizer that launches executors
// through exec, or nil, with the reason logged, when the engine does not answer.
func NewDocker(ctx context.Context, socket string, exec Containerizer, clk clock.Clock, log *zap.Logger) *Docker {
	base, log := log, log.Named("docker")
	cli, err := docker.NewClient(socket)
	if err != nil {
		log.Warn("docker containerizer disabled: no engine client", zap.Error(err))
		return nil
	}
	rt := docker.New(cli, clk, base)
	pctx, cancel := context.WithTimeout(ctx, dockerPingTimeout)
	err = rt.Ping(pctx)
	cancel()
	if err != nil {
		_ = cli.Close()
		log.Warn("docker containerizer disabled: the engine does not answer; DOCKER tasks will fail",
			zap.String("docker_socket", socket), zap.Error(err))
		return nil
	}
	log.Info("docker containerizer enabled", zap.String("docker_socket", socket))
	return newDocker(rt, cli, socket, exec, log)
}

func newDocker(rt *docker.Runtime, cli dockerclient.APIClient, socket string, exec Containerizer, log *zap.Logger) *Docker {
	return &Docker{log: log, exec: exec, rt: rt, cli: cli, socket: socket}
}

// Env is what executors need to reach the engine, for the command executors of DOCKER
// tasks (the agent gives it to every executor, as the address of the engine it uses).
func (d *Docker) Env() []string {
	if d.socket == "" {
		return nil
	}
	return []string{"AGORA_DOCKER_SOCKET=" + d.socket}
}

// Launch implements Containerizer: the executor is launched by the executors'
// containerizer; its environment (ContainerSpec.Env) holds Env and AGORA_CONTAINER_ID, the
// id its task's container is named and labelled with.
func (d *Docker) Launch(ctx context.Context, spec ContainerSpec) (int, error) {
	return d.exec.Launch(ctx, spec)
}

// Wait implements Containerizer: once the executor has ended, its task's container is
// removed in the background (Close waits for that).
func (d *Docker) Wait(ctx context.Context, containerID string) (Termination, error) {
	term, err := d.exec.Wait(ctx, containerID)
	if err != nil {
		return term, err
	}
	name := docker.Name(containerID)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		rctx, cancel := context.WithTimeout(context.Background(), dockerCleanupTimeout)
		defer cancel()
		if err := d.rt.Destroy(rctx, name, 0); err != nil {
			d.log.Warn("remove the container of an ended executor", zap.String("container", name), zap.Error(err))
		}
	}()
	return term, nil
}

// Kill implements Containerizer: it signals the executor, which stops its container.
func (d *Docker) Kill(ctx context.Context, containerID string, sig syscall.Signal) error {
	return d.exec.Kill(ctx, containerID, sig)
}

// Recover implements Containerizer: the executors are adopted by the executors'
// containerizer.
func (d *Docker) Recover(ctx context.Context, containers []RecoveredContainer) error {
	return d.exec.Recover(ctx, containers)
}

// Close waits for the removals under way and closes the engine client.
func (d *Docker) Close() {
	d.wg.Wait()
	if d.cli != nil {
		_ = d.cli.Close()
	}
}

// RemoveOrphans destroys every container labelled with agentID whose container id is not
// in known (its executor is gone: the agent was restarted with recover=reconnect after the
// executor died, or the container outlived a SIGKILLed executor).
func (d *Docker) RemoveOrphans(ctx context.Context, agentID string, known map[string]bool) {
	log := d.log.With(zap.String("agent_id", agentID))
	lctx, cancel := context.WithTimeout(ctx, dockerCleanupTimeout)
	defer cancel()
	listed, err := d.rt.List(lctx, agentID)
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
		if err := d.rt.Destroy(lctx, c.ID, 0); err != nil {
			log.Warn("remove orphan container", zap.String("container", c.Name), zap.Error(err))
		}
	}
}

// RemovePreviousAgentContainers destroys the containers of the earlier agent ids prev of
// a work dir: labelled with such an id AND with their sandbox mount under one of
// sandboxRoots (the work dir's), so that another agent on the same host (its own work dir,
// its own ids) is never touched.
func (d *Docker) RemovePreviousAgentContainers(ctx context.Context, prev map[string]bool, sandboxRoots []string) {
	if len(prev) == 0 {
		return
	}
	lctx, cancel := context.WithTimeout(ctx, dockerCleanupTimeout)
	defer cancel()
	cs, err := d.cli.ContainerList(lctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", docker.LabelAgentID)),
	})
	if err != nil {
		d.log.Warn("cannot list containers to remove those of earlier agent ids", zap.Error(err))
		return
	}
	for _, c := range cs {
		aid := c.Labels[docker.LabelAgentID]
		if !prev[aid] {
			continue
		}
		name := strings.TrimPrefix(strings.Join(c.Names, ","), "/")
		if !sandboxMountUnder(c.Mounts, sandboxRoots) {
			d.log.Info("leaving a container of an earlier agent id alone: its sandbox is not in this work dir",
				zap.String("container", name), zap.String("agent_id", aid))
			continue
		}
		d.log.Info("removing a container of an earlier agent id", zap.String("container", name), zap.String("agent_id", aid),
			zap.String("framework_id", c.Labels[docker.LabelFrameworkID]), zap.String("task_id", c.Labels[docker.LabelTaskID]),
			zap.String("state", string(c.State)))
		if err := d.rt.Destroy(lctx, c.ID, 0); err != nil {
			d.log.Warn("remove a container of an earlier agent id", zap.String("container", name), zap.Error(err))
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

// IsDocker reports whether a ContainerInfo asks for a Docker container. Its type defaults
// to DOCKER, so an absent type is not one.
func IsDocker(ci *mesos.ContainerInfo) bool {
	return ci != nil && ci.Type != nil && ci.GetType() == mesos.ContainerInfo_DOCKER
}
