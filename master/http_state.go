package master

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

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
	ID                  string            `json:"id"`
	PID                 string            `json:"pid"`
	Hostname            string            `json:"hostname"`
	Port                int32             `json:"port"`
	RegisteredTime      float64           `json:"registered_time"`
	ReregisteredTime    float64           `json:"reregistered_time,omitempty"`
	Resources           map[string]any    `json:"resources"`
	UsedResources       map[string]any    `json:"used_resources"`
	OfferedResources    map[string]any    `json:"offered_resources"`
	UnreservedResources map[string]any    `json:"unreserved_resources"`
	Attributes          map[string]string `json:"attributes"`
	Active              bool              `json:"active"`
	State               string            `json:"state"`
	Version             string            `json:"version,omitempty"`
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

func secs(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return unixSeconds(t)
}

func taskToJSON(t *task) taskJSON {
	tj := taskJSON{
		ID:          t.id,
		Name:        t.pb.GetName(),
		FrameworkID: t.frameworkID,
		ExecutorID:  t.pb.GetExecutorId().GetValue(),
		SlaveID:     t.agentID,
		State:       t.state().String(),
		Resources:   resourcesJSON(t.res),
		Role:        resourceRole(t.pb.GetResources()),
		Statuses:    []taskStatusJSON{},
	}
	for _, st := range t.pb.GetStatuses() {
		sj := taskStatusJSON{State: st.GetState().String(), Timestamp: st.GetTimestamp(), Message: st.GetMessage(), Healthy: st.Healthy}
		if st.Reason != nil {
			sj.Reason = st.GetReason().String()
		}
		if st.Source != nil {
			sj.Source = st.GetSource().String()
		}
		tj.Statuses = append(tj.Statuses, sj)
	}
	for _, l := range t.pb.GetLabels().GetLabels() {
		if b, err := protoJSON.Marshal(l); err == nil {
			tj.Labels = append(tj.Labels, b)
		}
	}
	return tj
}

func (s *state) frameworkToJSON(fw *framework, active bool) frameworkJSON {
	info := fw.info
	fj := frameworkJSON{
		ID: fw.id, Name: info.GetName(), User: info.GetUser(), Roles: append([]string{}, fw.roles...),
		Principal: info.GetPrincipal(), Hostname: info.GetHostname(), WebuiURL: info.GetWebuiUrl(),
		FailoverTimeout: info.GetFailoverTimeout(), Checkpoint: info.GetCheckpoint(),
		Active: active && fw.connected, Connected: fw.connected, Recovered: fw.recovered,
		RegisteredTime: secs(fw.registeredTime), ReregisteredTime: secs(fw.reregisteredTime),
		UnregisteredTime: secs(fw.unregisteredTime),
		Capabilities:     []string{},
		Tasks:            []taskJSON{}, UnreachableTasks: []taskJSON{}, CompletedTasks: []taskJSON{},
		Offers: []offerJSON{}, Executors: []executorJSON{},
	}
	if !fw.multiRole {
		fj.Role = info.GetRole()
	}
	for _, c := range info.GetCapabilities() {
		fj.Capabilities = append(fj.Capabilities, c.GetType().String())
	}
	var used, offered resources.Resources
	for _, t := range fw.sortedTasks() {
		fj.Tasks = append(fj.Tasks, taskToJSON(t))
		if !t.recovered {
			used = used.Plus(t.res)
		}
	}
	for _, id := range sortedKeys(fw.unreachable) {
		fj.UnreachableTasks = append(fj.UnreachableTasks, taskToJSON(fw.unreachable[id]))
	}
	for _, t := range fw.completed {
		fj.CompletedTasks = append(fj.CompletedTasks, taskToJSON(t))
	}
	for _, o := range fw.sortedOffers() {
		fj.Offers = append(fj.Offers, offerJSON{ID: o.id, FrameworkID: fw.id, SlaveID: o.agentID, Resources: resourcesJSON(o.res)})
		offered = offered.Plus(o.res)
	}
	for _, a := range s.sortedAgents() {
		for _, execID := range sortedKeys(a.executors[fw.id]) {
			e := a.executors[fw.id][execID]
			fj.Executors = append(fj.Executors, executorJSON{ExecutorID: execID, Name: e.info.GetName(), SlaveID: a.id, Resources: resourcesJSON(e.res)})
			used = used.Plus(e.res)
		}
	}
	fj.UsedResources = resourcesJSON(used)
	fj.OfferedResources = resourcesJSON(offered)
	fj.Resources = resourcesJSON(used.Plus(offered))
	return fj
}

// stateDocument builds /state; it copies everything so it can be encoded off the loop.
func (s *state) stateDocument() *stateJSON {
	leader, _ := protoJSON.Marshal(s.info)
	doc := &stateJSON{
		Version: s.cfg.Version, ID: s.id, PID: s.info.GetPid(), Hostname: s.info.GetHostname(),
		Cluster: s.cfg.Cluster, Leader: s.info.GetPid(), LeaderInfo: leader,
		StartTime: secs(s.startTime), ElectedTime: secs(s.startTime),
		Slaves: []agentJSON{}, Frameworks: []frameworkJSON{}, CompletedFrameworks: []frameworkJSON{},
		UnregisteredFrameworks: []string{}, OrphanTasks: []taskJSON{},
	}
	for _, a := range s.sortedAgents() {
		switch a.state {
		case agentActive:
			doc.ActivatedSlaves++
		case agentUnreachable:
			doc.UnreachableSlaves++
			continue
		default:
			doc.DeactivatedSlaves++
		}
		var used, offered resources.Resources
		for _, t := range a.tasks {
			if !t.recovered {
				used = used.Plus(t.res)
			}
		}
		for _, execs := range a.executors {
			for _, e := range execs {
				used = used.Plus(e.res)
			}
		}
		for _, o := range a.offers {
			offered = offered.Plus(o.res)
		}
		doc.Slaves = append(doc.Slaves, agentJSON{
			ID: a.id, PID: fmt.Sprintf("slave(1)@%s:%d", a.info.GetHostname(), a.info.GetPort()), Hostname: a.info.GetHostname(), Port: a.info.GetPort(),
			RegisteredTime: secs(a.registeredTime), ReregisteredTime: secs(a.reregisteredTime),
			Resources: resourcesJSON(a.total), UsedResources: resourcesJSON(used),
			OfferedResources: resourcesJSON(offered), UnreservedResources: resourcesJSON(a.total.Unreserved()),
			Attributes: resources.AttributeMap(a.info.GetAttributes()),
			Active:     a.state == agentActive, State: a.state.String(), Version: a.version,
		})
	}
	for _, fw := range s.sortedFrameworks() {
		doc.Frameworks = append(doc.Frameworks, s.frameworkToJSON(fw, true))
	}
	for _, fw := range s.completedFrameworks {
		doc.CompletedFrameworks = append(doc.CompletedFrameworks, s.frameworkToJSON(fw, false))
	}
	sort.Slice(doc.CompletedFrameworks, func(i, j int) bool { return doc.CompletedFrameworks[i].ID < doc.CompletedFrameworks[j].ID })
	return doc
}

func (m *Master) handleState(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		httpError(w, http.StatusMethodNotAllowed, "Expecting 'GET'")
		return
	}
	var doc *stateJSON
	if err := m.exec(r.Context(), func(s *state) { doc = s.stateDocument() }); err != nil {
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
