package loop

import (
	"maps"
	"slices"
	"strings"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/events"
	"github.com/agoracluster/agora/frameworks/marathon/groups"
	"github.com/agoracluster/agora/frameworks/marathon/launchqueue"
	"github.com/agoracluster/agora/frameworks/marathon/persist"
)

// ApplyGroup is POST/PUT/PATCH /v2/groups: one deployment for every app the update
// touches, or with a version the group's rollback to that stored root version.
func (tx *Tx) ApplyGroup(u *groups.Update, create, force bool, o Origin) (Deployed, error) {
	l, s := tx.l, &tx.l.s
	if u.Version != "" {
		d, err := tx.rollbackGroup(u.ID, u.Version, force)
		if err == nil {
			l.publish(events.NewGroupChangeSuccess(u.ID, app.FormatTime(l.now()), l.now()))
		}
		return d, err
	}
	version := app.FormatTime(l.now())
	// Pods are not a group's apps: an update of its apps neither changes nor removes them.
	res, err := groups.Apply(groups.Build(appsOnly(s.apps), s.metas), u, groups.Options{Create: create, Version: version})
	if err != nil {
		return Deployed{}, err
	}
	d, err := tx.commitGroup(res, force, version)
	if err != nil {
		return Deployed{}, err
	}
	for _, a := range res.Apps {
		if s.apps[a.ID] == a {
			tx.apiPost(o, a.ID)
		}
	}
	l.publish(events.NewGroupChangeSuccess(u.ID, version, l.now()))
	return d, nil
}

// RemoveGroup is DELETE /v2/groups/{id}.
func (tx *Tx) RemoveGroup(id string, force bool) (Deployed, error) {
	l := tx.l
	version := app.FormatTime(l.now())
	res, err := groups.Remove(groups.Build(l.s.apps, l.s.metas), id, version)
	if err != nil {
		return Deployed{}, err
	}
	d, err := tx.commitGroup(res, force, version)
	if err != nil {
		return Deployed{}, err
	}
	l.publish(events.NewGroupChangeSuccess(id, version, l.now()))
	return d, nil
}

// GroupVersions lists the stored root versions in which group id existed, newest first.
func (tx *Tx) GroupVersions(id string) []string { return tx.l.db.GroupVersions(tx.l.ctx, id) }

// commitGroup deploys the apps of a group change and stores the new group metadata.
func (tx *Tx) commitGroup(res *groups.Result, force bool, version string) (Deployed, error) {
	l, s := tx.l, &tx.l.s
	changes := map[string]*app.App{}
	assigned := []*app.App{}
	ports := launchqueue.ServicePorts{Min: l.cfg.ServicePortMin, Max: l.cfg.ServicePortMax}
	for _, id := range slices.Sorted(maps.Keys(res.Apps)) {
		a := res.Apps[id]
		if s.apps[id] == a {
			continue
		}
		if s.podRecord(id) != nil {
			return Deployed{}, podNotApp(id)
		}
		others := append(s.otherApps(id), assigned...)
		withPorts, err := ports.Assign(a, others)
		if err != nil {
			return Deployed{}, err
		}
		withPorts.Version, withPorts.VersionInfo = a.Version, a.VersionInfo
		if withPorts.Version == "" {
			stamp(withPorts, s.apps[id], version, false)
		}
		changes[id] = withPorts
		assigned = append(assigned, withPorts)
	}
	for _, id := range res.Removed {
		changes[id] = nil
	}
	newMetas := res.Root.Metas()
	old := s.metas
	s.metas = newMetas
	d, err := tx.deploy(changes, force, version)
	if err != nil {
		s.metas = old
		return Deployed{}, err
	}
	for id := range old {
		if _, ok := newMetas[id]; !ok {
			l.db.Delete(l.ctx, persist.GroupKey(id))
		}
	}
	for id, meta := range newMetas {
		l.db.Put(l.ctx, persist.GroupKey(id), meta)
	}
	return d, nil
}

// under reports whether id is group or below it.
func under(id, group string) bool {
	return group == groups.RootID || id == group || strings.HasPrefix(id, group+"/")
}

// rollbackGroup is PUT /v2/groups/{id} with {"version": …}: the group becomes what it was
// in that stored root version (its apps, subgroups and dependencies), as one deployment;
// the rest of the tree is untouched.
func (tx *Tx) rollbackGroup(id, version string, force bool) (Deployed, error) {
	l, s := tx.l, &tx.l.s
	rv, err := l.db.RootVersion(l.ctx, version)
	if err != nil {
		return Deployed{}, notFound("Group '%s' does not exist in version %s", id, version)
	}
	existed := id == groups.RootID
	metas := map[string]groups.Meta{}
	for gid, meta := range s.metas {
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
	now := app.FormatTime(l.now())
	target := map[string]*app.App{}
	for aid, a := range s.apps {
		if !under(aid, id) {
			target[aid] = a
		}
	}
	for aid, v := range rv.Apps {
		if !under(aid, id) {
			continue
		}
		existed = true
		if cur := s.apps[aid]; cur != nil && cur.Version == v {
			target[aid] = cur
			continue
		}
		old, err := l.db.AppVersion(l.ctx, aid, v)
		if err != nil {
			return Deployed{}, notFound("Version '%s' of app '%s' does not exist", v, aid)
		}
		next := *old
		if cur := s.apps[aid]; cur != nil {
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
		return Deployed{}, notFound("Group '%s' does not exist in version %s", id, version)
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
	for aid := range s.apps {
		if target[aid] == nil {
			removed = append(removed, aid)
		}
	}
	slices.Sort(removed)
	res := &groups.Result{Root: groups.Build(target, metas), Apps: target, Removed: removed}
	if ve := groups.ValidateTree(res.Root); ve != nil {
		return Deployed{}, ve
	}
	return tx.commitGroup(res, force, now)
}
