package marathon

import (
	"sort"

	"github.com/agoracluster/agora/frameworks/marathon/planner"
)

// taskIndex holds the live tasks by id and by app, so that the per-app questions the loop
// asks after every event (planner state, placements, counts) cost the app's tasks, not
// every task. Loop only.
type taskIndex struct {
	byID  map[string]*task
	byApp map[string]*appTasks
}

// appTasks is one app's tasks with a cached order by task id and a cached planner view
// in that order, kept up to date task by task (see touch).
type appTasks struct {
	tasks  map[string]*task
	sorted []*task // nil when a task was added or removed since it was built

	planner       []planner.Task // nil when sorted is
	pos           map[string]int // task id -> index in sorted and planner
	plannerChecks bool           // whether the app had health checks when planner was built
	touched       []*task        // tasks changed since planner was built
}

func newTaskIndex(tasks map[string]*task) *taskIndex {
	x := &taskIndex{byID: map[string]*task{}, byApp: map[string]*appTasks{}}
	for _, t := range tasks {
		x.add(t)
	}
	return x
}

func (x *taskIndex) get(id string) *task { return x.byID[id] }
func (x *taskIndex) len() int            { return len(x.byID) }

func (x *taskIndex) add(t *task) {
	if old := x.byID[t.ID]; old != nil {
		x.remove(old)
	}
	x.byID[t.ID] = t
	at := x.byApp[t.AppID]
	if at == nil {
		at = &appTasks{tasks: map[string]*task{}}
		x.byApp[t.AppID] = at
	}
	at.tasks[t.ID] = t
	at.invalidate()
}

func (at *appTasks) invalidate() {
	at.sorted, at.planner, at.pos, at.touched = nil, nil, nil, nil
}

// touch records that t changed, for the planner view. Every change of a task is followed
// by persistTask, which calls it.
func (x *taskIndex) touch(t *task) {
	if at := x.byApp[t.AppID]; at != nil && at.planner != nil && at.tasks[t.ID] == t {
		at.touched = append(at.touched, t)
	}
}

// plannerOf returns the planner view of an app's tasks, in task id order, built with view
// (which depends on the task and on whether the app has health checks). The slice is
// shared and kept up to date: do not modify it or keep it past the caller's turn.
func (x *taskIndex) plannerOf(appID string, checks bool, view func(*task) planner.Task) []planner.Task {
	at := x.byApp[appID]
	if at == nil {
		return nil
	}
	if at.planner == nil || at.plannerChecks != checks {
		ts := x.ofApp(appID)
		at.planner = make([]planner.Task, len(ts))
		at.pos = make(map[string]int, len(ts))
		for i, t := range ts {
			at.planner[i] = view(t)
			at.pos[t.ID] = i
		}
		at.plannerChecks, at.touched = checks, nil
		return at.planner
	}
	for _, t := range at.touched {
		at.planner[at.pos[t.ID]] = view(t)
	}
	at.touched = at.touched[:0]
	return at.planner
}

func (x *taskIndex) remove(t *task) {
	if x.byID[t.ID] != t {
		return
	}
	delete(x.byID, t.ID)
	at := x.byApp[t.AppID]
	if at == nil {
		return
	}
	delete(at.tasks, t.ID)
	at.invalidate()
	if len(at.tasks) == 0 {
		delete(x.byApp, t.AppID)
	}
}

// ofApp returns the app's tasks sorted by id. The slice is shared: do not modify it.
func (x *taskIndex) ofApp(appID string) []*task {
	at := x.byApp[appID]
	if at == nil {
		return nil
	}
	if at.sorted == nil {
		at.sorted = make([]*task, 0, len(at.tasks))
		for _, t := range at.tasks {
			at.sorted = append(at.sorted, t)
		}
		sort.Slice(at.sorted, func(i, j int) bool { return at.sorted[i].ID < at.sorted[j].ID })
	}
	return at.sorted
}

// apps lists the ids of the apps that have tasks, sorted.
func (x *taskIndex) apps() []string {
	out := make([]string, 0, len(x.byApp))
	for id := range x.byApp {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// sortedIDs lists every task id, sorted.
func (x *taskIndex) sortedIDs() []string {
	out := make([]string, 0, len(x.byID))
	for id := range x.byID {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}
