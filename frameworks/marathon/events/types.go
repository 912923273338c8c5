package events

import (
	"time"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/groups"
	"github.com/agoracluster/agora/frameworks/marathon/planner"
)

// Event is one Marathon event. Type is its eventType, the name used by the
// SSE "event:" line and the event_type filter.
type Event interface {
	Type() string
}

// Marathon's event type names.
const (
	TypeAPIPost                   = "api_post_event"
	TypeStatusUpdate              = "status_update_event"
	TypeInstanceChanged           = "instance_changed_event"
	TypeInstanceHealthChanged     = "instance_health_changed_event"
	TypeUnknownInstanceTerminated = "unknown_instance_terminated_event"
	TypeHealthStatusChanged       = "health_status_changed_event"
	TypeFailedHealthCheck         = "failed_health_check_event"
	TypeUnhealthyInstanceKill     = "unhealthy_instance_kill_event"
	TypeAddHealthCheck            = "add_health_check_event"
	TypeRemoveHealthCheck         = "remove_health_check_event"
	TypeDeploymentInfo            = "deployment_info"
	TypeDeploymentSuccess         = "deployment_success"
	TypeDeploymentFailed          = "deployment_failed"
	TypeDeploymentStepSuccess     = "deployment_step_success"
	TypeDeploymentStepFailure     = "deployment_step_failure"
	TypeGroupChangeSuccess        = "group_change_success"
	TypeGroupChangeFailed         = "group_change_failed"
	TypeAppTerminated             = "app_terminated_event"
	TypeFrameworkMessage          = "framework_message_event"
	TypeEventStreamAttached       = "event_stream_attached"
	TypeEventStreamDetached       = "event_stream_detached"
	TypeSchedulerRegistered       = "scheduler_registered_event"
	TypeSchedulerReregistered     = "scheduler_reregistered_event"
	TypeSchedulerDisconnected     = "scheduler_disconnected_event"
	// TypeAutoscale is Agora's own: the autoscaler changed an app's instances.
	TypeAutoscale = "autoscale_event"
)

// Types lists every event type this package produces.
var Types = []string{
	TypeAPIPost, TypeStatusUpdate, TypeInstanceChanged, TypeInstanceHealthChanged,
	TypeUnknownInstanceTerminated, TypeHealthStatusChanged, TypeFailedHealthCheck,
	TypeUnhealthyInstanceKill, TypeAddHealthCheck, TypeRemoveHealthCheck,
	TypeDeploymentInfo, TypeDeploymentSuccess, TypeDeploymentFailed,
	TypeDeploymentStepSuccess, TypeDeploymentStepFailure, TypeGroupChangeSuccess,
	TypeGroupChangeFailed, TypeAppTerminated, TypeFrameworkMessage,
	TypeEventStreamAttached, TypeEventStreamDetached, TypeSchedulerRegistered,
	TypeSchedulerReregistered, TypeSchedulerDisconnected, TypeAutoscale,
}

func stamp(now time.Time) string { return app.FormatTime(now) }

// APIPostEvent is fired for every API request that creates, changes or
// deletes an app.
type APIPostEvent struct {
	ClientIP      string   `json:"clientIp"`
	URI           string   `json:"uri"`
	AppDefinition *app.App `json:"appDefinition"`
	EventType     string   `json:"eventType"`
	Timestamp     string   `json:"timestamp"`
}

// Type implements Event.
func (e *APIPostEvent) Type() string { return e.EventType }

// NewAPIPost builds an api_post_event.
func NewAPIPost(clientIP, uri string, a *app.App, now time.Time) *APIPostEvent {
	return &APIPostEvent{ClientIP: clientIP, URI: uri, AppDefinition: a, EventType: TypeAPIPost, Timestamp: stamp(now)}
}

// IPAddress is one address of a task (Mesos NetworkInfo.IPAddress).
type IPAddress struct {
	IPAddress string `json:"ipAddress"`
	Protocol  string `json:"protocol"` // "IPv4" or "IPv6"
}

// StatusUpdateEvent is fired for every task status update from Mesos.
type StatusUpdateEvent struct {
	SlaveID     string      `json:"slaveId"`
	TaskID      string      `json:"taskId"`
	TaskStatus  string      `json:"taskStatus"` // TASK_RUNNING …
	Message     string      `json:"message"`
	AppID       string      `json:"appId"`
	Host        string      `json:"host"`
	IPAddresses []IPAddress `json:"ipAddresses"`
	Ports       []int       `json:"ports"`
	Version     string      `json:"version"`
	EventType   string      `json:"eventType"`
	Timestamp   string      `json:"timestamp"`
}

// Type implements Event.
func (e *StatusUpdateEvent) Type() string { return e.EventType }

// NewStatusUpdate builds a status_update_event. taskStatus is the Mesos
// state name (TASK_RUNNING); version is the app version of the task.
func NewStatusUpdate(agentID, taskID, taskStatus, message, appID, host string,
	ips []IPAddress, ports []int, version string, now time.Time) *StatusUpdateEvent {
	if ips == nil {
		ips = []IPAddress{}
	}
	if ports == nil {
		ports = []int{}
	}
	return &StatusUpdateEvent{
		SlaveID: agentID, TaskID: taskID, TaskStatus: taskStatus, Message: message, AppID: appID,
		Host: host, IPAddresses: ips, Ports: ports, Version: version,
		EventType: TypeStatusUpdate, Timestamp: stamp(now),
	}
}

// InstanceChangedEvent is fired when an instance's condition changes.
type InstanceChangedEvent struct {
	InstanceID     string `json:"instanceId"`
	Condition      string `json:"condition"` // Running, Staging, Failed … (see Condition)
	RunSpecID      string `json:"runSpecId"`
	AgentID        string `json:"agentId"`
	Host           string `json:"host"`
	RunSpecVersion string `json:"runSpecVersion"`
	Timestamp      string `json:"timestamp"`
	EventType      string `json:"eventType"`
}

// Type implements Event.
func (e *InstanceChangedEvent) Type() string { return e.EventType }

// NewInstanceChanged builds an instance_changed_event.
func NewInstanceChanged(instanceID, condition, runSpecID, agentID, host, runSpecVersion string, now time.Time) *InstanceChangedEvent {
	return &InstanceChangedEvent{
		InstanceID: instanceID, Condition: condition, RunSpecID: runSpecID, AgentID: agentID, Host: host,
		RunSpecVersion: runSpecVersion, Timestamp: stamp(now), EventType: TypeInstanceChanged,
	}
}

// Condition is Marathon's instance condition name for a Mesos task state
// (TASK_RUNNING → Running); unknown states map to Unknown.
func Condition(taskState string) string {
	switch taskState {
	case "TASK_STAGING":
		return "Staging"
	case "TASK_STARTING":
		return "Starting"
	case "TASK_RUNNING":
		return "Running"
	case "TASK_KILLING":
		return "Killing"
	case "TASK_FINISHED":
		return "Finished"
	case "TASK_FAILED":
		return "Failed"
	case "TASK_KILLED":
		return "Killed"
	case "TASK_ERROR":
		return "Error"
	case "TASK_LOST", "TASK_UNREACHABLE":
		return "Unreachable"
	case "TASK_GONE", "TASK_GONE_BY_OPERATOR":
		return "Gone"
	case "TASK_DROPPED":
		return "Dropped"
	default:
		return "Unknown"
	}
}

// InstanceHealthChangedEvent is fired when an instance's health changes.
// Healthy is null while the health is unknown.
type InstanceHealthChangedEvent struct {
	InstanceID     string `json:"instanceId"`
	RunSpecID      string `json:"runSpecId"`
	Healthy        *bool  `json:"healthy"`
	RunSpecVersion string `json:"runSpecVersion"`
	Timestamp      string `json:"timestamp"`
	EventType      string `json:"eventType"`
}

// Type implements Event.
func (e *InstanceHealthChangedEvent) Type() string { return e.EventType }

// NewInstanceHealthChanged builds an instance_health_changed_event.
func NewInstanceHealthChanged(instanceID, runSpecID, runSpecVersion string, healthy *bool, now time.Time) *InstanceHealthChangedEvent {
	return &InstanceHealthChangedEvent{
		InstanceID: instanceID, RunSpecID: runSpecID, Healthy: healthy, RunSpecVersion: runSpecVersion,
		Timestamp: stamp(now), EventType: TypeInstanceHealthChanged,
	}
}

// UnknownInstanceTerminatedEvent is fired for a terminal update of a task
// that Marathon does not know.
type UnknownInstanceTerminatedEvent struct {
	InstanceID string `json:"instanceId"`
	RunSpecID  string `json:"runSpecId"`
	Condition  string `json:"condition"`
	Timestamp  string `json:"timestamp"`
	EventType  string `json:"eventType"`
}

// Type implements Event.
func (e *UnknownInstanceTerminatedEvent) Type() string { return e.EventType }

// NewUnknownInstanceTerminated builds an unknown_instance_terminated_event.
func NewUnknownInstanceTerminated(instanceID, runSpecID, condition string, now time.Time) *UnknownInstanceTerminatedEvent {
	return &UnknownInstanceTerminatedEvent{InstanceID: instanceID, RunSpecID: runSpecID, Condition: condition,
		Timestamp: stamp(now), EventType: TypeUnknownInstanceTerminated}
}

// HealthStatusChangedEvent is fired when a health check result flips.
type HealthStatusChangedEvent struct {
	AppID      string `json:"appId"`
	InstanceID string `json:"instanceId"`
	Version    string `json:"version"`
	Alive      bool   `json:"alive"`
	EventType  string `json:"eventType"`
	Timestamp  string `json:"timestamp"`
}

// Type implements Event.
func (e *HealthStatusChangedEvent) Type() string { return e.EventType }

// NewHealthStatusChanged builds a health_status_changed_event.
func NewHealthStatusChanged(appID, instanceID, version string, alive bool, now time.Time) *HealthStatusChangedEvent {
	return &HealthStatusChangedEvent{AppID: appID, InstanceID: instanceID, Version: version, Alive: alive,
		EventType: TypeHealthStatusChanged, Timestamp: stamp(now)}
}

// FailedHealthCheckEvent is fired for every failed health check.
type FailedHealthCheckEvent struct {
	AppID       string          `json:"appId"`
	InstanceID  string          `json:"instanceId"`
	HealthCheck app.HealthCheck `json:"healthCheck"`
	EventType   string          `json:"eventType"`
	Timestamp   string          `json:"timestamp"`
}

// Type implements Event.
func (e *FailedHealthCheckEvent) Type() string { return e.EventType }

// NewFailedHealthCheck builds a failed_health_check_event.
func NewFailedHealthCheck(appID, instanceID string, hc app.HealthCheck, now time.Time) *FailedHealthCheckEvent {
	return &FailedHealthCheckEvent{AppID: appID, InstanceID: instanceID, HealthCheck: hc,
		EventType: TypeFailedHealthCheck, Timestamp: stamp(now)}
}

// UnhealthyInstanceKillEvent is fired when an instance is killed for
// failing too many health checks. SlaveID is left out when unknown.
type UnhealthyInstanceKillEvent struct {
	AppID      string `json:"appId"`
	TaskID     string `json:"taskId"`
	InstanceID string `json:"instanceId"`
	Version    string `json:"version"`
	Reason     string `json:"reason"`
	Host       string `json:"host"`
	SlaveID    string `json:"slaveId,omitempty"`
	EventType  string `json:"eventType"`
	Timestamp  string `json:"timestamp"`
}

// Type implements Event.
func (e *UnhealthyInstanceKillEvent) Type() string { return e.EventType }

// NewUnhealthyInstanceKill builds an unhealthy_instance_kill_event.
func NewUnhealthyInstanceKill(appID, taskID, instanceID, version, reason, host, agentID string, now time.Time) *UnhealthyInstanceKillEvent {
	return &UnhealthyInstanceKillEvent{AppID: appID, TaskID: taskID, InstanceID: instanceID, Version: version,
		Reason: reason, Host: host, SlaveID: agentID, EventType: TypeUnhealthyInstanceKill, Timestamp: stamp(now)}
}

// AddHealthCheckEvent is fired when a health check starts for an app version.
type AddHealthCheckEvent struct {
	AppID       string          `json:"appId"`
	Version     string          `json:"version"`
	HealthCheck app.HealthCheck `json:"healthCheck"`
	EventType   string          `json:"eventType"`
	Timestamp   string          `json:"timestamp"`
}

// Type implements Event.
func (e *AddHealthCheckEvent) Type() string { return e.EventType }

// NewAddHealthCheck builds an add_health_check_event.
func NewAddHealthCheck(appID, version string, hc app.HealthCheck, now time.Time) *AddHealthCheckEvent {
	return &AddHealthCheckEvent{AppID: appID, Version: version, HealthCheck: hc, EventType: TypeAddHealthCheck, Timestamp: stamp(now)}
}

// RemoveHealthCheckEvent is fired when an app's health checks stop.
type RemoveHealthCheckEvent struct {
	AppID     string `json:"appId"`
	EventType string `json:"eventType"`
	Timestamp string `json:"timestamp"`
}

// Type implements Event.
func (e *RemoveHealthCheckEvent) Type() string { return e.EventType }

// NewRemoveHealthCheck builds a remove_health_check_event.
func NewRemoveHealthCheck(appID string, now time.Time) *RemoveHealthCheckEvent {
	return &RemoveHealthCheckEvent{AppID: appID, EventType: TypeRemoveHealthCheck, Timestamp: stamp(now)}
}

// GroupChangeEvent is group_change_success, or group_change_failed with a
// reason.
type GroupChangeEvent struct {
	GroupID   string  `json:"groupId"`
	Version   string  `json:"version"`
	Reason    *string `json:"reason,omitempty"`
	EventType string  `json:"eventType"`
	Timestamp string  `json:"timestamp"`
}

// Type implements Event.
func (e *GroupChangeEvent) Type() string { return e.EventType }

// NewGroupChangeSuccess builds a group_change_success event.
func NewGroupChangeSuccess(groupID, version string, now time.Time) *GroupChangeEvent {
	return &GroupChangeEvent{GroupID: groupID, Version: version, EventType: TypeGroupChangeSuccess, Timestamp: stamp(now)}
}

// NewGroupChangeFailed builds a group_change_failed event.
func NewGroupChangeFailed(groupID, version, reason string, now time.Time) *GroupChangeEvent {
	return &GroupChangeEvent{GroupID: groupID, Version: version, Reason: &reason, EventType: TypeGroupChangeFailed, Timestamp: stamp(now)}
}

// Plan is a deployment plan as Marathon's events render it: the whole root
// group before (original) and after (target) the deployment, and the steps.
type Plan struct {
	ID       string             `json:"id"`
	Original *groups.Group      `json:"original"`
	Target   *groups.Group      `json:"target"`
	Steps    []planner.StepInfo `json:"steps"`
	Version  string             `json:"version"`
}

// NewPlan renders p with the root groups before and after it, e.g.
// groups.Build(originalApps, metas) and groups.Build(targetApps, metas).
func NewPlan(p planner.Plan, original, target *groups.Group) Plan {
	info := p.Info(-1)
	if original == nil {
		original = &groups.Group{ID: groups.RootID}
	}
	if target == nil {
		target = &groups.Group{ID: groups.RootID}
	}
	return Plan{ID: p.ID, Original: original, Target: target, Steps: info.Steps, Version: p.Version}
}

func (p Plan) step(i int) planner.StepInfo {
	if i >= 0 && i < len(p.Steps) {
		return p.Steps[i]
	}
	return planner.StepInfo{Actions: []planner.ActionInfo{}}
}

// DeploymentEvent is deployment_success or deployment_failed.
type DeploymentEvent struct {
	ID        string `json:"id"`
	Plan      Plan   `json:"plan"`
	EventType string `json:"eventType"`
	Timestamp string `json:"timestamp"`
}

// Type implements Event.
func (e *DeploymentEvent) Type() string { return e.EventType }

// NewDeploymentSuccess builds a deployment_success event.
func NewDeploymentSuccess(p Plan, now time.Time) *DeploymentEvent {
	return &DeploymentEvent{ID: p.ID, Plan: p, EventType: TypeDeploymentSuccess, Timestamp: stamp(now)}
}

// NewDeploymentFailed builds a deployment_failed event.
func NewDeploymentFailed(p Plan, now time.Time) *DeploymentEvent {
	return &DeploymentEvent{ID: p.ID, Plan: p, EventType: TypeDeploymentFailed, Timestamp: stamp(now)}
}

// DeploymentStepEvent is deployment_info (a step starts),
// deployment_step_success or deployment_step_failure.
type DeploymentStepEvent struct {
	Plan        Plan             `json:"plan"`
	CurrentStep planner.StepInfo `json:"currentStep"`
	EventType   string           `json:"eventType"`
	Timestamp   string           `json:"timestamp"`
}

// Type implements Event.
func (e *DeploymentStepEvent) Type() string { return e.EventType }

// NewDeploymentInfo builds a deployment_info event for step (0-based).
func NewDeploymentInfo(p Plan, step int, now time.Time) *DeploymentStepEvent {
	return &DeploymentStepEvent{Plan: p, CurrentStep: p.step(step), EventType: TypeDeploymentInfo, Timestamp: stamp(now)}
}

// NewDeploymentStepSuccess builds a deployment_step_success event.
func NewDeploymentStepSuccess(p Plan, step int, now time.Time) *DeploymentStepEvent {
	return &DeploymentStepEvent{Plan: p, CurrentStep: p.step(step), EventType: TypeDeploymentStepSuccess, Timestamp: stamp(now)}
}

// NewDeploymentStepFailure builds a deployment_step_failure event.
func NewDeploymentStepFailure(p Plan, step int, now time.Time) *DeploymentStepEvent {
	return &DeploymentStepEvent{Plan: p, CurrentStep: p.step(step), EventType: TypeDeploymentStepFailure, Timestamp: stamp(now)}
}

// AppTerminatedEvent is fired when an app is gone (deleted and its tasks
// stopped).
type AppTerminatedEvent struct {
	AppID     string `json:"appId"`
	EventType string `json:"eventType"`
	Timestamp string `json:"timestamp"`
}

// Type implements Event.
func (e *AppTerminatedEvent) Type() string { return e.EventType }

// NewAppTerminated builds an app_terminated_event.
func NewAppTerminated(appID string, now time.Time) *AppTerminatedEvent {
	return &AppTerminatedEvent{AppID: appID, EventType: TypeAppTerminated, Timestamp: stamp(now)}
}

// AutoscaleEvent is fired when the autoscaler changes an app's instances (the deployment
// that does it follows with its own events).
type AutoscaleEvent struct {
	AppID          string  `json:"appId"`
	From           int     `json:"from"`
	To             int     `json:"to"`
	Reason         string  `json:"reason"`
	CPUUtilization float64 `json:"cpuUtilization"`
	MemUtilization float64 `json:"memUtilization"`
	DeploymentID   string  `json:"deploymentId,omitempty"`
	EventType      string  `json:"eventType"`
	Timestamp      string  `json:"timestamp"`
}

// Type implements Event.
func (e *AutoscaleEvent) Type() string { return e.EventType }

// NewAutoscale builds an autoscale_event.
func NewAutoscale(appID string, from, to int, reason string, cpu, mem float64, deploymentID string, now time.Time) *AutoscaleEvent {
	return &AutoscaleEvent{AppID: appID, From: from, To: to, Reason: reason, CPUUtilization: cpu,
		MemUtilization: mem, DeploymentID: deploymentID, EventType: TypeAutoscale, Timestamp: stamp(now)}
}

// FrameworkMessageEvent is a message from an executor. Message holds the
// bytes as Marathon 1.x writes them: an array of signed byte values.
type FrameworkMessageEvent struct {
	ExecutorID string `json:"executorId"`
	SlaveID    string `json:"slaveId"`
	Message    []int  `json:"message"`
	EventType  string `json:"eventType"`
	Timestamp  string `json:"timestamp"`
}

// Type implements Event.
func (e *FrameworkMessageEvent) Type() string { return e.EventType }

// NewFrameworkMessage builds a framework_message_event.
func NewFrameworkMessage(executorID, agentID string, data []byte, now time.Time) *FrameworkMessageEvent {
	msg := make([]int, len(data))
	for i, b := range data {
		msg[i] = int(int8(b))
	}
	return &FrameworkMessageEvent{ExecutorID: executorID, SlaveID: agentID, Message: msg,
		EventType: TypeFrameworkMessage, Timestamp: stamp(now)}
}

// EventStreamEvent is event_stream_attached or event_stream_detached.
type EventStreamEvent struct {
	RemoteAddress string `json:"remoteAddress"`
	EventType     string `json:"eventType"`
	Timestamp     string `json:"timestamp"`
}

// Type implements Event.
func (e *EventStreamEvent) Type() string { return e.EventType }

// NewEventStreamAttached builds an event_stream_attached event.
func NewEventStreamAttached(remoteAddress string, now time.Time) *EventStreamEvent {
	return &EventStreamEvent{RemoteAddress: remoteAddress, EventType: TypeEventStreamAttached, Timestamp: stamp(now)}
}

// NewEventStreamDetached builds an event_stream_detached event.
func NewEventStreamDetached(remoteAddress string, now time.Time) *EventStreamEvent {
	return &EventStreamEvent{RemoteAddress: remoteAddress, EventType: TypeEventStreamDetached, Timestamp: stamp(now)}
}

// SchedulerEvent is scheduler_registered_event (frameworkId and master),
// scheduler_reregistered_event (master) or scheduler_disconnected_event.
type SchedulerEvent struct {
	FrameworkID string `json:"frameworkId,omitempty"`
	Master      string `json:"master,omitempty"`
	EventType   string `json:"eventType"`
	Timestamp   string `json:"timestamp"`
}

// Type implements Event.
func (e *SchedulerEvent) Type() string { return e.EventType }

// NewSchedulerRegistered builds a scheduler_registered_event.
func NewSchedulerRegistered(frameworkID, master string, now time.Time) *SchedulerEvent {
	return &SchedulerEvent{FrameworkID: frameworkID, Master: master, EventType: TypeSchedulerRegistered, Timestamp: stamp(now)}
}

// NewSchedulerReregistered builds a scheduler_reregistered_event.
func NewSchedulerReregistered(master string, now time.Time) *SchedulerEvent {
	return &SchedulerEvent{Master: master, EventType: TypeSchedulerReregistered, Timestamp: stamp(now)}
}

// NewSchedulerDisconnected builds a scheduler_disconnected_event.
func NewSchedulerDisconnected(now time.Time) *SchedulerEvent {
	return &SchedulerEvent{EventType: TypeSchedulerDisconnected, Timestamp: stamp(now)}
}
