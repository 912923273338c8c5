package pod

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/taskinfo"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
)

// Instance is where one instance of a pod runs: its id, the agent's hostname, and the host
// port of each endpoint, in the order of Pod.HostPorts.
type Instance struct {
	ID    string
	Host  string
	Ports []uint64
}

// TaskGroup is one instance of pod as a LAUNCH_GROUP: a DEFAULT executor (no command: the
// agent runs its default executor) whose sandbox holds the pod's ephemeral volumes
// (volumes/<name>, mounted at <name>) and whose resources hold the endpoints' host ports,
// and one task per container, with the volumes it mounts linked at their mountPath
// (SANDBOX_PATH, PARENT; a host volume: its HOST_PATH), Marathon's environment (the pod's
// and the container's, HOST, MARATHON_APP_*, MARATHON_CONTAINER_*, ENDPOINT_<NAME> and
// EP_HOST_<NAME> for every endpoint of the instance) and its health check. Task ids are
// <instance id>.<container name>; the caller fills in the agent id.
func TaskGroup(pod *Pod, in Instance) (*mesos.ExecutorInfo, []*mesos.TaskInfo, error) {
	if want := len(pod.HostPorts()); len(in.Ports) != want {
		return nil, nil, fmt.Errorf("pod %s: %d host ports for %d endpoints", pod.ID, len(in.Ports), want)
	}
	ex := &mesos.ExecutorInfo{
		Type:       mesos.ExecutorInfo_DEFAULT.Enum(),
		ExecutorId: &mesos.ExecutorID{Value: proto.String(ExecutorID(in.ID))},
		Name:       proto.String(fmt.Sprintf("pod %s (instance %s)", pod.ID, in.ID)),
		Resources:  resourcesOf(pod.ExecutorResources, in.Ports).ToProto(),
		Labels:     labelsOf(pod.Labels),
	}
	hostVolumes := map[string]string{}
	for _, v := range pod.Volumes {
		if v.Host != "" {
			hostVolumes[v.Name] = v.Host
			continue
		}
		if ex.Container == nil {
			ex.Container = &mesos.ContainerInfo{Type: mesos.ContainerInfo_MESOS.Enum()}
		}
		ex.Container.Volumes = append(ex.Container.Volumes, sandboxVolume(v.Name, mesos.Volume_Source_SandboxPath_SELF, "volumes/"+v.Name))
	}
	endpointPorts := map[string]uint64{}
	i := 0
	for _, c := range pod.Containers {
		for _, e := range c.Endpoints {
			endpointPorts[e.Name] = in.Ports[i]
			i++
		}
	}
	env := endpointEnv(pod, endpointPorts)
	tasks := make([]*mesos.TaskInfo, 0, len(pod.Containers))
	for _, c := range pod.Containers {
		t := &mesos.TaskInfo{
			Name:      proto.String(c.Name),
			TaskId:    &mesos.TaskID{Value: proto.String(in.ID + "." + c.Name)},
			Resources: resourcesOf(c.Resources, nil).ToProto(),
			Command: &mesos.CommandInfo{Shell: proto.Bool(true), Value: proto.String(c.Exec.Command.Shell),
				Environment: environmentOf(containerEnv(pod, &c, in, env))},
			Labels: labelsOf(merged(pod.Labels, c.Labels)),
		}
		if u := cmp.Or(c.User, pod.User); u != "" {
			t.Command.User = proto.String(u)
		}
		if lc := c.Lifecycle; lc != nil && lc.KillGracePeriodSeconds != nil {
			t.KillPolicy = &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{
				Nanoseconds: proto.Int64(int64(*lc.KillGracePeriodSeconds * float64(time.Second)))}}
		}
		if len(c.VolumeMounts) > 0 {
			t.Container = &mesos.ContainerInfo{Type: mesos.ContainerInfo_MESOS.Enum()}
			for _, m := range c.VolumeMounts {
				if host, ok := hostVolumes[m.Name]; ok {
					t.Container.Volumes = append(t.Container.Volumes, hostVolume(m.MountPath, host))
				} else {
					t.Container.Volumes = append(t.Container.Volumes, sandboxVolume(m.MountPath, mesos.Volume_Source_SandboxPath_PARENT, m.Name))
				}
			}
		}
		if hc := c.HealthCheck; hc != nil {
			t.HealthCheck = healthCheckOf(hc, endpointPorts)
		}
		tasks = append(tasks, t)
	}
	return ex, tasks, nil
}

// ExecutorID is the id of the default executor that runs the instance instanceID, as
// Marathon names it: instance-<instance id>.
func ExecutorID(instanceID string) string { return "instance-" + instanceID }

// endpointEnv is what every container of an instance learns of the endpoints, as
// Marathon's host networking gives it: ENDPOINT_<NAME> and EP_HOST_<NAME>, the host port.
func endpointEnv(pod *Pod, ports map[string]uint64) map[string]string {
	env := map[string]string{}
	for _, c := range pod.Containers {
		for _, e := range c.Endpoints {
			port := strconv.FormatUint(ports[e.Name], 10)
			env["ENDPOINT_"+taskinfo.EnvKey(e.Name)] = port
			env["EP_HOST_"+taskinfo.EnvKey(e.Name)] = port
		}
	}
	return env
}

// containerEnv is container c's environment, in Marathon's order of precedence (a later
// source wins): the pod's environment, the container's, HOST, the task's context, the
// labels, the endpoints.
func containerEnv(pod *Pod, c *Container, in Instance, endpoints map[string]string) map[string]string {
	env := merged(pod.Environment, c.Environment)
	env["HOST"] = in.Host
	env["MESOS_TASK_ID"] = in.ID + "." + c.Name
	env["MESOS_EXECUTOR_ID"] = ExecutorID(in.ID)
	env["MARATHON_APP_ID"] = pod.ID
	env["MARATHON_APP_VERSION"] = pod.Version
	env["MARATHON_CONTAINER_ID"] = c.Name
	env["MARATHON_CONTAINER_RESOURCE_CPUS"] = app.ScalaDouble(c.Resources.Cpus)
	env["MARATHON_CONTAINER_RESOURCE_MEM"] = app.ScalaDouble(c.Resources.Mem)
	env["MARATHON_CONTAINER_RESOURCE_DISK"] = app.ScalaDouble(c.Resources.Disk)
	env["MARATHON_CONTAINER_RESOURCE_GPUS"] = "0"
	taskinfo.AddLabelEnv(env, merged(pod.Labels, c.Labels))
	maps.Copy(env, endpoints)
	return env
}

// healthCheckOf is the Mesos health check of hc: HTTP and TCP checks reach the endpoint's
// host port (the executor probes it on the loopback address).
func healthCheckOf(hc *HealthCheck, ports map[string]uint64) *mesos.HealthCheck {
	out := &mesos.HealthCheck{
		DelaySeconds:        proto.Float64(float64(hc.DelaySeconds)),
		IntervalSeconds:     proto.Float64(float64(hc.IntervalSeconds)),
		TimeoutSeconds:      proto.Float64(float64(hc.TimeoutSeconds)),
		GracePeriodSeconds:  proto.Float64(float64(hc.GracePeriodSeconds)),
		ConsecutiveFailures: proto.Uint32(uint32(hc.MaxConsecutiveFailures)),
	}
	switch {
	case hc.HTTP != nil:
		out.Type = mesos.HealthCheck_HTTP.Enum()
		out.Http = &mesos.HealthCheck_HTTPCheckInfo{
			Port:   proto.Uint32(uint32(ports[hc.HTTP.Endpoint])),
			Path:   proto.String(cmp.Or(hc.HTTP.Path, "/")),
			Scheme: proto.String(strings.ToLower(cmp.Or(hc.HTTP.Scheme, "HTTP"))),
		}
	case hc.TCP != nil:
		out.Type = mesos.HealthCheck_TCP.Enum()
		out.Tcp = &mesos.HealthCheck_TCPCheckInfo{Port: proto.Uint32(uint32(ports[hc.TCP.Endpoint]))}
	default:
		out.Type = mesos.HealthCheck_COMMAND.Enum()
		out.Command = &mesos.CommandInfo{Shell: proto.Bool(true), Value: proto.String(hc.Exec.Command.Shell)}
	}
	return out
}

// merged is a copy of base with over's entries set on it.
func merged(base, over map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(over))
	maps.Copy(out, base)
	maps.Copy(out, over)
	return out
}

func environmentOf(env map[string]string) *mesos.Environment {
	out := &mesos.Environment{}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out.Variables = append(out.Variables, &mesos.Environment_Variable{Name: proto.String(k), Value: proto.String(env[k])})
	}
	return out
}

func sandboxVolume(containerPath string, typ mesos.Volume_Source_SandboxPath_Type, path string) *mesos.Volume {
	return &mesos.Volume{
		Mode:          mesos.Volume_RW.Enum(),
		ContainerPath: proto.String(containerPath),
		Source: &mesos.Volume_Source{Type: mesos.Volume_Source_SANDBOX_PATH.Enum(),
			SandboxPath: &mesos.Volume_Source_SandboxPath{Type: typ.Enum(), Path: proto.String(path)}},
	}
}

func hostVolume(containerPath, hostPath string) *mesos.Volume {
	return &mesos.Volume{
		Mode:          mesos.Volume_RW.Enum(),
		ContainerPath: proto.String(containerPath),
		Source: &mesos.Volume_Source{Type: mesos.Volume_Source_HOST_PATH.Enum(),
			HostPath: &mesos.Volume_Source_HostPath{Path: proto.String(hostPath)}},
	}
}

func labelsOf(m map[string]string) *mesos.Labels {
	if len(m) == 0 {
		return nil
	}
	l := &mesos.Labels{}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		l.Labels = append(l.Labels, &mesos.Label{Key: proto.String(k), Value: proto.String(m[k])})
	}
	return l
}

// resourcesOf is r as scalar resources (those that are zero left out), with ports.
func resourcesOf(r Resources, ports []uint64) resources.Resources {
	var parts []string
	for _, s := range []struct {
		name string
		v    float64
	}{{"cpus", r.Cpus}, {"mem", r.Mem}, {"disk", r.Disk}} {
		if s.v > 0 {
			parts = append(parts, fmt.Sprintf("%s:%g", s.name, s.v))
		}
	}
	if len(ports) > 0 {
		ranges := make([]string, 0, len(ports))
		for _, p := range slices.Sorted(slices.Values(ports)) {
			ranges = append(ranges, fmt.Sprintf("%d-%d", p, p))
		}
		parts = append(parts, "ports:["+strings.Join(ranges, ",")+"]")
	}
	if len(parts) == 0 {
		return resources.Resources{}
	}
	return resources.MustParse(strings.Join(parts, ";"))
}
