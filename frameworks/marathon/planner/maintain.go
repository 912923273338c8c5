package planner

import "time"

// Maintain is the steady-state loop for an app that no deployment is
// changing: it keeps Instances tasks of the app running, replacing failed
// and lost tasks (they are no longer in tasks) and unreachable tasks once
// they have been unreachable for InactiveAfter, expunging those unreachable
// for ExpungeAfter, and killing tasks beyond the instance count by the kill
// order. Launch back-off is the launch queue's business: Maintain only asks
// for launches. The caller records actions as for Next.
func Maintain(s AppSpec, tasks []Task, q Queued, now time.Time) []Action {
	acts, queued := purgeStale(s, q)
	active := 0
	for _, t := range tasks {
		switch maintained(s, t, now) {
		case keep:
			active++
		case expunge:
			acts = append(acts, Action{Kind: Expunge, AppID: s.ID, TaskID: t.ID})
		}
	}
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
		kept := make([]Task, 0, active)
		for _, t := range tasks {
			if maintained(s, t, now) == keep {
				kept = append(kept, t)
			}
		}
		for _, t := range killOrder(kept, s.KillSelection, now)[:excess] {
			acts = append(acts, Action{Kind: Kill, AppID: s.ID, TaskID: t.ID, Reason: ReasonOverCap})
		}
	}
	return acts
}

// fate is what Maintain does with a task.
type fate int

const (
	keep    fate = iota // counts as one of the instances
	skip                // being killed, or unreachable long enough to be replaced
	expunge             // unreachable long enough to be forgotten
)

func maintained(s AppSpec, t Task, now time.Time) fate {
	if t.State == Killing {
		return skip
	}
	if t.State == Unreachable && !s.UnreachableDisabled {
		gone := now.Sub(t.UnreachableSince)
		if gone >= s.ExpungeAfter {
			return expunge
		}
		if gone >= s.InactiveAfter {
			return skip // inactive: replaced, not yet expunged
		}
	}
	return keep
}
