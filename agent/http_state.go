package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
)

// routes is the agent's HTTP API.
func (a *Agent) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/executor", a.handleExecutorAPI)
	mux.HandleFunc("/state", a.handleState)
	mux.HandleFunc("/state.json", a.handleState)
	mux.HandleFunc("/health", a.handleHealth)
	reg := prometheus.NewRegistry()
	reg.MustRegister(&agentCollector{a: a}, &statisticsCollector{a: a})
	mux.HandleFunc("/monitor/statistics", a.handleStatistics)
	mux.HandleFunc("/monitor/statistics.json", a.handleStatistics)
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/files/", a.filesRoutes())
	return mux
}

// filesRoutes serves the sandbox files API.
func (a *Agent) filesRoutes() http.Handler {
	mux := http.NewServeMux()
	files := filesAPI{workDir: a.cfg.WorkDir}
	mux.HandleFunc("/files/browse", files.browse)
	mux.HandleFunc("/files/browse.json", files.browse)
	mux.HandleFunc("/files/read", files.read)
	mux.HandleFunc("/files/read.json", files.read)
	mux.HandleFunc("/files/download", files.download)
	mux.HandleFunc("/files/download.json", files.download)
	return mux
}

func (a *Agent) handleHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"healthy": true, "connected": a.connected.Load()})
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

func (a *Agent) handleState(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	var st State
	if err := a.query(ctx, func() { st = a.snapshot() }); err != nil {
		writeAPIError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(st)
}

// snapshot renders /state. Loop only.
func (a *Agent) snapshot() State {
	st := State{
		ID:                  a.st.agentID,
		Hostname:            a.info.GetHostname(),
		Port:                a.info.GetPort(),
		Version:             a.cfg.Version,
		Master:              a.st.masterAddr,
		Connected:           a.st.connected,
		Resources:           resourceMap(a.info.GetResources()),
		Attributes:          resources.AttributeMap(a.info.GetAttributes()),
		Frameworks:          []FrameworkState{},
		CompletedFrameworks: []FrameworkState{},
	}
	for _, fw := range sortedFrameworks(a.st.frameworks) {
		st.Frameworks = append(st.Frameworks, a.frameworkState(fw))
	}
	for _, fw := range a.st.completedFrameworks {
		st.CompletedFrameworks = append(st.CompletedFrameworks, a.frameworkState(fw))
	}
	return st
}

func (a *Agent) frameworkState(fw *framework) FrameworkState {
	fs := FrameworkState{
		ID: fw.id, Name: fw.info.GetName(), User: fw.info.GetUser(), Role: fw.info.GetRole(),
		Executors: []ExecutorState{}, CompletedExecutors: []ExecutorState{},
	}
	for _, ex := range sortedExecutors(fw.executors) {
		fs.Executors = append(fs.Executors, a.executorState(ex))
	}
	for _, ex := range fw.completedExecutors {
		fs.CompletedExecutors = append(fs.CompletedExecutors, a.executorState(ex))
	}
	return fs
}

func (a *Agent) executorState(ex *executor) ExecutorState {
	es := ExecutorState{
		ID: ex.id, Name: ex.info.GetName(), Source: ex.info.GetSource(), Container: ex.containerID,
		Directory: ex.sandbox, State: ex.state.String(), PID: ex.pid,
		Tasks: []TaskState{}, QueuedTasks: []TaskState{}, CompletedTasks: []TaskState{},
	}
	for _, t := range sortedTasks(ex.tasks) {
		ts := taskState(t.toTask(a.st.agentID, nil))
		if t.launched || t.state.IsTerminal() {
			es.Tasks = append(es.Tasks, ts)
		} else {
			es.QueuedTasks = append(es.QueuedTasks, ts)
		}
	}
	for _, t := range ex.completed {
		es.CompletedTasks = append(es.CompletedTasks, taskState(t))
	}
	return es
}

func taskState(t *mesos.Task) TaskState {
	ts := TaskState{
		ID: t.GetTaskId().GetValue(), Name: t.GetName(), FrameworkID: t.GetFrameworkId().GetValue(),
		ExecutorID: t.GetExecutorId().GetValue(), AgentID: t.GetAgentId().GetValue(),
		State: t.GetState().String(), Resources: resourceMap(t.GetResources()), Statuses: []StatusState{},
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

// resourceMap renders resources the way Mesos's /state does: scalars as numbers, ranges as
// "[a-b, c-d]", sets as "{a,b}", summed across roles.
func resourceMap(rs []*mesos.Resource) map[string]any {
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

// agentCollector exports the agent's metrics; it reads them from the loop on scrape.
type agentCollector struct{ a *Agent }

var (
	descTasks = prometheus.NewDesc("agora_agent_tasks", "Tasks on this agent by state.",
		[]string{"state"}, nil)
	descExecutors = prometheus.NewDesc("agora_agent_executors_running", "Executors whose process runs.",
		nil, nil)
	descPending = prometheus.NewDesc("agora_agent_status_updates_pending",
		"Status updates not yet acknowledged by the framework.", nil, nil)
	descConnected = prometheus.NewDesc("agora_agent_connected", "1 when subscribed to the master.", nil, nil)
)

func (c *agentCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descTasks
	ch <- descExecutors
	ch <- descPending
	ch <- descConnected
}

func (c *agentCollector) Collect(ch chan<- prometheus.Metric) {
	byState := map[string]int{}
	executors, pending := 0, 0
	connected := false
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := c.a.query(ctx, func() {
		for _, fw := range c.a.st.frameworks {
			for _, ex := range fw.executors {
				if !ex.gone() {
					executors++
				}
				for _, t := range ex.tasks {
					byState[t.state.String()]++
				}
				for _, t := range ex.completed {
					byState[t.GetState().String()]++
				}
			}
		}
		pending = c.a.st.sum.PendingCount()
		connected = c.a.st.connected
	})
	if err != nil {
		return
	}
	for _, s := range mesos.TaskState_name {
		ch <- prometheus.MustNewConstMetric(descTasks, prometheus.GaugeValue, float64(byState[s]), s)
	}
	ch <- prometheus.MustNewConstMetric(descExecutors, prometheus.GaugeValue, float64(executors))
	ch <- prometheus.MustNewConstMetric(descPending, prometheus.GaugeValue, float64(pending))
	v := 0.0
	if connected {
		v = 1
	}
	ch <- prometheus.MustNewConstMetric(descConnected, prometheus.GaugeValue, v)
}
