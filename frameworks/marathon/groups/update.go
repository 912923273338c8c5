package groups

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/agoracluster/agora/frameworks/marathon/app"
)

// Update is a decoded GroupUpdate, the body of POST and PUT /v2/groups:
// ids are canonical (resolved against the group they are posted to), apps
// are parsed and validated app definitions with Marathon's defaults.
//
// A nil slice means the field was absent (keep what the group has); a
// non-nil, possibly empty, slice replaces the group's apps, subgroups or
// dependencies as a whole, as Marathon's GroupUpdate does.
type Update struct {
	ID           string
	Apps         []*app.App
	Groups       []*Update
	Dependencies []string
	// ScaleBy, when set, scales every app below the group by this factor
	// (instances rounded up) and ignores the other fields.
	ScaleBy *float64
	// Version, when set, asks to roll the group back to that stored
	// version; the caller handles it (see RollbackVersion).
	Version     string
	EnforceRole *bool
}

// ParseUpdate decodes a GroupUpdate posted to the group base ("/" for
// /v2/groups, "/prod" for /v2/groups/prod). An absent top-level id means
// base itself; nested group ids and app ids are resolved against their
// parent group. Errors are *app.MalformedError (400) or
// *app.ValidationError (422) with paths such as /groups(0)/apps(1)/cpus.
func ParseUpdate(data []byte, base string) (*Update, error) {
	base = app.CanonicalID(base, RootID)
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, &app.MalformedError{Err: err}
	}
	if top == nil {
		return nil, &app.MalformedError{Err: errors.New("body is null")}
	}
	p := &problems{}
	u := decodeUpdate(top, base, "", false, p)
	if !p.empty() {
		return nil, p.err()
	}
	return u, nil
}

// decodeUpdate decodes one group object at JSON path prefix. nested groups
// must have an id that is a direct child of parent; the top-level group
// defaults to parent (the base of the request).
func decodeUpdate(obj map[string]json.RawMessage, parent, prefix string, nested bool, p *problems) *Update {
	u := &Update{ID: parent}
	if raw, ok := obj["id"]; ok && !isNull(raw) {
		var id string
		if json.Unmarshal(raw, &id) != nil {
			p.add(prefix+"/id", "error.expected.jsstring")
		} else {
			for _, msg := range app.IDErrors(id) {
				if msg != app.MsgIDEmpty || nested {
					p.add(prefix+"/id", msg)
				}
			}
			u.ID = app.CanonicalID(id, parent)
			if nested && app.ParentID(u.ID) != parent {
				p.add(prefix+"/id", notChild(parent))
			}
		}
	} else if nested {
		p.add(prefix+"/id", "error.path.missing")
	}
	if raw, ok := obj["dependencies"]; ok && !isNull(raw) {
		var deps []string
		if json.Unmarshal(raw, &deps) != nil {
			p.add(prefix+"/dependencies", "error.expected.jsarray")
		}
		u.Dependencies = make([]string, 0, len(deps))
		for i, d := range deps {
			for _, msg := range app.IDErrors(d) {
				p.add(fmt.Sprintf("%s/dependencies(%d)", prefix, i), msg)
			}
			u.Dependencies = append(u.Dependencies, app.CanonicalID(d, u.ID))
		}
		u.Dependencies = dedupe(u.Dependencies)
	}
	if raw, ok := obj["scaleBy"]; ok && !isNull(raw) {
		var f float64
		if json.Unmarshal(raw, &f) != nil {
			p.add(prefix+"/scaleBy", "error.expected.jsnumber")
		} else if !(f >= 0) {
			p.add(prefix+"/scaleBy", fmt.Sprintf("got %s, expected 0.0 or more", scalaDouble(f)))
		} else {
			u.ScaleBy = &f
		}
	}
	if raw, ok := obj["version"]; ok && !isNull(raw) {
		if json.Unmarshal(raw, &u.Version) != nil {
			p.add(prefix+"/version", "error.expected.jsstring")
		} else if _, err := app.ParseTime(u.Version); err != nil {
			p.add(prefix+"/version", "error.expected.date.isoformat")
		}
	}
	if raw, ok := obj["enforceRole"]; ok && !isNull(raw) {
		var b bool
		if json.Unmarshal(raw, &b) != nil {
			p.add(prefix+"/enforceRole", "error.expected.jsboolean")
		} else {
			u.EnforceRole = &b
		}
	}
	if raw, ok := obj["apps"]; ok && !isNull(raw) {
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) != nil {
			p.add(prefix+"/apps", "error.expected.jsarray")
		}
		u.Apps = make([]*app.App, 0, len(list))
		seen := map[string]bool{}
		for i, rawApp := range list {
			path := fmt.Sprintf("%s/apps(%d)", prefix, i)
			a, err := app.Parse(rawApp, u.ID)
			var ve *app.ValidationError
			var me *app.MalformedError
			switch {
			case errors.As(err, &ve):
				p.merge(path, ve)
				continue
			case errors.As(err, &me):
				p.add(path, "error.expected.jsobject")
				continue
			case err != nil:
				p.add(path, err.Error())
				continue
			}
			if app.ParentID(a.ID) != u.ID {
				p.add(path+"/id", notChild(u.ID))
			}
			if seen[a.ID] {
				p.add(prefix+"/apps", "elements must be unique")
			}
			seen[a.ID] = true
			u.Apps = append(u.Apps, a)
		}
	}
	if raw, ok := obj["groups"]; ok && !isNull(raw) {
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) != nil {
			p.add(prefix+"/groups", "error.expected.jsarray")
		}
		u.Groups = make([]*Update, 0, len(list))
		seen := map[string]bool{}
		for i, rawGroup := range list {
			path := fmt.Sprintf("%s/groups(%d)", prefix, i)
			var sub map[string]json.RawMessage
			if json.Unmarshal(rawGroup, &sub) != nil || sub == nil {
				p.add(path, "error.expected.jsobject")
				continue
			}
			g := decodeUpdate(sub, u.ID, path, true, p)
			if seen[g.ID] {
				p.add(prefix+"/groups", "elements must be unique")
			}
			seen[g.ID] = true
			u.Groups = append(u.Groups, g)
		}
	}
	for _, g := range u.Groups {
		for _, a := range u.Apps {
			if a.ID == g.ID {
				p.add(prefix+"/", MsgSameIdentifier)
			}
		}
	}
	return u
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

// RollbackVersion reports whether the update asks to roll the group back
// to a stored version (PUT /v2/groups/{id} with {"version": …}); the
// caller loads that version and posts it instead.
func (u *Update) RollbackVersion() (string, bool) { return u.Version, u.Version != "" }

// Marathon's messages for group problems.
const (
	MsgSameIdentifier = "Groups and Applications may not have the same identifier."
	MsgCycle          = "Dependency graph has cyclic dependencies."
)

func notChild(parent string) string {
	return fmt.Sprintf("Identifier is not child of %s. Hint: use relative paths.", parent)
}

// problems collects validation messages into Marathon's 422 body.
type problems struct{ details []app.Detail }

func (p *problems) add(path, msg string) {
	if len(path) > 1 && path[len(path)-1] == '/' {
		path = path[:len(path)-1]
	}
	if path == "" {
		path = "/"
	}
	for i := range p.details {
		if p.details[i].Path == path {
			for _, m := range p.details[i].Errors {
				if m == msg {
					return
				}
			}
			p.details[i].Errors = append(p.details[i].Errors, msg)
			return
		}
	}
	p.details = append(p.details, app.Detail{Path: path, Errors: []string{msg}})
}

// merge adds an app's problems under prefix ("/apps(0)" + "/cpus").
func (p *problems) merge(prefix string, ve *app.ValidationError) {
	for _, d := range ve.Details {
		path := prefix + d.Path
		if d.Path == "/" {
			path = prefix
		}
		for _, m := range d.Errors {
			p.add(path, m)
		}
	}
}

func (p *problems) empty() bool { return len(p.details) == 0 }

func (p *problems) err() *app.ValidationError {
	d := append([]app.Detail(nil), p.details...)
	slices.SortStableFunc(d, func(a, b app.Detail) int { return cmp.Compare(a.Path, b.Path) })
	return &app.ValidationError{Message: app.MsgObjectNotValid, Details: d}
}

func scalaDouble(f float64) string {
	s := fmt.Sprintf("%v", f)
	if !bytes.ContainsAny([]byte(s), ".eEn") {
		s += ".0"
	}
	return s
}
