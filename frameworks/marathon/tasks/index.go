package tasks

import (
	"cmp"
	"iter"
	"maps"
	"slices"

	"github.com/agoracluster/agora/frameworks/marathon/planner"
)

// Index holds the live tasks by id and by app, so that the per-app questions the loop
// asks after every event (planner state, placements, counts) cost the app's tasks, not
// every task. Loop only.
type Index struct {
	byID  map[string]*Task
	byApp map[string]*appTasks
}

// appTasks is one app's tasks with a cached order by task id and a cached planner view
// in that order, kept up to date task by task (see Touch).
type appTasks struct {
	tasks  map[string]*Task
	sorted []*Task // nil when a task was added or removed since it was built

	planner       []planner.Task // nil when sorted is
	pos           map[string]int // task id -> index in sorted and planner
	plannerChecks bool           // whether the app had health checks when planner was built
	touched       []*Task        // tasks changed since planner was built
}

func NewIndex(tasks map[string]*Task) *Index {
	x := &Index{byID: map[string]*Task{}, byApp: map[string]*appTasks{}}
	for _, t := range tasks {
		x.Add(t)
	}
	return x
}

func (x *Index) Get(id string) *Task { return x.byID[id] }
func (x *Index) Len() int            { return len(x.byID) }

func (x *Index) Add(t *Task) {
	if old := x.byID[t.ID]; old != nil {
		x.Remove(old)
	}
	x.byID[t.ID] = t
	at := x.byApp[t.AppID]
	if at == nil {
		at = &appTasks{tasks: map[string]*Task{}}
		x.byApp[t.AppID] = at
	}
	at.tasks[t.ID] = t
	at.invalidate()
}

func (at *appTasks) invalidate() {
	at.sorted, at.planner, at.pos, at.touched = nil, nil, nil, nil
}

// Touch records that t changed: its revision moves on and its planner view is refreshed.
// Every change of a task is followed by a Touch (the loop persists the task then).
func (x *Index) Touch(t *Task) {
	t.rev++
	if at := x.byApp[t.AppID]; at != nil && at.planner != nil && at.tasks[t.ID] == t {
		at.touched = append(at.touched, t)
	}
}

// PlannerOf returns the planner view of an app's tasks, in task id order, built with view
// (which depends on the task and on whether the app has health checks). The slice is
// shared and kept up to date: do not modify it or keep it past the caller's turn.
func (x *Index) PlannerOf(appID string, checks bool, view func(*Task) planner.Task) []planner.Task {
	at := x.byApp[appID]
	if at == nil {
		return nil
	}
	if at.planner == nil || at.plannerChecks != checks {
		ts := x.OfApp(appID)
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

func (x *Index) Remove(t *Task) {
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

// OfApp returns the app's tasks sorted by id. The slice is shared: do not modify it.
func (x *Index) OfApp(appID string) []*Task {
	at := x.byApp[appID]
	if at == nil {
		return nil
	}
	if at.sorted == nil {
		at.sorted = make([]*Task, 0, len(at.tasks))
		for _, t := range at.tasks {
			at.sorted = append(at.sorted, t)
		}
		slices.SortFunc(at.sorted, func(a, b *Task) int { return cmp.Compare(a.ID, b.ID) })
	}
	return at.sorted
}

// Apps lists the ids of the apps that have tasks, sorted.
func (x *Index) Apps() []string { return slices.Sorted(maps.Keys(x.byApp)) }

// SortedIDs lists every task id, sorted.
func (x *Index) SortedIDs() []string { return slices.Sorted(maps.Keys(x.byID)) }

// All yields every task, in no particular order.
func (x *Index) All() iter.Seq[*Task] { return maps.Values(x.byID) }
