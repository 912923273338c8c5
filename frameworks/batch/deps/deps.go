package deps

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/agoracluster/agora/frameworks/batch/job"
)

// Graph maps every job id to the ids of its parents (job.Spec.Dependencies).
type Graph map[string][]string

// Sentinels for errors.Is.
var (
	ErrUnknownParent = errors.New("deps: unknown parent")
	ErrCycle         = errors.New("deps: dependency cycle")
)

// UnknownParentError: a job depends on a job that does not exist.
type UnknownParentError struct{ Child, Parent string }

func (e *UnknownParentError) Error() string {
	return fmt.Sprintf("deps: job %s depends on unknown job %s", e.Child, e.Parent)
}

// Unwrap makes errors.Is(err, ErrUnknownParent) true.
func (e *UnknownParentError) Unwrap() error { return ErrUnknownParent }

// CycleError: jobs that depend on each other. Cycle lists them in order, each depending on the
// next, and ends with the first again: [a b c a] is "a depends on b, b on c, c on a".
type CycleError struct{ Cycle []string }

func (e *CycleError) Error() string {
	return "deps: dependency cycle " + strings.Join(e.Cycle, " -> ")
}

// Unwrap makes errors.Is(err, ErrCycle) true.
func (e *CycleError) Unwrap() error { return ErrCycle }

// Validate checks every job's parents: it returns nil, or the joined *UnknownParentError of
// every unknown parent (sorted by child, then parent) and a *CycleError naming one cycle (the
// same one every time for the same graph).
func (g Graph) Validate() error {
	var errs []error
	for _, child := range sortedIDs(g) {
		for _, p := range g[child] {
			if _, ok := g[p]; !ok {
				errs = append(errs, &UnknownParentError{Child: child, Parent: p})
			}
		}
	}
	if c := g.cycle(); c != nil {
		errs = append(errs, &CycleError{Cycle: c})
	}
	return errors.Join(errs...)
}

// cycle returns one cycle, found by a depth-first search in sorted order, or nil.
func (g Graph) cycle() []string {
	const (
		unvisited = iota
		onStack
		done
	)
	state := make(map[string]int, len(g))
	var stack []string
	var found []string
	var visit func(id string) bool
	visit = func(id string) bool {
		state[id] = onStack
		stack = append(stack, id)
		for _, p := range g[id] {
			switch state[p] {
			case onStack:
				i := slices.Index(stack, p)
				found = append(slices.Clone(stack[i:]), p)
				return true
			case unvisited:
				if _, known := g[p]; known && visit(p) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[id] = done
		return false
	}
	for _, id := range sortedIDs(g) {
		if state[id] == unvisited && visit(id) {
			return found
		}
	}
	return nil
}

// CheckJob validates putting the job id with these parents into g (replacing the job's old
// parents, if any): it returns nil or a *job.InvalidError whose details name
// /dependencies(i) for each unknown parent and for each parent through which id would depend on
// itself, with the cycle. g is not changed.
func CheckJob(g Graph, id string, parents []string) error {
	var details []job.Detail
	for i, p := range parents {
		path := fmt.Sprintf("/dependencies(%d)", i)
		if _, ok := g[p]; !ok && p != id {
			details = append(details, job.Detail{Path: path, Errors: []string{fmt.Sprintf("unknown job %s", p)}})
			continue
		}
		if c := g.pathTo(p, id); c != nil {
			cycle := append([]string{id}, c...)
			details = append(details, job.Detail{Path: path, Errors: []string{
				"dependency cycle " + strings.Join(cycle, " -> "),
			}})
		}
	}
	if details == nil {
		return nil
	}
	return &job.InvalidError{Details: details}
}

// pathTo returns a dependency path from `from` to `to` ([from ... to]), ignoring to's own
// parents (the ones being replaced), or nil.
func (g Graph) pathTo(from, to string) []string {
	seen := map[string]bool{}
	var path []string
	var walk func(id string) bool
	walk = func(id string) bool {
		path = append(path, id)
		if id == to {
			return true
		}
		if !seen[id] {
			seen[id] = true
			for _, p := range g[id] {
				if walk(p) {
					return true
				}
			}
		}
		path = path[:len(path)-1]
		return false
	}
	if walk(from) {
		return path
	}
	return nil
}

// Children returns the ids of the jobs that depend on id, sorted: a job that has children
// cannot be deleted without leaving them an unknown parent.
func (g Graph) Children(id string) []string {
	var out []string
	for _, child := range sortedIDs(g) {
		if slices.Contains(g[child], id) {
			out = append(out, child)
		}
	}
	return out
}

// Run is what Due needs of a job's latest run (the one started last).
type Run struct {
	Started  time.Time
	Finished time.Time // zero while the run is active
	Success  bool
}

// Due reports whether a child job must start a run now: it has parents; the latest run of
// every parent finished successfully; and each of those runs finished after the child's
// latest run started, or the child never ran. A child whose latest run is still active is not
// due (it is evaluated again when that run finishes). parents holds each parent's latest run,
// nil for a parent that never ran; child is the child's latest run, nil if it never ran.
func Due(parents []*Run, child *Run) bool {
	if len(parents) == 0 {
		return false
	}
	if child != nil && child.Finished.IsZero() {
		return false
	}
	for _, p := range parents {
		if p == nil || p.Finished.IsZero() || !p.Success {
			return false
		}
		if child != nil && !p.Finished.After(child.Started) {
			return false
		}
	}
	return true
}

func sortedIDs(g Graph) []string {
	ids := make([]string, 0, len(g))
	for id := range g {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
