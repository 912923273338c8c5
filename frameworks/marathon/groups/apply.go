package groups

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/agoracluster/agora/frameworks/marathon/app"
)

// NotFoundError is returned for a group that does not exist (404).
type NotFoundError struct{ ID string }

func (e *NotFoundError) Error() string { return fmt.Sprintf("Group '%s' does not exist", e.ID) }

// ConflictError is returned by POST for a group that exists already (409).
type ConflictError struct{ ID string }

func (e *ConflictError) Error() string {
	return fmt.Sprintf("Group %s is already created. Use PUT to change this group.", e.ID)
}

// ErrRollback is returned by Apply for an update that asks for a rollback
// (Update.Version set): the caller resolves the stored version itself.
var ErrRollback = errors.New("groups: update asks for a rollback to a stored version")

// Options tune Apply.
type Options struct {
	// Create is true for POST: an existing group is a *ConflictError.
	Create bool
	// Version is the timestamp of this change (app.FormatTime(now)). It
	// stamps every group on the way and every new or changed app (version
	// and versionInfo, as Marathon does). Empty leaves versions alone.
	Version string
	// StrictDependencies refuses dependencies that name no app or group in
	// the resulting tree. Marathon itself ignores such dependencies, so
	// this is off by default.
	StrictDependencies bool
}

// Result is the outcome of Apply or Remove.
type Result struct {
	// Root is the new tree.
	Root *Group
	// Apps is the target app set (every app in Root) for the planner.
	Apps map[string]*app.App
	// Removed lists the ids of apps that were in the old tree and are not
	// in the new one, sorted.
	Removed []string
}

// Apply applies a group update to the current tree and returns the new
// tree and its apps, without changing root:
//   - scaleBy: every app below the group gets ceil(instances × scaleBy);
//   - otherwise the group is created (with any missing parents) or
//     updated: present apps, groups and dependencies replace the group's
//     own as a whole, nested group updates apply recursively to existing
//     subgroups, subgroups that the update leaves out are removed.
//
// The new tree is validated as a whole (app/group id clashes, dependency
// cycles and, with StrictDependencies, unknown dependencies); problems are
// an *app.ValidationError.
func Apply(root *Group, u *Update, opts Options) (*Result, error) {
	if u.Version != "" {
		return nil, ErrRollback
	}
	next := root.clone()
	if u.ScaleBy != nil {
		g := next.Find(u.ID)
		if g == nil {
			return nil, &NotFoundError{ID: u.ID}
		}
		scale(g, *u.ScaleBy)
	} else {
		existing := next.Find(u.ID)
		switch {
		case existing != nil && opts.Create:
			return nil, &ConflictError{ID: u.ID}
		case existing != nil:
			update(existing, u)
		default:
			put(next, fromUpdate(u))
		}
	}
	if ve := validateTree(next, opts.StrictDependencies); ve != nil {
		return nil, ve
	}
	stamp(root, next, opts.Version)
	return result(root, next), nil
}

// Remove deletes the group id and everything below it (DELETE
// /v2/groups/{id}); removing the root empties it. Removed lists the apps
// to stop.
func Remove(root *Group, id, version string) (*Result, error) {
	id = app.CanonicalID(id, RootID)
	next := root.clone()
	if id == RootID {
		next = &Group{ID: RootID}
	} else {
		g := next.Find(id)
		if g == nil {
			return nil, &NotFoundError{ID: id}
		}
		parent := next.Find(app.ParentID(id))
		for i, c := range parent.Groups {
			if c == g {
				parent.Groups = append(parent.Groups[:i], parent.Groups[i+1:]...)
				break
			}
		}
	}
	stamp(root, next, version)
	return result(root, next), nil
}

// ValidateTree checks a whole tree as Marathon validates the root group
// after every change: no app shares its id with a group, no dependency
// cycle (group→group and app→app/group edges). /v2/apps changes should be
// checked with it too: ValidateTree(Tree(targetApps)).
func ValidateTree(root *Group) *app.ValidationError { return validateTree(root, false) }

func validateTree(root *Group, strict bool) *app.ValidationError {
	p := &problems{}
	groups := root.TransitiveGroups()
	apps := root.TransitiveApps()
	for id := range apps {
		if _, clash := groups[id]; clash {
			p.add("/", MsgSameIdentifier)
		}
	}
	if hasCycle(root) {
		p.add("/", MsgCycle)
	}
	if strict {
		exists := func(id string) bool {
			_, a := apps[id]
			_, g := groups[id]
			return a || g
		}
		for _, id := range slices.Sorted(maps.Keys(groups)) {
			for _, d := range groups[id].Dependencies {
				if !exists(d) {
					p.add("/", fmt.Sprintf("Dependency %s of group %s does not exist", d, id))
				}
			}
		}
		for _, id := range slices.Sorted(maps.Keys(apps)) {
			for _, d := range apps[id].Dependencies {
				if !exists(d) {
					p.add("/", fmt.Sprintf("Dependency %s of app %s does not exist", d, id))
				}
			}
		}
	}
	if p.empty() {
		return nil
	}
	return p.err()
}

// hasCycle looks for a cycle in the app dependency graph.
func hasCycle(root *Group) bool {
	edges := EffectiveDependencies(root)
	const (
		visiting = 1
		done     = 2
	)
	mark := map[string]int{}
	var visit func(id string) bool
	visit = func(id string) bool {
		switch mark[id] {
		case visiting:
			return true
		case done:
			return false
		}
		mark[id] = visiting
		for _, d := range edges[id] {
			if visit(d) {
				return true
			}
		}
		mark[id] = done
		return false
	}
	for _, id := range slices.Sorted(maps.Keys(edges)) {
		if visit(id) {
			return true
		}
	}
	return false
}

func scale(g *Group, by float64) {
	for i, a := range g.Apps {
		c := *a
		c.Instances = int(math.Ceil(float64(a.Instances) * by))
		g.Apps[i] = &c
	}
	for _, sub := range g.Groups {
		scale(sub, by)
	}
}

// update applies u to the existing group g in place (g is a clone).
func update(g *Group, u *Update) {
	if u.Apps != nil {
		g.Apps = append([]*app.App(nil), u.Apps...)
	}
	if u.Dependencies != nil {
		g.Dependencies = append([]string(nil), u.Dependencies...)
	}
	if u.EnforceRole != nil {
		g.EnforceRole = *u.EnforceRole
	}
	if u.Groups != nil {
		var subs []*Group
		for _, su := range u.Groups {
			if cur := g.child(su.ID); cur != nil {
				update(cur, su)
				subs = append(subs, cur)
			} else {
				subs = append(subs, fromUpdate(su))
			}
		}
		g.Groups = subs
	}
}

func fromUpdate(u *Update) *Group {
	g := &Group{ID: u.ID, Apps: append([]*app.App(nil), u.Apps...), Dependencies: append([]string(nil), u.Dependencies...)}
	if u.EnforceRole != nil {
		g.EnforceRole = *u.EnforceRole
	}
	for _, su := range u.Groups {
		g.Groups = append(g.Groups, fromUpdate(su))
	}
	return g
}

// put adds or replaces group g in the tree, creating missing parents.
func put(root *Group, g *Group) {
	if g.ID == RootID {
		*root = *g
		return
	}
	parent := ensure(root, app.ParentID(g.ID))
	for i, c := range parent.Groups {
		if c.ID == g.ID {
			parent.Groups[i] = g
			return
		}
	}
	parent.Groups = append(parent.Groups, g)
}

// stamp sets version on every group of next and on every app that is new
// or changed compared with old; unchanged apps keep their definition.
func stamp(old, next *Group, version string) {
	before := old.TransitiveApps()
	next.walk(func(g *Group) {
		if version != "" {
			g.Version = version
		}
		for i, a := range g.Apps {
			prev, existed := before[a.ID]
			if existed && !app.IsUpgrade(prev, a) && prev.Instances == a.Instances {
				g.Apps[i] = prev
				continue
			}
			if version == "" {
				continue
			}
			c := *a
			c.Version = version
			switch {
			case !existed:
				c.VersionInfo = &app.VersionInfo{LastScalingAt: version, LastConfigChangeAt: version}
			case app.IsUpgrade(prev, a) || prev.VersionInfo == nil:
				c.VersionInfo = &app.VersionInfo{LastScalingAt: version, LastConfigChangeAt: version}
			default:
				c.VersionInfo = &app.VersionInfo{LastScalingAt: version, LastConfigChangeAt: prev.VersionInfo.LastConfigChangeAt}
			}
			g.Apps[i] = &c
		}
	})
	finish(next)
}

func result(old, next *Group) *Result {
	apps := next.TransitiveApps()
	var removed []string
	for id := range old.TransitiveApps() {
		if _, ok := apps[id]; !ok {
			removed = append(removed, id)
		}
	}
	slices.Sort(removed)
	return &Result{Root: next, Apps: apps, Removed: removed}
}
