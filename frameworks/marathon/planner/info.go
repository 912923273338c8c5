package planner

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

// ActionInfo is one action of a step.
type ActionInfo struct {
	Action string `json:"action"`
	App    string `json:"app"`
}

// CurrentAction is an action of the running step. ReadinessCheckResults
// holds the caller's readiness results (JSON values) for the app.
type CurrentAction struct {
	Action                string `json:"action"`
	App                   string `json:"app"`
	ReadinessCheckResults []any  `json:"readinessCheckResults"`
}

// Info renders the plan for /v2/deployments while it runs step (0-based);
// currentStep is reported 1-based as Marathon does.
func (p Plan) Info(step int) DeploymentInfo {
	d := DeploymentInfo{
		ID: p.ID, Version: p.Version, AffectedApps: p.AffectedApps(), AffectedPods: []string{},
		Steps: []StepInfo{}, CurrentActions: []CurrentAction{}, TotalSteps: len(p.Steps),
	}
	if d.AffectedApps == nil {
		d.AffectedApps = []string{}
	}
	for _, s := range p.Steps {
		si := StepInfo{Actions: []ActionInfo{}}
		for _, a := range s.Actions {
			si.Actions = append(si.Actions, ActionInfo{Action: string(a.Kind), App: a.AppID})
		}
		d.Steps = append(d.Steps, si)
	}
	if step >= 0 && step < len(p.Steps) {
		d.CurrentStep = step + 1
		for _, a := range p.Steps[step].Actions {
			d.CurrentActions = append(d.CurrentActions, CurrentAction{Action: string(a.Kind), App: a.AppID, ReadinessCheckResults: []any{}})
		}
	}
	return d
}
