package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/loop"
	"github.com/agoracluster/agora/frameworks/marathon/pod"
	"github.com/agoracluster/agora/frameworks/marathon/tasks"
)

// podRoutes serves Marathon's pod API (/v2/pods): the collection, and for one pod its
// definition, ::status, ::versions[/{version}] and ::instances[/{instance}].
func (a *API) podRoutes(w http.ResponseWriter, req *http.Request) {
	rest := strings.TrimPrefix(req.URL.Path, "/v2/pods")
	if rest == "" {
		switch req.Method {
		case http.MethodHead:
			w.WriteHeader(http.StatusOK)
		case http.MethodGet:
			a.listPods(w, req)
		case http.MethodPost:
			a.postPod(w, req)
		default:
			writeReply(w, msgReply(http.StatusMethodNotAllowed, "Method Not Allowed"))
		}
		return
	}
	if !strings.HasPrefix(rest, "/") { // /v2/podsX is no route
		writeReply(w, msgReply(http.StatusNotFound, "Not Found"))
		return
	}
	if rest == "/::status" {
		a.allowOnly(w, req, http.MethodGet, func() { a.podStatuses(w, req, "") })
		return
	}
	idPart, sub, _ := strings.Cut(rest, "::")
	id := app.CanonicalID(strings.Trim(idPart, "/"), "/")
	segs := strings.Split(sub, "/")
	switch {
	case sub == "":
		a.podRoot(w, req, id)
	case sub == "status":
		a.allowOnly(w, req, http.MethodGet, func() { a.podStatuses(w, req, id) })
	case segs[0] == "versions" && len(segs) <= 2:
		a.allowOnly(w, req, http.MethodGet, func() { a.podVersions(w, req, id, segs[1:]) })
	case segs[0] == "instances" && len(segs) <= 2:
		a.allowOnly(w, req, http.MethodDelete, func() { a.killPodInstances(w, req, id, segs[1:]) })
	default:
		writeReply(w, msgReply(http.StatusNotFound, "Not Found"))
	}
}

func (a *API) allowOnly(w http.ResponseWriter, req *http.Request, method string, f func()) {
	if req.Method != method {
		writeReply(w, msgReply(http.StatusMethodNotAllowed, "Method Not Allowed"))
		return
	}
	f()
}

func (a *API) podRoot(w http.ResponseWriter, req *http.Request, id string) {
	force := boolParam(req, "force")
	switch req.Method {
	case http.MethodGet:
		a.call(w, req, func(tx *loop.Tx) reply {
			rec := tx.View().PodRecord(id)
			if rec == nil {
				return msgReply(http.StatusNotFound, "Pod '%s' does not exist", id)
			}
			return reply{status: http.StatusOK, body: rec.Pod}
		})
	case http.MethodPut:
		p, ok := a.readPod(w, req, id)
		if !ok {
			return
		}
		a.call(w, req, func(tx *loop.Tx) reply {
			out, created, d, err := tx.UpdatePod(p, force, origin(req))
			if err != nil {
				return errorReply(err)
			}
			status := http.StatusOK
			if created {
				status = http.StatusCreated
			}
			return reply{status: status, body: out, header: map[string]string{
				"Location": "/v2/pods" + out.ID, "Marathon-Deployment-Id": d.DeploymentID,
			}}
		})
	case http.MethodDelete:
		a.call(w, req, func(tx *loop.Tx) reply {
			d, err := tx.DeletePod(id, force)
			if err != nil {
				return errorReply(err)
			}
			return reply{status: http.StatusAccepted, header: map[string]string{
				"Marathon-Deployment-Id": d.DeploymentID, "X-Marathon-Deployment-Id": d.DeploymentID,
			}}
		})
	default:
		writeReply(w, msgReply(http.StatusMethodNotAllowed, "Method Not Allowed"))
	}
}

// readPod reads and decodes a pod definition; id, when given (PUT), is the pod's: a body
// without an id takes it, one with another id is refused. It writes the error reply and
// returns false when the body is not a valid pod.
func (a *API) readPod(w http.ResponseWriter, req *http.Request, id string) (*app.Pod, bool) {
	body, ok := a.readBody(w, req)
	if !ok {
		return nil, false
	}
	if id != "" {
		var obj map[string]json.RawMessage
		if json.Unmarshal(body, &obj) == nil && obj != nil {
			var given string
			_ = json.Unmarshal(obj["id"], &given)
			if given != "" && app.CanonicalID(given, "/") != id {
				writeReply(w, reply{status: http.StatusUnprocessableEntity, body: &app.ValidationError{
					Message: app.MsgObjectNotValid,
					Details: []app.Detail{{Path: "/id", Errors: []string{"must be the pod id of the path (" + id + ")"}}},
				}})
				return nil, false
			}
			obj["id"], _ = json.Marshal(id)
			body, _ = json.Marshal(obj)
		}
	}
	p, err := pod.Decode(body)
	if err != nil {
		writeReply(w, errorReply(err))
		return nil, false
	}
	return p, true
}

func (a *API) postPod(w http.ResponseWriter, req *http.Request) {
	p, ok := a.readPod(w, req, "")
	if !ok {
		return
	}
	force := boolParam(req, "force")
	a.call(w, req, func(tx *loop.Tx) reply {
		out, d, err := tx.CreatePod(p, force, origin(req))
		if err != nil {
			return errorReply(err)
		}
		return reply{status: http.StatusCreated, body: out, header: map[string]string{
			"Location": "/v2/pods" + out.ID, "Marathon-Deployment-Id": d.DeploymentID,
		}}
	})
}

func (a *API) listPods(w http.ResponseWriter, req *http.Request) {
	a.call(w, req, func(tx *loop.Tx) reply {
		v := tx.View()
		out := []*app.Pod{}
		for _, id := range v.PodIDs() {
			out = append(out, v.PodRecord(id).Pod)
		}
		return reply{status: http.StatusOK, body: out}
	})
}

func (a *API) podVersions(w http.ResponseWriter, req *http.Request, id string, version []string) {
	a.call(w, req, func(tx *loop.Tx) reply {
		if len(version) == 1 {
			p, err := tx.PodVersion(id, version[0])
			if err != nil {
				return errorReply(err)
			}
			return reply{status: http.StatusOK, body: p}
		}
		vs, err := tx.PodVersions(id)
		if err != nil {
			return errorReply(err)
		}
		slices.Reverse(vs)
		return reply{status: http.StatusOK, body: vs}
	})
}

// killPodInstances is DELETE ::instances (a JSON array of instance ids) or
// ::instances/{instance}: the instances' statuses as they were when killed.
func (a *API) killPodInstances(w http.ResponseWriter, req *http.Request, id string, one []string) {
	var ids []string
	if len(one) == 1 {
		ids = one
	} else {
		body, ok := a.readBody(w, req)
		if !ok {
			return
		}
		if err := json.Unmarshal(body, &ids); err != nil {
			writeReply(w, msgReply(http.StatusBadRequest, "Invalid JSON: %s (the body is an array of instance ids)", err.Error()))
			return
		}
	}
	a.call(w, req, func(tx *loop.Tx) reply {
		killed, err := tx.KillPodInstances(id, ids)
		if err != nil {
			return errorReply(err)
		}
		v := tx.View()
		rec := v.PodRecord(id)
		out := make([]instanceStatus, 0, len(killed))
		for _, t := range killed {
			out = append(out, renderInstance(rec, t))
		}
		if len(one) == 1 && len(out) == 1 {
			return reply{status: http.StatusOK, body: out[0]}
		}
		return reply{status: http.StatusOK, body: out}
	})
}

// podStatuses is ::status of one pod (id) or of all (id "").
func (a *API) podStatuses(w http.ResponseWriter, req *http.Request, id string) {
	a.call(w, req, func(tx *loop.Tx) reply {
		v := tx.View()
		if id != "" {
			rec := v.PodRecord(id)
			if rec == nil {
				return msgReply(http.StatusNotFound, "Pod '%s' does not exist", id)
			}
			return reply{status: http.StatusOK, body: renderPodStatus(v, rec)}
		}
		out := []podStatus{}
		for _, pid := range v.PodIDs() {
			out = append(out, renderPodStatus(v, v.PodRecord(pid)))
		}
		return reply{status: http.StatusOK, body: out}
	})
}

// Marathon's pod and instance states.
const (
	podStable   = "STABLE"
	podDegraded = "DEGRADED"
	podStaging  = "STAGING"
	podTerminal = "TERMINAL"
)

type podStatus struct {
	ID          string           `json:"id"`
	Spec        *app.Pod         `json:"spec"`
	Status      string           `json:"status"`
	StatusSince string           `json:"statusSince"`
	Instances   []instanceStatus `json:"instances"`
	LastUpdated string           `json:"lastUpdated"`
	LastChanged string           `json:"lastChanged"`
}

type instanceStatus struct {
	ID            string            `json:"id"`
	Status        string            `json:"status"`
	StatusSince   string            `json:"statusSince"`
	AgentHostname string            `json:"agentHostname"`
	AgentID       string            `json:"agentId"`
	Resources     app.PodResources  `json:"resources"`
	Containers    []containerStatus `json:"containers"`
	SpecReference string            `json:"specReference"`
	LastUpdated   string            `json:"lastUpdated"`
	LastChanged   string            `json:"lastChanged"`
}

type containerStatus struct {
	Name        string           `json:"name"`
	Status      string           `json:"status"`
	StatusSince string           `json:"statusSince"`
	Message     string           `json:"message,omitempty"`
	ContainerID string           `json:"containerId"`
	Conditions  []condition      `json:"conditions"`
	Endpoints   []endpointStatus `json:"endpoints"`
	Resources   app.PodResources `json:"resources"`
	LastUpdated string           `json:"lastUpdated"`
	LastChanged string           `json:"lastChanged"`
}

// endpointStatus is a container's endpoint with the host port the instance got for it.
type endpointStatus struct {
	Name              string `json:"name"`
	AllocatedHostPort uint64 `json:"allocatedHostPort,omitempty"`
}

type condition struct {
	Name        string `json:"name"`
	Value       string `json:"value"`
	Reason      string `json:"reason,omitempty"`
	LastChanged string `json:"lastChanged"`
	LastUpdated string `json:"lastUpdated"`
}

// renderPodStatus is the pod's status: STABLE when as many instances are stable as it
// asks for, DEGRADED otherwise (TERMINAL while instances remain of a pod scaled to 0).
func renderPodStatus(v loop.View, rec *app.App) podStatus {
	now := v.Now()
	ps := podStatus{ID: rec.ID, Spec: rec.Pod, Instances: []instanceStatus{}}
	stable := 0
	changed := time.Time{}
	for _, t := range v.TasksOf(rec.ID) {
		is := renderInstance(rec, t)
		if is.Status == podStable {
			stable++
		}
		for _, c := range t.Pod.Containers {
			if c.Since.After(changed) {
				changed = c.Since
			}
		}
		ps.Instances = append(ps.Instances, is)
	}
	switch {
	case rec.Instances == 0 && len(ps.Instances) > 0:
		ps.Status = podTerminal
	case stable >= rec.Instances:
		ps.Status = podStable
	default:
		ps.Status = podDegraded
	}
	if changed.IsZero() {
		changed = now
	}
	ps.StatusSince, ps.LastChanged, ps.LastUpdated = app.FormatTime(changed), app.FormatTime(changed), app.FormatTime(now)
	return ps
}

// renderInstance is one instance's status: TERMINAL once it is being killed, STAGING
// until every container runs, then STABLE when healthy (by every container's check) and
// DEGRADED when not.
func renderInstance(rec *app.App, t *tasks.Task) instanceStatus {
	is := instanceStatus{
		ID: t.ID, AgentHostname: t.Host, AgentID: t.AgentID,
		Resources:     app.PodResources{Cpus: rec.Cpus, Mem: rec.Mem, Disk: rec.Disk},
		SpecReference: "/v2/pods" + rec.ID + "::versions/" + t.AppVersion,
		Containers:    []containerStatus{},
	}
	switch {
	case t.Killing:
		is.Status = podTerminal
	case t.State == tasks.StateRunning && t.HealthyFor(rec):
		is.Status = podStable
	case t.State == tasks.StateRunning || t.State == tasks.StateUnreachable:
		is.Status = podDegraded
	default:
		is.Status = podStaging
	}
	since, updated := t.StagedAt, t.StagedAt
	for _, c := range t.Pod.Containers {
		cs := containerStatus{
			Name: c.Name, Status: c.State, StatusSince: app.FormatTime(c.Since), Message: c.Message,
			ContainerID: c.TaskID, Conditions: []condition{}, Endpoints: []endpointStatus{},
			LastUpdated: app.FormatTime(c.Updated), LastChanged: app.FormatTime(c.Since),
		}
		if spec := containerSpec(rec.Pod, c.Name); spec != nil {
			cs.Resources = spec.Resources
		}
		for _, e := range c.Endpoints {
			cs.Endpoints = append(cs.Endpoints, endpointStatus{Name: e.Name, AllocatedHostPort: e.HostPort})
		}
		if c.Healthy != nil {
			val := "false"
			if *c.Healthy {
				val = "true"
			}
			cs.Conditions = append(cs.Conditions, condition{Name: "healthy", Value: val,
				LastChanged: app.FormatTime(c.Updated), LastUpdated: app.FormatTime(c.Updated)})
		}
		is.Containers = append(is.Containers, cs)
		if c.Since.After(since) {
			since = c.Since
		}
		if c.Updated.After(updated) {
			updated = c.Updated
		}
	}
	is.StatusSince, is.LastChanged, is.LastUpdated = app.FormatTime(since), app.FormatTime(since), app.FormatTime(updated)
	return is
}

func containerSpec(p *app.Pod, name string) *app.PodContainer {
	for i := range p.Containers {
		if p.Containers[i].Name == name {
			return &p.Containers[i]
		}
	}
	return nil
}
