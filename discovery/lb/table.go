package lb

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
)

// DefaultGroup is the LB group of an app without an HAPROXY_GROUP label, and the group
// `agora lb` serves by default.
const DefaultGroup = "external"

// AllGroups is the group of an LB that serves every app, whatever its group.
const AllGroups = "*"

// Backend is one task's address behind a frontend.
type Backend struct {
	TaskID string `json:"task_id"`
	Addr   string `json:"addr"` // host:port
}

// Service is one TCP frontend: an app's service port and the healthy tasks behind it.
type Service struct {
	Port      int       `json:"port"`
	AppID     string    `json:"app_id"`
	PortIndex int       `json:"port_index"`
	Backends  []Backend `json:"backends"`
}

// VHost routes HTTP requests whose Host is Host to an app's port PortIndex.
type VHost struct {
	Host      string    `json:"host"`
	AppID     string    `json:"app_id"`
	PortIndex int       `json:"port_index"`
	Backends  []Backend `json:"backends"`
}

// Table is what one LB group serves: services by port, virtual hosts by name.
type Table struct {
	Services []Service `json:"services"`
	VHosts   []VHost   `json:"vhosts"`
}

// Warning is a label (or a port definition) of an app that Build ignored, and why.
type Warning struct {
	AppID  string
	Label  string
	Reason string
}

func (w Warning) String() string {
	return fmt.Sprintf("app %s: %s: %s", w.AppID, w.Label, w.Reason)
}

// Build turns Marathon's apps into the Table that the LB of group serves (AllGroups: every
// app). An app's port n belongs to the groups in its HAPROXY_{n}_GROUP label, or else its
// HAPROXY_GROUP label (comma separated), or else DefaultGroup. Its backends are the tasks
// that are TASK_RUNNING and, when the app has health checks, alive in every result (a task
// without results yet is not healthy). A service port of 0 gets no frontend; of two apps
// claiming one service port or one virtual host, the first by app id keeps it. Labels that
// cannot be read (a port index that is not a number or is out of range, a virtual host that
// is not a host name) are ignored and returned as warnings.
func Build(apps []App, group string) (Table, []Warning) {
	sorted := slices.Clone(apps)
	slices.SortFunc(sorted, func(a, b App) int { return strings.Compare(a.ID, b.ID) })
	var t Table
	var warns []Warning
	portOwner := map[int]string{}
	hostOwner := map[string]string{}
	for i := range sorted {
		a := &sorted[i]
		sps := a.ServicePorts()
		vhosts, groups, ws := readLabels(a, len(sps))
		warns = append(warns, ws...)
		for idx, sp := range sps {
			if !inGroup(groups[idx], group) {
				continue
			}
			backends := healthyBackends(a, idx)
			switch {
			case sp < 0 || sp > 65535:
				warns = append(warns, Warning{a.ID, fmt.Sprintf("portDefinitions[%d]", idx), fmt.Sprintf("service port %d is not a port", sp)})
			case sp > 0:
				if owner, taken := portOwner[sp]; taken {
					warns = append(warns, Warning{a.ID, fmt.Sprintf("portDefinitions[%d]", idx),
						fmt.Sprintf("service port %d is already served for app %s", sp, owner)})
				} else {
					portOwner[sp] = a.ID
					t.Services = append(t.Services, Service{Port: sp, AppID: a.ID, PortIndex: idx, Backends: backends})
				}
			}
			for _, h := range vhosts[idx] {
				if owner, taken := hostOwner[h]; taken {
					warns = append(warns, Warning{a.ID, vhostLabel(idx),
						fmt.Sprintf("virtual host %s is already served for app %s", h, owner)})
					continue
				}
				hostOwner[h] = a.ID
				t.VHosts = append(t.VHosts, VHost{Host: h, AppID: a.ID, PortIndex: idx, Backends: backends})
			}
		}
	}
	slices.SortFunc(t.Services, func(a, b Service) int { return a.Port - b.Port })
	slices.SortFunc(t.VHosts, func(a, b VHost) int { return strings.Compare(a.Host, b.Host) })
	return t, warns
}

func vhostLabel(idx int) string { return "HAPROXY_" + strconv.Itoa(idx) + "_VHOST" }

// readLabels reads an app's HAPROXY_{n}_VHOST and HAPROXY_{n}_GROUP labels for its nPorts
// ports: the virtual hosts and the groups of each port index.
func readLabels(a *App, nPorts int) (vhosts [][]string, groups [][]string, warns []Warning) {
	vhosts = make([][]string, nPorts)
	groups = make([][]string, nPorts)
	appGroups := []string{DefaultGroup}
	if g, ok := a.Labels["HAPROXY_GROUP"]; ok {
		appGroups = splitList(g)
		if len(appGroups) == 0 {
			warns = append(warns, Warning{a.ID, "HAPROXY_GROUP", "empty group; the app is in no group"})
		}
	}
	for i := range groups {
		groups[i] = appGroups
	}
	keys := make([]string, 0, len(a.Labels))
	for k := range a.Labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		var kind string
		switch {
		case !strings.HasPrefix(key, "HAPROXY_"):
			continue
		case strings.HasSuffix(key, "_VHOST"):
			kind = "VHOST"
		case strings.HasSuffix(key, "_GROUP") && key != "HAPROXY_GROUP":
			kind = "GROUP"
		default:
			continue
		}
		num := strings.TrimSuffix(strings.TrimPrefix(key, "HAPROXY_"), "_"+kind)
		idx, err := strconv.Atoi(num)
		if err != nil || idx < 0 || num != strconv.Itoa(idx) {
			warns = append(warns, Warning{a.ID, key, fmt.Sprintf("port index %q is not a non-negative number", num)})
			continue
		}
		if idx >= nPorts {
			warns = append(warns, Warning{a.ID, key, fmt.Sprintf("port index %d out of range: the app has %d ports", idx, nPorts)})
			continue
		}
		value := a.Labels[key]
		if kind == "GROUP" {
			groups[idx] = splitList(value)
			continue
		}
		names := splitList(value)
		if len(names) == 0 {
			warns = append(warns, Warning{a.ID, key, "empty virtual host"})
		}
		for _, h := range names {
			h = strings.ToLower(h)
			if err := checkHostName(h); err != nil {
				warns = append(warns, Warning{a.ID, key, err.Error()})
				continue
			}
			if !slices.Contains(vhosts[idx], h) {
				vhosts[idx] = append(vhosts[idx], h)
			}
		}
	}
	return vhosts, groups, warns
}

// splitList splits a comma-separated label value, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// checkHostName reports why h (lower case) is not a DNS host name usable as a virtual host.
func checkHostName(h string) error {
	if len(h) > 253 {
		return fmt.Errorf("virtual host %q: longer than 253 characters", h)
	}
	if net.ParseIP(h) != nil {
		return nil
	}
	for _, l := range strings.Split(h, ".") {
		if l == "" || len(l) > 63 {
			return fmt.Errorf("virtual host %q: not a host name (empty or long label)", h)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' && i > 0 && i < len(l)-1
			if !ok {
				return fmt.Errorf("virtual host %q: not a host name (character %q)", h, c)
			}
		}
	}
	return nil
}

func inGroup(groups []string, lbGroup string) bool {
	return lbGroup == AllGroups || slices.Contains(groups, lbGroup)
}

// healthyBackends are the addresses of a's port idx on its healthy tasks, by task id.
func healthyBackends(a *App, idx int) []Backend {
	var out []Backend
	for _, t := range a.Tasks {
		if !Healthy(a, &t) || idx >= len(t.Ports) || t.Host == "" || t.Ports[idx] <= 0 {
			continue
		}
		out = append(out, Backend{TaskID: t.ID, Addr: net.JoinHostPort(t.Host, strconv.Itoa(t.Ports[idx]))})
	}
	slices.SortFunc(out, func(a, b Backend) int { return strings.Compare(a.TaskID, b.TaskID) })
	return out
}

// Healthy reports whether t may get connections: TASK_RUNNING and, when a has health checks,
// at least one result and every result alive.
func Healthy(a *App, t *Task) bool {
	if t.State != "TASK_RUNNING" {
		return false
	}
	if len(a.HealthChecks) == 0 {
		return true
	}
	if len(t.HealthCheckResults) == 0 {
		return false
	}
	for _, r := range t.HealthCheckResults {
		if !r.Alive {
			return false
		}
	}
	return true
}
