package groups

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"

	"github.com/agoracluster/agora/frameworks/marathon/app"
)

// RootID is the id of the root group.
const RootID = "/"

// Group is one node of Marathon's group tree, rendered as GET /v2/groups
// returns it (GroupInfo): id, apps, groups, pods (always empty here),
// dependencies, version and enforceRole. Apps and Groups are sorted by id.
// App values are shared with the caller's app set and must be treated as
// immutable; operations in this package copy a Group before changing it.
type Group struct {
	ID           string
	Apps         []*app.App
	Groups       []*Group
	Dependencies []string
	Version      string
	EnforceRole  bool
}

// groupJSON fixes the field order and renders empty lists as [].
type groupJSON struct {
	ID           string     `json:"id"`
	Apps         []*app.App `json:"apps"`
	Groups       []*Group   `json:"groups"`
	Pods         []struct{} `json:"pods"`
	Dependencies []string   `json:"dependencies"`
	Version      string     `json:"version,omitempty"`
	EnforceRole  bool       `json:"enforceRole"`
}

// MarshalJSON renders the group as Marathon does.
func (g *Group) MarshalJSON() ([]byte, error) {
	v := groupJSON{
		ID: g.ID, Apps: g.Apps, Groups: g.Groups, Pods: []struct{}{},
		Dependencies: g.Dependencies, Version: g.Version, EnforceRole: g.EnforceRole,
	}
	if v.Apps == nil {
		v.Apps = []*app.App{}
	}
	if v.Groups == nil {
		v.Groups = []*Group{}
	}
	if v.Dependencies == nil {
		v.Dependencies = []string{}
	}
	return json.Marshal(v)
}

// Meta is what a group holds besides its apps and subgroups. The framework
// persists one Meta per group (Metas) so that dependencies, enforceRole,
// versions and empty groups survive a restart; Build puts them back.
type Meta struct {
	ID           string   `json:"id"`
	Dependencies []string `json:"dependencies,omitempty"`
	EnforceRole  bool     `json:"enforceRole,omitempty"`
	Version      string   `json:"version,omitempty"`
}

// Tree builds the group tree that a flat set of apps (by canonical id)
// implies: every parent path of an app becomes a group. A group's version
// is the newest version of the apps below it.
func Tree(apps map[string]*app.App) *Group { return Build(apps, nil) }

// Build is Tree plus the persisted group metadata: groups in metas exist
// even when empty, and carry their dependencies, enforceRole and version.
func Build(apps map[string]*app.App, metas map[string]Meta) *Group {
	root := &Group{ID: RootID}
	for id, m := range metas {
		g := ensure(root, app.CanonicalID(id, RootID))
		g.Dependencies = append([]string(nil), m.Dependencies...)
		g.EnforceRole = m.EnforceRole
		g.Version = m.Version
	}
	for _, a := range apps {
		g := ensure(root, app.ParentID(a.ID))
		g.Apps = append(g.Apps, a)
	}
	finish(root)
	return root
}

// ensure returns the group with canonical id, creating it and its parents.
func ensure(root *Group, id string) *Group {
	g := root
	for _, seg := range segments(id) {
		childID := join(g.ID, seg)
		next := g.child(childID)
		if next == nil {
			next = &Group{ID: childID}
			g.Groups = append(g.Groups, next)
		}
		g = next
	}
	return g
}

// finish sorts children and fills missing versions bottom-up with the
// newest version found below.
func finish(g *Group) string {
	slices.SortFunc(g.Apps, func(a, b *app.App) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(g.Groups, func(a, b *Group) int { return cmp.Compare(a.ID, b.ID) })
	newest := ""
	for _, a := range g.Apps {
		if a.Version > newest {
			newest = a.Version
		}
	}
	for _, c := range g.Groups {
		if v := finish(c); v > newest {
			newest = v
		}
	}
	if g.Version == "" {
		g.Version = newest
	}
	if g.Version > newest {
		newest = g.Version
	}
	return newest
}

func segments(id string) []string {
	var out []string
	for _, s := range strings.Split(id, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func join(parent, seg string) string {
	if parent == RootID {
		return "/" + seg
	}
	return parent + "/" + seg
}

func (g *Group) child(id string) *Group {
	for _, c := range g.Groups {
		if c.ID == id {
			return c
		}
	}
	return nil
}

// Find returns the group with the given id (resolved against the root,
// so "a/b" and "/a/b" are the same), or nil.
func (g *Group) Find(id string) *Group {
	id = app.CanonicalID(id, RootID)
	if id == g.ID {
		return g
	}
	if g.ID != RootID && !strings.HasPrefix(id, g.ID+"/") {
		return nil
	}
	for _, c := range g.Groups {
		if id == c.ID || strings.HasPrefix(id, c.ID+"/") {
			return c.Find(id)
		}
	}
	return nil
}

// App returns the app with the given canonical id anywhere below g, or nil.
func (g *Group) App(id string) *app.App {
	p := g.Find(app.ParentID(id))
	if p == nil {
		return nil
	}
	for _, a := range p.Apps {
		if a.ID == id {
			return a
		}
	}
	return nil
}

// TransitiveApps returns every app in g and below, by id.
func (g *Group) TransitiveApps() map[string]*app.App {
	out := map[string]*app.App{}
	g.walk(func(x *Group) {
		for _, a := range x.Apps {
			out[a.ID] = a
		}
	})
	return out
}

// TransitiveGroups returns g and every group below it, by id.
func (g *Group) TransitiveGroups() map[string]*Group {
	out := map[string]*Group{}
	g.walk(func(x *Group) { out[x.ID] = x })
	return out
}

// Metas returns the metadata of g and every group below it, for the caller
// to persist and later pass to Build.
func (g *Group) Metas() map[string]Meta {
	out := map[string]Meta{}
	g.walk(func(x *Group) {
		out[x.ID] = Meta{ID: x.ID, Dependencies: append([]string(nil), x.Dependencies...), EnforceRole: x.EnforceRole, Version: x.Version}
	})
	return out
}

func (g *Group) walk(fn func(*Group)) {
	fn(g)
	for _, c := range g.Groups {
		c.walk(fn)
	}
}

// clone copies the group structure; apps are shared (immutable).
func (g *Group) clone() *Group {
	c := &Group{
		ID: g.ID, Version: g.Version, EnforceRole: g.EnforceRole,
		Apps:         append([]*app.App(nil), g.Apps...),
		Dependencies: append([]string(nil), g.Dependencies...),
	}
	for _, sub := range g.Groups {
		c.Groups = append(c.Groups, sub.clone())
	}
	return c
}

// EffectiveDependencies returns, for every app in the tree, the ids of the
// apps it must wait for, as Marathon's dependency graph defines them: the
// app's own dependencies (an app id, or a group id meaning every app below
// it) plus, for each group enclosing the app that has dependencies on other
// groups, every app below those groups. Ids that name nothing are ignored,
// as Marathon ignores them. The framework passes these to the planner as
// AppSpec.Dependencies so that group dependencies order deployments too.
func EffectiveDependencies(root *Group) map[string][]string {
	groups := root.TransitiveGroups()
	apps := root.TransitiveApps()
	out := map[string][]string{}
	add := func(from string, to map[string]*app.App) {
		for id := range to {
			if id != from {
				out[from] = append(out[from], id)
			}
		}
	}
	for _, g := range groups {
		for _, dep := range g.Dependencies {
			if d, ok := groups[dep]; ok {
				for id := range g.TransitiveApps() {
					add(id, d.TransitiveApps())
				}
			}
		}
	}
	for id, a := range apps {
		for _, dep := range a.Dependencies {
			if d, ok := apps[dep]; ok {
				add(id, map[string]*app.App{dep: d})
			} else if g, ok := groups[dep]; ok {
				add(id, g.TransitiveApps())
			}
		}
	}
	for id, deps := range out {
		out[id] = dedupe(deps)
	}
	return out
}

func dedupe(ids []string) []string {
	slices.Sort(ids)
	return slices.Compact(ids)
}
