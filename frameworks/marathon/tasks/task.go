package tasks

import (
	"time"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/health"
	"github.com/agoracluster/agora/frameworks/marathon/planner"
	"github.com/agoracluster/agora/frameworks/marathon/readiness"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// Mesos task state names as Marathon reports them.
const (
	StateStaging     = "TASK_STAGING"
	StateStarting    = "TASK_STARTING"
	StateRunning     = "TASK_RUNNING"
	StateKilling     = "TASK_KILLING"
	StateUnreachable = "TASK_UNREACHABLE"
	StateFinished    = "TASK_FINISHED"
)

// Task is one task the framework launched and has not seen end. Persisted under
// tasks/<task id>.
type Task struct {
	ID               string    `json:"id"`
	AppID            string    `json:"appId"`
	ConfigVersion    string    `json:"configVersion"` // the planner's version
	AppVersion       string    `json:"version"`       // the app's version when launched
	AgentID          string    `json:"agentId"`
	Host             string    `json:"host"`
	Ports            []uint64  `json:"ports"`
	State            string    `json:"state"`
	StagedAt         time.Time `json:"stagedAt"`
	StartedAt        time.Time `json:"startedAt"`
	Killing          bool      `json:"killing,omitempty"`
	KillSentAt       time.Time `json:"killSentAt"`
	UnreachableSince time.Time `json:"unreachableSince"`
	// Health as reported by the executor's health check (the app's Mesos check).
	health.Status
	// Checks are the results of the framework's own checks (HTTP, HTTPS, TCP), by index in
	// the app's healthChecks (entries of Mesos checks stay empty). Not persisted: after a
	// restart the checks run again, as in Marathon.
	Checks []health.Status `json:"-"`
	// IPAddresses are the container's addresses from the latest status that had any.
	IPAddresses []IPAddress `json:"ipAddresses,omitempty"`
	// Ready: a readiness check of the task passed; Readiness is the latest result while a
	// check runs, taken in the deployment ReadinessPlan.
	Ready         bool              `json:"ready,omitempty"`
	Readiness     *readiness.Result `json:"-"`
	ReadinessPlan string            `json:"-"`
	// Pod is set when the task is an instance of a pod (its ID the instance's): the task
	// group's containers.
	Pod *PodInstance `json:"pod,omitempty"`

	rev uint64 // moves on with every Touch
}

// Rev is the task's revision: it changes whenever the task does (see Index.Touch), so
// that renderings of the task can be cached.
func (t *Task) Rev() uint64 { return t.rev }

// IPAddress is one address of a task's container, as Marathon renders it.
type IPAddress struct {
	IPAddress string `json:"ipAddress"`
	Protocol  string `json:"protocol"`
}

// IPAddressesOf lists the addresses a status reports for its task's container
// (container_status.network_infos[].ip_addresses), as Marathon renders them in a task's
// ipAddresses; nil when the status reports none.
func IPAddressesOf(st *mesos.TaskStatus) []IPAddress {
	var out []IPAddress
	for _, ni := range st.GetContainerStatus().GetNetworkInfos() {
		for _, ip := range ni.GetIpAddresses() {
			if ip.GetIpAddress() == "" {
				continue
			}
			out = append(out, IPAddress{IPAddress: ip.GetIpAddress(), Protocol: ip.GetProtocol().String()})
		}
	}
	return out
}

// RecordIPs keeps the addresses st reports for t; a status without any keeps the ones
// known (Mesos reports them with TASK_RUNNING, later updates may leave them out).
func (t *Task) RecordIPs(st *mesos.TaskStatus) {
	if ips := IPAddressesOf(st); ips != nil {
		t.IPAddresses = ips
	}
}

// ReadyFor is the planner's Ready of t, a task of a (nil when the app is gone): a task of
// an app without readiness checks is ready; otherwise once a check passed.
func (t *Task) ReadyFor(a *app.App) bool {
	return a == nil || len(a.ReadinessChecks) == 0 || t.Ready
}

// NeedsReadiness reports whether t of a (at config version v) is to be checked now: it
// runs the app's current config, is running (and healthy when the app has health checks),
// is not being killed and has not passed yet.
func (t *Task) NeedsReadiness(a *app.App, v string) bool {
	if t.Ready || t.Killing || t.State != StateRunning || t.ConfigVersion != v {
		return false
	}
	return t.HealthyFor(a)
}

// HealthyFor reports whether every health check of a passes for t: the executor's check
// as the status updates say, and each of the framework's own as its latest probe says.
// A task of an app without health checks (or of an app gone) is healthy.
func (t *Task) HealthyFor(a *app.App) bool {
	if a == nil {
		return true
	}
	for i, hc := range a.HealthChecks {
		if st := t.checkStatus(i, hc); !st.IsHealthy() {
			return false
		}
	}
	return true
}

// HealthResults are the results of a's health checks for t that have any, in the app's
// order: what healthCheckResults renders.
func (t *Task) HealthResults(a *app.App) []health.Status {
	if a == nil {
		return nil
	}
	var out []health.Status
	for i, hc := range a.HealthChecks {
		if st := t.checkStatus(i, hc); st.Healthy != nil {
			out = append(out, st)
		}
	}
	return out
}

// CheckStatus is the status of the framework-side check i of t, created on first use.
func (t *Task) CheckStatus(i int) *health.Status {
	for len(t.Checks) <= i {
		t.Checks = append(t.Checks, health.Status{})
	}
	return &t.Checks[i]
}

func (t *Task) checkStatus(i int, hc app.HealthCheck) health.Status {
	if health.IsMesos(hc.Protocol) {
		return t.Status
	}
	if i < len(t.Checks) {
		return t.Checks[i]
	}
	return health.Status{}
}

// ReadinessTarget is where readiness checks probe t.
func (t *Task) ReadinessTarget() readiness.Target {
	rt := readiness.Target{Host: t.Host, Ports: t.Ports}
	if len(t.IPAddresses) > 0 {
		rt.IP = t.IPAddresses[0].IPAddress
	}
	return rt
}

// PlannerView is the planner's view of t, a task of a (nil when the app is gone).
func (t *Task) PlannerView(a *app.App) planner.Task {
	pt := planner.Task{
		ID: t.ID, AppID: t.AppID, Version: t.ConfigVersion, AgentID: t.AgentID,
		StartedAt: t.StartedAt, UnreachableSince: t.UnreachableSince, Ready: true,
	}
	switch {
	case t.Killing:
		pt.State = planner.Killing
	case t.State == StateUnreachable:
		pt.State = planner.Unreachable
	case t.State == StateRunning:
		pt.State = planner.Running
	default:
		pt.State = planner.Staging
	}
	pt.Healthy = t.HealthyFor(a)
	pt.Ready = t.ReadyFor(a)
	return pt
}
