package groups

import (
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/agoracluster/agora/frameworks/marathon/app"
)

const (
	v1 = "2024-01-01T00:00:00.000Z"
	v2 = "2024-01-02T00:00:00.000Z"
)

func mkApp(t *testing.T, id string, instances int, deps ...string) *app.App {
	t.Helper()
	body := map[string]any{"id": id, "cmd": "sleep 100", "instances": instances}
	if len(deps) > 0 {
		body["dependencies"] = deps
	}
	b, _ := json.Marshal(body)
	a, err := app.Parse(b, "/")
	if err != nil {
		t.Fatalf("parse app %s: %v", id, err)
	}
	a.Version = v1
	a.VersionInfo = &app.VersionInfo{LastScalingAt: v1, LastConfigChangeAt: v1}
	return a
}

func appSet(apps ...*app.App) map[string]*app.App {
	m := map[string]*app.App{}
	for _, a := range apps {
		m[a.ID] = a
	}
	return m
}

func ids(m map[string]*app.App) []string {
	out := []string{}
	for id := range m {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

func groupIDs(g *Group) []string {
	out := []string{}
	for id := range g.TransitiveGroups() {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

func TestTreeAndFind(t *testing.T) {
	apps := appSet(mkApp(t, "/a", 1), mkApp(t, "/prod/db/pg", 1), mkApp(t, "/prod/web", 2))
	root := Tree(apps)
	if got, want := groupIDs(root), []string{"/", "/prod", "/prod/db"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("groups = %v, want %v", got, want)
	}
	tests := []struct {
		id   string
		want string // "" = nil
	}{
		{"/", "/"},
		{"prod", "/prod"},
		{"/prod/db", "/prod/db"},
		{"/prod/db/", "/prod/db"},
		{"/pro", ""},
		{"/prod/web", ""}, // an app, not a group
		{"/nope/x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			g := root.Find(tt.id)
			got := ""
			if g != nil {
				got = g.ID
			}
			if got != tt.want {
				t.Fatalf("Find(%q) = %q, want %q", tt.id, got, tt.want)
			}
		})
	}
	if a := root.App("/prod/db/pg"); a == nil || a.ID != "/prod/db/pg" {
		t.Fatalf("App(/prod/db/pg) = %v", a)
	}
	if a := root.App("/prod/db"); a != nil {
		t.Fatalf("App(/prod/db) = %v, want nil", a.ID)
	}
	if root.Version != v1 || root.Find("/prod").Version != v1 {
		t.Fatalf("versions not derived from apps: %q", root.Version)
	}
}

func TestGroupJSON(t *testing.T) {
	root := Build(appSet(mkApp(t, "/prod/web", 1)), map[string]Meta{
		"/prod":  {ID: "/prod", Dependencies: []string{"/db"}, Version: v2},
		"/empty": {ID: "/empty", EnforceRole: true, Version: v2},
	})
	b, err := json.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "apps", "groups", "pods", "dependencies", "version", "enforceRole"} {
		if _, ok := got[k]; !ok {
			t.Errorf("root JSON lacks %q: %s", k, b)
		}
	}
	s := string(b)
	for _, want := range []string{
		`"id":"/","apps":[],"groups":[{"id":"/empty","apps":[],"groups":[],"pods":[],"dependencies":[],"version":"` + v2 + `","enforceRole":true}`,
		`{"id":"/prod","apps":[{"id":"/prod/web"`,
		`"dependencies":["/db"],"version":"` + v2 + `","enforceRole":false}`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("JSON lacks %s\n got %s", want, s)
		}
	}
	// Metas round-trip through Build.
	again := Build(root.TransitiveApps(), root.Metas())
	b2, _ := json.Marshal(again)
	if string(b2) != s {
		t.Fatalf("Build(Metas) differs:\n%s\n%s", b2, s)
	}
}

func TestParseUpdateErrors(t *testing.T) {
	tests := []struct {
		name string
		base string
		body string
		want map[string]string // path -> one expected message (substring)
	}{
		{"app not child", "/", `{"id":"/prod","apps":[{"id":"/other/web","cmd":"x"}]}`,
			map[string]string{"/apps(0)/id": "Identifier is not child of /prod. Hint: use relative paths."}},
		{"nested group not child", "/", `{"id":"/prod","groups":[{"id":"/x/y"}]}`,
			map[string]string{"/groups(0)/id": "Identifier is not child of /prod"}},
		{"nested group without id", "/", `{"id":"/prod","groups":[{"apps":[]}]}`,
			map[string]string{"/groups(0)/id": "error.path.missing"}},
		{"duplicate apps", "/", `{"id":"/g","apps":[{"id":"a","cmd":"x"},{"id":"/g/a","cmd":"y"}]}`,
			map[string]string{"/apps": "elements must be unique"}},
		{"duplicate groups", "/", `{"id":"/g","groups":[{"id":"a"},{"id":"/g/a"}]}`,
			map[string]string{"/groups": "elements must be unique"}},
		{"app and group same id", "/", `{"id":"/g","apps":[{"id":"a","cmd":"x"}],"groups":[{"id":"a"}]}`,
			map[string]string{"/": MsgSameIdentifier}},
		{"bad app field nested", "/", `{"id":"/g","groups":[{"id":"s","apps":[{"id":"a","cmd":"x","cpus":-1}]}]}`,
			map[string]string{"/groups(0)/apps(0)/cpus": "got -1.0, expected 0.0 or more"}},
		{"app without cmd", "/", `{"id":"/g","apps":[{"id":"a"}]}`,
			map[string]string{"/apps(0)": "AppDefinition must either contain"}},
		{"bad group id", "/", `{"id":"/Prod"}`,
			map[string]string{"/id": "must fully match regular expression"}},
		{"bad dependency", "/", `{"id":"/g","dependencies":["/Bad"]}`,
			map[string]string{"/dependencies(0)": "must fully match"}},
		{"negative scaleBy", "/", `{"id":"/g","scaleBy":-2}`,
			map[string]string{"/scaleBy": "got -2.0, expected 0.0 or more"}},
		{"wrong types", "/", `{"id":3,"apps":{},"groups":"x","enforceRole":"yes"}`,
			map[string]string{"/id": "error.expected.jsstring", "/apps": "error.expected.jsarray",
				"/groups": "error.expected.jsarray", "/enforceRole": "error.expected.jsboolean"}},
		{"bad version", "/", `{"version":"yesterday"}`,
			map[string]string{"/version": "error.expected.date.isoformat"}},
		{"app is not an object", "/", `{"id":"/g","apps":[3]}`,
			map[string]string{"/apps(0)": "error.expected.jsobject"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseUpdate([]byte(tt.body), tt.base)
			var ve *app.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want *app.ValidationError", err)
			}
			if ve.Message != app.MsgObjectNotValid {
				t.Fatalf("message = %q", ve.Message)
			}
			for path, msg := range tt.want {
				found := false
				for _, d := range ve.Details {
					if d.Path == path && strings.Contains(strings.Join(d.Errors, "|"), msg) {
						found = true
					}
				}
				if !found {
					t.Errorf("no %q at %s in %+v", msg, path, ve.Details)
				}
			}
		})
	}
}

func TestParseUpdateMalformed(t *testing.T) {
	for _, body := range []string{``, `{`, `[]`, `null`, `"x"`} {
		_, err := ParseUpdate([]byte(body), "/")
		var me *app.MalformedError
		if !errors.As(err, &me) {
			t.Errorf("ParseUpdate(%q) err = %v, want *app.MalformedError", body, err)
		}
	}
}

func TestParseUpdateResolvesIDs(t *testing.T) {
	u, err := ParseUpdate([]byte(`{
		"apps":[{"id":"web","cmd":"x","dependencies":["../db","cache"]}],
		"groups":[{"id":"db","apps":[{"id":"pg","cmd":"x"}],"dependencies":["../cache"]}],
		"dependencies":["/shared"]}`), "/prod")
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != "/prod" || u.Apps[0].ID != "/prod/web" || u.Groups[0].ID != "/prod/db" || u.Groups[0].Apps[0].ID != "/prod/db/pg" {
		t.Fatalf("ids not resolved: %+v", u)
	}
	if got, want := u.Apps[0].Dependencies, []string{"/prod/db", "/prod/web/cache"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("app deps = %v, want %v (Marathon resolves app deps against the app id)", got, want)
	}
	if got, want := u.Groups[0].Dependencies, []string{"/prod/cache"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("group deps = %v, want %v", got, want)
	}
	if u.Dependencies[0] != "/shared" || u.Groups[0].Groups != nil {
		t.Fatalf("deps %v / absent groups %v", u.Dependencies, u.Groups[0].Groups)
	}
	if v, ok := u.RollbackVersion(); ok {
		t.Fatalf("RollbackVersion = %q, want none", v)
	}
	r, err := ParseUpdate([]byte(`{"version":"`+v1+`"}`), "/prod")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := r.RollbackVersion(); !ok || v != v1 {
		t.Fatalf("RollbackVersion = %q %v", v, ok)
	}
}

func mustParse(t *testing.T, body, base string) *Update {
	t.Helper()
	u, err := ParseUpdate([]byte(body), base)
	if err != nil {
		t.Fatalf("ParseUpdate: %v", err)
	}
	return u
}

func TestApply(t *testing.T) {
	current := func(t *testing.T) *Group {
		return Build(appSet(
			mkApp(t, "/prod/web", 2),
			mkApp(t, "/prod/db/pg", 1),
			mkApp(t, "/prod/cache/redis", 3),
			mkApp(t, "/other", 1),
		), map[string]Meta{"/prod": {ID: "/prod", Dependencies: []string{"/other"}}})
	}
	tests := []struct {
		name        string
		body, base  string
		opts        Options
		wantApps    []string
		wantRemoved []string
		check       func(t *testing.T, r *Result)
	}{
		{
			name: "create new group with parents", base: "/",
			body:     `{"id":"/new/team","apps":[{"id":"svc","cmd":"x"}]}`,
			opts:     Options{Create: true, Version: v2},
			wantApps: []string{"/new/team/svc", "/other", "/prod/cache/redis", "/prod/db/pg", "/prod/web"},
			check: func(t *testing.T, r *Result) {
				a := r.Apps["/new/team/svc"]
				if a.Version != v2 || a.VersionInfo.LastConfigChangeAt != v2 || a.VersionInfo.LastScalingAt != v2 {
					t.Errorf("new app not stamped: %+v %+v", a.Version, a.VersionInfo)
				}
				if r.Root.Find("/new").Version != v2 || r.Root.Version != v2 {
					t.Errorf("groups not stamped")
				}
				if r.Apps["/prod/web"].Version != v1 {
					t.Errorf("unchanged app restamped")
				}
			},
		},
		{
			name: "apps replace the group's apps", base: "/prod",
			body:        `{"apps":[{"id":"web","cmd":"sleep 100","instances":5},{"id":"api","cmd":"x"}]}`,
			opts:        Options{Version: v2},
			wantApps:    []string{"/other", "/prod/api", "/prod/cache/redis", "/prod/db/pg", "/prod/web"},
			wantRemoved: nil,
			check: func(t *testing.T, r *Result) {
				w := r.Apps["/prod/web"]
				if w.Instances != 5 || w.Version != v2 || w.VersionInfo.LastConfigChangeAt != v1 || w.VersionInfo.LastScalingAt != v2 {
					t.Errorf("scale-only change stamped wrong: %d %s %+v", w.Instances, w.Version, w.VersionInfo)
				}
				if got := r.Root.Find("/prod").Dependencies; !reflect.DeepEqual(got, []string{"/other"}) {
					t.Errorf("absent dependencies changed: %v", got)
				}
			},
		},
		{
			name: "groups replace subgroups, recursing into existing ones", base: "/",
			body:        `{"id":"/prod","groups":[{"id":"db","apps":[{"id":"pg","cmd":"other"}]}]}`,
			opts:        Options{Version: v2},
			wantApps:    []string{"/other", "/prod/db/pg", "/prod/web"},
			wantRemoved: []string{"/prod/cache/redis"},
			check: func(t *testing.T, r *Result) {
				if vi := r.Apps["/prod/db/pg"].VersionInfo; vi.LastConfigChangeAt != v2 {
					t.Errorf("config change not stamped: %+v", vi)
				}
			},
		},
		{
			name: "empty apps list removes apps", base: "/",
			body:        `{"id":"/prod/cache","apps":[]}`,
			wantApps:    []string{"/other", "/prod/db/pg", "/prod/web"},
			wantRemoved: []string{"/prod/cache/redis"},
		},
		{
			name: "scaleBy scales every app below, rounding up", base: "/",
			body:     `{"id":"/prod","scaleBy":1.5,"apps":[]}`,
			opts:     Options{Version: v2},
			wantApps: []string{"/other", "/prod/cache/redis", "/prod/db/pg", "/prod/web"},
			check: func(t *testing.T, r *Result) {
				got := []int{r.Apps["/prod/web"].Instances, r.Apps["/prod/db/pg"].Instances, r.Apps["/prod/cache/redis"].Instances, r.Apps["/other"].Instances}
				if want := []int{3, 2, 5, 1}; !reflect.DeepEqual(got, want) {
					t.Errorf("instances = %v, want %v", got, want)
				}
			},
		},
		{
			name: "update root", base: "/",
			body:        `{"id":"/","dependencies":[],"groups":[{"id":"prod"}]}`,
			wantApps:    []string{"/other", "/prod/cache/redis", "/prod/db/pg", "/prod/web"},
			wantRemoved: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur := current(t)
			before, _ := json.Marshal(cur)
			r, err := Apply(cur, mustParse(t, tt.body, tt.base), tt.opts)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if got := ids(r.Apps); !reflect.DeepEqual(got, tt.wantApps) {
				t.Errorf("apps = %v, want %v", got, tt.wantApps)
			}
			if !reflect.DeepEqual(r.Removed, tt.wantRemoved) {
				t.Errorf("removed = %v, want %v", r.Removed, tt.wantRemoved)
			}
			if after, _ := json.Marshal(cur); string(after) != string(before) {
				t.Errorf("Apply changed the current tree")
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

func TestApplyErrors(t *testing.T) {
	cur := Tree(appSet(mkApp(t, "/prod/web", 1), mkApp(t, "/db", 1, "/prod"), mkApp(t, "/dbg/pg", 1, "/prod")))
	tests := []struct {
		name string
		body string
		opts Options
		want func(error) bool
	}{
		{"POST existing group", `{"id":"/prod","apps":[]}`, Options{Create: true},
			func(err error) bool { var c *ConflictError; return errors.As(err, &c) && c.ID == "/prod" }},
		{"scaleBy unknown group", `{"id":"/nope","scaleBy":2}`, Options{},
			func(err error) bool { var n *NotFoundError; return errors.As(err, &n) && n.ID == "/nope" }},
		{"rollback", `{"id":"/prod","version":"` + v1 + `"}`, Options{},
			func(err error) bool { return errors.Is(err, ErrRollback) }},
		{"app dependency cycle through a group", `{"id":"/prod","apps":[{"id":"web","cmd":"x","dependencies":["/db"]}]}`, Options{},
			hasMsg("/", MsgCycle)},
		{"group dependency cycle", `{"id":"/prod","dependencies":["/dbg"]}`, Options{},
			hasMsg("/", MsgCycle)},
		{"app over an existing group", `{"id":"/","apps":[{"id":"prod","cmd":"x"}]}`, Options{},
			hasMsg("/", MsgSameIdentifier)},
		{"strict unknown dependency", `{"id":"/x","dependencies":["/missing"]}`, Options{StrictDependencies: true},
			hasMsg("/", "Dependency /missing of group /x does not exist")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Apply(cur, mustParse(t, tt.body, "/"), tt.opts)
			if err == nil || !tt.want(err) {
				t.Fatalf("err = %v", err)
			}
		})
	}
	// A group's dependency on an app (not a group) is ignored, as Marathon's
	// dependency graph ignores it.
	if _, err := Apply(cur, mustParse(t, `{"id":"/prod","dependencies":["/db"]}`, "/"), Options{}); err != nil {
		t.Fatalf("group dependency on an app: %v", err)
	}
	// Without StrictDependencies an unknown dependency is ignored, as Marathon does.
	if _, err := Apply(cur, mustParse(t, `{"id":"/x","dependencies":["/missing"]}`, "/"), Options{}); err != nil {
		t.Fatalf("lenient unknown dependency: %v", err)
	}
}

func hasMsg(path, msg string) func(error) bool {
	return func(err error) bool {
		var ve *app.ValidationError
		if !errors.As(err, &ve) {
			return false
		}
		for _, d := range ve.Details {
			if d.Path == path && strings.Contains(strings.Join(d.Errors, "|"), msg) {
				return true
			}
		}
		return false
	}
}

func TestRemove(t *testing.T) {
	cur := Tree(appSet(mkApp(t, "/prod/web", 1), mkApp(t, "/prod/db/pg", 1), mkApp(t, "/other", 1)))
	tests := []struct {
		id          string
		wantApps    []string
		wantRemoved []string
		wantGroups  []string
	}{
		{"/prod/db", []string{"/other", "/prod/web"}, []string{"/prod/db/pg"}, []string{"/", "/prod"}},
		{"prod", []string{"/other"}, []string{"/prod/db/pg", "/prod/web"}, []string{"/"}},
		{"/", []string{}, []string{"/other", "/prod/db/pg", "/prod/web"}, []string{"/"}},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			r, err := Remove(cur, tt.id, v2)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(r.Apps); !reflect.DeepEqual(got, tt.wantApps) {
				t.Errorf("apps = %v, want %v", got, tt.wantApps)
			}
			if !reflect.DeepEqual(r.Removed, tt.wantRemoved) {
				t.Errorf("removed = %v, want %v", r.Removed, tt.wantRemoved)
			}
			if got := groupIDs(r.Root); !reflect.DeepEqual(got, tt.wantGroups) {
				t.Errorf("groups = %v, want %v", got, tt.wantGroups)
			}
			if r.Root.Version != v2 {
				t.Errorf("root version = %q", r.Root.Version)
			}
		})
	}
	if _, err := Remove(cur, "/nope", v2); err == nil || err.Error() != "Group '/nope' does not exist" {
		t.Fatalf("Remove(/nope) err = %v", err)
	}
	if cur.Find("/prod/db") == nil {
		t.Fatal("Remove changed the current tree")
	}
}

func TestEffectiveDependencies(t *testing.T) {
	root := Build(appSet(
		mkApp(t, "/fe/web", 1, "/be"),
		mkApp(t, "/be/api", 1, "/be/db"),
		mkApp(t, "/be/db", 1),
		mkApp(t, "/jobs/etl", 1),
		mkApp(t, "/lone", 1, "/missing"),
	), map[string]Meta{"/jobs": {ID: "/jobs", Dependencies: []string{"/be"}}})
	got := EffectiveDependencies(root)
	want := map[string][]string{
		"/fe/web":   {"/be/api", "/be/db"},
		"/be/api":   {"/be/db"},
		"/jobs/etl": {"/be/api", "/be/db"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("EffectiveDependencies = %v, want %v", got, want)
	}
	if ve := ValidateTree(root); ve != nil {
		t.Fatalf("ValidateTree: %v", ve)
	}
}

func TestView(t *testing.T) {
	root := Tree(appSet(mkApp(t, "/prod/web", 1), mkApp(t, "/top", 1)))
	full, _ := json.Marshal(root.View(DefaultView()))
	plain, _ := json.Marshal(root)
	if string(full) != string(plain) {
		t.Fatalf("DefaultView differs from the plain rendering:\n%s\n%s", full, plain)
	}
	tests := []struct {
		name string
		opts ViewOptions
		want string
	}{
		{"groups only", ViewOptions{Groups: true},
			`{"id":"/","groups":[{"id":"/prod","groups":[],"dependencies":[],"version":"` + v1 + `","enforceRole":false}],"dependencies":[],"version":"` + v1 + `","enforceRole":false}`},
		{"nothing", ViewOptions{},
			`{"id":"/","dependencies":[],"version":"` + v1 + `","enforceRole":false}`},
		{"apps with custom renderer", ViewOptions{Apps: true, App: func(a *app.App) any { return map[string]string{"id": a.ID} }},
			`{"id":"/","apps":[{"id":"/top"}],"dependencies":[],"version":"` + v1 + `","enforceRole":false}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := json.Marshal(root.View(tt.opts))
			if string(b) != tt.want {
				t.Fatalf("got  %s\nwant %s", b, tt.want)
			}
		})
	}
}
