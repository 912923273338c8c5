// Package pod is the model of Marathon's pods (/v2/pods) as far as Agora runs them: the
// decoding and validation of a pod definition (Marathon's 422 body, with every field that
// is not supported named at its path rather than ignored), and the task group that runs
// one instance of a pod under the agent's default executor. It holds no state and does no
// IO: the loop keeps a pod as the app record AsApp makes of it, and the REST API serves it
// at /v2/pods.
package pod

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/autoscale"
	"github.com/agoracluster/agora/frameworks/marathon/constraints"
)

// The pod model's types are package app's (an app record of the loop carries its pod).
type (
	Pod         = app.Pod
	Container   = app.PodContainer
	Endpoint    = app.PodEndpoint
	Lifecycle   = app.PodLifecycle
	HTTPCheck   = app.PodHTTPCheck
	TCPCheck    = app.PodTCPCheck
	Resources   = app.PodResources
	Exec        = app.PodExec
	Command     = app.PodCommand
	HealthCheck = app.PodHealthCheck
	Volume      = app.PodVolume
	VolumeMount = app.PodVolumeMount
	Network     = app.PodNetwork
	Scaling     = app.PodScaling
	Scheduling  = app.PodScheduling
	Upgrade     = app.PodUpgrade
	Placement   = app.PodPlacement
	Constraint  = app.PodConstraint
)

// Marathon's defaults for a pod container's resources and health check.
const (
	DefaultCpus                   = app.DefaultPodCpus
	DefaultMem                    = app.DefaultPodMem
	DefaultGracePeriodSeconds     = app.DefaultPodGracePeriodSeconds
	DefaultIntervalSeconds        = app.DefaultPodIntervalSeconds
	DefaultMaxConsecutiveFailures = app.DefaultPodMaxConsecutiveFailures
	DefaultTimeoutSeconds         = app.DefaultPodTimeoutSeconds
	DefaultDelaySeconds           = app.DefaultPodDelaySeconds
)

// known lists, per JSON object, the fields Agora supports; every other field of the object
// is reported as not supported at its path.
var known = map[string][]string{
	"pod":         {"id", "labels", "version", "containers", "volumes", "networks", "user", "environment", "scaling", "scheduling", "executorResources"},
	"container":   {"name", "resources", "exec", "endpoints", "environment", "user", "healthCheck", "volumeMounts", "labels", "lifecycle"},
	"endpoint":    {"name", "hostPort", "protocol", "labels"},
	"lifecycle":   {"killGracePeriodSeconds"},
	"http":        {"endpoint", "path", "scheme"},
	"tcp":         {"endpoint"},
	"resources":   {"cpus", "mem", "disk"},
	"network":     {"mode"},
	"scheduling":  {"upgrade", "placement"},
	"upgrade":     {"minimumHealthCapacity", "maximumOverCapacity"},
	"placement":   {"constraints"},
	"constraint":  {"fieldName", "operator", "value"},
	"exec":        {"command"},
	"command":     {"shell"},
	"healthCheck": {"http", "tcp", "exec", "gracePeriodSeconds", "intervalSeconds", "maxConsecutiveFailures", "timeoutSeconds", "delaySeconds"},
	"volume":      {"name", "host"},
	"volumeMount": {"name", "mountPath", "readOnly"},
	"scaling":     {"kind", "instances"},
}

// ConstraintArray is c in an app's form: ["fieldName", "operator"(, "value")].
func ConstraintArray(c Constraint) []string {
	if c.Value == "" {
		return []string{c.FieldName, c.Operator}
	}
	return []string{c.FieldName, c.Operator, c.Value}
}

// notSupported is the message for a field Agora does not run yet.
const notSupported = "is not supported by Agora's pods yet"

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

type problems struct{ details []app.Detail }

func (p *problems) add(path, msg string) {
	for i := range p.details {
		if p.details[i].Path == path {
			p.details[i].Errors = append(p.details[i].Errors, msg)
			return
		}
	}
	p.details = append(p.details, app.Detail{Path: path, Errors: []string{msg}})
}

func (p *problems) err() *app.ValidationError {
	if len(p.details) == 0 {
		return nil
	}
	slices.SortStableFunc(p.details, func(a, b app.Detail) int { return cmp.Compare(a.Path, b.Path) })
	return &app.ValidationError{Message: app.MsgObjectNotValid, Details: p.details}
}

// Decode reads a pod definition, fills Marathon's defaults and validates it. A body that is
// not a JSON object is an *app.MalformedError (400); a pod that is not valid, or uses a
// field Agora does not support, is an *app.ValidationError (422) naming every problem.
func Decode(data []byte) (*Pod, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, &app.MalformedError{Err: err}
	}
	if raw == nil {
		return nil, &app.MalformedError{Err: errors.New("body is null")}
	}
	p := &problems{}
	checkFields(p, "", "pod", data)
	var pod Pod
	if err := json.Unmarshal(data, &pod); err != nil {
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			return nil, &app.MalformedError{Err: err}
		}
		p.add("/"+strings.ReplaceAll(te.Field, ".", "/"), fmt.Sprintf("must be of type %s", te.Type))
		return nil, p.err()
	}
	validate(p, &pod)
	if err := p.err(); err != nil {
		return nil, err
	}
	return &pod, nil
}

// checkFields reports every field of the object at path that kind does not support, and
// descends into the objects and arrays it knows.
func checkFields(p *problems, path, kind string, data []byte) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(data, &obj) != nil || obj == nil {
		return
	}
	for field, val := range obj {
		fp := path + "/" + field
		if !slices.Contains(known[kind], field) {
			if !isEmptyJSON(val) {
				p.add(fp, notSupported)
			}
			continue
		}
		switch {
		case kind == "pod" && field == "containers":
			eachElement(val, func(i int, el []byte) { checkFields(p, fmt.Sprintf("%s/%d", fp, i), "container", el) })
		case kind == "pod" && field == "volumes":
			eachElement(val, func(i int, el []byte) { checkFields(p, fmt.Sprintf("%s/%d", fp, i), "volume", el) })
		case kind == "pod" && field == "networks":
			eachElement(val, func(i int, el []byte) { checkFields(p, fmt.Sprintf("%s/%d", fp, i), "network", el) })
		case kind == "placement" && field == "constraints":
			eachElement(val, func(i int, el []byte) { checkFields(p, fmt.Sprintf("%s/%d", fp, i), "constraint", el) })
		case kind == "pod" && field == "executorResources":
			checkFields(p, fp, "resources", val)
		case kind == "pod" && field == "scheduling", kind == "scheduling":
			checkFields(p, fp, field, val)
		case kind == "container" && field == "volumeMounts":
			eachElement(val, func(i int, el []byte) { checkFields(p, fmt.Sprintf("%s/%d", fp, i), "volumeMount", el) })
		case kind == "container" && field == "endpoints":
			eachElement(val, func(i int, el []byte) { checkFields(p, fmt.Sprintf("%s/%d", fp, i), "endpoint", el) })
		case field == "environment":
			var env map[string]json.RawMessage
			if json.Unmarshal(val, &env) == nil {
				for k, v := range env {
					var str string
					if json.Unmarshal(v, &str) != nil {
						p.add(fp+"/"+k, "must be a string (secrets "+notSupported+")")
					}
				}
			}
		case kind == "container" && field == "lifecycle", kind == "healthCheck" && (field == "http" || field == "tcp"):
			checkFields(p, fp, field, val)
		case kind == "pod" && field == "scaling", kind == "container" && field == "resources",
			field == "exec", field == "command", field == "healthCheck":
			checkFields(p, fp, field, val)
		}
	}
}

func eachElement(data []byte, f func(int, []byte)) {
	var arr []json.RawMessage
	if json.Unmarshal(data, &arr) != nil {
		return
	}
	for i, el := range arr {
		f(i, el)
	}
}

// isEmptyJSON: null, {}, [] and "" say nothing, so a client that sends Marathon's empty
// defaults is not refused for them.
func isEmptyJSON(v json.RawMessage) bool {
	switch string(bytes.TrimSpace(v)) {
	case "null", "{}", "[]", `""`:
		return true
	}
	return false
}

func validate(p *problems, pod *Pod) {
	for _, msg := range app.IDErrors(pod.ID) {
		p.add("/id", msg)
	}
	pod.ID = app.CanonicalID(pod.ID, "/")
	if len(pod.Containers) == 0 {
		p.add("/containers", "must not be empty")
	}
	if _, err := autoscale.PolicyFromLabels(pod.Labels); err != nil {
		for _, msg := range autoscale.Problems(err) {
			p.add("/labels", msg)
		}
	}
	if pod.Scaling.Kind != "" && pod.Scaling.Kind != "fixed" {
		p.add("/scaling/kind", `must be "fixed"`)
	}
	if pod.Scaling.Instances < 0 {
		p.add("/scaling/instances", "must be greater than or equal to 0")
	}
	for i, n := range pod.Networks {
		if n.Mode != "host" {
			p.add(fmt.Sprintf("/networks/%d/mode", i), `must be "host" (the only network Agora's pods join yet)`)
		}
	}
	if u := pod.Scheduling.Upgrade; u.MinimumHealthCapacity < 0 || u.MinimumHealthCapacity > 1 {
		p.add("/scheduling/upgrade/minimumHealthCapacity", "must be between 0 and 1")
	}
	if u := pod.Scheduling.Upgrade; u.MaximumOverCapacity < 0 || u.MaximumOverCapacity > 1 {
		p.add("/scheduling/upgrade/maximumOverCapacity", "must be between 0 and 1")
	}
	for i, c := range pod.Scheduling.Placement.Constraints {
		if msg := constraints.Check(ConstraintArray(c)); msg != "" {
			p.add(fmt.Sprintf("/scheduling/placement/constraints/%d", i), msg)
		}
	}
	if r := pod.ExecutorResources; r.Cpus < 0 || r.Mem < 0 || r.Disk < 0 {
		p.add("/executorResources", "must not be negative")
	}
	volumes := map[string]bool{}
	for i, v := range pod.Volumes {
		path := fmt.Sprintf("/volumes/%d/name", i)
		switch {
		case !nameRE.MatchString(v.Name):
			p.add(path, "must be a valid name (lower case letters, digits and dashes)")
		case volumes[v.Name]:
			p.add(path, "must be unique")
		}
		volumes[v.Name] = true
		if v.Host != "" && (!filepath.IsAbs(v.Host) || filepath.Clean(v.Host) != v.Host) {
			p.add(fmt.Sprintf("/volumes/%d/host", i), "must be a clean absolute path on the agent")
		}
	}
	if pod.User != "" && strings.TrimSpace(pod.User) != pod.User {
		p.add("/user", "must not have leading or trailing spaces")
	}
	names := map[string]bool{}
	endpoints := map[string]bool{} // the pod's endpoint names
	hostPorts := map[int]bool{}    // the fixed host ports asked for
	for i, c := range pod.Containers {
		base := fmt.Sprintf("/containers/%d", i)
		switch {
		case !nameRE.MatchString(c.Name):
			p.add(base+"/name", "must be a valid name (lower case letters, digits and dashes)")
		case names[c.Name]:
			p.add(base+"/name", "must be unique")
		}
		names[c.Name] = true
		if c.Resources.Cpus < 0 || c.Resources.Mem < 0 || c.Resources.Disk < 0 {
			p.add(base+"/resources", "must not be negative")
		}
		if c.Resources.Cpus == 0 && c.Resources.Mem == 0 {
			p.add(base+"/resources", "must ask for cpus or mem")
		}
		if c.Exec == nil || strings.TrimSpace(c.Exec.Command.Shell) == "" {
			p.add(base+"/exec/command/shell", "must not be empty (containers without an image run a shell command)")
		}
		mine := map[string]bool{} // this container's endpoints
		for j, e := range c.Endpoints {
			ep := fmt.Sprintf("%s/endpoints/%d", base, j)
			switch {
			case !nameRE.MatchString(e.Name):
				p.add(ep+"/name", "must be a valid name (lower case letters, digits and dashes)")
			case endpoints[e.Name]:
				p.add(ep+"/name", "must be unique in the pod")
			}
			endpoints[e.Name], mine[e.Name] = true, true
			switch {
			case e.HostPort < 0 || e.HostPort > 65535:
				p.add(ep+"/hostPort", "must be between 0 (any port) and 65535")
			case e.HostPort > 0 && hostPorts[e.HostPort]:
				p.add(ep+"/hostPort", "must be unique in the pod")
			}
			hostPorts[e.HostPort] = e.HostPort > 0
			for k, proto := range e.Protocol {
				if proto != "tcp" && proto != "udp" {
					p.add(fmt.Sprintf("%s/protocol/%d", ep, k), `must be "tcp" or "udp"`)
				}
			}
		}
		if c.User != "" && strings.TrimSpace(c.User) != c.User {
			p.add(base+"/user", "must not have leading or trailing spaces")
		}
		if lc := c.Lifecycle; lc != nil && lc.KillGracePeriodSeconds != nil && *lc.KillGracePeriodSeconds < 0 {
			p.add(base+"/lifecycle/killGracePeriodSeconds", "must be greater than or equal to 0")
		}
		if hc := c.HealthCheck; hc != nil {
			validateHealthCheck(p, base+"/healthCheck", hc, mine)
		}
		for j, m := range c.VolumeMounts {
			mp := fmt.Sprintf("%s/volumeMounts/%d", base, j)
			if !volumes[m.Name] {
				p.add(mp+"/name", "must name a volume of the pod")
			}
			if m.MountPath == "" || strings.HasPrefix(m.MountPath, "/") || slices.Contains(strings.Split(m.MountPath, "/"), "..") {
				p.add(mp+"/mountPath", "must be a relative path inside the container's sandbox (containers without an image run on the host's filesystem)")
			}
			if m.ReadOnly {
				p.add(mp+"/readOnly", "read-only mounts "+notSupported+" (a volume is linked into the sandbox of a container without an image, which cannot make it read-only)")
			}
		}
	}
}

// validateHealthCheck checks a container's health check at path: exactly one of http, tcp
// and exec, an http or tcp check naming one of the container's endpoints (mine).
func validateHealthCheck(p *problems, path string, hc *HealthCheck, mine map[string]bool) {
	kinds := 0
	if hc.HTTP != nil {
		kinds++
		if !mine[hc.HTTP.Endpoint] {
			p.add(path+"/http/endpoint", "must name an endpoint of the container")
		}
		if s := hc.HTTP.Scheme; s != "" && s != "HTTP" && s != "HTTPS" {
			p.add(path+"/http/scheme", `must be "HTTP" or "HTTPS"`)
		}
		if hc.HTTP.Path != "" && !strings.HasPrefix(hc.HTTP.Path, "/") {
			p.add(path+"/http/path", `must start with "/"`)
		}
	}
	if hc.TCP != nil {
		kinds++
		if !mine[hc.TCP.Endpoint] {
			p.add(path+"/tcp/endpoint", "must name an endpoint of the container")
		}
	}
	if hc.Exec != nil {
		kinds++
		if strings.TrimSpace(hc.Exec.Command.Shell) == "" {
			p.add(path+"/exec/command/shell", "must not be empty")
		}
	}
	if kinds != 1 {
		p.add(path, "must have exactly one of http, tcp and exec")
	}
	if hc.GracePeriodSeconds < 0 || hc.IntervalSeconds < 0 || hc.MaxConsecutiveFailures < 0 || hc.TimeoutSeconds < 0 || hc.DelaySeconds < 0 {
		p.add(path, "timings must not be negative")
	}
}
