package marathon

import (
	"context"
	"net"
	"strconv"
	"strings"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/planner"
)

// readinessState is the loop's side of readiness checks: which checks are in flight.
// Loop only.
type readinessState struct {
	runner   *readinessRunner
	gen      uint64
	inflight map[string]readinessInFlight // by task id
}

type readinessInFlight struct {
	gen  uint64 // tells a stopped check's late results from the current one's
	stop func()
}

func newReadinessState(r *readinessRunner) *readinessState {
	return &readinessState{runner: r, inflight: map[string]readinessInFlight{}}
}

// taskReady is the planner's Ready: a task of an app without readiness checks is ready;
// otherwise once a check passed.
func taskReady(a *app.App, t *task) bool {
	return a == nil || len(a.ReadinessChecks) == 0 || t.Ready
}

// needsReadiness reports whether t of a (at config version v) is to be checked now: it
// runs the app's current config, is running (and healthy when the app has health checks),
// is not being killed and has not passed yet.
func needsReadiness(a *app.App, t *task, v string) bool {
	if t.Ready || t.Killing || t.State != stateRunning || t.ConfigVersion != v {
		return false
	}
	return len(a.HealthChecks) == 0 || t.Healthy != nil && *t.Healthy
}

// readinessURL is where check rc of a probes task t: the host and host port of the port
// named rc.PortName, or for a container network port without a host port the task's
// address and container port.
func readinessURL(a *app.App, t *task, rc app.ReadinessCheck) (string, bool) {
	scheme := "http"
	if rc.Protocol == "HTTPS" {
		scheme = "https"
	}
	path := rc.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	_, names := declaredPorts(a)
	for i, n := range names {
		if n == rc.PortName && i < len(t.Ports) {
			return scheme + "://" + net.JoinHostPort(t.Host, strconv.FormatUint(t.Ports[i], 10)) + path, true
		}
	}
	if a.Container != nil && len(t.IPAddresses) > 0 {
		for _, pm := range a.Container.PortMappings {
			if pm.Name == rc.PortName && pm.HostPort == nil {
				return scheme + "://" + net.JoinHostPort(t.IPAddresses[0].IPAddress, strconv.Itoa(pm.ContainerPort)) + path, true
			}
		}
	}
	return "", false
}

// deployingApps maps the apps that running deployments change to the deployment's id.
func (m *Marathon) deployingApps() map[string]string {
	out := map[string]string{}
	for _, d := range m.deployments {
		for _, id := range d.Plan.AffectedApps() {
			out[id] = d.Plan.ID
		}
	}
	return out
}

// syncReadiness starts the readiness checks that deployments wait for and stops those
// no longer needed (the task ended, is being killed, or no deployment waits for it).
// Called after every reconciliation.
func (m *Marathon) syncReadiness() {
	rs := m.readiness
	if rs == nil {
		return
	}
	want := map[string]readinessProbe{}
	for id := range m.deployingApps() {
		a := m.apps[id]
		if a == nil || len(a.ReadinessChecks) == 0 {
			continue
		}
		v := specOf(a).Version
		rc := a.ReadinessChecks[0] // Marathon allows at most one
		for _, t := range m.tasks.ofApp(id) {
			if !needsReadiness(a, t, v) {
				continue
			}
			if url, ok := readinessURL(a, t, rc); ok {
				want[t.ID] = readinessProbe{TaskID: t.ID, URL: url, Check: rc}
			}
		}
	}
	for id, c := range rs.inflight {
		if _, ok := want[id]; !ok {
			c.stop()
			delete(rs.inflight, id)
		}
	}
	for id, p := range want {
		if _, ok := rs.inflight[id]; ok {
			continue
		}
		rs.gen++
		gen := rs.gen
		stop, ok := rs.runner.start(p, func(ctx context.Context, res readinessResult) {
			_ = m.doDeferred(ctx, func() { m.readinessReported(gen, res) })
		})
		if ok {
			rs.inflight[id] = readinessInFlight{gen: gen, stop: stop}
		}
	}
}

// readinessReported records a check's result; a passing one makes the task ready.
func (m *Marathon) readinessReported(gen uint64, res readinessResult) {
	c, ok := m.readiness.inflight[res.TaskID]
	if !ok || c.gen != gen {
		return // stopped meanwhile
	}
	t := m.tasks.get(res.TaskID)
	if t == nil {
		return
	}
	t.readiness = &res
	t.readinessPlan = m.deployingApps()[t.AppID]
	if res.Ready {
		delete(m.readiness.inflight, res.TaskID)
		t.Ready = true
		m.persistTask(t)
		m.reconcileSoon()
	}
}

// readinessResultsOf lists the latest readiness results of an app's tasks taken during
// the deployment that changes the app now (Marathon shows them only then), by task id.
func (m *Marathon) readinessResultsOf(appID string, deploying map[string]string) []readinessResult {
	out := []readinessResult{}
	plan, ok := deploying[appID]
	if !ok {
		return out
	}
	for _, t := range m.tasks.ofApp(appID) {
		if t.readiness != nil && t.readinessPlan == plan {
			out = append(out, *t.readiness)
		}
	}
	return out
}

// deploymentInfo renders a running deployment for /v2/deployments, with the readiness
// results of the apps its current step changes.
func (m *Marathon) deploymentInfo(d *deployment, deploying map[string]string) planner.DeploymentInfo {
	info := d.Plan.Info(d.Step)
	for i, ca := range info.CurrentActions {
		rs := m.readinessResultsOf(ca.App, deploying)
		out := make([]any, len(rs))
		for j, r := range rs {
			out[j] = r
		}
		info.CurrentActions[i].ReadinessCheckResults = out
	}
	return info
}
