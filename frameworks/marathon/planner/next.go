package planner

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/agoracluster/agora/frameworks/marathon/app"
)

// Capacity is the rolling-restart window of an app, computed as Marathon's
// TaskReplaceActor does: MinHealthy = ceil(instances × minimumHealthCapacity)
// and MaxCapacity = floor(instances × (1 + maximumOverCapacity)). When both
// are equal the app could never make progress, so Marathon allows one task
// of temporary over-capacity; Extra reports that slot.
type Capacity struct {
	MinHealthy  int
	MaxCapacity int
	Extra       int // 1 when MinHealthy == MaxCapacity, else 0
}

// CapacityOf computes the restart window of s.
func CapacityOf(s AppSpec) Capacity {
	n := float64(s.Instances)
	c := Capacity{
		MinHealthy:  int(math.Ceil(n * s.MinimumHealthCapacity)),
		MaxCapacity: int(math.Floor(n * (1 + s.MaximumOverCapacity))),
	}
	if c.MinHealthy == c.MaxCapacity {
		c.Extra = 1
	}
	return c
}

// Next returns what to do now for step `step` of plan p, given the observed
// state, and whether that step is complete (the caller then moves on to
// step+1; see Advance). The caller must record its actions in the state it
// passes next time: Start adds to Queued, Kill marks the task Killing, Purge
// and Dequeue shrink Queued. now stands in for the start time of tasks that
// have not started yet (they count as the youngest).
func Next(p Plan, step int, st State, now time.Time) (actions []Action, stepDone bool) {
	if step < 0 || step >= len(p.Steps) {
		return nil, true
	}
	byApp := groupByApp(st.Tasks)
	stepDone = true
	for _, a := range p.Steps[step].Actions {
		var acts []Action
		var done bool
		switch a.Kind {
		case StartApplication:
			done = true
		case StopApplication:
			acts, done = stop(a.AppID, byApp[a.AppID], st.Queued[a.AppID])
		case ScaleApplication:
			acts, done = scale(p.Target[a.AppID], byApp[a.AppID], st.Queued[a.AppID], now)
		case RestartApplication:
			acts, done = restart(p.Target[a.AppID], byApp[a.AppID], st.Queued[a.AppID], now)
		}
		actions = append(actions, acts...)
		stepDone = stepDone && done
	}
	return actions, stepDone
}

// Advance runs Next from step on, moving past every step that is already
// complete. It returns the step the deployment is now in, the actions to
// take, and whether the whole plan is finished.
func Advance(p Plan, step int, st State, now time.Time) (newStep int, actions []Action, finished bool) {
	for step < len(p.Steps) {
		acts, done := Next(p, step, st, now)
		if !done || len(acts) > 0 {
			return step, acts, false
		}
		step++
	}
	return step, nil, true
}

// groupByApp splits tasks by app, keeping their order. A run of tasks of one app is
// sliced, not copied (callers list an app's tasks together), so a large app costs no
// allocation; the groups are only read.
func groupByApp(tasks []Task) map[string][]Task {
	byApp := map[string][]Task{}
	for i := 0; i < len(tasks); {
		j := i + 1
		for j < len(tasks) && tasks[j].AppID == tasks[i].AppID {
			j++
		}
		id := tasks[i].AppID
		if prev, ok := byApp[id]; ok {
			byApp[id] = append(prev[:len(prev):len(prev)], tasks[i:j]...)
		} else {
			byApp[id] = tasks[i:j:j]
		}
		i = j
	}
	return byApp
}

func stop(appID string, tasks []Task, q Queued) ([]Action, bool) {
	var acts []Action
	if q.Count > 0 {
		acts = append(acts, Action{Kind: Purge, AppID: appID})
	}
	for _, t := range tasks {
		if t.State != Killing {
			acts = append(acts, Action{Kind: Kill, AppID: appID, TaskID: t.ID, Reason: ReasonDeletingApp})
		}
	}
	return acts, len(tasks) == 0 && q.Count == 0
}

// purgeStale drops queued launches of another version than v.
func purgeStale(s AppSpec, q Queued) ([]Action, int) {
	if q.Count > 0 && q.Version != s.Version {
		return []Action{{Kind: Purge, AppID: s.ID}}, 0
	}
	return nil, q.Count
}

func serving(t Task) bool { return t.State == Running && t.Healthy && t.Ready }

func scale(s AppSpec, tasks []Task, q Queued, now time.Time) ([]Action, bool) {
	acts, queued := purgeStale(s, q)
	killing, serve := 0, 0
	for _, t := range tasks {
		switch {
		case t.State == Killing:
			killing++
		case serving(t):
			serve++
		}
	}
	active := len(tasks) - killing
	have := active + queued
	switch {
	case have < s.Instances:
		acts = append(acts, Action{Kind: Start, AppID: s.ID, Version: s.Version, Count: s.Instances - have})
	case have > s.Instances:
		excess := have - s.Instances
		if d := min(excess, queued); d > 0 {
			acts = append(acts, Action{Kind: Dequeue, AppID: s.ID, Count: d})
			excess -= d
		}
		for _, t := range killOrder(notKilling(tasks), s.KillSelection, now)[:excess] {
			acts = append(acts, Action{Kind: Kill, AppID: s.ID, TaskID: t.ID, Reason: ReasonScaling})
		}
	}
	done := len(acts) == 0 && killing == 0 && active == s.Instances && serve == s.Instances
	return acts, done
}

// notKilling returns the tasks that are not being killed.
func notKilling(tasks []Task) []Task {
	var out []Task
	for _, t := range tasks {
		if t.State != Killing {
			out = append(out, t)
		}
	}
	return out
}

func restart(s AppSpec, tasks []Task, q Queued, now time.Time) ([]Action, bool) {
	acts, queued := purgeStale(s, q)
	c := CapacityOf(s)
	var oldLive, newLive []Task
	total, killing, healthy, newServing, newInFlight := queued, 0, 0, 0, queued
	for _, t := range tasks {
		total++
		if t.State == Killing {
			killing++
			continue
		}
		if t.Version == s.Version {
			newLive = append(newLive, t)
			if serving(t) {
				healthy++
				newServing++
			} else {
				newInFlight++
			}
		} else {
			oldLive = append(oldLive, t)
			if t.State == Running && t.Healthy {
				healthy++
			}
		}
	}
	// Kill old tasks: those that do not count as healthy cost nothing; each
	// healthy one needs a healthy task above the minimum.
	budget := healthy - c.MinHealthy
	for _, t := range killOrder(oldLive, s.KillSelection, now) {
		countsHealthy := t.State == Running && t.Healthy
		if countsHealthy {
			if budget <= 0 {
				continue
			}
			budget--
		}
		acts = append(acts, Action{Kind: Kill, AppID: s.ID, TaskID: t.ID, Reason: ReasonUpgrading})
	}
	// New tasks beyond the target count (a scale down within the restart).
	newCount := len(newLive) + queued
	if newCount > s.Instances {
		excess := newCount - s.Instances
		if d := min(excess, queued); d > 0 {
			acts = append(acts, Action{Kind: Dequeue, AppID: s.ID, Count: d})
			excess -= d
			newCount -= d
			total -= d
		}
		for _, t := range killOrder(newLive, s.KillSelection, now)[:excess] {
			acts = append(acts, Action{Kind: Kill, AppID: s.ID, TaskID: t.ID, Reason: ReasonOverCap})
			newCount--
		}
	}
	// Start new tasks within the capacity window. The extra slot is only
	// used when nothing else can move: no kill possible and nothing new in
	// flight, exactly the case Marathon's over-capacity of one exists for.
	limit := c.MaxCapacity
	killedNow := 0
	for _, a := range acts {
		if a.Kind == Kill {
			killedNow++
		}
	}
	if c.Extra > 0 && killedNow == 0 && newInFlight == 0 && len(oldLive) > 0 {
		limit += c.Extra
	}
	if n := min(s.Instances-newCount, limit-total); n > 0 {
		acts = append(acts, Action{Kind: Start, AppID: s.ID, Version: s.Version, Count: n})
	}
	done := len(acts) == 0 && killing == 0 && len(oldLive) == 0 &&
		len(newLive) == s.Instances && newServing == s.Instances && queued == 0
	return acts, done
}

// killOrder sorts tasks in the order Marathon kills them when it has a
// choice: unreachable first, then not yet running, then unhealthy or not
// ready, then by killSelection on the start time (YOUNGEST_FIRST: latest
// started first), ties by task id.
func killOrder(tasks []Task, selection string, now time.Time) []Task {
	out := append([]Task(nil), tasks...)
	rank := func(t Task) int {
		switch {
		case t.State == Unreachable:
			return 0
		case t.State != Running:
			return 1
		case !t.Healthy || !t.Ready:
			return 2
		}
		return 3
	}
	started := func(t Task) time.Time {
		if t.StartedAt.IsZero() {
			return now
		}
		return t.StartedAt
	}
	slices.SortStableFunc(out, func(a, b Task) int {
		byStart := started(a).Compare(started(b))
		if selection != app.KillOldestFirst {
			byStart = -byStart
		}
		return cmp.Or(cmp.Compare(rank(a), rank(b)), byStart, cmp.Compare(a.ID, b.ID))
	})
	return out
}
