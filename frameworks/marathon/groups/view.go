package groups

import "github.com/agoracluster/agora/frameworks/marathon/app"

// ViewOptions choose what GET /v2/groups embeds (its embed parameter):
// group.apps, group.groups, group.pods. Marathon embeds all three when the
// request names none (DefaultView).
type ViewOptions struct {
	Apps   bool
	Groups bool
	Pods   bool
	// App renders one app, e.g. with tasks or counts for
	// embed=group.apps.tasks; nil renders the plain definition.
	App func(*app.App) any
}

// DefaultView embeds apps, groups and pods, as Marathon does by default.
func DefaultView() ViewOptions { return ViewOptions{Apps: true, Groups: true, Pods: true} }

// GroupView is a group rendered with ViewOptions: fields that are not
// embedded are left out of the JSON, as Marathon's GroupInfo leaves them.
type GroupView struct {
	ID           string       `json:"id"`
	Apps         *[]any       `json:"apps,omitempty"`
	Groups       *[]GroupView `json:"groups,omitempty"`
	Pods         *[]struct{}  `json:"pods,omitempty"`
	Dependencies []string     `json:"dependencies"`
	Version      string       `json:"version,omitempty"`
	EnforceRole  bool         `json:"enforceRole"`
}

// View renders g with opts.
func (g *Group) View(opts ViewOptions) GroupView {
	v := GroupView{ID: g.ID, Dependencies: g.Dependencies, Version: g.Version, EnforceRole: g.EnforceRole}
	if v.Dependencies == nil {
		v.Dependencies = []string{}
	}
	if opts.Apps {
		apps := make([]any, 0, len(g.Apps))
		for _, a := range g.Apps {
			if opts.App != nil {
				apps = append(apps, opts.App(a))
			} else {
				apps = append(apps, a)
			}
		}
		v.Apps = &apps
	}
	if opts.Groups {
		subs := make([]GroupView, 0, len(g.Groups))
		for _, c := range g.Groups {
			subs = append(subs, c.View(opts))
		}
		v.Groups = &subs
	}
	if opts.Pods {
		v.Pods = &[]struct{}{}
	}
	return v
}
