package docker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	dockerclient "github.com/docker/docker/client"
	"go.uber.org/zap"

	"github.com/agoracluster/agora/agent/clock"
)

// ErrNotFound is returned for a container the engine does not know.
var ErrNotFound = errors.New("docker: no such container")

// ErrExists is returned by Run when a container with the spec's name already exists (e.g. an
// executor restarted during launch): Attach to Name(containerID) instead.
var ErrExists = errors.New("docker: container already exists")

// NewClient connects to the Docker Engine: socket "" uses the environment (DOCKER_HOST, else
// the default /var/run/docker.sock); otherwise the unix socket at that path
// (agent flag --docker_socket). The API version is negotiated with the engine.
func NewClient(socket string) (*dockerclient.Client, error) {
	opts := []dockerclient.Opt{dockerclient.FromEnv, dockerclient.WithAPIVersionNegotiation()}
	if socket != "" {
		opts = append(opts, dockerclient.WithHost("unix://"+strings.TrimPrefix(socket, "unix://")))
	}
	cli, err := dockerclient.NewClientWithOpts(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker: client: %w", err)
	}
	return cli, nil
}

// Runtime runs task containers on one Docker Engine. It holds no state of its own besides the
// client: containers are found again through their labels.
type Runtime struct {
	cli   dockerclient.APIClient
	clock clock.Clock // paces the writes of the log position (logs.go)
	log   *zap.Logger
}

// New returns a Runtime using cli.
func New(cli dockerclient.APIClient, clk clock.Clock, log *zap.Logger) *Runtime {
	return &Runtime{cli: cli, clock: clk, log: log.Named("docker")}
}

// Ping checks that the engine answers.
func (r *Runtime) Ping(ctx context.Context) error {
	if _, err := r.cli.Ping(ctx); err != nil {
		return fmt.Errorf("docker: ping engine: %w", err)
	}
	return nil
}

// Run creates and starts the task's container and starts copying its stdout and stderr into
// <sandbox>/stdout and <sandbox>/stderr. The image is used when present locally and pulled when
// missing or when force_pull_image is set (a failed pull is a *PullError). An invalid spec
// wraps ErrInvalidSpec. The caller must end the returned Container with Wait, Close or Remove.
func (r *Runtime) Run(ctx context.Context, spec Spec) (*Container, error) {
	cfg, hc, nc, err := ContainerConfig(spec)
	if err != nil {
		return nil, err
	}
	name := Name(spec.ContainerID)
	log := r.log.With(zap.String("container_id", spec.ContainerID), zap.String("task_id", spec.Task.GetTaskId().GetValue()))

	if err := r.ensureImage(ctx, log, cfg.Image, spec.Task.GetContainer().GetDocker().GetForcePullImage()); err != nil {
		return nil, err
	}
	created, err := r.cli.ContainerCreate(ctx, cfg, hc, nc, nil, name)
	if err != nil {
		if cerrdefs.IsConflict(err) {
			return nil, fmt.Errorf("%w: %s: %v", ErrExists, name, err)
		}
		return nil, fmt.Errorf("docker: create container %s: %w", name, err)
	}
	for _, w := range created.Warnings {
		log.Warn("engine warning on create", zap.String("warning", w))
	}
	if err := r.cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		// Best effort: do not leave a created-but-never-started container behind.
		if rmErr := r.cli.ContainerRemove(context.WithoutCancel(ctx), created.ID, container.RemoveOptions{Force: true}); rmErr != nil {
			log.Warn("remove container that failed to start", zap.Error(rmErr))
		}
		return nil, fmt.Errorf("docker: start container %s: %w", name, err)
	}
	log.Info("container started", zap.String("docker_id", created.ID), zap.String("image", cfg.Image))
	return r.newContainer(created.ID, name, spec.ContainerID, spec.Sandbox, log, ""), nil
}

// Attach re-adopts a running (or exited) Agora container by Docker id or name, for an executor
// that restarted. Log copying resumes after the last line the previous copier recorded, so
// output produced meanwhile is not lost (a line may be repeated).
func (r *Runtime) Attach(ctx context.Context, idOrName string) (*Container, error) {
	info, err := r.inspect(ctx, idOrName)
	if err != nil {
		return nil, err
	}
	cid := info.Labels[LabelContainerID]
	if cid == "" {
		return nil, fmt.Errorf("docker: container %s is not an Agora container (no %s label)", idOrName, LabelContainerID)
	}
	if info.Sandbox == "" {
		return nil, fmt.Errorf("docker: container %s has no sandbox mount at %s", idOrName, SandboxMountPath)
	}
	log := r.log.With(zap.String("container_id", cid), zap.String("task_id", info.Labels[LabelTaskID]))
	since, err := readLogMark(info.Sandbox)
	if err != nil {
		log.Warn("no log position recorded; copying the container's whole log again", zap.Error(err))
	}
	log.Info("container re-attached", zap.String("docker_id", info.ID), zap.Bool("running", info.Running))
	return r.newContainer(info.ID, info.Name, cid, info.Sandbox, log, since), nil
}

// Listed is one Agora container found by List.
type Listed struct {
	// ID is the Docker container id; Name the container name without the leading slash.
	ID   string
	Name string
	// ContainerID, TaskID, FrameworkID and ExecutorID come from the agora.* labels.
	ContainerID string
	TaskID      string
	FrameworkID string
	ExecutorID  string
	// State is the engine's state: created, running, exited, ...
	State   string
	Running bool
	Labels  map[string]string
}

// List returns every container (running or not) labelled with agentID, sorted by name, so the
// agent can match them against its checkpointed tasks and remove orphans with Destroy.
func (r *Runtime) List(ctx context.Context, agentID string) ([]Listed, error) {
	cs, err := r.cli.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", LabelAgentID+"="+agentID)),
	})
	if err != nil {
		return nil, fmt.Errorf("docker: list containers of agent %s: %w", agentID, err)
	}
	out := make([]Listed, 0, len(cs))
	for _, c := range cs {
		name := ""
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		out = append(out, Listed{
			ID:          c.ID,
			Name:        name,
			ContainerID: c.Labels[LabelContainerID],
			TaskID:      c.Labels[LabelTaskID],
			FrameworkID: c.Labels[LabelFrameworkID],
			ExecutorID:  c.Labels[LabelExecutorID],
			State:       string(c.State),
			Running:     c.State == container.StateRunning,
			Labels:      c.Labels,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Destroy stops a container (SIGTERM, SIGKILL after grace) and removes it; for orphans found by
// List. A container that is already gone is not an error.
func (r *Runtime) Destroy(ctx context.Context, idOrName string, grace time.Duration) error {
	if err := r.stop(ctx, idOrName, grace); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return r.remove(ctx, idOrName)
}

func (r *Runtime) stop(ctx context.Context, id string, grace time.Duration) error {
	secs := durationSeconds(grace)
	if err := r.cli.ContainerStop(ctx, id, container.StopOptions{Timeout: &secs}); err != nil {
		if cerrdefs.IsNotFound(err) {
			return fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		return fmt.Errorf("docker: stop container %s: %w", id, err)
	}
	return nil
}

func (r *Runtime) remove(ctx context.Context, id string) error {
	err := r.cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("docker: remove container %s: %w", id, err)
	}
	return nil
}

// Info is what Inspect reports about a container.
type Info struct {
	ID      string
	Name    string
	Running bool
	// ExitCode and OOMKilled are meaningful once the container has stopped.
	ExitCode  int
	OOMKilled bool
	Pid       int
	// IPAddress is the container's address on its (first, by name) network; empty with host
	// or no networking.
	IPAddress string
	// Ports are the published ports, sorted by container port and protocol.
	Ports  []PortBinding
	Labels map[string]string
	// Sandbox is the host directory mounted at /mnt/mesos/sandbox.
	Sandbox string
}

// PortBinding is one published port.
type PortBinding struct {
	ContainerPort uint32
	Protocol      string // tcp or udp
	HostIP        string
	HostPort      uint32
}

func (r *Runtime) inspect(ctx context.Context, id string) (Info, error) {
	ci, err := r.cli.ContainerInspect(ctx, id)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return Info{}, fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		return Info{}, fmt.Errorf("docker: inspect container %s: %w", id, err)
	}
	info := Info{ID: ci.ID, Name: strings.TrimPrefix(ci.Name, "/")}
	if ci.State != nil {
		info.Running = ci.State.Running
		info.ExitCode = ci.State.ExitCode
		info.OOMKilled = ci.State.OOMKilled
		info.Pid = ci.State.Pid
	}
	if ci.Config != nil {
		info.Labels = ci.Config.Labels
	}
	for _, m := range ci.Mounts {
		if m.Destination == SandboxMountPath {
			info.Sandbox = m.Source
		}
	}
	if ns := ci.NetworkSettings; ns != nil {
		names := make([]string, 0, len(ns.Networks))
		for n := range ns.Networks {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if ep := ns.Networks[n]; ep != nil && ep.IPAddress != "" {
				info.IPAddress = ep.IPAddress
				break
			}
		}
		for port, bindings := range ns.Ports {
			for _, b := range bindings {
				var hp uint64
				if _, err := fmt.Sscan(b.HostPort, &hp); err != nil {
					continue
				}
				info.Ports = append(info.Ports, PortBinding{
					ContainerPort: uint32(port.Int()), Protocol: port.Proto(), HostIP: b.HostIP, HostPort: uint32(hp),
				})
			}
		}
		sort.Slice(info.Ports, func(i, j int) bool {
			a, b := info.Ports[i], info.Ports[j]
			if a.ContainerPort != b.ContainerPort {
				return a.ContainerPort < b.ContainerPort
			}
			if a.Protocol != b.Protocol {
				return a.Protocol < b.Protocol
			}
			return a.HostIP < b.HostIP
		})
	}
	return info, nil
}

// logMarkFile records, in the sandbox, the engine timestamp of the last log line copied.
const logMarkFile = ".agora-docker-logs"

func readLogMark(sandbox string) (string, error) {
	b, err := os.ReadFile(filepath.Join(sandbox, logMarkFile))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}
