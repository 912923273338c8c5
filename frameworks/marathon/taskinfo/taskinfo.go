package taskinfo

import (
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/health"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// TaskIDPrefix is the part of a task id before the uuid: the app id without its leading
// slash and with "/" replaced by "_" (Marathon's form), so "/group/app" gives "group_app".
func TaskIDPrefix(appID string) string {
	return strings.ReplaceAll(strings.TrimPrefix(appID, "/"), "/", "_")
}

// NewTaskID returns "<prefix>.<uuid>".
func NewTaskID(appID, uuid string) string { return TaskIDPrefix(appID) + "." + uuid }

// AppIDOfTask recovers the app id from a task id made by NewTaskID.
func AppIDOfTask(taskID string) (string, bool) {
	i := strings.LastIndexByte(taskID, '.')
	if i <= 0 {
		return "", false
	}
	return "/" + strings.ReplaceAll(taskID[:i], "_", "/"), true
}

// taskName is Marathon's task name: the app id's segments reversed, joined by dots.
func taskName(appID string) string {
	parts := strings.Split(strings.Trim(appID, "/"), "/")
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, ".")
}

// HostPorts lists the host ports a task of a (an instance of a pod) needs: 0 = any, else
// exactly that one.
func HostPorts(a *app.App) []int {
	if a.Pod != nil {
		return a.Pod.HostPorts()
	}
	if a.Container != nil && len(a.Container.PortMappings) > 0 {
		var out []int
		for _, pm := range a.Container.PortMappings {
			if pm.HostPort != nil {
				out = append(out, *pm.HostPort)
			}
		}
		return out
	}
	if len(a.Networks) > 0 && a.Networks[0].Mode != app.NetworkHost {
		return nil
	}
	out := make([]int, len(a.PortDefinitions))
	for i, pd := range a.PortDefinitions {
		if a.RequirePorts {
			out[i] = pd.Port
		}
	}
	return out
}

// DeclaredPorts returns the declared port of each host port of a (service port, container
// port) and its name, in the order of HostPorts.
func DeclaredPorts(a *app.App) (declared []int, names []string) {
	if a.Container != nil && len(a.Container.PortMappings) > 0 {
		for _, pm := range a.Container.PortMappings {
			if pm.HostPort != nil {
				declared = append(declared, pm.ContainerPort)
				names = append(names, pm.Name)
			}
		}
		return declared, names
	}
	for _, pd := range a.PortDefinitions {
		declared = append(declared, pd.Port)
		names = append(names, pd.Name)
	}
	return declared, names
}

// envNameRE is compiled on first use (see app.idSegmentRE).
var envNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })

// EnvKey upper-cases a name and turns everything that is not a letter, digit or
// underscore into an underscore, as Marathon does for label and port names.
func EnvKey(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// AddLabelEnv adds Marathon's label variables to env: MARATHON_APP_LABEL_<KEY> for each
// label whose key makes a variable name and whose value is under 512 bytes, and
// MARATHON_APP_LABELS listing those keys.
func AddLabelEnv(env, labels map[string]string) {
	var labelNames []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if v := labels[k]; !envNameRE().MatchString(EnvKey(k)) || len(v) >= 512 {
			continue
		}
		labelNames = append(labelNames, EnvKey(k))
		env["MARATHON_APP_LABEL_"+EnvKey(k)] = labels[k]
	}
	env["MARATHON_APP_LABELS"] = strings.Join(labelNames, " ")
}

// TaskEnv returns the environment Marathon gives a task: ports, host, app id and version,
// resources, labels, the task id, then the app's own env (which wins).
func TaskEnv(a *app.App, taskID, host string, ports []uint64) map[string]string {
	env := map[string]string{
		"MESOS_TASK_ID":              taskID,
		"MARATHON_APP_ID":            a.ID,
		"MARATHON_APP_VERSION":       a.Version,
		"MARATHON_APP_RESOURCE_CPUS": app.ScalaDouble(a.Cpus),
		"MARATHON_APP_RESOURCE_MEM":  app.ScalaDouble(a.Mem),
		"MARATHON_APP_RESOURCE_DISK": app.ScalaDouble(a.Disk),
		"MARATHON_APP_RESOURCE_GPUS": strconv.Itoa(a.Gpus),
		"HOST":                       host,
	}
	if a.Container != nil && a.Container.Docker != nil {
		env["MARATHON_APP_DOCKER_IMAGE"] = a.Container.Docker.Image
	}
	AddLabelEnv(env, a.Labels)
	if len(ports) > 0 {
		declared, names := DeclaredPorts(a)
		strs := make([]string, len(ports))
		for i, p := range ports {
			s := strconv.FormatUint(p, 10)
			strs[i] = s
			env["PORT"+strconv.Itoa(i)] = s
			if i < len(declared) && declared[i] != 0 {
				env["PORT_"+strconv.Itoa(declared[i])] = s
			}
			if i < len(names) && names[i] != "" {
				env["PORT_"+EnvKey(names[i])] = s
			}
		}
		env["PORT"] = strs[0]
		env["PORTS"] = strings.Join(strs, ",")
	}
	for k, v := range a.Env {
		env[k] = v
	}
	return env
}

// Spec is everything Build needs besides the app.
type Spec struct {
	TaskID  string
	AgentID string
	Host    string
	Ports   []uint64
	Res     []*mesos.Resource
}

// Build renders the TaskInfo that launches one task of a.
func Build(a *app.App, ts Spec) *mesos.TaskInfo {
	env := TaskEnv(a, ts.TaskID, ts.Host, ts.Ports)
	names := slices.Sorted(maps.Keys(env))
	vars := make([]*mesos.Environment_Variable, 0, len(names))
	for _, k := range names {
		vars = append(vars, &mesos.Environment_Variable{Name: proto.String(k), Value: proto.String(env[k])})
	}
	cmd := &mesos.CommandInfo{Environment: &mesos.Environment{Variables: vars}}
	switch {
	case a.Cmd != nil && *a.Cmd != "":
		cmd.Shell, cmd.Value = proto.Bool(true), proto.String(*a.Cmd)
	case len(a.Args) > 0:
		cmd.Shell = proto.Bool(false)
		if a.Container == nil || a.Container.Docker == nil {
			cmd.Value = proto.String(a.Args[0])
		}
		cmd.Arguments = append([]string(nil), a.Args...)
	default:
		cmd.Shell = proto.Bool(false)
	}
	if a.User != "" {
		cmd.User = proto.String(a.User)
	}
	for _, f := range a.Fetch {
		u := &mesos.CommandInfo_URI{Value: proto.String(f.URI), Executable: proto.Bool(f.Executable),
			Extract: proto.Bool(f.Extract), Cache: proto.Bool(f.Cache)}
		if f.DestPath != "" {
			u.OutputFile = proto.String(f.DestPath)
		}
		cmd.Uris = append(cmd.Uris, u)
	}
	t := &mesos.TaskInfo{
		Name:      proto.String(taskName(a.ID)),
		TaskId:    &mesos.TaskID{Value: proto.String(ts.TaskID)},
		AgentId:   &mesos.AgentID{Value: proto.String(ts.AgentID)},
		Resources: ts.Res,
		Command:   cmd,
	}
	if len(a.Labels) > 0 {
		t.Labels = &mesos.Labels{}
		for _, k := range slices.Sorted(maps.Keys(a.Labels)) {
			t.Labels.Labels = append(t.Labels.Labels, &mesos.Label{Key: proto.String(k), Value: proto.String(a.Labels[k])})
		}
	}
	if a.TaskKillGracePeriodSeconds != nil {
		t.KillPolicy = &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{
			Nanoseconds: proto.Int64(int64(time.Duration(*a.TaskKillGracePeriodSeconds) * time.Second))}}
	}
	if c := a.Container; c != nil && c.Docker != nil {
		t.Container = dockerContainer(a, ts.Ports)
	}
	// A TaskInfo carries one health check: the app's Mesos check (Marathon allows at most
	// one). Its HTTP, HTTPS and TCP checks the framework runs itself.
	if hc, ok := health.MesosCheckOf(a.HealthChecks); ok {
		t.HealthCheck = health.MesosCheck(hc, ts.Ports)
	}
	return t
}

func dockerContainer(a *app.App, ports []uint64) *mesos.ContainerInfo {
	c := a.Container
	d := &mesos.ContainerInfo_DockerInfo{
		Image:          proto.String(c.Docker.Image),
		Privileged:     proto.Bool(c.Docker.Privileged),
		ForcePullImage: proto.Bool(c.Docker.ForcePullImage),
	}
	ci := &mesos.ContainerInfo{Type: mesos.ContainerInfo_DOCKER.Enum(), Docker: d}
	mode := app.NetworkHost
	if len(a.Networks) > 0 {
		mode = a.Networks[0].Mode
	}
	switch mode {
	case app.NetworkBridge:
		d.Network = mesos.ContainerInfo_DockerInfo_BRIDGE.Enum()
	case app.NetworkContainer:
		d.Network = mesos.ContainerInfo_DockerInfo_USER.Enum()
		ci.NetworkInfos = []*mesos.NetworkInfo{{Name: proto.String(a.Networks[0].Name)}}
	default:
		d.Network = mesos.ContainerInfo_DockerInfo_HOST.Enum()
	}
	i := 0
	for _, pm := range c.PortMappings {
		if pm.HostPort == nil {
			continue
		}
		if i >= len(ports) {
			break
		}
		for _, proto1 := range strings.Split(pm.Protocol, ",") {
			d.PortMappings = append(d.PortMappings, &mesos.ContainerInfo_DockerInfo_PortMapping{
				HostPort: proto.Uint32(uint32(ports[i])), ContainerPort: proto.Uint32(uint32(pm.ContainerPort)),
				Protocol: proto.String(proto1),
			})
		}
		i++
	}
	for _, p := range c.Docker.Parameters {
		d.Parameters = append(d.Parameters, &mesos.Parameter{Key: proto.String(p.Key), Value: proto.String(p.Value)})
	}
	for _, v := range c.Volumes {
		mv := &mesos.Volume{ContainerPath: proto.String(v.ContainerPath), Mode: mesos.Volume_RW.Enum()}
		if v.Mode == "RO" {
			mv.Mode = mesos.Volume_RO.Enum()
		}
		if v.HostPath != "" {
			mv.HostPath = proto.String(v.HostPath)
		}
		ci.Volumes = append(ci.Volumes, mv)
	}
	return ci
}
