package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/loop"
)

// updateModeOf reads the mode of a PUT or PATCH request (see loop.UpdateMode).
func updateModeOf(req *http.Request) loop.UpdateMode {
	if req.Method == http.MethodPatch {
		return loop.UpdateMode{Merge: true}
	}
	return loop.UpdateMode{Create: true, Merge: partialUpdateParam(req)}
}

// partialUpdateParam is the partialUpdate query parameter, true unless given as false.
func partialUpdateParam(req *http.Request) bool {
	v, err := strconv.ParseBool(req.URL.Query().Get("partialUpdate"))
	return err != nil || v
}

func (a *API) postApp(w http.ResponseWriter, req *http.Request) {
	body, ok := a.readBody(w, req)
	if !ok {
		return
	}
	force := boolParam(req, "force")
	a.call(w, req, func(tx *loop.Tx) reply {
		created, d, err := tx.CreateApp(body, force, origin(req))
		if err != nil {
			return errorReply(err)
		}
		out := a.render.app(tx.View(), created, embeds{counts: true, tasks: true})
		out["deployments"] = []idJSON{{d.DeploymentID}}
		return reply{status: http.StatusCreated, body: out, header: map[string]string{
			"Location": "/v2/apps" + created.ID, "Marathon-Deployment-Id": d.DeploymentID,
		}}
	})
}

// putApps is PUT/PATCH /v2/apps with an array of (partial) definitions: one deployment.
func (a *API) putApps(w http.ResponseWriter, req *http.Request) {
	body, ok := a.readBody(w, req)
	if !ok {
		return
	}
	var items []json.RawMessage
	if err := json.Unmarshal(body, &items); err != nil {
		writeReply(w, msgReply(http.StatusBadRequest, "Invalid JSON: %s", err.Error()))
		return
	}
	updates := make([]loop.AppUpdate, 0, len(items))
	for _, item := range items {
		var idOnly struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(item, &idOnly); err != nil || idOnly.ID == "" {
			writeReply(w, msgReply(http.StatusBadRequest, "every app needs an id"))
			return
		}
		updates = append(updates, loop.AppUpdate{ID: app.CanonicalID(idOnly.ID, "/"), Body: item})
	}
	force, mode := boolParam(req, "force"), updateModeOf(req)
	a.call(w, req, func(tx *loop.Tx) reply {
		d, err := tx.UpdateApps(updates, mode, force, origin(req))
		if err != nil {
			return errorReply(err)
		}
		return deployedReply(d)
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

func (a *API) listApps(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	e := parseEmbeds(q["embed"], "apps.")
	e.counts, e.deployments = true, true
	cmd, idf, labels := q.Get("cmd"), q.Get("id"), labelSelector(q.Get("label"))
	a.call(w, req, func(tx *loop.Tx) reply {
		v := tx.View()
		out := append(make([]byte, 0, 64<<10), `{"apps":[`...)
		n := 0
		for _, id := range v.AppIDs() {
			ap := v.App(id)
			if cmd != "" && (ap.Cmd == nil || !strings.Contains(*ap.Cmd, cmd)) {
				continue
			}
			if idf != "" && !strings.Contains(ap.ID, idf) {
				continue
			}
			if !labels(ap.Labels) {
				continue
			}
			if n > 0 {
				out = append(out, ',')
			}
			out = a.render.appendAppJSON(out, v, ap, e)
			n++
		}
		a.render.forgetGone(v)
		return reply{status: http.StatusOK, body: rawJSON(append(out, "]}"...))}
	})
}

// appRoutes serves /v2/apps/<id>[/restart|/tasks[/<task id>]|/versions[/<version>]]. App
// ids never end in a reserved word, so the first reserved segment ends the id.
func (a *API) appRoutes(w http.ResponseWriter, req *http.Request) {
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
		a.appRoot(w, req, id, force)
	case rest[0] == "restart" && len(rest) == 1 && req.Method == http.MethodPost:
		a.call(w, req, func(tx *loop.Tx) reply {
			d, err := tx.RestartApp(id, force)
			if err != nil {
				return errorReply(err)
			}
			return deployedReply(d)
		})
	case rest[0] == "tasks" && len(rest) == 1 && req.Method == http.MethodGet:
		a.appTasks(w, req, id)
	case rest[0] == "tasks" && len(rest) == 1 && req.Method == http.MethodDelete:
		a.killAppTasks(w, req, id, "")
	case rest[0] == "tasks" && len(rest) == 2 && req.Method == http.MethodDelete:
		a.killAppTasks(w, req, id, rest[1])
	case rest[0] == "versions" && len(rest) == 1 && req.Method == http.MethodGet:
		a.call(w, req, func(tx *loop.Tx) reply {
			vs, err := tx.AppVersions(id)
			if err != nil {
				return errorReply(err)
			}
			slices.Reverse(vs)
			return reply{status: http.StatusOK, body: map[string]any{"versions": vs}}
		})
	case rest[0] == "versions" && len(rest) == 2 && req.Method == http.MethodGet:
		v := rest[1]
		a.call(w, req, func(tx *loop.Tx) reply {
			def, err := tx.AppVersion(id, v)
			if err != nil {
				return errorReply(err)
			}
			return reply{status: http.StatusOK, body: def}
		})
	default:
		writeReply(w, msgReply(http.StatusNotFound, "Not Found"))
	}
}

func (a *API) appRoot(w http.ResponseWriter, req *http.Request, id string, force bool) {
	switch req.Method {
	case http.MethodGet:
		e := parseEmbeds(req.URL.Query()["embed"], "app.")
		e.counts, e.deployments, e.tasks, e.lastTaskFailure, e.readiness = true, true, true, true, true
		a.call(w, req, func(tx *loop.Tx) reply {
			v := tx.View()
			ap := v.App(id)
			if ap == nil {
				return msgReply(http.StatusNotFound, "App '%s' does not exist", id)
			}
			return reply{status: http.StatusOK, body: map[string]any{"app": a.render.appJSON(v, ap, e)}}
		})
	case http.MethodPut, http.MethodPatch:
		body, ok := a.readBody(w, req)
		if !ok {
			return
		}
		if len(app.IDErrors(id)) > 0 {
			writeReply(w, reply{status: http.StatusUnprocessableEntity, body: &app.ValidationError{
				Message: app.MsgObjectNotValid, Details: []app.Detail{{Path: "/id", Errors: app.IDErrors(id)}}}})
			return
		}
		mode := updateModeOf(req)
		a.call(w, req, func(tx *loop.Tx) reply {
			d, err := tx.UpdateApp(id, body, mode, force, origin(req))
			if err != nil {
				return errorReply(err)
			}
			r := deployedReply(d)
			if d.Created {
				r.status = http.StatusCreated
				r.header["Location"] = "/v2/apps" + id
			}
			return r
		})
	case http.MethodDelete:
		a.call(w, req, func(tx *loop.Tx) reply {
			d, err := tx.DeleteApp(id, force)
			if err != nil {
				return errorReply(err)
			}
			return deployedReply(d)
		})
	default:
		writeReply(w, msgReply(http.StatusMethodNotAllowed, "Method Not Allowed"))
	}
}

func (a *API) appTasks(w http.ResponseWriter, req *http.Request, id string) {
	plain := wantsText(req)
	a.call(w, req, func(tx *loop.Tx) reply {
		v := tx.View()
		if v.App(id) == nil {
			return msgReply(http.StatusNotFound, "App '%s' does not exist", id)
		}
		if plain {
			return reply{status: http.StatusOK, body: textBody(endpointsTextFor(v, id))}
		}
		out := []taskJSON{}
		for _, t := range v.TasksOf(id) {
			out = append(out, renderTask(t, v.App(t.AppID)))
		}
		return reply{status: http.StatusOK, body: map[string]any{"tasks": out}}
	})
}

func (a *API) killAppTasks(w http.ResponseWriter, req *http.Request, id, taskID string) {
	q := req.URL.Query()
	host := q.Get("host")
	opt := loop.KillOptions{Scale: boolParam(req, "scale"), Wipe: boolParam(req, "wipe"), Force: boolParam(req, "force")}
	a.call(w, req, func(tx *loop.Tx) reply {
		k, err := tx.KillAppTasks(id, taskID, host, opt)
		if err != nil {
			return errorReply(err)
		}
		r := killedReply(tx.View(), k)
		if taskID != "" && !opt.Scale && len(k.Tasks) == 1 {
			r.body = map[string]any{"task": renderTask(k.Tasks[0], tx.View().App(k.Tasks[0].AppID))}
		}
		return r
	})
}
