package readiness

import (
	"net"
	"strconv"
	"strings"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/taskinfo"
)

// Target is where a task runs, as far as a readiness check cares.
type Target struct {
	Host  string   // the agent's hostname
	Ports []uint64 // the task's host ports, in the order of taskinfo.HostPorts
	IP    string   // the container's first address; "" when unknown
}

// URL is where check rc of an app a probes a task at t: the host and host port of the port
// named rc.PortName, or for a container network port without a host port the task's
// address and container port; ok is false when the task has no such port (yet).
func URL(a *app.App, t Target, rc app.ReadinessCheck) (string, bool) {
	scheme := "http"
	if rc.Protocol == "HTTPS" {
		scheme = "https"
	}
	path := rc.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	_, names := taskinfo.DeclaredPorts(a)
	for i, n := range names {
		if n == rc.PortName && i < len(t.Ports) {
			return scheme + "://" + net.JoinHostPort(t.Host, strconv.FormatUint(t.Ports[i], 10)) + path, true
		}
	}
	if a.Container != nil && t.IP != "" {
		for _, pm := range a.Container.PortMappings {
			if pm.Name == rc.PortName && pm.HostPort == nil {
				return scheme + "://" + net.JoinHostPort(t.IP, strconv.Itoa(pm.ContainerPort)) + path, true
			}
		}
	}
	return "", false
}
