package marathon

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/groups"
	"github.com/agoracluster/agora/store"
)

// Stored versions, as Marathon keeps them: every change stores the new definition of each
// app it changes (versions/<app>/<version>) and a version of the root group
// (rootversions/<version>), each bounded by --max_versions (oldest pruned first, never the
// current one). A root version is a manifest, not a copy of every app: the group metadata
// and the version of each app then, whose definitions are the stored app versions; an app
// version that a stored root version names is kept until no root version names it, so
// that a group rolls back even to apps deleted since.

const keyRootVersions = "rootversions"

func rootVersionKey(version string) string { return keyRootVersions + "/" + version }

// rootVersion is one stored version of the root group.
type rootVersion struct {
	Version string                 `json:"version"`
	Groups  map[string]groups.Meta `json:"groups"`
	Apps    map[string]string      `json:"apps"` // app id -> app version
}

// versionIndex is the loop's view of the stored root versions. Loop only.
type versionIndex struct {
	roots     []string                     // stored root versions, oldest first
	manifests map[string]map[string]string // root version -> app id -> app version
	refs      map[string]map[string]int    // app id -> app version -> root versions naming it
}

func (x *versionIndex) ref(apps map[string]string, d int) {
	for id, v := range apps {
		if x.refs[id] == nil {
			x.refs[id] = map[string]int{}
		}
		x.refs[id][v] += d
		if x.refs[id][v] <= 0 {
			delete(x.refs[id], v)
		}
		if len(x.refs[id]) == 0 {
			delete(x.refs, id)
		}
	}
}

// loadVersionIndex reads the stored root versions.
func loadVersionIndex(ctx context.Context, st store.Store) (*versionIndex, error) {
	x := &versionIndex{manifests: map[string]map[string]string{}, refs: map[string]map[string]int{}}
	keys, err := st.List(ctx, keyRootVersions)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		rv, err := loadRootVersion(ctx, st, lastSegment(k))
		if err != nil {
			return nil, err
		}
		x.roots = append(x.roots, rv.Version)
		x.manifests[rv.Version] = rv.Apps
		x.ref(rv.Apps, 1)
	}
	sort.Strings(x.roots)
	return x, nil
}

func loadRootVersion(ctx context.Context, st store.Store, version string) (*rootVersion, error) {
	b, _, err := st.Get(ctx, rootVersionKey(version))
	if err != nil {
		return nil, err
	}
	var rv rootVersion
	if err := json.Unmarshal(b, &rv); err != nil {
		return nil, fmt.Errorf("decode root version %s: %w", version, err)
	}
	return &rv, nil
}

// versionIndex returns the index, reading it on first use.
func (m *Marathon) versionIndex() *versionIndex {
	if m.versions == nil {
		x, err := loadVersionIndex(m.ctx, m.st)
		if err != nil {
			m.log.Error("load root versions", zap.Error(err))
			x = &versionIndex{manifests: map[string]map[string]string{}, refs: map[string]map[string]int{}}
		}
		m.versions = x
	}
	return m.versions
}

// storeAppVersion stores a as a version of its app and prunes the oldest beyond
// MaxVersions (never a's own, nor one a stored root version names).
func (m *Marathon) storeAppVersion(a *app.App) {
	m.persist(versionKey(a.ID, a.Version), a)
	vs, err := storedVersions(m.ctx, m.st, a.ID)
	if err != nil {
		m.log.Error("list versions", zap.String("app_id", a.ID), zap.Error(err))
		return
	}
	refs := m.versionIndex().refs[a.ID]
	excess := len(vs) - m.cfg.MaxVersions
	for _, v := range vs {
		if excess <= 0 {
			break
		}
		if v == a.Version || refs[v] > 0 {
			continue
		}
		m.remove(versionKey(a.ID, v))
		excess--
	}
}

// forgetAppVersions removes the stored versions of a deleted app that no stored root
// version names.
func (m *Marathon) forgetAppVersions(id string) {
	vs, err := storedVersions(m.ctx, m.st, id)
	if err != nil {
		return
	}
	refs := m.versionIndex().refs[id]
	for _, v := range vs {
		if refs[v] == 0 {
			m.remove(versionKey(id, v))
		}
	}
}

// storeRootVersion stores the root group as it is now as version and prunes the oldest
// root versions beyond MaxVersions, with the versions of deleted apps only they named.
func (m *Marathon) storeRootVersion(version string) {
	x := m.versionIndex()
	rv := rootVersion{Version: version, Groups: m.metas, Apps: make(map[string]string, len(m.apps))}
	for id, a := range m.apps {
		rv.Apps[id] = a.Version
	}
	m.persist(rootVersionKey(version), rv)
	if old, ok := x.manifests[version]; ok {
		x.ref(old, -1) // the same millisecond again: replaced
	} else {
		x.roots = append(x.roots, version)
		sort.Strings(x.roots)
	}
	x.manifests[version] = rv.Apps
	x.ref(rv.Apps, 1)
	for len(x.roots) > m.cfg.MaxVersions {
		oldest := x.roots[0]
		x.roots = x.roots[1:]
		apps := x.manifests[oldest]
		delete(x.manifests, oldest)
		x.ref(apps, -1)
		m.remove(rootVersionKey(oldest))
		for id, v := range apps {
			if m.apps[id] == nil && x.refs[id][v] == 0 {
				m.remove(versionKey(id, v))
			}
		}
	}
}

// groupVersions lists the stored root versions in which group id existed, newest first
// (GET /v2/groups/{id}/versions).
func (m *Marathon) groupVersions(id string) []string {
	x := m.versionIndex()
	out := []string{}
	for i := len(x.roots) - 1; i >= 0; i-- {
		v := x.roots[i]
		if id == groups.RootID || m.groupExistedIn(id, v) {
			out = append(out, v)
		}
	}
	return out
}

func (m *Marathon) groupExistedIn(id, version string) bool {
	for appID := range m.versions.manifests[version] {
		if strings.HasPrefix(appID, id+"/") {
			return true
		}
	}
	rv, err := loadRootVersion(m.ctx, m.st, version)
	if err != nil {
		return false
	}
	_, ok := rv.Groups[id]
	return ok
}

// under reports whether id is group or below it.
func under(id, group string) bool {
	return group == groups.RootID || id == group || strings.HasPrefix(id, group+"/")
}

// rollbackGroup is PUT /v2/groups/{id} with {"version": …}: the group becomes what it was
// in that stored root version (its apps, subgroups and dependencies), as one deployment;
// the rest of the tree is untouched.
func (m *Marathon) rollbackGroup(id, version string, force bool) reply {
	rv, err := loadRootVersion(m.ctx, m.st, version)
	if err != nil {
		return msgReply(http.StatusNotFound, "Group '%s' does not exist in version %s", id, version)
	}
	existed := id == groups.RootID
	metas := map[string]groups.Meta{}
	for gid, meta := range m.metas {
		if !under(gid, id) || gid == id {
			metas[gid] = meta
		}
	}
	for gid, meta := range rv.Groups {
		if under(gid, id) && gid != id {
			metas[gid] = meta
		}
		if gid == id {
			existed = true
			meta.Version = ""
			metas[gid] = meta
		}
	}
	now := app.FormatTime(m.now())
	target := map[string]*app.App{}
	for aid, a := range m.apps {
		if !under(aid, id) {
			target[aid] = a
		}
	}
	for aid, v := range rv.Apps {
		if !under(aid, id) {
			continue
		}
		existed = true
		if cur := m.apps[aid]; cur != nil && cur.Version == v {
			target[aid] = cur
			continue
		}
		old, err := loadVersion(m.ctx, m.st, aid, v)
		if err != nil {
			return msgReply(http.StatusNotFound, "Version '%s' of app '%s' does not exist", v, aid)
		}
		next := *old
		if cur := m.apps[aid]; cur != nil {
			stamp(&next, cur, now, false)
			if app.IsUpgrade(cur, &next) && old.VersionInfo != nil {
				next.VersionInfo.LastConfigChangeAt = old.VersionInfo.LastConfigChangeAt
			}
		} else {
			stamp(&next, nil, now, true)
		}
		target[aid] = &next
	}
	if !existed {
		return msgReply(http.StatusNotFound, "Group '%s' does not exist in version %s", id, version)
	}
	for gid := id; ; gid = app.ParentID(gid) {
		meta := metas[gid]
		meta.ID, meta.Version = gid, now
		metas[gid] = meta
		if gid == groups.RootID {
			break
		}
	}
	var removed []string
	for aid := range m.apps {
		if target[aid] == nil {
			removed = append(removed, aid)
		}
	}
	sort.Strings(removed)
	res := &groups.Result{Root: groups.Build(target, metas), Apps: target, Removed: removed}
	if ve := groups.ValidateTree(res.Root); ve != nil {
		return errorReply(ve)
	}
	return m.commitGroup(res, force, now)
}
