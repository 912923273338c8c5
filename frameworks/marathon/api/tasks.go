package api

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/agoracluster/agora/frameworks/marathon/loop"
)

func (a *API) listTasks(w http.ResponseWriter, req *http.Request) {
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
	if err := a.fw.Do(req.Context(), func(tx *loop.Tx) {
		v := tx.View()
		if plain {
			text = endpointsText(v)
			return
		}
		ids := v.TaskIDs()
		out = make([]taskJSON, 0, len(ids))
		for _, id := range ids {
			t := v.Task(id)
			if len(statuses) > 0 && !statuses[t.State] {
				continue
			}
			out = append(out, renderTask(t, v.App(t.AppID)))
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

func (a *API) deleteTasks(w http.ResponseWriter, req *http.Request) {
	body, ok := a.readBody(w, req)
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
	opt := loop.KillOptions{Scale: boolParam(req, "scale"), Wipe: boolParam(req, "wipe"), Force: boolParam(req, "force")}
	a.call(w, req, func(tx *loop.Tx) reply {
		k, err := tx.KillTasks(in.IDs, opt)
		if err != nil {
			return errorReply(err)
		}
		return killedReply(tx.View(), k)
	})
}

// killedReply answers a kill: the deployment that scales the apps down, or the tasks.
func killedReply(v loop.View, k loop.Killed) reply {
	if k.Deployed != nil {
		return deployedReply(*k.Deployed)
	}
	out := make([]taskJSON, 0, len(k.Tasks))
	for _, t := range k.Tasks {
		out = append(out, renderTask(t, v.App(t.AppID)))
	}
	return reply{status: http.StatusOK, body: map[string]any{"tasks": out}}
}
