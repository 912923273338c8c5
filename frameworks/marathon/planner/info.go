package planner

import "strings"

// DeploymentInfo is a deployment as GET /v2/deployments returns it.
type DeploymentInfo struct {
	ID             string          `json:"id"`
	Version        string          `json:"version"`
	AffectedApps   []string        `json:"affectedApps"`
	AffectedPods   []string        `json:"affectedPods"`
	Steps          []StepInfo      `json:"steps"`
	CurrentActions []CurrentAction `json:"currentActions"`
	CurrentStep    int             `json:"currentStep"`
	TotalSteps     int             `json:"totalSteps"`
}

// StepInfo is one step of DeploymentInfo.
type StepInfo struct {
	Actions []ActionInfo `json:"actions"`
}

// ActionInfo is one action of a step: an app's (App) or a pod's (Pod, with the action's
// pod name: StartPod, ScalePod, RestartPod, StopPod).
type ActionInfo struct {
	Action string `json:"action"`
	App    string `json:"app,omitempty"`
	Pod    string `json:"pod,omitempty"`
}

// CurrentAction is an action of the running step. ReadinessCheckResults
// holds the caller's readiness results (JSON values) for the app.
type CurrentAction struct {
	Action                string `json:"action"`
	App                   string `json:"app,omitempty"`
	Pod                   string `json:"pod,omitempty"`
	ReadinessCheckResults []any  `json:"readinessCheckResults"`
}

// isPod tells whether the plan's run spec id is a pod's.
func (p Plan) isPod(id string) bool {
	if s, ok := p.Target[id]; ok {
		return s.Pod
	}
	return p.Original[id].Pod
}

// actionInfo names a's action and run spec as Marathon does: "app" and
// StartApplication…, or "pod" and StartPod….
func (p Plan) actionInfo(a StepAction) ActionInfo {
	if p.isPod(a.AppID) {
		return ActionInfo{Action: strings.Replace(string(a.Kind), "Application", "Pod", 1), Pod: a.AppID}
	}
	return ActionInfo{Action: string(a.Kind), App: a.AppID}
}

// Info renders the plan for /v2/deployments while it runs step (0-based);
// currentStep is reported 1-based as Marathon does.
func (p Plan) Info(step int) DeploymentInfo {
	d := DeploymentInfo{
		ID: p.ID, Version: p.Version, AffectedApps: []string{}, AffectedPods: []string{},
		Steps: []StepInfo{}, CurrentActions: []CurrentAction{}, TotalSteps: len(p.Steps),
	}
	for _, id := range p.AffectedApps() {
		if p.isPod(id) {
			d.AffectedPods = append(d.AffectedPods, id)
		} else {
			d.AffectedApps = append(d.AffectedApps, id)
		}
	}
	for _, s := range p.Steps {
		si := StepInfo{Actions: []ActionInfo{}}
		for _, a := range s.Actions {
			si.Actions = append(si.Actions, p.actionInfo(a))
		}
		d.Steps = append(d.Steps, si)
	}
	if step >= 0 && step < len(p.Steps) {
		d.CurrentStep = step + 1
		for _, a := range p.Steps[step].Actions {
			ai := p.actionInfo(a)
			d.CurrentActions = append(d.CurrentActions, CurrentAction{Action: ai.Action, App: ai.App, Pod: ai.Pod, ReadinessCheckResults: []any{}})
		}
	}
	return d
}
