package app

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/agoracluster/agora/frameworks/marathon/autoscale"
	"github.com/agoracluster/agora/frameworks/marathon/constraints"
)

// ValidationError is Marathon's 422 body:
// {"message":"Object is not valid","details":[{"path":"/cpus","errors":["…"]}]}.
type ValidationError struct {
	Message string   `json:"message"`
	Details []Detail `json:"details"`
}

// Detail lists the problems found at one JSON path.
type Detail struct {
	Path   string   `json:"path"`
	Errors []string `json:"errors"`
}

// MsgObjectNotValid is the message of every validation failure.
const MsgObjectNotValid = "Object is not valid"

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("app: ")
	b.WriteString(MsgObjectNotValid)
	for _, d := range e.Details {
		fmt.Fprintf(&b, "; %s: %s", d.Path, strings.Join(d.Errors, ", "))
	}
	return b.String()
}

func (e *ValidationError) add(path, msg string) {
	e.Message = MsgObjectNotValid
	for i := range e.Details {
		if e.Details[i].Path == path {
			for _, m := range e.Details[i].Errors {
				if m == msg {
					return
				}
			}
			e.Details[i].Errors = append(e.Details[i].Errors, msg)
			return
		}
	}
	e.Details = append(e.Details, Detail{Path: path, Errors: []string{msg}})
}

func (e *ValidationError) empty() bool { return len(e.Details) == 0 }

func (e *ValidationError) sorted() *ValidationError {
	slices.SortStableFunc(e.Details, func(a, b Detail) int { return cmp.Compare(a.Path, b.Path) })
	return e
}

// Validate checks a decoded app with Marathon's rules and returns every
// problem at once, or nil.
func Validate(a *App) *ValidationError {
	e := &ValidationError{}
	for _, msg := range IDErrors(a.ID) {
		e.add("/id", msg)
	}
	validate(a, e)
	if e.empty() {
		return nil
	}
	return e.sorted()
}

// ScalaDouble renders a float as Scala's Double.toString does for plain values (1.0,
// 0.5), as Marathon prints numbers in its messages and task environment.
func ScalaDouble(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eEn") {
		s += ".0"
	}
	return s
}

func atLeastF(e *ValidationError, path string, v, min float64) {
	if !(v >= min) {
		e.add(path, fmt.Sprintf("got %s, expected %s or more", ScalaDouble(v), ScalaDouble(min)))
	}
}

func atLeast(e *ValidationError, path string, v, min int64) {
	if v < min {
		e.add(path, fmt.Sprintf("got %d, expected %d or more", v, min))
	}
}

func betweenF(e *ValidationError, path string, v, lo, hi float64) {
	if !(v >= lo && v <= hi) {
		e.add(path, fmt.Sprintf("got %s, expected between %s and %s", ScalaDouble(v), ScalaDouble(lo), ScalaDouble(hi)))
	}
}

func between(e *ValidationError, path string, v, lo, hi int) {
	if v < lo || v > hi {
		e.add(path, fmt.Sprintf("got %d, expected between %d and %d", v, lo, hi))
	}
}

func oneOf(e *ValidationError, path, v string, allowed ...string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	e.add(path, fmt.Sprintf("is not one of (%s)", strings.Join(allowed, ",")))
}

func idx(path string, i int) string { return fmt.Sprintf("%s(%d)", path, i) }

func validate(a *App, e *ValidationError) {
	if a.Pod != nil {
		e.add("/pod", "is not a field of an app: pods are posted to /v2/pods")
	}
	cmd := a.Cmd != nil && *a.Cmd != ""
	args := len(a.Args) > 0
	hasContainer := a.Container != nil && (a.Container.Docker != nil || a.Container.Type == ContainerMesos)
	if !((cmd != args) || (!(cmd && args) && hasContainer)) {
		e.add("/", "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.")
	}
	if a.Cmd != nil && *a.Cmd == "" {
		e.add("/cmd", "must not be empty")
	}
	atLeastF(e, "/cpus", a.Cpus, 0)
	atLeastF(e, "/mem", a.Mem, 0)
	atLeastF(e, "/disk", a.Disk, 0)
	atLeast(e, "/gpus", int64(a.Gpus), 0)
	atLeast(e, "/instances", int64(a.Instances), 0)
	if _, err := autoscale.PolicyFromLabels(a.Labels); err != nil {
		for _, msg := range autoscale.Problems(err) {
			e.add("/labels", msg)
		}
	}
	atLeast(e, "/backoffSeconds", int64(a.BackoffSeconds), 0)
	atLeastF(e, "/backoffFactor", a.BackoffFactor, 1)
	atLeast(e, "/maxLaunchDelaySeconds", int64(a.MaxLaunchDelaySeconds), 0)
	if a.TaskKillGracePeriodSeconds != nil {
		atLeast(e, "/taskKillGracePeriodSeconds", int64(*a.TaskKillGracePeriodSeconds), 0)
	}
	betweenF(e, "/upgradeStrategy/minimumHealthCapacity", a.UpgradeStrategy.MinimumHealthCapacity, 0, 1)
	betweenF(e, "/upgradeStrategy/maximumOverCapacity", a.UpgradeStrategy.MaximumOverCapacity, 0, 1)
	oneOf(e, "/killSelection", a.KillSelection, KillYoungestFirst, KillOldestFirst)
	if u := a.UnreachableStrategy; !u.Disabled {
		if u.InactiveAfterSeconds < 0 {
			e.add("/unreachableStrategy/inactiveAfterSeconds",
				fmt.Sprintf("inactiveAfterSeconds (%d) must be greater than or equal to 0", u.InactiveAfterSeconds))
		} else if u.InactiveAfterSeconds > u.ExpungeAfterSeconds {
			e.add("/unreachableStrategy/inactiveAfterSeconds",
				fmt.Sprintf("inactiveAfterSeconds (%d) must be less or equal to expungeAfterSeconds, which is %d",
					u.InactiveAfterSeconds, u.ExpungeAfterSeconds))
		}
	}
	for i, dep := range a.Dependencies {
		for _, msg := range IDErrors(dep) {
			e.add(idx("/dependencies", i), msg)
		}
	}
	for i, c := range a.Constraints {
		if msg := constraints.Check(c); msg != "" {
			e.add(idx("/constraints", i), msg)
		}
	}
	for i, f := range a.Fetch {
		if strings.TrimSpace(f.URI) == "" {
			e.add(idx("/fetch", i)+"/uri", "must not be empty")
		}
	}
	validateNetworking(a, e)
	validateChecks(a, e)
	if a.Gpus > 0 && a.Container != nil && a.Container.Type == ContainerDocker {
		e.add("/", "GPU resources only work with the Mesos containerizer")
	}
	roles := map[string]bool{}
	for i, r := range a.AcceptedResourceRoles {
		if r == "" {
			e.add(idx("/acceptedResourceRoles", i), "must not be empty")
		}
		if roles[r] {
			e.add("/acceptedResourceRoles", "elements must be unique")
		}
		roles[r] = true
	}
	for k := range a.Env {
		if k == "" {
			e.add("/env", "must not contain an empty name")
		}
	}
}

func validateNetworking(a *App, e *ValidationError) {
	hosts := 0
	for i, n := range a.Networks {
		p := idx("/networks", i)
		oneOf(e, p+"/mode", n.Mode, NetworkContainer, NetworkBridge, NetworkHost)
		if n.Mode == NetworkHost {
			hosts++
			if n.Name != "" {
				e.add(p+"/name", "must be empty for host networking")
			}
		}
	}
	if hosts > 0 && len(a.Networks) > 1 {
		e.add("/networks", "host networks may not have more than one network")
	}
	names := map[string]bool{}
	for i, pd := range a.PortDefinitions {
		p := idx("/portDefinitions", i)
		between(e, p+"/port", pd.Port, 0, 65535)
		oneOf(e, p+"/protocol", pd.Protocol, "tcp", "udp", "udp,tcp", "tcp,udp")
		if pd.Name != "" {
			if names[pd.Name] {
				e.add("/portDefinitions", "Port names must be unique.")
			}
			names[pd.Name] = true
		}
	}
	seen := map[int]bool{}
	for _, pd := range a.PortDefinitions {
		if pd.Port != 0 && seen[pd.Port] {
			e.add("/portDefinitions", "Ports must be unique.")
		}
		seen[pd.Port] = true
	}
	if a.RequirePorts {
		for i, pd := range a.PortDefinitions {
			if pd.Port == 0 {
				e.add(idx("/portDefinitions", i)+"/port", "must be set (not 0) when requirePorts is true")
			}
		}
	}
	c := a.Container
	if c == nil {
		return
	}
	oneOf(e, "/container/type", c.Type, ContainerDocker, ContainerMesos)
	if c.Type == ContainerDocker {
		if c.Docker == nil {
			e.add("/container/docker", "must not be empty")
		} else if strings.TrimSpace(c.Docker.Image) == "" {
			e.add("/container/docker/image", "must not be empty")
		}
	}
	if c.Docker != nil {
		for i, p := range c.Docker.Parameters {
			if p.Key == "" {
				e.add(idx("/container/docker/parameters", i)+"/key", "must not be empty")
			}
		}
	}
	for i, v := range c.Volumes {
		p := idx("/container/volumes", i)
		if v.ContainerPath == "" {
			e.add(p+"/containerPath", "must not be empty")
		}
		oneOf(e, p+"/mode", v.Mode, "RO", "RW")
	}
	pmNames := map[string]bool{}
	for i, pm := range c.PortMappings {
		p := idx("/container/portMappings", i)
		between(e, p+"/containerPort", pm.ContainerPort, 0, 65535)
		if pm.HostPort != nil {
			between(e, p+"/hostPort", *pm.HostPort, 0, 65535)
		}
		between(e, p+"/servicePort", pm.ServicePort, 0, 65535)
		oneOf(e, p+"/protocol", pm.Protocol, "tcp", "udp", "udp,tcp", "tcp,udp")
		if pm.Name != "" {
			if pmNames[pm.Name] {
				e.add("/container/portMappings", "Port names must be unique.")
			}
			pmNames[pm.Name] = true
		}
	}
}

func validateChecks(a *App, e *ValidationError) {
	ports := portCount(a)
	mesos := 0
	for i, hc := range a.HealthChecks {
		p := idx("/healthChecks", i)
		oneOf(e, p+"/protocol", hc.Protocol, "HTTP", "HTTPS", "TCP", "COMMAND",
			"MESOS_HTTP", "MESOS_HTTPS", "MESOS_TCP")
		if hc.Protocol == "COMMAND" || strings.HasPrefix(hc.Protocol, "MESOS_") { // the executor's checks
			mesos++
		}
		if hc.Protocol == "COMMAND" {
			if hc.Command == nil || hc.Command.Value == "" {
				e.add(p+"/command", "must not be empty")
			}
		} else if hc.PortIndex != nil && (*hc.PortIndex < 0 || *hc.PortIndex >= ports) ||
			hc.PortIndex == nil && hc.Port == nil && ports != 1 {
			e.add(p, "Health check port indices must address an element of the ports array or container port mappings.")
		}
		atLeast(e, p+"/gracePeriodSeconds", int64(hc.GracePeriodSeconds), 0)
		atLeast(e, p+"/intervalSeconds", int64(hc.IntervalSeconds), 0)
		atLeast(e, p+"/timeoutSeconds", int64(hc.TimeoutSeconds), 0)
		atLeast(e, p+"/maxConsecutiveFailures", int64(hc.MaxConsecutiveFailures), 0)
	}
	if mesos > 1 {
		e.add("/", "AppDefinition can contain at most one Mesos health check")
	}
	if len(a.ReadinessChecks) > 1 {
		e.add("/readinessChecks", fmt.Sprintf("got %d, expected 1 or less", len(a.ReadinessChecks)))
	}
	names := portNames(a)
	for i, rc := range a.ReadinessChecks {
		p := idx("/readinessChecks", i)
		oneOf(e, p+"/protocol", rc.Protocol, "HTTP", "HTTPS")
		if !names[rc.PortName] {
			e.add(p+"/portName", "must be the name of a port of the app")
		}
		if rc.TimeoutSeconds >= rc.IntervalSeconds {
			e.add(p, "timeoutSeconds must be less than intervalSeconds")
		}
		if len(rc.HTTPStatusCodesForReady) == 0 {
			e.add(p+"/httpStatusCodesForReady", "must not be empty")
		}
	}
}

func portNames(a *App) map[string]bool {
	out := map[string]bool{}
	if a.Container != nil && len(a.Container.PortMappings) > 0 {
		for _, pm := range a.Container.PortMappings {
			out[pm.Name] = pm.Name != ""
		}
		return out
	}
	for _, pd := range a.PortDefinitions {
		out[pd.Name] = pd.Name != ""
	}
	return out
}
