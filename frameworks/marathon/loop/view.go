package loop

import (
	"iter"
	"maps"
	"slices"
	"time"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/groups"
	"github.com/agoracluster/agora/frameworks/marathon/launchqueue"
	"github.com/agoracluster/agora/frameworks/marathon/readiness"
	"github.com/agoracluster/agora/frameworks/marathon/tasks"
)

// View reads the loop's state for responses. It is valid only during the Do call that
// handed out its Tx; what it returns is the loop's and must not be modified.
type View struct{ l *Loop }

// Now is the loop's clock.
func (v View) Now() time.Time { return v.l.now() }

// App is the app with id id; nil when there is none (or id is a pod's).
func (v View) App(id string) *app.App { return v.l.s.appOnly(id) }

// AppIDs lists the ids of every app (pods left out), sorted.
func (v View) AppIDs() []string { return slices.Sorted(maps.Keys(appsOnly(v.l.s.apps))) }

// Task is the task with id id; nil when there is none.
func (v View) Task(id string) *tasks.Task { return v.l.s.tasks.Get(id) }

// TaskIDs lists the ids of every app's task (pod instances left out), sorted.
func (v View) TaskIDs() []string {
	ids := v.l.s.tasks.SortedIDs()
	return slices.DeleteFunc(ids, func(id string) bool { return v.l.s.tasks.Get(id).Pod != nil })
}

// Tasks yields every task, in no particular order.
func (v View) Tasks() iter.Seq[*tasks.Task] { return v.l.s.tasks.All() }

// TasksOf lists an app's tasks sorted by id.
func (v View) TasksOf(appID string) []*tasks.Task { return v.l.s.tasks.OfApp(appID) }

// Deployments lists the running deployments, oldest first.
func (v View) Deployments() []*Deployment { return v.l.s.sortedDeployments() }

// Deploying maps the apps that running deployments change to the deployment's id.
func (v View) Deploying() map[string]string { return v.l.s.deployingApps() }

// LastTaskFailure is the app's last task failure; nil when none.
func (v View) LastTaskFailure(appID string) *TaskFailure { return v.l.s.failures[appID] }

// Group is the group with id id in the tree of apps and group metadata; nil when none.
func (v View) Group(id string) *groups.Group {
	return groups.Build(appsOnly(v.l.s.apps), v.l.s.metas).Find(id)
}

// ReadinessResults lists the latest readiness results of an app's tasks taken during the
// deployment that changes the app now (Marathon shows them only then), by task id;
// deploying is Deploying's answer.
func (v View) ReadinessResults(appID string, deploying map[string]string) []readiness.Result {
	out := []readiness.Result{}
	plan, ok := deploying[appID]
	if !ok {
		return out
	}
	for _, t := range v.l.s.tasks.OfApp(appID) {
		if t.Readiness != nil && t.ReadinessPlan == plan {
			out = append(out, *t.Readiness)
		}
	}
	return out
}

// Queued is one app's waiting launches.
type Queued struct {
	App   *app.App
	Entry *launchqueue.Entry
	Delay launchqueue.Info
}

// Queue lists the apps with launches waiting, by app id.
func (v View) Queue() []Queued {
	s := &v.l.s
	now := v.l.now()
	out := []Queued{}
	for _, id := range slices.Sorted(maps.Keys(s.queue)) {
		q, a := s.queue[id], s.apps[id]
		if a == nil || q.Count <= 0 {
			continue
		}
		out = append(out, Queued{App: a, Entry: q, Delay: s.backoff.Info(launchqueue.Key{AppID: id, Version: q.Version}, true, now)})
	}
	return out
}

// Counts are the sizes of the state, for metrics.
type Counts struct {
	Apps, Deployments, Queued int
}

// Counts counts apps, running deployments and task launches waiting.
func (v View) Counts() Counts {
	c := Counts{Apps: len(v.l.s.apps), Deployments: len(v.l.s.deployments)}
	for _, q := range v.l.s.queue {
		c.Queued += q.Count
	}
	return c
}
