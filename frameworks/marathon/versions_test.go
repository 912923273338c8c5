package marathon

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"
)

// nextMilli waits until the wall clock is past the millisecond of the last change, so
// that the next change gets a version of its own.
func nextMilli() {
	start := time.Now().UnixMilli()
	for time.Now().UnixMilli() == start {
	}
}

func (h *harness) change(method, path, body string, code int) string {
	h.t.Helper()
	nextMilli()
	resp, out := h.do(method, path, body)
	if resp.StatusCode != code {
		h.t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, out, code)
	}
	var r struct{ Version string }
	_ = json.Unmarshal([]byte(out), &r)
	return r.Version
}

func (h *harness) getJSON(path string, v any) {
	h.t.Helper()
	resp, body := h.do(http.MethodGet, path, "")
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("GET %s = %d %s", path, resp.StatusCode, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		h.t.Fatalf("GET %s: %v: %s", path, err, body)
	}
}

// TestVersionRetention: at most MaxVersions versions of an app and of the root group are
// kept, the oldest pruned first; the current one always stays.
func TestVersionRetention(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxVersions = 3 })
	h.change(http.MethodPost, "/v2/apps", `{"id":"/a","cmd":"sleep 1","instances":0}`, http.StatusCreated)
	var all []string
	for i := 2; i <= 6; i++ {
		all = append(all, h.change(http.MethodPut, "/v2/apps/a", fmt.Sprintf(`{"cmd":"sleep %d"}`, i), http.StatusOK))
	}
	var got struct{ Versions []string }
	h.getJSON("/v2/apps/a/versions", &got)
	if want := []string{all[4], all[3], all[2]}; !reflect.DeepEqual(got.Versions, want) {
		t.Errorf("app versions = %v, want %v", got.Versions, want)
	}
	var roots []string
	h.getJSON("/v2/groups/versions", &roots)
	if want := []string{all[4], all[3], all[2]}; !reflect.DeepEqual(roots, want) {
		t.Errorf("root versions = %v, want %v", roots, want)
	}
	if resp, _ := h.do(http.MethodGet, "/v2/apps/a/versions/"+all[1], ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("pruned version = %d, want 404", resp.StatusCode)
	}
	// A rollback to a kept version works.
	h.change(http.MethodPut, "/v2/apps/a", `{"version":"`+all[2]+`"}`, http.StatusOK)
	var cur struct{ App struct{ Cmd string } }
	h.getJSON("/v2/apps/a", &cur)
	if cur.App.Cmd != "sleep 4" {
		t.Errorf("after rollback cmd = %q", cur.App.Cmd)
	}
}

// TestGroupRollback: PUT /v2/groups/{id} with {"version": …} makes the group what it was,
// apps deleted since included, and leaves the rest of the tree alone; the root rolls back
// the same way.
func TestGroupRollback(t *testing.T) {
	h := newHarness(t)
	v1 := h.change(http.MethodPost, "/v2/groups", `{"id":"/prod","dependencies":["/base"],"apps":[{"id":"db","cmd":"sleep 1","instances":0},{"id":"web","cmd":"sleep 1","instances":0}]}`, http.StatusCreated)
	v2 := h.change(http.MethodPut, "/v2/groups/prod", `{"dependencies":[],"apps":[{"id":"db","cmd":"sleep 2","instances":0}]}`, http.StatusOK)
	h.change(http.MethodPost, "/v2/apps", `{"id":"/other","cmd":"sleep 1","instances":0}`, http.StatusCreated)
	if resp, _ := h.do(http.MethodGet, "/v2/apps/prod/web", ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("web still there: %d", resp.StatusCode)
	}
	var vs []string
	h.getJSON("/v2/groups/prod/versions", &vs)
	if len(vs) != 3 || vs[1] != v2 || vs[2] != v1 {
		t.Errorf("group versions = %v, want [<other> %s %s]", vs, v2, v1)
	}

	v4 := h.change(http.MethodPut, "/v2/groups/prod", `{"version":"`+v1+`"}`, http.StatusOK)
	if v4 <= v2 {
		t.Errorf("rollback version %s not after %s", v4, v2)
	}
	var g struct {
		ID           string
		Dependencies []string
		Version      string
		Apps         []struct {
			ID, Cmd, Version string
		}
	}
	h.getJSON("/v2/groups/prod", &g)
	if len(g.Apps) != 2 || g.Apps[0].Cmd != "sleep 1" || g.Apps[1].ID != "/prod/web" || g.Apps[1].Cmd != "sleep 1" ||
		!reflect.DeepEqual(g.Dependencies, []string{"/base"}) || g.Version != v4 {
		t.Errorf("group after rollback: %+v", g)
	}
	if resp, _ := h.do(http.MethodGet, "/v2/apps/other", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("/other after the group's rollback = %d", resp.StatusCode)
	}
	var app struct{ App struct{ Version string } }
	h.getJSON("/v2/apps/prod/db", &app)
	if app.App.Version != v4 {
		t.Errorf("db version = %s, want %s", app.App.Version, v4)
	}

	// Unknown versions and groups.
	h.change(http.MethodPut, "/v2/groups/prod", `{"version":"2001-01-01T00:00:00.000Z"}`, http.StatusNotFound)
	h.change(http.MethodPut, "/v2/groups/nope", `{"version":"`+v1+`"}`, http.StatusNotFound)

	// The root rolls back as a whole: /other did not exist at v1.
	h.change(http.MethodPut, "/v2/groups", `{"version":"`+v1+`"}`, http.StatusOK)
	if resp, _ := h.do(http.MethodGet, "/v2/apps/other", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/other after the root's rollback = %d", resp.StatusCode)
	}
	if resp, _ := h.do(http.MethodGet, "/v2/apps/prod/web", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("/prod/web after the root's rollback = %d", resp.StatusCode)
	}
}
