package planner

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// Maintain is the steady-state loop for an app that no deployment is
// changing: it keeps Instances tasks of the app running, replacing failed
// and lost tasks (they are no longer in tasks) and unreachable tasks once
// they have been unreachable for InactiveAfter, expunging those unreachable
// for ExpungeAfter, and killing tasks beyond the instance count by the kill
// order. Launch back-off is the launch queue's business: Maintain only asks
// for launches. The caller records actions as for Next.
func Maintain(s AppSpec, tasks []Task, q Queued, now time.Time) []Action {
	return MaintainDraining(s, tasks, q, now, nil)
}

// MaintainDraining is Maintain with the agents that are draining for maintenance
// (draining[agentID]): the app's tasks on them are moved off as in a rolling
// restart within the app's upgradeStrategy. Replacements are started elsewhere
// while the app stays within Instances × (1 + maximumOverCapacity) tasks, and tasks
// on draining agents are killed while at least Instances × minimumHealthCapacity
// (rounded up) healthy tasks remain; tasks that are not healthy go first.
func MaintainDraining(s AppSpec, tasks []Task, q Queued, now time.Time, draining map[string]bool) []Action {
	acts, queued := purgeStale(s, q)
	var staying, leaving []Task
	healthy := 0
	for _, t := range tasks {
		switch maintained(s, t, now) {
		case keep:
			if draining[t.AgentID] {
				leaving = append(leaving, t)
			} else {
				staying = append(staying, t)
			}
			if t.State == Running && t.Healthy {
				healthy++
			}
		case expunge:
			acts = append(acts, Action{Kind: Expunge, AppID: s.ID, TaskID: t.ID})
		}
	}
	have := len(staying) + queued
	switch {
	case have < s.Instances:
		n := s.Instances - have
		if len(leaving) > 0 {
			// Replacements of the leaving tasks may not take the app over capacity.
			room := s.Instances + int(float64(s.Instances)*s.MaximumOverCapacity) - (have + len(leaving))
			n = min(n, max(room, 0))
		}
		if n > 0 {
			acts = append(acts, Action{Kind: Start, AppID: s.ID, Version: s.Version, Count: n})
		}
	case have > s.Instances:
		excess := have - s.Instances
		if d := min(excess, queued); d > 0 {
			acts = append(acts, Action{Kind: Dequeue, AppID: s.ID, Count: d})
			excess -= d
		}
		for _, t := range killOrder(staying, s.KillSelection, now)[:excess] {
			acts = append(acts, Action{Kind: Kill, AppID: s.ID, TaskID: t.ID, Reason: ReasonOverCap})
		}
	}
	if len(leaving) > 0 {
		minHealthy := int(math.Ceil(float64(s.Instances) * s.MinimumHealthCapacity))
		slices.SortStableFunc(leaving, func(a, b Task) int {
			return cmp.Compare(boolRank(a.State == Running && a.Healthy), boolRank(b.State == Running && b.Healthy))
		})
		for _, t := range leaving {
			if t.State == Running && t.Healthy {
				if healthy-1 < minHealthy {
					break
				}
				healthy--
			}
			acts = append(acts, Action{Kind: Kill, AppID: s.ID, TaskID: t.ID, Reason: ReasonMaintenance})
		}
	}
	return acts
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
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
