package stateapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/agoracluster/agora/proto/mesos/v1"
)

// Source is what the endpoints read from the agent. State, Executors and Metrics read the
// agent's state (on its loop); they fail with ErrUnavailable once the agent has stopped.
type Source interface {
	// State renders /state.
	State(ctx context.Context) (State, error)
	// Executors lists the executors whose container runs, without their statistics.
	Executors(ctx context.Context) ([]ExecutorStatistics, error)
	// Usage is the resource usage of a container; false when it has no cgroup.
	Usage(containerID string) (ResourceStatistics, bool)
	// Metrics counts tasks, executors and pending status updates.
	Metrics(ctx context.Context) (Metrics, error)
	// Connected reports, without waiting, whether the agent is subscribed to the master.
	Connected() bool
}

// Metrics is what /metrics exports about the agent itself.
type Metrics struct {
	TasksByState   map[string]int // live and completed tasks by state name
	Executors      int            // executors whose process runs
	PendingUpdates int            // status updates not yet acknowledged
	Connected      bool
}

// ErrUnavailable is returned by a Source whose agent has stopped.
var ErrUnavailable = errors.New("stateapi: the agent is shutting down")

// Handler serves /state(.json), /health, /monitor/statistics(.json) and /metrics from src.
// now stamps the statistics (time.Now outside tests).
func Handler(src Source, now func() time.Time) http.Handler {
	e := endpoints{src: src, now: now}
	mux := http.NewServeMux()
	mux.HandleFunc("/state", e.handleState)
	mux.HandleFunc("/state.json", e.handleState)
	mux.HandleFunc("/health", e.handleHealth)
	mux.HandleFunc("/monitor/statistics", e.handleStatistics)
	mux.HandleFunc("/monitor/statistics.json", e.handleStatistics)
	reg := prometheus.NewRegistry()
	reg.MustRegister(&agentCollector{e}, &statisticsCollector{e})
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}

type endpoints struct {
	src Source
	now func() time.Time
}

// writeError answers a request the agent could not serve.
func writeError(w http.ResponseWriter, err error) {
	if errors.Is(err, ErrUnavailable) {
		http.Error(w, "Agent is shutting down", http.StatusServiceUnavailable)
		return
	}
	http.Error(w, err.Error(), http.StatusInternalServerError)
}

func (e endpoints) handleHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"healthy": true, "connected": e.src.Connected()})
}

func (e endpoints) handleState(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	st, err := e.src.State(ctx)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(st)
}

// State is the JSON of GET /state (Mesos field names where Mesos has them).
type State struct {
	ID                  string            `json:"id"`
	Hostname            string            `json:"hostname"`
	Port                int32             `json:"port"`
	Version             string            `json:"version"`
	Master              string            `json:"master_hostname"`
	Connected           bool              `json:"connected"`
	Resources           map[string]any    `json:"resources"`
	Attributes          map[string]string `json:"attributes"`
	Frameworks          []FrameworkState  `json:"frameworks"`
	CompletedFrameworks []FrameworkState  `json:"completed_frameworks"`
}

// FrameworkState is one framework in /state.
type FrameworkState struct {
	ID                 string          `json:"id"`
	Name               string          `json:"name"`
	User               string          `json:"user"`
	Role               string          `json:"role,omitempty"`
	Executors          []ExecutorState `json:"executors"`
	CompletedExecutors []ExecutorState `json:"completed_executors"`
}

// ExecutorState is one executor in /state.
type ExecutorState struct {
	ID             string      `json:"id"`
	Name           string      `json:"name"`
	Source         string      `json:"source"`
	Container      string      `json:"container"`
	Directory      string      `json:"directory"`
	State          string      `json:"state"`
	PID            int         `json:"pid,omitempty"`
	Tasks          []TaskState `json:"tasks"`
	QueuedTasks    []TaskState `json:"queued_tasks"`
	CompletedTasks []TaskState `json:"completed_tasks"`
}

// TaskState is one task in /state.
type TaskState struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	FrameworkID string         `json:"framework_id"`
	ExecutorID  string         `json:"executor_id"`
	AgentID     string         `json:"slave_id"`
	State       string         `json:"state"`
	Resources   map[string]any `json:"resources"`
	Statuses    []StatusState  `json:"statuses"`
}

// StatusState is one status of a task in /state.
type StatusState struct {
	State     string  `json:"state"`
	Timestamp float64 `json:"timestamp"`
	Message   string  `json:"message,omitempty"`
	Reason    string  `json:"reason,omitempty"`
	Source    string  `json:"source,omitempty"`
}

// TaskOf renders a task for /state.
func TaskOf(t *mesos.Task) TaskState {
	ts := TaskState{
		ID: t.GetTaskId().GetValue(), Name: t.GetName(), FrameworkID: t.GetFrameworkId().GetValue(),
		ExecutorID: t.GetExecutorId().GetValue(), AgentID: t.GetAgentId().GetValue(),
		State: t.GetState().String(), Resources: ResourceMap(t.GetResources()), Statuses: []StatusState{},
	}
	for _, s := range t.GetStatuses() {
		ss := StatusState{State: s.GetState().String(), Timestamp: s.GetTimestamp(), Message: s.GetMessage(),
			Source: s.GetSource().String()}
		if s.Reason != nil {
			ss.Reason = s.GetReason().String()
		}
		ts.Statuses = append(ts.Statuses, ss)
	}
	return ts
}

// ResourceMap renders resources the way Mesos's /state does: scalars as numbers, ranges as
// "[a-b, c-d]", sets as "{a,b}", summed across roles.
func ResourceMap(rs []*mesos.Resource) map[string]any {
	out := map[string]any{}
	for _, r := range rs {
		name := r.GetName()
		switch r.GetType() {
		case mesos.Value_SCALAR:
			v, _ := out[name].(float64)
			out[name] = v + r.GetScalar().GetValue()
		case mesos.Value_RANGES:
			var parts []string
			if prev, ok := out[name].(string); ok && len(prev) > 2 {
				parts = append(parts, prev[1:len(prev)-1])
			}
			for _, rg := range r.GetRanges().GetRange() {
				parts = append(parts, fmt.Sprintf("%d-%d", rg.GetBegin(), rg.GetEnd()))
			}
			out[name] = "[" + strings.Join(parts, ", ") + "]"
		case mesos.Value_SET:
			out[name] = "{" + strings.Join(r.GetSet().GetItem(), ",") + "}"
		}
	}
	return out
}
