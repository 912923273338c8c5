package planner

import (
	"time"

	"github.com/agoracluster/agora/frameworks/marathon/app"
)

// TaskState is the part of a task's Mesos state the planner cares about.
// Terminal tasks are not part of the state at all.
type TaskState string

// Task states.
const (
	Staging     TaskState = "staging" // launched, not yet running (STAGING/STARTING)
	Running     TaskState = "running"
	Killing     TaskState = "killing" // a kill was sent, not yet terminal
	Unreachable TaskState = "unreachable"
)

// Task is one live task of an app.
type Task struct {
	ID        string
	AppID     string
	Version   string // config version the task was launched with (AppSpec.Version)
	State     TaskState
	Healthy   bool // running and passing health checks (true when the app has none)
	Ready     bool // passed readiness checks (true when the app has none)
	AgentID   string
	StartedAt time.Time // zero until running
	// UnreachableSince is when the task became unreachable (State Unreachable).
	UnreachableSince time.Time
}

// AppSpec is what the planner needs of an app definition.
type AppSpec struct {
	ID           string
	Pod          bool   // a pod's record (/v2/pods): its deployment actions name a pod
	Version      string // config version: changes only when tasks must be replaced
	Instances    int
	Dependencies []string // app or group ids, canonical
	// UpgradeStrategy.
	MinimumHealthCapacity float64
	MaximumOverCapacity   float64
	KillSelection         string // app.KillYoungestFirst or app.KillOldestFirst
	// UnreachableStrategy: an unreachable task is replaced after
	// InactiveAfter and forgotten (killed if it comes back) after
	// ExpungeAfter, unless UnreachableDisabled.
	UnreachableDisabled bool
	InactiveAfter       time.Duration
	ExpungeAfter        time.Duration
}

// SpecFromApp builds the planner's view of an app definition. The config
// version is versionInfo.lastConfigChangeAt when set, else version.
func SpecFromApp(a *app.App) AppSpec {
	v := a.Version
	if a.VersionInfo != nil && a.VersionInfo.LastConfigChangeAt != "" {
		v = a.VersionInfo.LastConfigChangeAt
	}
	return AppSpec{
		ID:                    a.ID,
		Pod:                   a.Pod != nil,
		Version:               v,
		Instances:             a.Instances,
		Dependencies:          append([]string(nil), a.Dependencies...),
		MinimumHealthCapacity: a.UpgradeStrategy.MinimumHealthCapacity,
		MaximumOverCapacity:   a.UpgradeStrategy.MaximumOverCapacity,
		KillSelection:         a.KillSelection,
		UnreachableDisabled:   a.UnreachableStrategy.Disabled,
		InactiveAfter:         time.Duration(a.UnreachableStrategy.InactiveAfterSeconds) * time.Second,
		ExpungeAfter:          time.Duration(a.UnreachableStrategy.ExpungeAfterSeconds) * time.Second,
	}
}

// Queued is the launch queue's content for one app: Count launches of
// Version requested and not yet placed.
type Queued struct {
	Version string
	Count   int
}

// State is what the framework observes now.
type State struct {
	Tasks  []Task
	Queued map[string]Queued // by app id
}

// ActionKind says what an Action asks the framework to do.
type ActionKind string

// Action kinds.
const (
	// Start: add Count launches of app AppID at Version to the launch queue.
	Start ActionKind = "start"
	// Kill: kill task TaskID and mark it Killing.
	Kill ActionKind = "kill"
	// Purge: drop every queued launch of AppID.
	Purge ActionKind = "purge"
	// Dequeue: drop Count queued launches of AppID.
	Dequeue ActionKind = "dequeue"
	// Expunge: forget unreachable task TaskID (kill it if it comes back).
	Expunge ActionKind = "expunge"
)

// Kill reasons, as Marathon names them.
const (
	ReasonUpgrading   = "Upgrading"
	ReasonScaling     = "KillingTasksViaApi"
	ReasonDeletingApp = "DeletingApp"
	ReasonOverCap     = "OverCapacity"
	// ReasonMaintenance: the task's agent is draining for maintenance.
	ReasonMaintenance = "Maintenance"
)

// Action is one decision for the framework loop to carry out.
type Action struct {
	Kind    ActionKind
	AppID   string
	Version string // Start
	Count   int    // Start, Dequeue
	TaskID  string // Kill
	Reason  string // Kill
}
