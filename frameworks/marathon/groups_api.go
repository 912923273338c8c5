package marathon

import (
	"errors"
	"net/http"
	"sort"
	"strings"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/events"
	"github.com/agoracluster/agora/frameworks/marathon/groups"
	"github.com/agoracluster/agora/frameworks/marathon/launchqueue"
)

// groupRoutes serves /v2/groups[/<id>][/versions].
func (m *Marathon) groupRoutes(w http.ResponseWriter, req *http.Request) {
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
		m.call(w, req, func() reply {
			g := groups.Build(m.apps, m.metas).Find(id)
			if g == nil {
				return msgReply(http.StatusNotFound, "Group '%s' does not exist", id)
			}
			return reply{status: http.StatusOK, body: m.groupVersions(id)}
		})
	case req.Method == http.MethodGet:
		opts := groupView(req.URL.Query()["embed"])
		m.call(w, req, func() reply {
			g := groups.Build(m.apps, m.metas).Find(id)
			if g == nil {
				return msgReply(http.StatusNotFound, "Group '%s' does not exist", id)
			}
			return reply{status: http.StatusOK, body: g.View(opts)}
		})
	case req.Method == http.MethodPost || req.Method == http.MethodPut || req.Method == http.MethodPatch:
		body, ok := m.readBody(w, req)
		if !ok {
			return
		}
		u, err := groups.ParseUpdate(body, id)
		if err != nil {
			writeReply(w, errorReply(err))
			return
		}
		create := req.Method == http.MethodPost
		m.call(w, req, func() reply { return m.applyGroup(req, u, create, force) })
	case req.Method == http.MethodDelete:
		m.call(w, req, func() reply { return m.removeGroup(id, force) })
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

func groupError(err error) reply {
	var nf *groups.NotFoundError
	var ce *groups.ConflictError
	switch {
	case errors.As(err, &nf):
		return msgReply(http.StatusNotFound, "%s", nf.Error())
	case errors.As(err, &ce):
		return msgReply(http.StatusConflict, "%s", ce.Error())
	case errors.Is(err, groups.ErrRollback):
		return msgReply(http.StatusBadRequest, "group rollback to a stored version is not supported")
	}
	return errorReply(err)
}

// applyGroup is POST/PUT/PATCH /v2/groups: one deployment for every app the update touches.
func (m *Marathon) applyGroup(req *http.Request, u *groups.Update, create, force bool) reply {
	if u.Version != "" {
		r := m.rollbackGroup(u.ID, u.Version, force)
		if r.status < 300 {
			m.publish(events.NewGroupChangeSuccess(u.ID, app.FormatTime(m.now()), m.now()))
		}
		return r
	}
	version := app.FormatTime(m.now())
	res, err := groups.Apply(groups.Build(m.apps, m.metas), u, groups.Options{Create: create, Version: version})
	if err != nil {
		return groupError(err)
	}
	r := m.commitGroup(res, force, version)
	if r.status < 300 {
		for _, a := range res.Apps {
			if m.apps[a.ID] == a {
				m.apiPost(req, a.ID)
			}
		}
		m.publish(events.NewGroupChangeSuccess(u.ID, version, m.now()))
		if create {
			r.status = http.StatusCreated
			r.header["Location"] = "/v2/groups" + u.ID
		}
	}
	return r
}

// removeGroup is DELETE /v2/groups/{id}.
func (m *Marathon) removeGroup(id string, force bool) reply {
	version := app.FormatTime(m.now())
	res, err := groups.Remove(groups.Build(m.apps, m.metas), id, version)
	if err != nil {
		return groupError(err)
	}
	r := m.commitGroup(res, force, version)
	if r.status < 300 {
		m.publish(events.NewGroupChangeSuccess(id, version, m.now()))
	}
	return r
}

// commitGroup deploys the apps of a group change and stores the new group metadata.
func (m *Marathon) commitGroup(res *groups.Result, force bool, version string) reply {
	changes := map[string]*app.App{}
	ids := make([]string, 0, len(res.Apps))
	for id := range res.Apps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	assigned := []*app.App{}
	ports := launchqueue.ServicePorts{Min: m.cfg.ServicePortMin, Max: m.cfg.ServicePortMax}
	for _, id := range ids {
		a := res.Apps[id]
		if m.apps[id] == a {
			continue
		}
		others := append(m.otherApps(id), assigned...)
		withPorts, err := ports.Assign(a, others)
		if err != nil {
			return errorReply(err)
		}
		withPorts.Version, withPorts.VersionInfo = a.Version, a.VersionInfo
		if withPorts.Version == "" {
			stamp(withPorts, m.apps[id], version, false)
		}
		changes[id] = withPorts
		assigned = append(assigned, withPorts)
	}
	for _, id := range res.Removed {
		changes[id] = nil
	}
	newMetas := res.Root.Metas()
	old := m.metas
	m.metas = newMetas
	plan, r := m.deploy(changes, force, version)
	if r != nil {
		m.metas = old
		return *r
	}
	for id := range old {
		if _, ok := newMetas[id]; !ok {
			m.remove(groupKey(id))
		}
	}
	for id, meta := range newMetas {
		m.persist(groupKey(id), meta)
	}
	return reply{status: http.StatusOK, body: deploymentResult{Version: version, DeploymentID: plan.ID},
		header: map[string]string{"Marathon-Deployment-Id": plan.ID}}
}
