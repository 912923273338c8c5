package marathon

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/gorilla/mux"
	"go.uber.org/zap"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/events"
)

// Version is the Marathon version this API is compatible with, as /v2/info reports it.
const Version = "1.9.109"

// Handler returns the REST API.
func (m *Marathon) Handler() http.Handler {
	r := mux.NewRouter()
	r.HandleFunc("/ping", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "pong")
	})
	r.HandleFunc("/metrics", m.metrics).Methods(http.MethodGet)
	r.HandleFunc("/v2/info", m.info).Methods(http.MethodGet)
	r.HandleFunc("/v2/leader", m.leader).Methods(http.MethodGet, http.MethodDelete)
	r.HandleFunc("/v2/apps", m.listApps).Methods(http.MethodGet)
	r.HandleFunc("/v2/apps", m.postApp).Methods(http.MethodPost)
	r.HandleFunc("/v2/apps", m.putApps).Methods(http.MethodPut, http.MethodPatch)
	r.PathPrefix("/v2/apps/").HandlerFunc(m.appRoutes)
	r.Handle("/v2/events", events.Handler(m.bus, m.log))
	r.PathPrefix("/v2/groups").HandlerFunc(m.groupRoutes)
	r.HandleFunc("/v2/tasks", m.listTasks).Methods(http.MethodGet)
	r.HandleFunc("/v2/tasks/delete", m.deleteTasks).Methods(http.MethodPost)
	r.HandleFunc("/v2/deployments", m.listDeployments).Methods(http.MethodGet)
	r.HandleFunc("/v2/deployments/{id}", m.deleteDeployment).Methods(http.MethodDelete)
	r.HandleFunc("/v2/queue", m.listQueue).Methods(http.MethodGet)
	r.HandleFunc("/v2/queue/{id:.+}/delay", m.resetDelay).Methods(http.MethodDelete)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeReply(w, msgReply(http.StatusNotFound, "Not Found"))
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeReply(w, msgReply(http.StatusMethodNotAllowed, "Method Not Allowed"))
	})
	return r
}

func writeReply(w http.ResponseWriter, r reply) {
	for k, v := range r.header {
		w.Header().Set(k, v)
	}
	if r.body == nil {
		w.WriteHeader(r.status)
		return
	}
	if raw, ok := r.body.(rawJSON); ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(r.status)
		_, _ = w.Write(raw)
		return
	}
	if t, ok := r.body.(textBody); ok {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(r.status)
		_, _ = io.WriteString(w, string(t))
		return
	}
	b, err := json.Marshal(r.body)
	if err != nil {
		http.Error(w, `{"message":"encode response"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(r.status)
	_, _ = w.Write(b)
}

// call runs f on the loop and writes its reply.
func (m *Marathon) call(w http.ResponseWriter, req *http.Request, f func() reply) {
	var r reply
	if err := m.do(req.Context(), func() { r = f() }); err != nil {
		writeReply(w, msgReply(http.StatusServiceUnavailable, "%s", err.Error()))
		return
	}
	writeReply(w, r)
}

// readBody reads a bounded request body; it writes 413 and returns false when too large.
func (m *Marathon) readBody(w http.ResponseWriter, req *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, m.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeReply(w, msgReply(http.StatusRequestEntityTooLarge, "Request body exceeds %d bytes", m.cfg.MaxBodyBytes))
			return nil, false
		}
		writeReply(w, msgReply(http.StatusBadRequest, "read body: %s", err.Error()))
		return nil, false
	}
	return body, true
}

func boolParam(req *http.Request, name string) bool {
	v, _ := strconv.ParseBool(req.URL.Query().Get(name))
	return v
}

// withID sets "id" in a JSON object body (PUT /v2/apps/{id} takes the id from the path).
func withID(body []byte, id string) []byte {
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil || obj == nil {
		return body
	}
	raw, _ := json.Marshal(id)
	obj["id"] = raw
	out, err := json.Marshal(obj)
	if err != nil {
		return body
	}
	return out
}

func (m *Marathon) postApp(w http.ResponseWriter, req *http.Request) {
	body, ok := m.readBody(w, req)
	if !ok {
		return
	}
	force := boolParam(req, "force")
	m.call(w, req, func() reply {
		r := m.createApp(body, force)
		if obj, ok := r.body.(map[string]any); ok && r.status == http.StatusCreated {
			id, _ := obj["id"].(string)
			m.apiPost(req, id)
		}
		return r
	})
}

// putApps is PUT/PATCH /v2/apps with an array of (partial) definitions: one deployment.
func (m *Marathon) putApps(w http.ResponseWriter, req *http.Request) {
	body, ok := m.readBody(w, req)
	if !ok {
		return
	}
	var items []json.RawMessage
	if err := json.Unmarshal(body, &items); err != nil {
		writeReply(w, msgReply(http.StatusBadRequest, "Invalid JSON: %s", err.Error()))
		return
	}
	force, mode := boolParam(req, "force"), updateModeOf(req)
	m.call(w, req, func() reply {
		changes := map[string]*app.App{}
		version := app.FormatTime(m.now())
		for _, item := range items {
			var idOnly struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(item, &idOnly); err != nil || idOnly.ID == "" {
				return msgReply(http.StatusBadRequest, "every app needs an id")
			}
			id := app.CanonicalID(idOnly.ID, "/")
			next, _, r := m.nextDefinition(id, item, mode)
			if r != nil {
				return *r
			}
			changes[id] = next
			version = next.Version
		}
		plan, r := m.deploy(changes, force, version)
		if r != nil {
			return *r
		}
		for id := range changes {
			m.apiPost(req, id)
		}
		return reply{status: http.StatusOK, body: deploymentResult{Version: version, DeploymentID: plan.ID},
			header: map[string]string{"Marathon-Deployment-Id": plan.ID}}
	})
}

// labelSelector matches Marathon's label filter: "k==v", "k!=v" or "k", comma separated.
func labelSelector(sel string) func(map[string]string) bool {
	if sel == "" {
		return func(map[string]string) bool { return true }
	}
	terms := strings.Split(sel, ",")
	return func(labels map[string]string) bool {
		for _, t := range terms {
			t = strings.TrimSpace(t)
			switch {
			case strings.Contains(t, "=="):
				k, v, _ := strings.Cut(t, "==")
				if got, ok := labels[strings.TrimSpace(k)]; !ok || got != strings.TrimSpace(v) {
					return false
				}
			case strings.Contains(t, "!="):
				k, v, _ := strings.Cut(t, "!=")
				if got, ok := labels[strings.TrimSpace(k)]; ok && got == strings.TrimSpace(v) {
					return false
				}
			default:
				if _, ok := labels[t]; !ok {
					return false
				}
			}
		}
		return true
	}
}

func (m *Marathon) listApps(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	e := parseEmbeds(q["embed"], "apps.")
	e.counts, e.deployments = true, true
	cmd, idf, labels := q.Get("cmd"), q.Get("id"), labelSelector(q.Get("label"))
	m.call(w, req, func() reply {
		ids := make([]string, 0, len(m.apps))
		for id := range m.apps {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		out := append(make([]byte, 0, 64<<10), `{"apps":[`...)
		n := 0
		for _, id := range ids {
			a := m.apps[id]
			if cmd != "" && (a.Cmd == nil || !strings.Contains(*a.Cmd, cmd)) {
				continue
			}
			if idf != "" && !strings.Contains(a.ID, idf) {
				continue
			}
			if !labels(a.Labels) {
				continue
			}
			if n > 0 {
				out = append(out, ',')
			}
			out = m.appendAppJSON(out, a, e)
			n++
		}
		m.forgetRenderedApps()
		return reply{status: http.StatusOK, body: rawJSON(append(out, "]}"...))}
	})
}

// appRoutes serves /v2/apps/<id>[/restart|/tasks[/<task id>]|/versions[/<version>]]. App
// ids never end in a reserved word, so the first reserved segment ends the id.
func (m *Marathon) appRoutes(w http.ResponseWriter, req *http.Request) {
	path := strings.TrimPrefix(req.URL.Path, "/v2/apps")
	segs := strings.Split(strings.Trim(path, "/"), "/")
	i := 0
	for i < len(segs) && segs[i] != "restart" && segs[i] != "tasks" && segs[i] != "versions" {
		i++
	}
	id := app.CanonicalID(strings.Join(segs[:i], "/"), "/")
	rest := segs[i:]
	force := boolParam(req, "force")
	switch {
	case len(rest) == 0:
		m.appRoot(w, req, id, force)
	case rest[0] == "restart" && len(rest) == 1 && req.Method == http.MethodPost:
		m.call(w, req, func() reply { return m.restartApp(id, force) })
	case rest[0] == "tasks" && len(rest) == 1 && req.Method == http.MethodGet:
		m.appTasks(w, req, id)
	case rest[0] == "tasks" && len(rest) == 1 && req.Method == http.MethodDelete:
		m.killAppTasks(w, req, id, "")
	case rest[0] == "tasks" && len(rest) == 2 && req.Method == http.MethodDelete:
		m.killAppTasks(w, req, id, rest[1])
	case rest[0] == "versions" && len(rest) == 1 && req.Method == http.MethodGet:
		m.call(w, req, func() reply {
			if m.apps[id] == nil {
				return appNotFound(id)
			}
			vs, err := storedVersions(m.ctx, m.st, id)
			if err != nil {
				return errorReply(err)
			}
			return reply{status: http.StatusOK, body: map[string]any{"versions": reverse(vs)}}
		})
	case rest[0] == "versions" && len(rest) == 2 && req.Method == http.MethodGet:
		v := rest[1]
		m.call(w, req, func() reply {
			if m.apps[id] == nil {
				return appNotFound(id)
			}
			a, err := loadVersion(m.ctx, m.st, id, v)
			if err != nil {
				return msgReply(http.StatusNotFound, "Version '%s' of app '%s' does not exist", v, id)
			}
			return reply{status: http.StatusOK, body: a}
		})
	default:
		writeReply(w, msgReply(http.StatusNotFound, "Not Found"))
	}
}

func reverse(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[len(vs)-1-i] = v
	}
	return out
}

func (m *Marathon) appRoot(w http.ResponseWriter, req *http.Request, id string, force bool) {
	switch req.Method {
	case http.MethodGet:
		e := parseEmbeds(req.URL.Query()["embed"], "app.")
		e.counts, e.deployments, e.tasks, e.lastTaskFailure, e.readiness = true, true, true, true, true
		m.call(w, req, func() reply {
			a := m.apps[id]
			if a == nil {
				return appNotFound(id)
			}
			return reply{status: http.StatusOK, body: map[string]any{"app": m.renderAppJSON(a, e)}}
		})
	case http.MethodPut, http.MethodPatch:
		body, ok := m.readBody(w, req)
		if !ok {
			return
		}
		if len(app.IDErrors(id)) > 0 {
			writeReply(w, reply{status: http.StatusUnprocessableEntity, body: &app.ValidationError{
				Message: app.MsgObjectNotValid, Details: []app.Detail{{Path: "/id", Errors: app.IDErrors(id)}}}})
			return
		}
		mode := updateModeOf(req)
		m.call(w, req, func() reply {
			r := m.updateApp(id, body, force, mode)
			if r.status < 300 {
				m.apiPost(req, id)
			}
			return r
		})
	case http.MethodDelete:
		m.call(w, req, func() reply { return m.deleteApp(id, force) })
	default:
		writeReply(w, msgReply(http.StatusMethodNotAllowed, "Method Not Allowed"))
	}
}

func (m *Marathon) appTasks(w http.ResponseWriter, req *http.Request, id string) {
	plain := wantsText(req)
	m.call(w, req, func() reply {
		if m.apps[id] == nil {
			return appNotFound(id)
		}
		out := []taskJSON{}
		for _, t := range m.tasksOf(id) {
			out = append(out, m.renderTask(t))
		}
		if plain {
			return reply{status: http.StatusOK, body: textBody(m.endpointsTextFor(id))}
		}
		return reply{status: http.StatusOK, body: map[string]any{"tasks": out}}
	})
}

func (m *Marathon) endpointsTextFor(id string) string {
	var b strings.Builder
	for _, line := range strings.Split(m.endpointsText(), "\n") {
		if strings.HasPrefix(line, TaskIDPrefix(id)+"\t") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

func (m *Marathon) killAppTasks(w http.ResponseWriter, req *http.Request, id, taskID string) {
	q := req.URL.Query()
	host, scale, wipe, force := q.Get("host"), boolParam(req, "scale"), boolParam(req, "wipe"), boolParam(req, "force")
	m.call(w, req, func() reply {
		if m.apps[id] == nil {
			return appNotFound(id)
		}
		var ts []*task
		if taskID != "" {
			t := m.tasks.get(taskID)
			if t == nil || t.AppID != id {
				return msgReply(http.StatusNotFound, "Task '%s' does not exist", taskID)
			}
			ts = []*task{t}
		} else {
			for _, t := range m.tasksOf(id) {
				if host == "" || host == "*" || t.Host == host {
					ts = append(ts, t)
				}
			}
		}
		r := m.killTasks(ts, scale, wipe, force)
		if taskID != "" && r.status == http.StatusOK && !scale {
			if body, ok := r.body.(map[string]any); ok {
				if tasks, ok := body["tasks"].([]taskJSON); ok && len(tasks) == 1 {
					r.body = map[string]any{"task": tasks[0]}
				}
			}
		}
		return r
	})
}

// rawJSON is a reply body encoded already.
type rawJSON []byte

// textBody marks a reply body to be written as text/plain.
type textBody string

func wantsText(req *http.Request) bool {
	accept := req.Header.Get("Accept")
	return strings.Contains(accept, "text/plain") && !strings.Contains(accept, "application/json")
}

func (m *Marathon) listTasks(w http.ResponseWriter, req *http.Request) {
	plain := wantsText(req)
	statuses := map[string]bool{}
	for _, v := range req.URL.Query()["status"] {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				statuses["TASK_"+strings.ToUpper(s)] = true
			}
		}
	}
	var text string
	var out []taskJSON
	if err := m.do(req.Context(), func() {
		if plain {
			text = m.endpointsText()
			return
		}
		ids := m.tasks.sortedIDs()
		out = make([]taskJSON, 0, len(ids))
		for _, id := range ids {
			t := m.tasks.get(id)
			if len(statuses) > 0 && !statuses[t.State] {
				continue
			}
			out = append(out, m.renderTask(t))
		}
	}); err != nil {
		writeReply(w, msgReply(http.StatusServiceUnavailable, "%s", err.Error()))
		return
	}
	if plain {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, text)
		return
	}
	writeReply(w, reply{status: http.StatusOK, body: map[string]any{"tasks": out}})
}

func (m *Marathon) deleteTasks(w http.ResponseWriter, req *http.Request) {
	body, ok := m.readBody(w, req)
	if !ok {
		return
	}
	var in struct {
		IDs []string `json:"ids"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		writeReply(w, msgReply(http.StatusBadRequest, "Invalid JSON: %s", err.Error()))
		return
	}
	scale, wipe, force := boolParam(req, "scale"), boolParam(req, "wipe"), boolParam(req, "force")
	m.call(w, req, func() reply {
		var ts []*task
		for _, id := range in.IDs {
			if t := m.tasks.get(id); t != nil {
				ts = append(ts, t)
			}
		}
		return m.killTasks(ts, scale, wipe, force)
	})
}

func (m *Marathon) listDeployments(w http.ResponseWriter, req *http.Request) {
	m.call(w, req, func() reply {
		out := []any{}
		deploying := m.deployingApps()
		for _, d := range m.sortedDeployments() {
			out = append(out, m.deploymentInfo(d, deploying))
		}
		return reply{status: http.StatusOK, body: out}
	})
}

func (m *Marathon) deleteDeployment(w http.ResponseWriter, req *http.Request) {
	id := mux.Vars(req)["id"]
	force := boolParam(req, "force")
	m.call(w, req, func() reply { return m.cancelDeployment(id, force) })
}

func (m *Marathon) listQueue(w http.ResponseWriter, req *http.Request) {
	m.call(w, req, func() reply { return reply{status: http.StatusOK, body: map[string]any{"queue": m.renderQueue()}} })
}

func (m *Marathon) resetDelay(w http.ResponseWriter, req *http.Request) {
	id := app.CanonicalID(mux.Vars(req)["id"], "/")
	m.call(w, req, func() reply {
		if m.apps[id] == nil {
			return appNotFound(id)
		}
		m.backoff.Reset(id)
		m.needRevive = true
		m.reconcile()
		return reply{status: http.StatusNoContent}
	})
}

// leaderAddr is this instance's advertised address.
func (m *Marathon) leaderAddr() string {
	return net.JoinHostPort(m.cfg.Hostname, strconv.Itoa(m.cfg.HTTPPort))
}

func (m *Marathon) leader(w http.ResponseWriter, req *http.Request) {
	if req.Method == http.MethodDelete {
		// A single instance abdicates and is re-elected at once.
		m.log.Info("leadership abdicated; re-elected (single instance)", zap.String("leader", m.leaderAddr()))
		writeReply(w, reply{status: http.StatusOK, body: map[string]string{"message": "Leadership abdicated"}})
		return
	}
	writeReply(w, reply{status: http.StatusOK, body: map[string]string{"leader": m.leaderAddr()}})
}

func (m *Marathon) info(w http.ResponseWriter, _ *http.Request) {
	writeReply(w, reply{status: http.StatusOK, body: map[string]any{
		"name":        "marathon",
		"version":     Version,
		"buildref":    "agora",
		"elected":     true,
		"leader":      m.leaderAddr(),
		"frameworkId": m.getFrameworkID(),
		"marathon_config": map[string]any{
			"master":                             strings.Join(m.cfg.Masters, ","),
			"framework_name":                     m.cfg.FrameworkName,
			"failover_timeout":                   int64(m.cfg.FailoverTimeout.Seconds()),
			"hostname":                           m.cfg.Hostname,
			"checkpoint":                         true,
			"mesos_role":                         m.cfg.Role,
			"mesos_user":                         m.cfg.User,
			"local_port_min":                     m.cfg.ServicePortMin,
			"local_port_max":                     m.cfg.ServicePortMax,
			"decline_offer_duration":             m.cfg.IdleRefuse.Milliseconds(),
			"ha":                                 false,
			"leader_proxy_connection_timeout_ms": 5000,
		},
		"zookeeper_config": map[string]any{"zk": nil},
		"http_config":      map[string]any{"http_port": m.cfg.HTTPPort, "https_port": 8443},
	}})
}
