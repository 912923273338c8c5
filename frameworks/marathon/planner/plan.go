package planner

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// StepKind is a Marathon deployment action name.
type StepKind string

// Deployment action names as /v2/deployments reports them.
const (
	StartApplication   StepKind = "StartApplication"
	ScaleApplication   StepKind = "ScaleApplication"
	RestartApplication StepKind = "RestartApplication"
	StopApplication    StepKind = "StopApplication"
)

// StepAction is one app's action within a step.
type StepAction struct {
	Kind  StepKind
	AppID string
}

// Step holds actions that run in parallel; steps run one after another.
type Step struct {
	Actions []StepAction
}

// Plan is a deployment plan: the original and target definitions of every
// app it touches and the steps between them.
type Plan struct {
	ID       string
	Version  string // timestamp of the deployment
	Original map[string]AppSpec
	Target   map[string]AppSpec
	Steps    []Step
}

// ErrCycle is returned for target definitions whose dependencies loop.
var ErrCycle = errors.New("planner: Dependency graph has cyclic dependencies.")

// NewPlan computes the plan from original (the deployed apps by id) to
// target. id and version are chosen by the caller (a UUID and the
// deployment timestamp) so the planner stays deterministic. An empty plan
// (no steps) means nothing changes.
func NewPlan(id, version string, original, target map[string]AppSpec) (Plan, error) {
	p := Plan{ID: id, Version: version, Original: map[string]AppSpec{}, Target: map[string]AppSpec{}}
	layers, err := layersByLongestPath(target)
	if err != nil {
		return Plan{}, err
	}
	var stop, start Step
	for _, id := range slices.Sorted(maps.Keys(original)) {
		if _, ok := target[id]; !ok {
			stop.Actions = append(stop.Actions, StepAction{StopApplication, id})
			p.Original[id] = original[id]
		}
	}
	for _, id := range slices.Sorted(maps.Keys(target)) {
		if _, ok := original[id]; !ok {
			start.Actions = append(start.Actions, StepAction{StartApplication, id})
			p.Target[id] = target[id]
		}
	}
	p.Steps = appendStep(p.Steps, stop)
	p.Steps = appendStep(p.Steps, start)
	for _, layer := range layers {
		var step Step
		for _, id := range layer {
			t := target[id]
			o, existed := original[id]
			switch {
			case !existed:
				step.Actions = append(step.Actions, StepAction{ScaleApplication, id})
			case o.Version != t.Version:
				step.Actions = append(step.Actions, StepAction{RestartApplication, id})
				p.Original[id], p.Target[id] = o, t
			case o.Instances != t.Instances:
				step.Actions = append(step.Actions, StepAction{ScaleApplication, id})
				p.Original[id], p.Target[id] = o, t
			}
		}
		p.Steps = appendStep(p.Steps, step)
	}
	return p, nil
}

func appendStep(steps []Step, s Step) []Step {
	if len(s.Actions) == 0 {
		return steps
	}
	return append(steps, s)
}

// dependsOn resolves a dependency (an app or a group id) to target app ids.
func dependsOn(dep string, target map[string]AppSpec) []string {
	if _, ok := target[dep]; ok {
		return []string{dep}
	}
	prefix := strings.TrimSuffix(dep, "/") + "/"
	var out []string
	for _, id := range slices.Sorted(maps.Keys(target)) {
		if strings.HasPrefix(id, prefix) {
			out = append(out, id)
		}
	}
	return out
}

// layersByLongestPath groups the target apps by the length of the longest
// dependency chain that starts at them (Marathon's
// runSpecsGroupedByLongestPath): apps without dependencies first.
func layersByLongestPath(target map[string]AppSpec) ([][]string, error) {
	const (
		unvisited = iota
		visiting
		done
	)
	mark := map[string]int{}
	length := map[string]int{}
	var visit func(id string) error
	visit = func(id string) error {
		switch mark[id] {
		case visiting:
			return ErrCycle
		case done:
			return nil
		}
		mark[id] = visiting
		longest := 1
		for _, dep := range target[id].Dependencies {
			for _, d := range dependsOn(dep, target) {
				if d == id {
					continue
				}
				if err := visit(d); err != nil {
					return err
				}
				if length[d]+1 > longest {
					longest = length[d] + 1
				}
			}
		}
		mark[id] = done
		length[id] = longest
		return nil
	}
	max := 0
	for _, id := range slices.Sorted(maps.Keys(target)) {
		if err := visit(id); err != nil {
			return nil, err
		}
		if length[id] > max {
			max = length[id]
		}
	}
	layers := make([][]string, max)
	for _, id := range slices.Sorted(maps.Keys(target)) {
		layers[length[id]-1] = append(layers[length[id]-1], id)
	}
	return layers, nil
}

// AffectedApps lists the ids of the apps and pods the plan touches, sorted (Info tells
// them apart).
func (p Plan) AffectedApps() []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range p.Steps {
		for _, a := range s.Actions {
			if !seen[a.AppID] {
				seen[a.AppID] = true
				out = append(out, a.AppID)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Conflicts returns the ids of running deployments that touch an app that
// p touches too (Marathon allows one deployment per app at a time; the
// caller answers 409 unless force=true).
func Conflicts(p Plan, running []Plan) []string {
	mine := map[string]bool{}
	for _, id := range p.AffectedApps() {
		mine[id] = true
	}
	var out []string
	for _, r := range running {
		for _, id := range r.AffectedApps() {
			if mine[id] {
				out = append(out, r.ID)
				break
			}
		}
	}
	return out
}

// Revert builds the plan that undoes p (DELETE /v2/deployments/{id}
// without force): every app p touched goes back to its original definition,
// apps p created are removed. current holds the definitions deployed now.
func Revert(p Plan, id, version string, current map[string]AppSpec) (Plan, error) {
	target := map[string]AppSpec{}
	for k, v := range current {
		target[k] = v
	}
	for _, appID := range p.AffectedApps() {
		if o, ok := p.Original[appID]; ok {
			target[appID] = o
		} else {
			delete(target, appID)
		}
	}
	return NewPlan(id, version, current, target)
}

// String renders the plan for logs and golden files.
func (p Plan) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "plan %s version=%s", p.ID, p.Version)
	if len(p.Steps) == 0 {
		b.WriteString(" (no steps)")
	}
	for i, s := range p.Steps {
		fmt.Fprintf(&b, "\n  step %d:", i+1)
		for _, a := range s.Actions {
			fmt.Fprintf(&b, " %s(%s)", a.Kind, a.AppID)
		}
	}
	return b.String()
}
