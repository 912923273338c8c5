package marathon

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/constraints"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"google.golang.org/protobuf/proto"
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

// hostPortRequests lists the host ports a task of a needs: 0 = any, else exactly that one.
func hostPortRequests(a *app.App) []int {
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

// launchRequest describes count tasks of a for the matcher.
func launchRequest(a *app.App, count int, placed []constraints.Placement) (LaunchRequest, error) {
	cs, err := constraints.ParseAll(a.Constraints)
	if err != nil {
		return LaunchRequest{}, err
	}
	return LaunchRequest{
		AppID: a.ID, Count: count, Cpus: a.Cpus, Mem: a.Mem, Disk: a.Disk, Gpus: float64(a.Gpus),
		HostPorts: hostPortRequests(a), Constraints: cs, AcceptedRoles: a.AcceptedResourceRoles, Placed: placed,
	}, nil
}

// portNames returns the declared port of each host port of a (service port, container
// port) and its name, in the order of hostPortRequests.
func declaredPorts(a *app.App) (declared []int, names []string) {
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

// envKey upper-cases a name and turns everything that is not a letter, digit or
// underscore into an underscore, as Marathon does for label and port names.
func envKey(s string) string {
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

// scalaDouble renders a float as Scala's Double.toString does for plain values (1.0, 0.5).
func scalaDouble(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eEn") {
		s += ".0"
	}
	return s
}

// TaskEnv returns the environment Marathon gives a task: ports, host, app id and version,
// resources, labels, the task id, then the app's own env (which wins).
func TaskEnv(a *app.App, taskID, host string, ports []uint64) map[string]string {
	env := map[string]string{
		"MESOS_TASK_ID":              taskID,
		"MARATHON_APP_ID":            a.ID,
		"MARATHON_APP_VERSION":       a.Version,
		"MARATHON_APP_RESOURCE_CPUS": scalaDouble(a.Cpus),
		"MARATHON_APP_RESOURCE_MEM":  scalaDouble(a.Mem),
		"MARATHON_APP_RESOURCE_DISK": scalaDouble(a.Disk),
		"MARATHON_APP_RESOURCE_GPUS": strconv.Itoa(a.Gpus),
		"HOST":                       host,
	}
	if a.Container != nil && a.Container.Docker != nil {
		env["MARATHON_APP_DOCKER_IMAGE"] = a.Container.Docker.Image
	}
	keys := make([]string, 0, len(a.Labels))
	for k, v := range a.Labels {
		if envNameRE().MatchString(envKey(k)) && len(v) < 512 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var labelNames []string
	for _, k := range keys {
		labelNames = append(labelNames, envKey(k))
		env["MARATHON_APP_LABEL_"+envKey(k)] = a.Labels[k]
	}
	env["MARATHON_APP_LABELS"] = strings.Join(labelNames, " ")
	if len(ports) > 0 {
		declared, names := declaredPorts(a)
		strs := make([]string, len(ports))
		for i, p := range ports {
			s := strconv.FormatUint(p, 10)
			strs[i] = s
			env["PORT"+strconv.Itoa(i)] = s
			if i < len(declared) && declared[i] != 0 {
				env["PORT_"+strconv.Itoa(declared[i])] = s
			}
			if i < len(names) && names[i] != "" {
				env["PORT_"+envKey(names[i])] = s
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

// taskSpec is everything BuildTask needs besides the app.
type taskSpec struct {
	TaskID  string
	AgentID string
	Host    string
	Ports   []uint64
	Res     []*mesos.Resource
}

// BuildTask renders the TaskInfo that launches one task of a.
func buildTask(a *app.App, ts taskSpec) *mesos.TaskInfo {
	env := TaskEnv(a, ts.TaskID, ts.Host, ts.Ports)
	names := make([]string, 0, len(env))
	for k := range env {
		names = append(names, k)
	}
	sort.Strings(names)
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
		keys := make([]string, 0, len(a.Labels))
		for k := range a.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		t.Labels = &mesos.Labels{}
		for _, k := range keys {
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
	if len(a.HealthChecks) > 0 {
		t.HealthCheck = healthCheck(a.HealthChecks[0], ts.Ports)
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

// healthCheck translates a Marathon health check into the Mesos one the executor runs;
// the port comes from portIndex (the task's host port) or port.
func healthCheck(hc app.HealthCheck, ports []uint64) *mesos.HealthCheck {
	m := &mesos.HealthCheck{
		DelaySeconds:        proto.Float64(float64(hc.DelaySeconds)),
		IntervalSeconds:     proto.Float64(float64(hc.IntervalSeconds)),
		TimeoutSeconds:      proto.Float64(float64(hc.TimeoutSeconds)),
		ConsecutiveFailures: proto.Uint32(uint32(hc.MaxConsecutiveFailures)),
		GracePeriodSeconds:  proto.Float64(float64(hc.GracePeriodSeconds)),
	}
	port := uint32(0)
	switch {
	case hc.Port != nil:
		port = uint32(*hc.Port)
	case hc.PortIndex != nil && *hc.PortIndex < len(ports):
		port = uint32(ports[*hc.PortIndex])
	}
	switch strings.TrimPrefix(hc.Protocol, "MESOS_") {
	case "COMMAND":
		m.Type = mesos.HealthCheck_COMMAND.Enum()
		val := ""
		if hc.Command != nil {
			val = hc.Command.Value
		}
		m.Command = &mesos.CommandInfo{Shell: proto.Bool(true), Value: proto.String(val)}
	case "TCP":
		m.Type = mesos.HealthCheck_TCP.Enum()
		m.Tcp = &mesos.HealthCheck_TCPCheckInfo{Port: proto.Uint32(port)}
	default: // HTTP, HTTPS
		scheme := "http"
		if strings.HasSuffix(hc.Protocol, "HTTPS") {
			scheme = "https"
		}
		m.Type = mesos.HealthCheck_HTTP.Enum()
		m.Http = &mesos.HealthCheck_HTTPCheckInfo{Port: proto.Uint32(port), Path: proto.String(hc.Path), Scheme: proto.String(scheme)}
	}
	return m
}

// describeReasons renders per-reason counts for logs.
func describeReasons(m map[string]int) string {
	var parts []string
	for _, r := range reasonOrder {
		if n := m[r]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", r, n))
		}
	}
	return strings.Join(parts, " ")
}
