package api

import (
	"net/http"
	"strings"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/groups"
	"github.com/agoracluster/agora/frameworks/marathon/loop"
)

// groupRoutes serves /v2/groups[/<id>][/versions].
func (a *API) groupRoutes(w http.ResponseWriter, req *http.Request) {
	path := strings.Trim(strings.TrimPrefix(req.URL.Path, "/v2/groups"), "/")
	versions := false
	if path == "versions" || strings.HasSuffix(path, "/versions") {
		versions = true
		path = strings.TrimSuffix(strings.TrimSuffix(path, "versions"), "/")
	}
	id := app.CanonicalID(path, groups.RootID)
	force := boolParam(req, "force")
	switch {
	case req.Method == http.MethodGet && versions:
		a.call(w, req, func(tx *loop.Tx) reply {
			if tx.View().Group(id) == nil {
				return msgReply(http.StatusNotFound, "Group '%s' does not exist", id)
			}
			return reply{status: http.StatusOK, body: tx.GroupVersions(id)}
		})
	case req.Method == http.MethodGet:
		opts := groupView(req.URL.Query()["embed"])
		a.call(w, req, func(tx *loop.Tx) reply {
			g := tx.View().Group(id)
			if g == nil {
				return msgReply(http.StatusNotFound, "Group '%s' does not exist", id)
			}
			return reply{status: http.StatusOK, body: g.View(opts)}
		})
	case req.Method == http.MethodPost || req.Method == http.MethodPut || req.Method == http.MethodPatch:
		body, ok := a.readBody(w, req)
		if !ok {
			return
		}
		u, err := groups.ParseUpdate(body, id)
		if err != nil {
			writeReply(w, errorReply(err))
			return
		}
		create := req.Method == http.MethodPost
		a.call(w, req, func(tx *loop.Tx) reply {
			d, err := tx.ApplyGroup(u, create, force, origin(req))
			if err != nil {
				return errorReply(err)
			}
			r := deployedReply(d)
			if create && u.Version == "" {
				r.status = http.StatusCreated
				r.header["Location"] = "/v2/groups" + u.ID
			}
			return r
		})
	case req.Method == http.MethodDelete:
		a.call(w, req, func(tx *loop.Tx) reply {
			d, err := tx.RemoveGroup(id, force)
			if err != nil {
				return errorReply(err)
			}
			return deployedReply(d)
		})
	default:
		writeReply(w, msgReply(http.StatusMethodNotAllowed, "Method Not Allowed"))
	}
}

func groupView(embed []string) groups.ViewOptions {
	if len(embed) == 0 {
		return groups.DefaultView()
	}
	var o groups.ViewOptions
	for _, v := range embed {
		for _, e := range strings.Split(v, ",") {
			switch strings.TrimSpace(e) {
			case "group.apps":
				o.Apps = true
			case "group.groups":
				o.Groups = true
			case "group.pods":
				o.Pods = true
			}
		}
	}
	return o
}
