package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

var unreachableType = reflect.TypeOf(UnreachableStrategy{})

// MalformedError is returned for a body that is not a JSON object at all
// (syntax error, truncated input, a non-object top level). The REST layer
// maps it to 400 Bad Request.
type MalformedError struct{ Err error }

func (e *MalformedError) Error() string { return "app: malformed JSON: " + e.Err.Error() }
func (e *MalformedError) Unwrap() error { return e.Err }

// Default returns an app with every Marathon default set and no id.
func Default() App {
	return App{
		Instances:             DefaultInstances,
		Cpus:                  DefaultCpus,
		Mem:                   DefaultMem,
		Disk:                  DefaultDisk,
		Gpus:                  DefaultGpus,
		BackoffSeconds:        DefaultBackoffSeconds,
		BackoffFactor:         DefaultBackoffFactor,
		MaxLaunchDelaySeconds: DefaultMaxLaunchDelaySeconds,
		UpgradeStrategy:       UpgradeStrategy{DefaultMinimumHealthCapacity, DefaultMaximumOverCapacity},
		KillSelection:         KillYoungestFirst,
	}
}

// decoded is what decode returns before validation: the app, the raw id as
// posted (validated before canonicalization) and problems that are already
// known (type mismatches, conflicting legacy fields).
type decoded struct {
	app     App
	rawID   string
	present map[string]json.RawMessage
	errs    *ValidationError
}

func decode(data []byte, base string) (*decoded, error) {
	var present map[string]json.RawMessage
	if err := json.Unmarshal(data, &present); err != nil {
		return nil, &MalformedError{Err: err}
	}
	if present == nil {
		return nil, &MalformedError{Err: errors.New("body is null")}
	}
	d := &decoded{app: Default(), present: present, errs: &ValidationError{}}
	if err := json.Unmarshal(data, &d.app); err != nil {
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			return nil, &MalformedError{Err: err}
		}
		d.errs.add(typePath(te), expectedMessage(te.Type))
	}
	d.rawID = d.app.ID
	// Legacy fields, converted as Marathon's normalization does.
	if raw, ok := present["ports"]; ok && !isNull(raw) {
		if _, both := present["portDefinitions"]; both {
			d.errs.add("/", "You cannot specify both ports and port definitions")
		} else {
			var ports []int
			if err := json.Unmarshal(raw, &ports); err != nil {
				d.errs.add("/ports", "error.expected.jsarray")
			}
			d.app.PortDefinitions = make([]PortDefinition, 0, len(ports))
			for _, p := range ports {
				d.app.PortDefinitions = append(d.app.PortDefinitions, PortDefinition{Port: p, Protocol: "tcp"})
			}
			present["portDefinitions"] = raw
		}
	}
	if raw, ok := present["uris"]; ok && !isNull(raw) {
		if _, both := present["fetch"]; both {
			d.errs.add("/", "You cannot specify both uris and fetch fields")
		} else {
			var uris []string
			if err := json.Unmarshal(raw, &uris); err != nil {
				d.errs.add("/uris", "error.expected.jsarray")
			}
			d.app.Fetch = make([]Artifact, 0, len(uris))
			for _, u := range uris {
				d.app.Fetch = append(d.app.Fetch, Artifact{URI: u, Extract: extractable(u)})
			}
		}
	}
	normalize(&d.app, present, base)
	return d, nil
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

func extractable(uri string) bool {
	for _, ext := range []string{".tgz", ".tar.gz", ".tbz2", ".tar.bz2", ".txz", ".tar.xz", ".zip"} {
		if strings.HasSuffix(uri, ext) {
			return true
		}
	}
	return false
}

// normalize canonicalizes ids, moves pre-1.5 fields to their 1.5 places and
// fills defaults that depend on other fields.
func normalize(a *App, present map[string]json.RawMessage, base string) {
	if base == "" {
		base = "/"
	}
	a.ID = CanonicalID(a.ID, base)
	for i, dep := range a.Dependencies {
		a.Dependencies[i] = CanonicalID(dep, a.ID)
	}
	if c := a.Container; c != nil {
		if c.Type == "" {
			c.Type = ContainerDocker
		}
		if d := c.Docker; d != nil {
			if len(c.PortMappings) == 0 && len(d.PortMappings) > 0 {
				c.PortMappings = d.PortMappings
			}
			d.PortMappings = nil
			if _, ok := present["networks"]; !ok && d.Network != "" {
				switch strings.ToUpper(d.Network) {
				case "BRIDGE":
					a.Networks = []Network{{Mode: NetworkBridge}}
				case "USER":
					a.Networks = []Network{{Mode: NetworkContainer}}
				default:
					a.Networks = []Network{{Mode: NetworkHost}}
				}
			}
			d.Network = ""
			if d.Parameters == nil {
				d.Parameters = []DockerParam{}
			}
		}
		if c.Volumes == nil {
			c.Volumes = []Volume{}
		}
	}
	if len(a.Networks) == 0 {
		a.Networks = []Network{{Mode: DefaultNetworkMode}}
	}
	host := a.Networks[0].Mode == NetworkHost
	if a.Container != nil {
		for i := range a.Container.PortMappings {
			pm := &a.Container.PortMappings[i]
			if pm.HostPort == nil && (host || a.Networks[0].Mode == NetworkBridge) {
				zero := 0
				pm.HostPort = &zero
			}
		}
	}
	_, hasPortDefs := present["portDefinitions"]
	hasMappings := a.Container != nil && len(a.Container.PortMappings) > 0
	if !hasPortDefs && host && !hasMappings {
		a.PortDefinitions = []PortDefinition{{Port: 0, Protocol: "tcp", Name: "default"}}
	}
	if !host && !hasPortDefs {
		a.PortDefinitions = nil
	}
	for i := range a.HealthChecks {
		hc := &a.HealthChecks[i]
		if hc.PortIndex == nil && hc.Port == nil && hc.Command == nil && portCount(a) > 0 {
			zero := 0
			hc.PortIndex = &zero
		}
		if hc.Path == "" && (hc.Protocol == "HTTP" || hc.Protocol == "HTTPS" ||
			hc.Protocol == "MESOS_HTTP" || hc.Protocol == "MESOS_HTTPS") {
			hc.Path = "/"
		}
	}
	if a.Env == nil {
		a.Env = map[string]string{}
	}
	if a.Labels == nil {
		a.Labels = map[string]string{}
	}
	if a.Constraints == nil {
		a.Constraints = [][]string{}
	}
	if a.Fetch == nil {
		a.Fetch = []Artifact{}
	}
	if a.HealthChecks == nil {
		a.HealthChecks = []HealthCheck{}
	}
	if a.ReadinessChecks == nil {
		a.ReadinessChecks = []ReadinessCheck{}
	}
	if a.Dependencies == nil {
		a.Dependencies = []string{}
	}
	if a.PortDefinitions == nil {
		a.PortDefinitions = []PortDefinition{}
	}
	if len(a.Args) == 0 {
		a.Args = nil
	}
	if len(a.AcceptedResourceRoles) == 0 {
		a.AcceptedResourceRoles = nil
	}
}

// portCount is the number of ports each task gets: port mappings when the
// container declares them, else port definitions.
func portCount(a *App) int {
	if a.Container != nil && len(a.Container.PortMappings) > 0 {
		return len(a.Container.PortMappings)
	}
	return len(a.PortDefinitions)
}

// Parse decodes an app definition posted by a client, resolves its id
// against base (the group it is posted to, "/" for /v2/apps), applies
// Marathon's defaults and validates it. Errors are *MalformedError (400) or
// *ValidationError (422).
func Parse(data []byte, base string) (*App, error) {
	d, err := decode(data, base)
	if err != nil {
		return nil, err
	}
	if _, ok := d.present["id"]; !ok {
		d.errs.add("/id", "error.path.missing")
	} else {
		for _, msg := range IDErrors(d.rawID) {
			d.errs.add("/id", msg)
		}
	}
	validate(&d.app, d.errs)
	if d.errs.empty() {
		return &d.app, nil
	}
	return nil, d.errs.sorted()
}

// Update applies a PUT or PATCH body to the current definition with
// Marathon's update semantics: every top-level field present in the body
// replaces the current field as a whole (env, labels, container…); absent
// fields keep their current value. The id in the body is ignored. The result
// is validated; its Version and VersionInfo are the current ones (the caller
// stamps the new version).
func Update(current *App, body []byte) (*App, error) {
	var patch map[string]json.RawMessage
	if err := json.Unmarshal(body, &patch); err != nil {
		return nil, &MalformedError{Err: err}
	}
	if patch == nil {
		return nil, &MalformedError{Err: errors.New("body is null")}
	}
	rendered, err := json.Marshal(current)
	if err != nil {
		return nil, fmt.Errorf("app: render %s: %w", current.ID, err)
	}
	var merged map[string]json.RawMessage
	if err := json.Unmarshal(rendered, &merged); err != nil {
		return nil, fmt.Errorf("app: render %s: %w", current.ID, err)
	}
	for k, v := range patch {
		switch k {
		case "id", "version", "versionInfo":
			continue
		case "ports":
			delete(merged, "portDefinitions")
		case "uris":
			delete(merged, "fetch")
		case "cmd":
			if !isNull(v) {
				delete(merged, "args")
			}
		case "args":
			if !isNull(v) {
				delete(merged, "cmd")
			}
		case "networks", "container":
			_, pd := patch["portDefinitions"]
			_, p := patch["ports"]
			if !pd && !p && isDefaultPorts(current.PortDefinitions) {
				// Let the default be derived again for the new networking.
				delete(merged, "portDefinitions")
			}
		}
		merged[k] = v
	}
	data, err := json.Marshal(merged)
	if err != nil {
		return nil, fmt.Errorf("app: merge %s: %w", current.ID, err)
	}
	d, err := decode(data, "/")
	if err != nil {
		return nil, err
	}
	d.app.ID = current.ID
	d.app.Version = current.Version
	d.app.VersionInfo = current.VersionInfo
	validate(&d.app, d.errs)
	if d.errs.empty() {
		return &d.app, nil
	}
	return nil, d.errs.sorted()
}

func isDefaultPorts(pds []PortDefinition) bool {
	return len(pds) == 1 && pds[0].Port == 0 && pds[0].Name == "default" && pds[0].Protocol == "tcp" && len(pds[0].Labels) == 0
}

// RollbackVersion reports whether a PUT body asks to roll back to a stored
// version: Marathon treats a body whose only field (besides id) is
// "version" as a rollback.
func RollbackVersion(body []byte) (string, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return "", false
	}
	delete(m, "id")
	raw, ok := m["version"]
	if !ok || len(m) != 1 {
		return "", false
	}
	var v string
	if json.Unmarshal(raw, &v) != nil || v == "" {
		return "", false
	}
	return v, true
}

// Render returns the app as Marathon's API returns it.
func Render(a *App) ([]byte, error) {
	b, err := json.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("app: render %s: %w", a.ID, err)
	}
	return b, nil
}

// IsUpgrade reports whether going from a to b changes what the tasks run
// (anything but instances and the version stamps), so that running tasks
// must be replaced. A change of instances alone is a scale.
func IsUpgrade(a, b *App) bool {
	x, y := *a, *b
	x.Instances, y.Instances = 0, 0
	x.Version, y.Version = "", ""
	x.VersionInfo, y.VersionInfo = nil, nil
	if x.Pod != nil && y.Pod != nil {
		px, py := *x.Pod, *y.Pod
		px.Scaling.Instances, py.Scaling.Instances = 0, 0
		px.Version, py.Version = "", ""
		x.Pod, y.Pod = &px, &py
	}
	bx, errx := json.Marshal(&x)
	by, erry := json.Marshal(&y)
	return errx != nil || erry != nil || !bytes.Equal(bx, by)
}

func typePath(te *json.UnmarshalTypeError) string {
	if te.Field == "" {
		return "/"
	}
	return "/" + strings.ReplaceAll(te.Field, ".", "/")
}

func expectedMessage(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == unreachableType {
		return "error.expected.jsobject"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "error.expected.jsnumber"
	case reflect.String:
		return "error.expected.jsstring"
	case reflect.Bool:
		return "error.expected.jsboolean"
	case reflect.Slice, reflect.Array:
		return "error.expected.jsarray"
	default:
		return "error.expected.jsobject"
	}
}
