package marathon

import (
	"encoding/json"
	"net/http"
	"testing"
)

// TestPutSemantics: PUT merges by default (partialUpdate=true), replaces the whole
// definition with partialUpdate=false, PATCH merges and never creates.
func TestPutSemantics(t *testing.T) {
	h := newHarness(t)
	const created = `{"id":"/a","cmd":"sleep 1","cpus":0.25,"mem":64,"instances":0,"labels":{"team":"x"}}`
	type want struct {
		code   int
		cmd    string
		cpus   float64
		mem    float64
		labels int
	}
	tests := []struct {
		name, method, path, body string
		want                     want
	}{
		{"create", http.MethodPost, "/v2/apps", created, want{201, "sleep 1", 0.25, 64, 1}},
		{"put merges by default", http.MethodPut, "/v2/apps/a", `{"cpus":0.5}`, want{200, "sleep 1", 0.5, 64, 1}},
		{"put partialUpdate=true merges", http.MethodPut, "/v2/apps/a?partialUpdate=true", `{"mem":32}`, want{200, "sleep 1", 0.5, 32, 1}},
		{"patch merges", http.MethodPatch, "/v2/apps/a", `{"cmd":"sleep 2"}`, want{200, "sleep 2", 0.5, 32, 1}},
		{"put partialUpdate=false replaces", http.MethodPut, "/v2/apps/a?partialUpdate=false", `{"cmd":"sleep 3","instances":0}`, want{200, "sleep 3", 1, 128, 0}},
		{"replace ignores the body id", http.MethodPut, "/v2/apps/a?partialUpdate=false", `{"id":"/other","cmd":"sleep 4","instances":0,"mem":16}`, want{200, "sleep 4", 1, 16, 0}},
		{"replace without a command is invalid", http.MethodPut, "/v2/apps/a?partialUpdate=false", `{"instances":0}`, want{422, "sleep 4", 1, 16, 0}},
		{"bulk replace", http.MethodPut, "/v2/apps?partialUpdate=false", `[{"id":"a","cmd":"sleep 5","instances":0,"labels":{"a":"1","b":"2"}}]`, want{200, "sleep 5", 1, 128, 2}},
		{"bulk merge", http.MethodPut, "/v2/apps", `[{"id":"a","cpus":2}]`, want{200, "sleep 5", 2, 128, 2}},
		{"bulk patch", http.MethodPatch, "/v2/apps", `[{"id":"a","mem":48}]`, want{200, "sleep 5", 2, 48, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := h.do(tc.method, tc.path, tc.body)
			if resp.StatusCode != tc.want.code {
				t.Fatalf("%s %s = %d %s, want %d", tc.method, tc.path, resp.StatusCode, body, tc.want.code)
			}
			_, body = h.do(http.MethodGet, "/v2/apps/a", "")
			var out struct {
				App struct {
					Cmd    string
					Cpus   float64
					Mem    float64
					Labels map[string]string
				}
			}
			if err := json.Unmarshal([]byte(body), &out); err != nil {
				t.Fatal(err)
			}
			got := want{tc.want.code, out.App.Cmd, out.App.Cpus, out.App.Mem, len(out.App.Labels)}
			if got != tc.want {
				t.Errorf("app = %+v, want %+v (%s)", got, tc.want, body)
			}
		})
	}
}

func TestPutCreatesPatchDoesNot(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name, method, path, body string
		code                     int
	}{
		{"patch unknown", http.MethodPatch, "/v2/apps/new", `{"cmd":"sleep 1","instances":0}`, 404},
		{"bulk patch unknown", http.MethodPatch, "/v2/apps", `[{"id":"/new","cmd":"sleep 1","instances":0}]`, 404},
		{"put creates (full)", http.MethodPut, "/v2/apps/new?partialUpdate=false", `{"cmd":"sleep 1","instances":0}`, 201},
		{"put creates (default)", http.MethodPut, "/v2/apps/new2", `{"cmd":"sleep 1","instances":0}`, 201},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if resp, body := h.do(tc.method, tc.path, tc.body); resp.StatusCode != tc.code {
				t.Fatalf("%s %s = %d %s, want %d", tc.method, tc.path, resp.StatusCode, body, tc.code)
			}
		})
	}
}
