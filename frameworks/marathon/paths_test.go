package marathon

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestPathForms checks that every route takes the path forms Marathon takes (an id with
// its leading slash after "/v2/apps/", trailing slashes, escaped slashes, force=True)
// and answers them itself rather than redirecting.
func TestPathForms(t *testing.T) {
	h := newHarness(t)
	if resp, body := h.do(http.MethodPost, "/v2/groups", `{"id":"/g","apps":[{"id":"a","cmd":"sleep 100","cpus":0.1,"mem":16,"instances":0}]}`); resp.StatusCode != http.StatusCreated {
		t.Fatalf("create group = %d %s", resp.StatusCode, body)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tests := []struct {
		name, method, path, body string
		code                     int
		contains                 string
	}{
		{"double slash", http.MethodGet, "/v2/apps//g/a", "", 200, `"id":"/g/a"`},
		{"trailing slash", http.MethodGet, "/v2/apps/g/a/", "", 200, `"id":"/g/a"`},
		{"escaped id", http.MethodGet, "/v2/apps/%2Fg%2Fa", "", 200, `"id":"/g/a"`},
		{"list trailing slash", http.MethodGet, "/v2/apps/", "", 200, `"apps":[`},
		{"double slash tasks", http.MethodGet, "/v2/apps//g/a/tasks", "", 200, `"tasks":[]`},
		{"double slash versions", http.MethodGet, "/v2/apps//g/a/versions/", "", 200, `"versions":[`},
		{"double slash put force=True", http.MethodPut, "/v2/apps//g/a?force=True", `{"instances":0,"cmd":"sleep 200"}`, 200, `"deploymentId"`},
		{"group double slash", http.MethodGet, "/v2/groups//g", "", 200, `"id":"/g"`},
		{"group trailing slash", http.MethodGet, "/v2/groups/g/", "", 200, `"id":"/g"`},
		{"group versions", http.MethodGet, "/v2/groups//g/versions", "", 200, `[`},
		{"root group", http.MethodGet, "/v2/groups/", "", 200, `"id":"/"`},
		{"queue trailing slash", http.MethodGet, "/v2/queue/", "", 200, `"queue":[`},
		{"tasks trailing slash", http.MethodGet, "/v2/tasks/", "", 200, `"tasks":[`},
		{"deployments trailing slash", http.MethodGet, "/v2/deployments/", "", 200, `[`},
		{"info double slash", http.MethodGet, "//v2//info", "", 200, `"frameworkId"`},
		{"queue delay double slash", http.MethodDelete, "/v2/queue//g/a/delay", "", 204, ``},
		{"deployment unknown trailing slash", http.MethodDelete, "/v2/deployments/nope/?force=True", "", 404, `does not exist`},
		{"delete double slash", http.MethodDelete, "/v2/apps//g/a?force=True", "", 200, `"deploymentId"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, h.base+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var b strings.Builder
			if _, err := io.Copy(&b, resp.Body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.code || !strings.Contains(b.String(), tc.contains) {
				t.Fatalf("%s %s = %d %s; want %d containing %s", tc.method, tc.path, resp.StatusCode, b.String(), tc.code, tc.contains)
			}
		})
	}
}
