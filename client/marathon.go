package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Marathon is a client of the Marathon-compatible /v2 API.
type Marathon struct{ base }

// NewMarathon returns a client of the Marathon API at rawURL (http://host:port or host:port);
// hc nil means http.DefaultClient.
func NewMarathon(rawURL string, hc *http.Client) (*Marathon, error) {
	b, err := newBase("marathon", rawURL, hc)
	if err != nil {
		return nil, err
	}
	return &Marathon{b}, nil
}

// App is the part of a Marathon app definition and status the CLI shows.
type App struct {
	ID              string            `json:"id"`
	Cmd             string            `json:"cmd,omitempty"`
	Instances       int               `json:"instances"`
	CPUs            float64           `json:"cpus"`
	Mem             float64           `json:"mem"`
	Version         string            `json:"version,omitempty"`
	HealthChecks    []json.RawMessage `json:"healthChecks,omitempty"`
	TasksStaged     int               `json:"tasksStaged"`
	TasksRunning    int               `json:"tasksRunning"`
	TasksHealthy    int               `json:"tasksHealthy"`
	TasksUnhealthy  int               `json:"tasksUnhealthy"`
	Deployments     []DeploymentRef   `json:"deployments,omitempty"`
	Tasks           []AppTask         `json:"tasks,omitempty"`
	LastTaskFailure *TaskFailure      `json:"lastTaskFailure,omitempty"`
}

// DeploymentRef names a deployment an app takes part in.
type DeploymentRef struct {
	ID string `json:"id"`
}

// AppTask is a task of an app.
type AppTask struct {
	ID        string `json:"id"`
	AppID     string `json:"appId"`
	Host      string `json:"host"`
	AgentID   string `json:"slaveId"`
	State     string `json:"state"`
	Ports     []int  `json:"ports,omitempty"`
	StagedAt  string `json:"stagedAt,omitempty"`
	StartedAt string `json:"startedAt,omitempty"`
	Version   string `json:"version,omitempty"`
}

// TaskFailure is an app's last task failure.
type TaskFailure struct {
	TaskID    string `json:"taskId"`
	State     string `json:"state"`
	Message   string `json:"message"`
	Host      string `json:"host"`
	Timestamp string `json:"timestamp"`
}

// Deployment is an entry of /v2/deployments.
type Deployment struct {
	ID             string          `json:"id"`
	Version        string          `json:"version"`
	AffectedApps   []string        `json:"affectedApps"`
	AffectedPods   []string        `json:"affectedPods"`
	CurrentActions []DeployAction  `json:"currentActions"`
	Steps          json.RawMessage `json:"steps,omitempty"`
	CurrentStep    int             `json:"currentStep"`
	TotalSteps     int             `json:"totalSteps"`
}

// DeployAction is an action of a deployment's current step, on an app or a pod.
type DeployAction struct {
	Action string `json:"action"`
	App    string `json:"app,omitempty"`
	Pod    string `json:"pod,omitempty"`
}

// QueueEntry is an entry of /v2/queue: launches of an app waiting for offers, and why
// offers did not fit.
type QueueEntry struct {
	App   App `json:"app"`
	Count int `json:"count"`
	Delay struct {
		TimeLeftSeconds int64 `json:"timeLeftSeconds"`
		Overdue         bool  `json:"overdue"`
	} `json:"delay"`
	Since                  string `json:"since"`
	ProcessedOffersSummary struct {
		ProcessedOffersCount    int            `json:"processedOffersCount"`
		UnusedOffersCount       int            `json:"unusedOffersCount"`
		RejectSummaryLastOffers []RejectReason `json:"rejectSummaryLastOffers"`
	} `json:"processedOffersSummary"`
}

// RejectReason counts the offers declined for one reason.
type RejectReason struct {
	Reason    string `json:"reason"`
	Declined  int    `json:"declined"`
	Processed int    `json:"processed"`
}

// Reason says why the entry's launches wait: a backoff delay, or the reasons recent offers
// were declined ("" when nothing says).
func (q QueueEntry) Reason() string {
	var parts []string
	if q.Delay.TimeLeftSeconds > 0 {
		parts = append(parts, fmt.Sprintf("backoff delay %ds", q.Delay.TimeLeftSeconds))
	}
	for _, r := range q.ProcessedOffersSummary.RejectSummaryLastOffers {
		if r.Declined > 0 {
			parts = append(parts, fmt.Sprintf("%s (%d/%d offers)", r.Reason, r.Declined, r.Processed))
		}
	}
	return strings.Join(parts, ", ")
}

// Deployed is what a change of an app answers.
type Deployed struct {
	DeploymentID string `json:"deploymentId"`
	Version      string `json:"version"`
}

// appPath is /v2/apps/<id> with the id's segments escaped; id may lack its leading slash.
func appPath(id string) string {
	segs := strings.Split(strings.Trim(id, "/"), "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return "/v2/apps/" + strings.Join(segs, "/")
}

// Apps lists the apps with their task counts, deployments and last failures.
func (m *Marathon) Apps(ctx context.Context) ([]App, error) {
	var out struct {
		Apps []App `json:"apps"`
	}
	err := m.do(ctx, http.MethodGet, "/v2/apps?embed=apps.counts&embed=apps.deployments&embed=apps.lastTaskFailure", nil, &out)
	return out.Apps, err
}

// App returns one app with its tasks.
func (m *Marathon) App(ctx context.Context, id string) (App, error) {
	var out struct {
		App App `json:"app"`
	}
	err := m.do(ctx, http.MethodGet, appPath(id), nil, &out)
	return out.App, err
}

// Deploy creates or replaces the app that definition (JSON with an "id") describes.
func (m *Marathon) Deploy(ctx context.Context, definition []byte, force bool) (Deployed, error) {
	var def struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(definition, &def); err != nil {
		return Deployed{}, fmt.Errorf("marathon: app definition: %w", err)
	}
	if strings.Trim(def.ID, "/") == "" {
		return Deployed{}, fmt.Errorf("marathon: app definition: no \"id\"")
	}
	var out Deployed
	err := m.do(ctx, http.MethodPut, appPath(def.ID)+"?partialUpdate=false"+forceParam(force, "&"), definition, &out)
	return out, err
}

// Scale sets an app's instance count.
func (m *Marathon) Scale(ctx context.Context, id string, instances int, force bool) (Deployed, error) {
	var out Deployed
	err := m.do(ctx, http.MethodPut, appPath(id)+forceParam(force, "?"), map[string]int{"instances": instances}, &out)
	return out, err
}

// Restart replaces every task of an app.
func (m *Marathon) Restart(ctx context.Context, id string, force bool) (Deployed, error) {
	var out Deployed
	err := m.do(ctx, http.MethodPost, appPath(id)+"/restart"+forceParam(force, "?"), nil, &out)
	return out, err
}

// Delete removes an app and kills its tasks.
func (m *Marathon) Delete(ctx context.Context, id string, force bool) (Deployed, error) {
	var out Deployed
	err := m.do(ctx, http.MethodDelete, appPath(id)+forceParam(force, "?"), nil, &out)
	return out, err
}

// Versions lists an app's stored versions, newest first.
func (m *Marathon) Versions(ctx context.Context, id string) ([]string, error) {
	var out struct {
		Versions []string `json:"versions"`
	}
	err := m.do(ctx, http.MethodGet, appPath(id)+"/versions", nil, &out)
	return out.Versions, err
}

// Rollback makes an app what it was at version.
func (m *Marathon) Rollback(ctx context.Context, id, version string, force bool) (Deployed, error) {
	var out Deployed
	err := m.do(ctx, http.MethodPut, appPath(id)+forceParam(force, "?"), map[string]string{"version": version}, &out)
	return out, err
}

// Deployments lists the deployments in progress.
func (m *Marathon) Deployments(ctx context.Context) ([]Deployment, error) {
	var out []Deployment
	err := m.do(ctx, http.MethodGet, "/v2/deployments", nil, &out)
	return out, err
}

// Queue lists the launches waiting for offers.
func (m *Marathon) Queue(ctx context.Context) ([]QueueEntry, error) {
	var out struct {
		Queue []QueueEntry `json:"queue"`
	}
	err := m.do(ctx, http.MethodGet, "/v2/queue", nil, &out)
	return out.Queue, err
}

func forceParam(force bool, sep string) string {
	if force {
		return sep + "force=true"
	}
	return ""
}
