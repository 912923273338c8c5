package lb

import "slices"

// Apps is the LB's view of Marathon: the apps with their tasks, kept current by Apply.
type Apps struct {
	apps []App
}

// NewApps starts a view from a snapshot of /v2/apps?embed=apps.tasks; Apply never changes
// the snapshot itself.
func NewApps(snapshot []App) *Apps {
	return &Apps{apps: slices.Clone(snapshot)}
}

// List is the apps as they stand; callers must not change them.
func (s *Apps) List() []App { return s.apps }

// Effect is what applying an event did: Changed when the view changed (build a new Table),
// Refetch when the event may change what only a new snapshot tells (app definitions,
// health results), so the apps must be read again.
type Effect struct {
	Changed bool
	Refetch bool
}

// refetchOn are the event types after which the snapshot is read again.
var refetchOn = map[string]bool{
	"api_post_event":                    true,
	"app_terminated_event":              true,
	"deployment_info":                   true,
	"deployment_success":                true,
	"deployment_failed":                 true,
	"deployment_step_success":           true,
	"deployment_step_failure":           true,
	"group_change_success":              true,
	"health_status_changed_event":       true,
	"instance_health_changed_event":     true,
	"unhealthy_instance_kill_event":     true,
	"add_health_check_event":            true,
	"remove_health_check_event":         true,
	"unknown_instance_terminated_event": true,
	"scheduler_reregistered_event":      true,
}

// Apply applies one event in order. A status_update_event for a task leaving TASK_RUNNING
// (TASK_KILLING, a terminal state, TASK_UNREACHABLE …) removes the task at once; one for a
// task reaching TASK_RUNNING adds it at once when its app has no health checks (with health
// checks it waits for the results, which a new snapshot brings); an app the view does not
// know yet asks for a new snapshot, as do the event types in refetchOn.
func (s *Apps) Apply(ev Event) Effect {
	if ev.Type != "status_update_event" {
		return Effect{Refetch: refetchOn[ev.Type]}
	}
	i := slices.IndexFunc(s.apps, func(a App) bool { return a.ID == ev.AppID })
	if i < 0 {
		return Effect{Refetch: ev.TaskStatus == "TASK_RUNNING"}
	}
	a := &s.apps[i]
	j := slices.IndexFunc(a.Tasks, func(t Task) bool { return t.ID == ev.TaskID })
	switch ev.TaskStatus {
	case "TASK_STAGING", "TASK_STARTING":
		return Effect{}
	case "TASK_RUNNING":
		if len(a.HealthChecks) > 0 {
			return Effect{Refetch: true}
		}
		t := Task{ID: ev.TaskID, AppID: ev.AppID, Host: ev.Host, Ports: slices.Clone(ev.Ports), State: ev.TaskStatus}
		if j >= 0 && a.Tasks[j].State == t.State && a.Tasks[j].Host == t.Host && slices.Equal(a.Tasks[j].Ports, t.Ports) {
			return Effect{}
		}
		a.Tasks = slices.Clone(a.Tasks) // the snapshot's slice stays as it was
		if j >= 0 {
			a.Tasks[j] = t
		} else {
			a.Tasks = append(a.Tasks, t)
		}
		return Effect{Changed: true}
	default:
		if j < 0 {
			return Effect{}
		}
		a.Tasks = slices.Delete(slices.Clone(a.Tasks), j, j+1)
		return Effect{Changed: true}
	}
}
