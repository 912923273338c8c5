package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/agoracluster/agora/master/ledger"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
)

// The /state document, in the shape of Mesos's /master/state.

var protoJSON = protojson.MarshalOptions{UseProtoNames: true}

type stateJSON struct {
	Version                string          `json:"version"`
	ID                     string          `json:"id"`
	PID                    string          `json:"pid"`
	Hostname               string          `json:"hostname"`
	Cluster                string          `json:"cluster,omitempty"`
	Elected                bool            `json:"elected"` // a standby's /state says false
	Leader                 string          `json:"leader"`
	LeaderInfo             json.RawMessage `json:"leader_info"`
	StartTime              float64         `json:"start_time"`
	ElectedTime            float64         `json:"elected_time"`
	ActivatedSlaves        int             `json:"activated_slaves"`
	DeactivatedSlaves      int             `json:"deactivated_slaves"`
	UnreachableSlaves      int             `json:"unreachable_slaves"`
	Slaves                 []agentJSON     `json:"slaves"`
	Frameworks             []frameworkJSON `json:"frameworks"`
	CompletedFrameworks    []frameworkJSON `json:"completed_frameworks"`
	UnregisteredFrameworks []string        `json:"unregistered_frameworks"`
	OrphanTasks            []taskJSON      `json:"orphan_tasks"`
}

type agentJSON struct {
	ID                  string         `json:"id"`
	PID                 string         `json:"pid"`
	Hostname            string         `json:"hostname"`
	Port                int32          `json:"port"`
	RegisteredTime      float64        `json:"registered_time"`
	ReregisteredTime    float64        `json:"reregistered_time,omitempty"`
	Resources           map[string]any `json:"resources"`
	UsedResources       map[string]any `json:"used_resources"`
	OfferedResources    map[string]any `json:"offered_resources"`
	UnreservedResources map[string]any `json:"unreserved_resources"`
	// ReservedResources and ReservedResourcesFull are the agent's reserved
	// resources by role, summed up and as Resource messages (reservation
	// stacks and persistent volumes included), as in Mesos.
	ReservedResources     map[string]map[string]any    `json:"reserved_resources"`
	ReservedResourcesFull map[string][]json.RawMessage `json:"reserved_resources_full"`
	Attributes            map[string]string            `json:"attributes"`
	Active                bool                         `json:"active"`
	State                 string                       `json:"state"`
	Version               string                       `json:"version,omitempty"`
	// Deactivated and DrainInfo are set by DEACTIVATE_AGENT and DRAIN_AGENT, as in Mesos 1.9.
	Deactivated bool            `json:"deactivated"`
	DrainInfo   json.RawMessage `json:"drain_info,omitempty"`
}

type frameworkJSON struct {
	ID               string         `json:"id"`
	Name             string         `json:"name"`
	PID              string         `json:"pid,omitempty"`
	User             string         `json:"user"`
	Role             string         `json:"role,omitempty"`
	Roles            []string       `json:"roles"`
	Principal        string         `json:"principal,omitempty"`
	Hostname         string         `json:"hostname,omitempty"`
	WebuiURL         string         `json:"webui_url,omitempty"`
	Capabilities     []string       `json:"capabilities"`
	FailoverTimeout  float64        `json:"failover_timeout"`
	Checkpoint       bool           `json:"checkpoint"`
	Active           bool           `json:"active"`
	Connected        bool           `json:"connected"`
	Recovered        bool           `json:"recovered"`
	RegisteredTime   float64        `json:"registered_time"`
	ReregisteredTime float64        `json:"reregistered_time,omitempty"`
	UnregisteredTime float64        `json:"unregistered_time"`
	Resources        map[string]any `json:"resources"`
	UsedResources    map[string]any `json:"used_resources"`
	OfferedResources map[string]any `json:"offered_resources"`
	Tasks            []taskJSON     `json:"tasks"`
	UnreachableTasks []taskJSON     `json:"unreachable_tasks"`
	CompletedTasks   []taskJSON     `json:"completed_tasks"`
	Offers           []offerJSON    `json:"offers"`
	Executors        []executorJSON `json:"executors"`
}

type taskJSON struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	FrameworkID string            `json:"framework_id"`
	ExecutorID  string            `json:"executor_id"`
	SlaveID     string            `json:"slave_id"`
	State       string            `json:"state"`
	Resources   map[string]any    `json:"resources"`
	Role        string            `json:"role,omitempty"`
	Statuses    []taskStatusJSON  `json:"statuses"`
	Labels      []json.RawMessage `json:"labels,omitempty"`
}

type taskStatusJSON struct {
	State     string  `json:"state"`
	Timestamp float64 `json:"timestamp"`
	Message   string  `json:"message,omitempty"`
	Reason    string  `json:"reason,omitempty"`
	Source    string  `json:"source,omitempty"`
	Healthy   *bool   `json:"healthy,omitempty"`
}

type offerJSON struct {
	ID          string         `json:"id"`
	FrameworkID string         `json:"framework_id"`
	SlaveID     string         `json:"slave_id"`
	Resources   map[string]any `json:"resources"`
}

type executorJSON struct {
	ExecutorID string         `json:"executor_id"`
	Name       string         `json:"name,omitempty"`
	SlaveID    string         `json:"slave_id"`
	Resources  map[string]any `json:"resources"`
}

// resourcesJSON renders resources as Mesos does in /state: scalars summed by name,
// ports as a range string.
func resourcesJSON(r resources.Resources) map[string]any {
	out := map[string]any{"cpus": 0.0, "mem": 0.0, "disk": 0.0, "gpus": 0.0}
	for _, name := range r.Names() {
		if ports := r.Ranges(name); !ports.IsEmpty() {
			out[name] = ports.String()
			continue
		}
		if set := r.Set(name); len(set) > 0 {
			out[name] = set
			continue
		}
		out[name] = r.Scalar(name)
	}
	return out
}

// reservedJSON is resourcesJSON of the reserved resources of each role.
func reservedJSON(total resources.Resources) map[string]map[string]any {
	out := map[string]map[string]any{}
	for role, r := range reservedByRole(total) {
		out[role] = resourcesJSON(r)
	}
	return out
}

// reservedFullJSON is the reserved resources of each role as Resource messages.
func reservedFullJSON(total resources.Resources) map[string][]json.RawMessage {
	out := map[string][]json.RawMessage{}
	for role, r := range reservedByRole(total) {
		list := []json.RawMessage{}
		for _, pb := range r.ToProto() {
			if b, err := protoJSON.Marshal(pb); err == nil {
				list = append(list, b)
			}
		}
		out[role] = list
	}
	return out
}

func reservedByRole(total resources.Resources) map[string]resources.Resources {
	out := map[string]resources.Resources{}
	for r := range total.Reserved("").Each {
		out[r.Role] = out[r.Role].Plus(resources.Of(r))
	}
	return out
}

func secs(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

func taskToJSON(t ledger.TaskView) taskJSON {
	tj := taskJSON{
		ID:          t.ID,
		Name:        t.Task.GetName(),
		FrameworkID: t.FrameworkID,
		ExecutorID:  t.Task.GetExecutorId().GetValue(),
		SlaveID:     t.AgentID,
		State:       t.Task.GetState().String(),
		Resources:   resourcesJSON(t.Resources),
		Role:        t.Role,
		Statuses:    []taskStatusJSON{},
	}
	for _, st := range t.Task.GetStatuses() {
		sj := taskStatusJSON{State: st.GetState().String(), Timestamp: st.GetTimestamp(), Message: st.GetMessage(), Healthy: st.Healthy}
		if st.Reason != nil {
			sj.Reason = st.GetReason().String()
		}
		if st.Source != nil {
			sj.Source = st.GetSource().String()
		}
		tj.Statuses = append(tj.Statuses, sj)
	}
	for _, l := range t.Task.GetLabels().GetLabels() {
		if b, err := protoJSON.Marshal(l); err == nil {
			tj.Labels = append(tj.Labels, b)
		}
	}
	return tj
}

func frameworkToJSON(fw ledger.FrameworkView) frameworkJSON {
	info := fw.Info
	fj := frameworkJSON{
		ID: info.GetId().GetValue(), Name: info.GetName(), User: info.GetUser(), Roles: append([]string{}, fw.Roles...),
		Principal: info.GetPrincipal(), Hostname: info.GetHostname(), WebuiURL: info.GetWebuiUrl(),
		FailoverTimeout: info.GetFailoverTimeout(), Checkpoint: info.GetCheckpoint(),
		Active: fw.Active, Connected: fw.Connected, Recovered: fw.Recovered,
		RegisteredTime: secs(fw.RegisteredTime), ReregisteredTime: secs(fw.ReregisteredTime),
		UnregisteredTime: secs(fw.UnregisteredTime),
		Capabilities:     []string{},
		Tasks:            []taskJSON{}, UnreachableTasks: []taskJSON{}, CompletedTasks: []taskJSON{},
		Offers: []offerJSON{}, Executors: []executorJSON{},
		UsedResources:    resourcesJSON(fw.Used),
		OfferedResources: resourcesJSON(fw.Offered),
		Resources:        resourcesJSON(fw.Used.Plus(fw.Offered)),
	}
	if !fw.MultiRole {
		fj.Role = info.GetRole()
	}
	for _, c := range info.GetCapabilities() {
		fj.Capabilities = append(fj.Capabilities, c.GetType().String())
	}
	for _, t := range fw.Tasks {
		fj.Tasks = append(fj.Tasks, taskToJSON(t))
	}
	for _, t := range fw.UnreachableTasks {
		fj.UnreachableTasks = append(fj.UnreachableTasks, taskToJSON(t))
	}
	for _, t := range fw.CompletedTasks {
		fj.CompletedTasks = append(fj.CompletedTasks, taskToJSON(t))
	}
	for _, o := range fw.Offers {
		fj.Offers = append(fj.Offers, offerJSON{ID: o.ID, FrameworkID: fj.ID, SlaveID: o.AgentID, Resources: resourcesJSON(o.Resources)})
	}
	for _, e := range fw.Executors {
		fj.Executors = append(fj.Executors, executorJSON{ExecutorID: e.ID, Name: e.Name, SlaveID: e.AgentID, Resources: resourcesJSON(e.Resources)})
	}
	return fj
}

// stateDocument renders a ledger snapshot as /state; it copies everything it
// needs, so the document can be encoded off the loop.
func (s *Server) stateDocument(snap *ledger.Snapshot) *stateJSON {
	info := snap.Info
	leader, _ := protoJSON.Marshal(info)
	doc := &stateJSON{
		Version: s.cfg.Version, ID: info.GetId(), PID: info.GetPid(), Hostname: info.GetHostname(),
		Cluster: s.cfg.Cluster, Elected: true, Leader: info.GetPid(), LeaderInfo: leader,
		StartTime: secs(snap.StartTime), ElectedTime: secs(snap.StartTime),
		Slaves: []agentJSON{}, Frameworks: []frameworkJSON{}, CompletedFrameworks: []frameworkJSON{},
		UnregisteredFrameworks: []string{}, OrphanTasks: []taskJSON{},
	}
	for _, a := range snap.Agents {
		switch {
		case a.State == "active" && !a.Deactivated:
			doc.ActivatedSlaves++
		case a.State == "unreachable":
			doc.UnreachableSlaves++
			continue
		default:
			doc.DeactivatedSlaves++
		}
		doc.Slaves = append(doc.Slaves, agentJSON{
			ID: a.Info.GetId().GetValue(), PID: fmt.Sprintf("slave(1)@%s:%d", a.Info.GetHostname(), a.Info.GetPort()),
			Hostname: a.Info.GetHostname(), Port: a.Info.GetPort(),
			RegisteredTime: secs(a.RegisteredTime), ReregisteredTime: secs(a.ReregisteredTime),
			Resources: resourcesJSON(a.Total), UsedResources: resourcesJSON(a.Used),
			OfferedResources: resourcesJSON(a.Offered), UnreservedResources: resourcesJSON(a.Total.Unreserved()),
			ReservedResources: reservedJSON(a.Total), ReservedResourcesFull: reservedFullJSON(a.Total),
			Attributes: resources.AttributeMap(a.Info.GetAttributes()),
			Active:     a.State == "active" && !a.Deactivated, State: a.State, Version: a.Version,
			Deactivated: a.Deactivated, DrainInfo: drainInfoJSON(a.Drain),
		})
	}
	for _, fw := range snap.Frameworks {
		doc.Frameworks = append(doc.Frameworks, frameworkToJSON(fw))
	}
	for _, fw := range snap.CompletedFrameworks {
		doc.CompletedFrameworks = append(doc.CompletedFrameworks, frameworkToJSON(fw))
	}
	return doc
}

// handleState serves GET /state, Mesos's /master/state document.
func (s *Server) handleState(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		httpError(w, http.StatusMethodNotAllowed, "Expecting 'GET'")
		return
	}
	var doc *stateJSON
	if err := s.loop.Do(r.Context(), func(l *ledger.Ledger) { doc = s.stateDocument(s.snapshot(l, callerOf(r.Context()).principal)) }); err != nil {
		writeError(w, err)
		return
	}
	b, err := json.Marshal(doc)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// drainInfoJSON is an agent's DrainInfo as Mesos writes it, nil when it drains not.
func drainInfoJSON(d *mesos.DrainInfo) json.RawMessage {
	if d == nil {
		return nil
	}
	b, err := mesos.MarshalJSON(d)
	if err != nil {
		return nil
	}
	return b
}
