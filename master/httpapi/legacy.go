package httpapi

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/master/ledger"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	quotapb "github.com/agoracluster/agora/proto/mesos/v1/quota"
	"github.com/agoracluster/agora/resources"
	"github.com/agoracluster/agora/security/acl"
)

// The legacy JSON endpoints that Mesos tools and dashboards read, in Mesos's
// shapes: /state-summary, /tasks, /frameworks, /slaves, /roles,
// /metrics/snapshot, /flags, /version, /weights, /quota, and (reservations.go)
// /reserve, /unreserve, /create-volumes and /destroy-volumes. Each is also served
// under /master/ and with .json, as Mesos does. They read the same ledger views
// as the operator API, and /weights and /quota change it through the same calls.

func (s *Server) registerLegacy(mux *http.ServeMux) {
	for path, h := range map[string]http.HandlerFunc{
		"/state-summary":    s.handleStateSummary,
		"/tasks":            s.handleTasks,
		"/frameworks":       s.handleFrameworks,
		"/slaves":           s.handleSlaves,
		"/roles":            s.handleRoles,
		"/metrics/snapshot": s.guardEndpoint(http.HandlerFunc(s.handleMetricsSnapshot)).ServeHTTP,
		"/flags":            s.handleFlags,
		"/version":          s.handleVersion,
		"/weights":          s.handleWeights,
		"/quota":            s.handleQuota,
		"/teardown":         s.handleTeardown,
	} {
		for _, p := range []string{path, path + ".json", "/master" + path, "/master" + path + ".json"} {
			mux.HandleFunc(p, h)
		}
	}
	for path, h := range map[string]http.HandlerFunc{
		"/maintenance/schedule": s.handleMaintenanceSchedule,
		"/maintenance/status":   s.handleMaintenanceStatus,
		"/machine/down":         s.handleMachines(false),
		"/machine/up":           s.handleMachines(true),
	} {
		mux.HandleFunc(path, h)
		mux.HandleFunc("/master"+path, h)
	}
	mux.HandleFunc("/quota/", s.handleQuota)
	mux.HandleFunc("/master/quota/", s.handleQuota)
	for path, h := range map[string]http.HandlerFunc{
		"/reserve":         s.legacyOperation("RESERVE", "resources"),
		"/unreserve":       s.legacyOperation("UNRESERVE", "resources"),
		"/create-volumes":  s.legacyOperation("CREATE", "volumes"),
		"/destroy-volumes": s.legacyOperation("DESTROY", "volumes"),
	} {
		mux.HandleFunc(path, h)
		mux.HandleFunc("/master"+path, h)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// writeProtoJSON writes a message as Mesos's JSON.
func writeProtoJSON(w http.ResponseWriter, m proto.Message) {
	b, err := mesos.MarshalJSON(m)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// onlyGet answers 405 unless the request is a GET or HEAD.
func onlyGet(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	httpError(w, http.StatusMethodNotAllowed, "Expecting 'GET', but received '"+r.Method+"'")
	return false
}

// readSnapshot renders a document from a ledger snapshot on the loop.
func (s *Server) readSnapshot(w http.ResponseWriter, r *http.Request, render func(*ledger.Ledger) any) {
	if !onlyGet(w, r) {
		return
	}
	var doc any
	if err := s.loop.Do(r.Context(), func(l *ledger.Ledger) { doc = render(l) }); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, doc)
}

type summaryAgentJSON struct {
	ID             string            `json:"id"`
	PID            string            `json:"pid"`
	Hostname       string            `json:"hostname"`
	RegisteredTime float64           `json:"registered_time"`
	Resources      map[string]any    `json:"resources"`
	UsedResources  map[string]any    `json:"used_resources"`
	Offered        map[string]any    `json:"offered_resources"`
	Unreserved     map[string]any    `json:"unreserved_resources"`
	Attributes     map[string]string `json:"attributes"`
	Active         bool              `json:"active"`
	Version        string            `json:"version"`
	TaskCounts     map[string]int    `json:"-"`
	FrameworkIDs   []string          `json:"framework_ids"`
}

type summaryFrameworkJSON struct {
	ID            string         `json:"id"`
	Name          string         `json:"name"`
	Hostname      string         `json:"hostname"`
	WebuiURL      string         `json:"webui_url"`
	Active        bool           `json:"active"`
	Connected     bool           `json:"connected"`
	Capabilities  []string       `json:"capabilities"`
	UsedResources map[string]any `json:"used_resources"`
	Offered       map[string]any `json:"offered_resources"`
	SlaveIDs      []string       `json:"slave_ids"`
}

// withTaskCounts adds Mesos's TASK_* counts to an object's JSON.
func withTaskCounts(v any, counts map[string]int) map[string]any {
	b, _ := json.Marshal(v)
	out := map[string]any{}
	_ = json.Unmarshal(b, &out)
	for _, st := range mesos.TaskState_name {
		out[st] = 0
	}
	for st, n := range counts {
		out[st] = n
	}
	return out
}

// handleStateSummary serves /state-summary: agents and frameworks with task
// counts by state, without the tasks.
func (s *Server) handleStateSummary(w http.ResponseWriter, r *http.Request) {
	s.readSnapshot(w, r, func(l *ledger.Ledger) any {
		snap := s.snapshot(l, callerOf(r.Context()).principal)
		agentFws := map[string]map[string]bool{}
		agentCounts := map[string]map[string]int{}
		fwAgents := map[string]map[string]bool{}
		fwCounts := map[string]map[string]int{}
		count := func(m map[string]map[string]int, k, st string) {
			if m[k] == nil {
				m[k] = map[string]int{}
			}
			m[k][st]++
		}
		mark := func(m map[string]map[string]bool, k, v string) {
			if m[k] == nil {
				m[k] = map[string]bool{}
			}
			m[k][v] = true
		}
		for _, fw := range snap.Frameworks {
			id := fw.Info.GetId().GetValue()
			for _, ts := range [][]ledger.TaskView{fw.Tasks, fw.UnreachableTasks, fw.CompletedTasks} {
				for _, t := range ts {
					st := t.Task.GetState().String()
					count(fwCounts, id, st)
					count(agentCounts, t.AgentID, st)
					if !t.Task.GetState().IsTerminal() {
						mark(agentFws, t.AgentID, id)
						mark(fwAgents, id, t.AgentID)
					}
				}
			}
		}
		doc := map[string]any{"hostname": snap.Info.GetHostname(), "cluster": s.cfg.Cluster}
		slaves := []map[string]any{}
		for _, a := range snap.Agents {
			if a.State == "unreachable" {
				continue
			}
			id := a.Info.GetId().GetValue()
			aj := summaryAgentJSON{
				ID: id, PID: ledger.AgentPID(a.Info), Hostname: a.Info.GetHostname(), RegisteredTime: secs(a.RegisteredTime),
				Resources: resourcesJSON(a.Total), UsedResources: resourcesJSON(a.Used), Offered: resourcesJSON(a.Offered),
				Unreserved: resourcesJSON(a.Total.Unreserved()), Attributes: resources.AttributeMap(a.Info.GetAttributes()),
				Active: a.State == "active", Version: a.Version, FrameworkIDs: slices.Sorted(maps.Keys(agentFws[id])),
			}
			slaves = append(slaves, withTaskCounts(aj, agentCounts[id]))
		}
		frameworks := []map[string]any{}
		for _, fw := range snap.Frameworks {
			id := fw.Info.GetId().GetValue()
			fj := summaryFrameworkJSON{
				ID: id, Name: fw.Info.GetName(), Hostname: fw.Info.GetHostname(), WebuiURL: fw.Info.GetWebuiUrl(),
				Active: fw.Active, Connected: fw.Connected, Capabilities: []string{},
				UsedResources: resourcesJSON(fw.Used), Offered: resourcesJSON(fw.Offered), SlaveIDs: slices.Sorted(maps.Keys(fwAgents[id])),
			}
			for _, c := range fw.Info.GetCapabilities() {
				fj.Capabilities = append(fj.Capabilities, c.GetType().String())
			}
			frameworks = append(frameworks, withTaskCounts(fj, fwCounts[id]))
		}
		doc["slaves"], doc["frameworks"] = slaves, frameworks
		return doc
	})
}

// pageParams reads Mesos's limit (default 100), offset and order (asc, des).
func pageParams(r *http.Request) (limit, offset int, desc bool, err string) {
	q := r.URL.Query()
	limit, offset = 100, 0
	if v := q.Get("limit"); v != "" {
		n, e := strconv.Atoi(v)
		if e != nil || n < 0 {
			return 0, 0, false, "Failed to parse 'limit': want an integer >= 0, got '" + v + "'"
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, e := strconv.Atoi(v)
		if e != nil || n < 0 {
			return 0, 0, false, "Failed to parse 'offset': want an integer >= 0, got '" + v + "'"
		}
		offset = n
	}
	switch q.Get("order") {
	case "", "asc":
	case "des":
		desc = true
	default:
		return 0, 0, false, "Failed to parse 'order': want 'asc' or 'des', got '" + q.Get("order") + "'"
	}
	return limit, offset, desc, ""
}

// handleTasks serves /tasks: every task the master knows (active, unreachable,
// completed), filtered by framework_id and task_id, sorted by start time and
// paged with limit and offset.
func (s *Server) handleTasks(w http.ResponseWriter, r *http.Request) {
	limit, offset, desc, bad := pageParams(r)
	if bad != "" {
		httpError(w, http.StatusBadRequest, bad)
		return
	}
	fwFilter, taskFilter := r.URL.Query().Get("framework_id"), r.URL.Query().Get("task_id")
	s.readSnapshot(w, r, func(l *ledger.Ledger) any {
		snap := s.snapshot(l, callerOf(r.Context()).principal)
		var tasks []ledger.TaskView
		for _, fws := range [][]ledger.FrameworkView{snap.Frameworks, snap.CompletedFrameworks} {
			for _, fw := range fws {
				if fwFilter != "" && fw.Info.GetId().GetValue() != fwFilter {
					continue
				}
				for _, ts := range [][]ledger.TaskView{fw.Tasks, fw.UnreachableTasks, fw.CompletedTasks} {
					for _, t := range ts {
						if taskFilter == "" || t.ID == taskFilter {
							tasks = append(tasks, t)
						}
					}
				}
			}
		}
		started := func(t ledger.TaskView) float64 {
			if sts := t.Task.GetStatuses(); len(sts) > 0 {
				return sts[0].GetTimestamp()
			}
			return 0
		}
		sort.SliceStable(tasks, func(i, j int) bool {
			if desc {
				return started(tasks[i]) > started(tasks[j])
			}
			return started(tasks[i]) < started(tasks[j])
		})
		out := []taskJSON{}
		for i := offset; i < len(tasks) && len(out) < limit; i++ {
			out = append(out, taskToJSON(tasks[i]))
		}
		return map[string]any{"tasks": out}
	})
}

// handleFrameworks serves /frameworks (optionally ?framework_id=).
func (s *Server) handleFrameworks(w http.ResponseWriter, r *http.Request) {
	filter := r.URL.Query().Get("framework_id")
	s.readSnapshot(w, r, func(l *ledger.Ledger) any {
		snap := s.snapshot(l, callerOf(r.Context()).principal)
		pick := func(fws []ledger.FrameworkView) []frameworkJSON {
			out := []frameworkJSON{}
			for _, fw := range fws {
				if filter == "" || fw.Info.GetId().GetValue() == filter {
					out = append(out, frameworkToJSON(fw))
				}
			}
			return out
		}
		return map[string]any{
			"frameworks":              pick(snap.Frameworks),
			"completed_frameworks":    pick(snap.CompletedFrameworks),
			"unregistered_frameworks": []string{},
		}
	})
}

// handleSlaves serves /slaves (optionally ?slave_id=): registered agents, and
// the ones known from the registry that have not re-registered.
func (s *Server) handleSlaves(w http.ResponseWriter, r *http.Request) {
	filter := r.URL.Query().Get("slave_id")
	s.readSnapshot(w, r, func(l *ledger.Ledger) any {
		doc := s.stateDocument(s.snapshot(l, callerOf(r.Context()).principal))
		slaves := []agentJSON{}
		recovered := []json.RawMessage{}
		for _, a := range doc.Slaves {
			if filter != "" && a.ID != filter {
				continue
			}
			slaves = append(slaves, a)
		}
		for _, a := range l.Snapshot().Agents {
			if a.State == "recovered" && (filter == "" || a.Info.GetId().GetValue() == filter) {
				if b, err := mesos.MarshalJSON(a.Info); err == nil {
					recovered = append(recovered, b)
				}
			}
		}
		return map[string]any{"slaves": slaves, "recovered_slaves": recovered}
	})
}

type roleJSON struct {
	Name       string         `json:"name"`
	Weight     float64        `json:"weight"`
	Frameworks []string       `json:"frameworks"`
	Resources  map[string]any `json:"resources"`
	Allocated  map[string]any `json:"allocated"`
	Quota      *roleQuotaJSON `json:"quota,omitempty"`
}

type roleQuotaJSON struct {
	Role      string             `json:"role"`
	Guarantee map[string]float64 `json:"guarantee"`
	Limit     map[string]float64 `json:"limit"`
	Consumed  map[string]float64 `json:"consumed"`
	Principal string             `json:"principal,omitempty"`
}

// handleRoles serves /roles.
func (s *Server) handleRoles(w http.ResponseWriter, r *http.Request) {
	principal := callerOf(r.Context()).principal
	s.readSnapshot(w, r, func(l *ledger.Ledger) any {
		out := []roleJSON{}
		for _, role := range l.Roles() {
			if !s.allowed(acl.ViewRoles, principal, role.Name) {
				continue
			}
			rj := roleJSON{
				Name: role.Name, Weight: role.Weight, Frameworks: append([]string{}, role.Frameworks...),
				Resources: resourcesJSON(role.Allocated), Allocated: resourcesJSON(role.Allocated),
			}
			if role.Quota != nil {
				rj.Quota = &roleQuotaJSON{Role: role.Name, Guarantee: nonNil(role.Quota.Guarantees), Limit: nonNil(role.Quota.Limits), Consumed: nonNil(role.Consumed)}
			}
			out = append(out, rj)
		}
		return map[string]any{"roles": out}
	})
}

func nonNil(m map[string]float64) map[string]float64 {
	if m == nil {
		return map[string]float64{}
	}
	return m
}

// handleMetricsSnapshot serves /metrics/snapshot: Mesos's metric names and
// values as one JSON object.
func (s *Server) handleMetricsSnapshot(w http.ResponseWriter, r *http.Request) {
	if !onlyGet(w, r) {
		return
	}
	m, err := s.mesosMetrics(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, m)
}

// handleFlags serves /flags.
func (s *Server) handleFlags(w http.ResponseWriter, r *http.Request) {
	if !onlyGet(w, r) {
		return
	}
	if err := s.authorizeAll(callerOf(r.Context()).principal, acl.ViewFlags, ""); err != nil {
		writeError(w, err)
		return
	}
	flags := s.cfg.Flags
	if flags == nil {
		flags = map[string]string{}
	}
	writeJSON(w, map[string]any{"flags": flags})
}

// handleVersion serves /version.
func (s *Server) handleVersion(w http.ResponseWriter, r *http.Request) {
	if !onlyGet(w, r) {
		return
	}
	writeJSON(w, map[string]any{"version": s.versionInfo().GetVersion()})
}

// readJSONBody reads a JSON request body with the size limit; it answers the
// request itself on failure.
func (s *Server) readJSONBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodySize))
	if err != nil {
		httpError(w, http.StatusRequestEntityTooLarge, "Failed to read request body: "+err.Error())
		return nil, false
	}
	return body, true
}

// handleWeights serves GET /weights (a JSON array of WeightInfo) and PUT
// /weights (the same array, set all at once).
func (s *Server) handleWeights(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		var ws []*mesos.WeightInfo
		principal := callerOf(r.Context()).principal
		if err := s.loop.Do(r.Context(), func(l *ledger.Ledger) { ws = s.visibleWeights(l, principal) }); err != nil {
			writeError(w, err)
			return
		}
		out := []json.RawMessage{}
		for _, wi := range ws {
			b, _ := mesos.MarshalJSON(wi)
			out = append(out, b)
		}
		writeJSON(w, out)
	case http.MethodPut:
		body, ok := s.readJSONBody(w, r)
		if !ok {
			return
		}
		var raw []json.RawMessage
		if err := json.Unmarshal(body, &raw); err != nil {
			httpError(w, http.StatusBadRequest, "Failed to parse update weights request JSON: want an array of {\"role\": …, \"weight\": …}: "+err.Error())
			return
		}
		ws := make([]*mesos.WeightInfo, 0, len(raw))
		for i, b := range raw {
			wi := &mesos.WeightInfo{}
			if err := mesos.UnmarshalJSON(b, wi); err != nil {
				httpError(w, http.StatusBadRequest, "weights["+strconv.Itoa(i)+"]: "+err.Error())
				return
			}
			ws = append(ws, wi)
		}
		principal := callerOf(r.Context()).principal
		if err := s.authorizeAll(principal, acl.UpdateWeights, weightRoles(ws)...); err != nil {
			writeError(w, err)
			return
		}
		s.answerOK(w, r, func(l *ledger.Ledger) error { return l.UpdateWeights(ws) })
	default:
		w.Header().Set("Allow", "GET, HEAD, PUT")
		httpError(w, http.StatusMethodNotAllowed, "Expecting 'GET' or 'PUT', but received '"+r.Method+"'")
	}
}

// handleQuota serves GET /quota (QuotaStatus), POST /quota (a legacy
// QuotaRequest: the guarantee becomes guarantee and limit) and DELETE
// /quota/{role}.
func (s *Server) handleQuota(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/master"), "/quota")
	path = strings.TrimPrefix(path, ".json")
	role := strings.TrimPrefix(path, "/")
	switch {
	case r.Method == http.MethodDelete:
		if role == "" {
			httpError(w, http.StatusBadRequest, "Expecting a role in the path: DELETE /quota/{role}")
			return
		}
		if err := s.authorizeAll(callerOf(r.Context()).principal, acl.UpdateQuotas, role); err != nil {
			writeError(w, err)
			return
		}
		s.answerOK(w, r, func(l *ledger.Ledger) error { return l.RemoveQuota(role) })
	case role != "":
		httpError(w, http.StatusNotFound, "No such endpoint: "+r.URL.Path+" (only DELETE takes a role in the path)")
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		var st *quotapb.QuotaStatus
		principal := callerOf(r.Context()).principal
		if err := s.loop.Do(r.Context(), func(l *ledger.Ledger) { st = s.visibleQuotas(l, principal) }); err != nil {
			writeError(w, err)
			return
		}
		writeProtoJSON(w, st)
	case r.Method == http.MethodPost:
		body, ok := s.readJSONBody(w, r)
		if !ok {
			return
		}
		req := &quotapb.QuotaRequest{}
		if err := mesos.UnmarshalJSON(body, req); err != nil {
			httpError(w, http.StatusBadRequest, "Failed to parse set quota request JSON: "+err.Error())
			return
		}
		if err := s.authorizeAll(callerOf(r.Context()).principal, acl.UpdateQuotas, req.GetRole()); err != nil {
			writeError(w, err)
			return
		}
		s.answerOK(w, r, func(l *ledger.Ledger) error { return l.SetLegacyQuota(req) })
	default:
		w.Header().Set("Allow", "GET, HEAD, POST, DELETE")
		httpError(w, http.StatusMethodNotAllowed, "Expecting 'GET', 'POST' or 'DELETE', but received '"+r.Method+"'")
	}
}

// handleTeardown serves POST /teardown with the form field frameworkId, as Mesos does.
func (s *Server) handleTeardown(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		httpError(w, http.StatusMethodNotAllowed, "Expecting 'POST', but received '"+r.Method+"'")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodySize)
	if err := r.ParseForm(); err != nil {
		httpError(w, http.StatusBadRequest, "Unable to parse the request body: "+err.Error())
		return
	}
	id := r.PostForm.Get("frameworkId")
	if id == "" {
		httpError(w, http.StatusBadRequest, "Missing 'frameworkId' query parameter in the request body")
		return
	}
	principal := callerOf(r.Context()).principal
	s.answerOK(w, r, func(l *ledger.Ledger) error { return s.teardown(l, principal, id) })
}

// answerOK runs a change on the loop and answers 200, or the error's status.
func (s *Server) answerOK(w http.ResponseWriter, r *http.Request, call func(*ledger.Ledger) error) {
	var callErr error
	if err := s.loop.Do(r.Context(), func(l *ledger.Ledger) { callErr = call(l) }); err != nil {
		writeError(w, err)
		return
	}
	if callErr != nil {
		writeError(w, callErr)
		return
	}
	w.WriteHeader(http.StatusOK)
}
