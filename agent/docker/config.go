package docker

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
)

// Names, labels and paths shared by the executor and the agent.
const (
	// NamePrefix prefixes every container name: agora-<container_id> (Mesos uses mesos-<id>).
	NamePrefix = "agora-"
	// SandboxMountPath is where the task's sandbox is mounted inside the container.
	SandboxMountPath = "/mnt/mesos/sandbox"

	LabelAgentID     = "agora.agent_id"
	LabelFrameworkID = "agora.framework_id"
	LabelExecutorID  = "agora.executor_id"
	LabelTaskID      = "agora.task_id"
	LabelContainerID = "agora.container_id"
)

// Limits as Mesos applies them to docker containers.
const (
	cpuSharesPerCPU = 1024
	minCPUShares    = 2
	cpuCFSPeriodUS  = 100000 // 100ms
	minCPUQuotaUS   = 1000   // 1ms
	minMemoryBytes  = 32 << 20
)

// ErrInvalidSpec marks a task that cannot be turned into a container (bad input, never retried).
var ErrInvalidSpec = errors.New("docker: invalid container spec")

func invalid(where, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidSpec, where, fmt.Sprintf(format, args...))
}

// Spec is one task to run as a Docker container.
type Spec struct {
	// ContainerID is the Agora container id (a UUID); the container is named agora-<ContainerID>.
	ContainerID string
	FrameworkID string
	ExecutorID  string
	// Task is the task to run: its container (type DOCKER), command, resources, labels, and
	// task and agent ids.
	Task *mesos.TaskInfo
	// Sandbox is the absolute host path of the task's sandbox; it is mounted at
	// /mnt/mesos/sandbox and receives the container's stdout and stderr.
	Sandbox string
	// Env (KEY=value) holds the MESOS_*/MARATHON_* variables from the executor; they override
	// CommandInfo.environment. MESOS_SANDBOX and MESOS_CONTAINER_NAME are always set.
	Env []string
	// DisableCPUQuota leaves out the CFS quota (cpu-shares are still set).
	DisableCPUQuota bool
}

// Name is the Docker container name for an Agora container id.
func Name(containerID string) string { return NamePrefix + containerID }

// ContainerConfig translates spec into the Engine's create request. It does no IO. Errors wrap
// ErrInvalidSpec and say which field was wrong.
//
// Command semantics follow Mesos's docker containerizer: shell=true runs
// `/bin/sh -c value` (entrypoint /bin/sh, command [-c value]); shell=false keeps the image's
// entrypoint and passes [value] + arguments as the container's command (both optional).
//
// Networks: HOST, BRIDGE, NONE, USER (the single network_infos name). Port mappings bind the
// host port (which must be in the task's ports resource) to the container port. Docker cannot
// publish ports in host mode, so a HOST container with port mappings runs on the bridge network
// with those ports published; the task stays reachable through the host port it reports.
func ContainerConfig(spec Spec) (*container.Config, *container.HostConfig, *network.NetworkingConfig, error) {
	task := spec.Task
	if task == nil {
		return nil, nil, nil, invalid("/task", "must be set")
	}
	ci := task.GetContainer()
	if ci == nil || ci.GetType() != mesos.ContainerInfo_DOCKER || ci.GetDocker() == nil {
		return nil, nil, nil, invalid("/container", "must be of type DOCKER with docker info")
	}
	di := ci.GetDocker()
	if strings.TrimSpace(di.GetImage()) == "" {
		return nil, nil, nil, invalid("/container/docker/image", "must not be empty")
	}
	if spec.ContainerID == "" {
		return nil, nil, nil, invalid("container_id", "must not be empty")
	}
	if !path.IsAbs(spec.Sandbox) {
		return nil, nil, nil, invalid("sandbox", "%q is not an absolute path", spec.Sandbox)
	}
	res, err := resources.FromProto(task.GetResources())
	if err != nil {
		return nil, nil, nil, invalid("/resources", "%v", err)
	}

	cfg := &container.Config{
		Image:    di.GetImage(),
		Hostname: ci.GetHostname(),
		Labels:   labels(spec),
	}
	hc := &container.HostConfig{
		Privileged: di.GetPrivileged(),
		Binds:      []string{},
	}
	nc := &network.NetworkingConfig{}

	if err := setCommand(cfg, task.GetCommand()); err != nil {
		return nil, nil, nil, err
	}
	env, err := environment(spec)
	if err != nil {
		return nil, nil, nil, err
	}
	cfg.Env = env

	if err := setVolumes(hc, ci, spec.Sandbox); err != nil {
		return nil, nil, nil, err
	}
	hc.Binds = append(hc.Binds, spec.Sandbox+":"+SandboxMountPath)
	hc.Binds = append(hc.Binds, persistentVolumeBinds(spec.Sandbox, res)...)

	if err := setNetwork(cfg, hc, nc, ci, res.Ports()); err != nil {
		return nil, nil, nil, err
	}
	setLimits(hc, res, !spec.DisableCPUQuota)
	if err := setGPUs(hc, res, spec.Env); err != nil {
		return nil, nil, nil, err
	}

	if err := applyParameters(cfg, hc, di.GetParameters()); err != nil {
		return nil, nil, nil, err
	}
	return cfg, hc, nc, nil
}

func labels(spec Spec) map[string]string {
	out := make(map[string]string)
	for _, l := range spec.Task.GetLabels().GetLabels() {
		out[l.GetKey()] = l.GetValue()
	}
	out[LabelAgentID] = spec.Task.GetAgentId().GetValue()
	out[LabelFrameworkID] = spec.FrameworkID
	out[LabelExecutorID] = spec.ExecutorID
	out[LabelTaskID] = spec.Task.GetTaskId().GetValue()
	out[LabelContainerID] = spec.ContainerID
	return out
}

func setCommand(cfg *container.Config, cmd *mesos.CommandInfo) error {
	if cmd == nil {
		return nil // the image's entrypoint and command
	}
	if cmd.GetShell() {
		if cmd.Value == nil {
			return invalid("/command/value", "shell specified but no command value provided")
		}
		cfg.Entrypoint = []string{"/bin/sh"}
		cfg.Cmd = []string{"-c", cmd.GetValue()}
		return nil
	}
	var argv []string
	if cmd.Value != nil {
		argv = append(argv, cmd.GetValue())
	}
	argv = append(argv, cmd.GetArguments()...)
	if len(argv) > 0 {
		cfg.Cmd = argv
	}
	return nil
}

// environment merges CommandInfo.environment, then spec.Env (which wins), then the sandbox
// variables; sorted by name so the result is deterministic.
func environment(spec Spec) ([]string, error) {
	vars := make(map[string]string)
	for i, v := range spec.Task.GetCommand().GetEnvironment().GetVariables() {
		if v.GetType() == mesos.Environment_Variable_SECRET {
			return nil, invalid(fmt.Sprintf("/command/environment/variables/%d", i), "secret variables are not supported")
		}
		if v.GetName() == "" {
			return nil, invalid(fmt.Sprintf("/command/environment/variables/%d/name", i), "must not be empty")
		}
		vars[v.GetName()] = v.GetValue()
	}
	for _, kv := range spec.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, invalid("env", "%q is not KEY=value", kv)
		}
		vars[k] = v
	}
	vars["MESOS_SANDBOX"] = SandboxMountPath
	vars["MESOS_CONTAINER_NAME"] = Name(spec.ContainerID)
	out := make([]string, 0, len(vars))
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out, nil
}

func setVolumes(hc *container.HostConfig, ci *mesos.ContainerInfo, sandbox string) error {
	for i, vol := range ci.GetVolumes() {
		where := fmt.Sprintf("/container/volumes/%d", i)
		var mode string
		switch vol.GetMode() {
		case mesos.Volume_RW:
			mode = "rw"
		case mesos.Volume_RO:
			mode = "ro"
		default:
			return invalid(where+"/mode", "unsupported mode %v", vol.GetMode())
		}
		cpath := vol.GetContainerPath()
		if cpath == "" {
			return invalid(where+"/container_path", "must not be empty")
		}
		if !path.IsAbs(cpath) {
			cpath = path.Join(SandboxMountPath, cpath)
		}
		var source string
		switch {
		case vol.HostPath != nil:
			hp := vol.GetHostPath()
			if !path.IsAbs(hp) && !path.IsAbs(vol.GetContainerPath()) {
				return invalid(where, "both host_path %q and container_path %q are relative", hp, vol.GetContainerPath())
			}
			if !path.IsAbs(hp) {
				hp = path.Join(sandbox, hp)
			}
			source = hp
		case vol.GetSource() != nil:
			src := vol.GetSource()
			switch src.GetType() {
			case mesos.Volume_Source_DOCKER_VOLUME:
				dv := src.GetDockerVolume()
				if dv.GetName() == "" {
					return invalid(where+"/source/docker_volume/name", "must not be empty")
				}
				if d := dv.GetDriver(); d != "" {
					if hc.VolumeDriver != "" && hc.VolumeDriver != d {
						return invalid(where+"/source/docker_volume/driver", "only one volume driver is supported")
					}
					hc.VolumeDriver = d
				}
				source = dv.GetName()
			case mesos.Volume_Source_HOST_PATH:
				hp := src.GetHostPath().GetPath()
				if !path.IsAbs(hp) {
					return invalid(where+"/source/host_path/path", "%q is not an absolute path", hp)
				}
				source = hp
			case mesos.Volume_Source_SANDBOX_PATH:
				sp := src.GetSandboxPath()
				if sp.GetType() == mesos.Volume_Source_SandboxPath_PARENT {
					return invalid(where+"/source/sandbox_path/type", "PARENT is not supported by docker containers")
				}
				p := path.Clean(sp.GetPath())
				if path.IsAbs(p) || p == ".." || strings.HasPrefix(p, "../") {
					return invalid(where+"/source/sandbox_path/path", "%q must stay inside the sandbox", sp.GetPath())
				}
				source = path.Join(sandbox, p)
			default:
				return invalid(where+"/source/type", "%v volumes are not supported by docker containers", src.GetType())
			}
		default:
			return invalid(where, "host_path or source is required")
		}
		hc.Binds = append(hc.Binds, source+":"+cpath+":"+mode)
	}
	return nil
}

func setNetwork(cfg *container.Config, hc *container.HostConfig, nc *network.NetworkingConfig, ci *mesos.ContainerInfo, ports resources.Ranges) error {
	di := ci.GetDocker()
	mappings := di.GetPortMappings()
	switch di.GetNetwork() {
	case mesos.ContainerInfo_DockerInfo_HOST:
		if len(mappings) > 0 {
			// Docker publishes no ports in host mode; see ContainerConfig.
			hc.NetworkMode = network.NetworkBridge
		} else {
			hc.NetworkMode = network.NetworkHost
		}
	case mesos.ContainerInfo_DockerInfo_BRIDGE:
		hc.NetworkMode = network.NetworkBridge
	case mesos.ContainerInfo_DockerInfo_NONE:
		hc.NetworkMode = network.NetworkNone
	case mesos.ContainerInfo_DockerInfo_USER:
		nis := ci.GetNetworkInfos()
		if len(nis) != 1 {
			return invalid("/container/network_infos", "USER network needs exactly one network info, got %d", len(nis))
		}
		name := nis[0].GetName()
		if name == "" {
			return invalid("/container/network_infos/0/name", "must not be empty")
		}
		hc.NetworkMode = container.NetworkMode(name)
		nc.EndpointsConfig = map[string]*network.EndpointSettings{name: {}}
	default:
		return invalid("/container/docker/network", "unsupported network %v", di.GetNetwork())
	}
	if ci.GetHostname() != "" && hc.NetworkMode.IsHost() {
		return invalid("/container/hostname", "cannot be set with host networking")
	}
	if len(mappings) == 0 {
		return nil
	}
	if hc.NetworkMode.IsNone() {
		return invalid("/container/docker/port_mappings", "port mappings are only supported for host, bridge and user-defined networks")
	}
	cfg.ExposedPorts = nat.PortSet{}
	hc.PortBindings = nat.PortMap{}
	for i, m := range mappings {
		where := fmt.Sprintf("/container/docker/port_mappings/%d", i)
		if m.GetContainerPort() == 0 || m.GetContainerPort() > 65535 {
			return invalid(where+"/container_port", "%d is not a port", m.GetContainerPort())
		}
		if m.GetHostPort() == 0 || !ports.ContainsValue(uint64(m.GetHostPort())) {
			return invalid(where+"/host_port", "port %d is not included in the task's ports resource %s", m.GetHostPort(), ports)
		}
		protos, err := protocols(m.GetProtocol())
		if err != nil {
			return invalid(where+"/protocol", "%v", err)
		}
		for _, proto := range protos {
			p, err := nat.NewPort(proto, strconv.FormatUint(uint64(m.GetContainerPort()), 10))
			if err != nil {
				return invalid(where, "%v", err)
			}
			cfg.ExposedPorts[p] = struct{}{}
			hc.PortBindings[p] = append(hc.PortBindings[p], nat.PortBinding{HostPort: strconv.FormatUint(uint64(m.GetHostPort()), 10)})
		}
	}
	return nil
}

// protocols parses "tcp", "udp", "udp,tcp" or "" (tcp).
func protocols(s string) ([]string, error) {
	if s == "" {
		return []string{"tcp"}, nil
	}
	var out []string
	for _, p := range strings.Split(strings.ToLower(s), ",") {
		p = strings.TrimSpace(p)
		if p != "tcp" && p != "udp" {
			return nil, fmt.Errorf("%q is not tcp or udp", p)
		}
		out = append(out, p)
	}
	return out, nil
}

func setLimits(hc *container.HostConfig, res resources.Resources, cfsQuota bool) {
	if cpus := res.Scalar("cpus"); cpus > 0 {
		hc.CPUShares = max(int64(cpus*cpuSharesPerCPU), minCPUShares)
		if cfsQuota {
			hc.CPUPeriod = cpuCFSPeriodUS
			hc.CPUQuota = max(int64(cpus*cpuCFSPeriodUS), minCPUQuotaUS)
		}
	}
	if mem := res.Scalar("mem"); mem > 0 {
		hc.Memory = max(int64(mem*(1<<20)), minMemoryBytes)
		// No swap beyond the limit, so the limit holds (override with memory-swap).
		hc.MemorySwap = hc.Memory
	}
}

// persistentVolumeBinds mounts the task's persistent volumes at their container
// paths under the sandbox mount. The agent links each volume into the sandbox
// (agent/volumes); the engine resolves that link on the host, so the bind
// reaches the volume's directory, read-only for mode RO.
func persistentVolumeBinds(sandbox string, res resources.Resources) []string {
	var out []string
	for r := range res.PersistentVolumes().Each {
		mode := "rw"
		if r.Volume.ReadOnly {
			mode = "ro"
		}
		out = append(out, path.Join(sandbox, r.Volume.ContainerPath)+":"+path.Join(SandboxMountPath, r.Volume.ContainerPath)+":"+mode)
	}
	return out
}
