package cors

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, value, want, wantErr string
	}{
		{name: "empty allows none", value: "", want: ""},
		{name: "any", value: "*", want: "*"},
		{name: "list normalised", value: "http://UI.example.com:5050, https://b.example.com/", want: "http://ui.example.com:5050,https://b.example.com"},
		{name: "duplicates once", value: "http://a:1,http://a:1", want: "http://a:1"},
		{name: "no scheme", value: "ui.example.com", wantErr: `origin "ui.example.com": want http:// or https://`},
		{name: "path", value: "http://a/ui", wantErr: `origin "http://a/ui": want scheme://host[:port]`},
		{name: "every bad one named", value: "ftp://a,http://b/x", wantErr: `"ftp://a"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse(tc.value)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Parse(%q) error %v, want one containing %q", tc.value, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.String() != tc.want {
				t.Errorf("Parse(%q) = %q, want %q", tc.value, p.String(), tc.want)
			}
		})
	}
	if _, err := Parse("ftp://a,http://b/x"); err == nil || !strings.Contains(err.Error(), `"http://b/x"`) {
		t.Errorf("both bad origins should be named, got %v", err)
	}
}

func TestWrap(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Next", r.Method)
		w.WriteHeader(http.StatusTeapot)
	})
	for _, tc := range []struct {
		name        string
		policy      string
		method      string
		headers     map[string]string
		wantCode    int
		wantOrigin  string
		wantMethods bool
		wantNext    bool
	}{
		{name: "no origin passes through", policy: "http://ui:5050", method: "GET", wantCode: 418, wantNext: true},
		{name: "allowed origin echoed", policy: "http://ui:5050", method: "POST", headers: map[string]string{"Origin": "http://ui:5050"}, wantCode: 418, wantOrigin: "http://ui:5050", wantNext: true},
		{name: "origin matched without case", policy: "http://ui:5050", method: "GET", headers: map[string]string{"Origin": "http://UI:5050"}, wantCode: 418, wantOrigin: "http://UI:5050", wantNext: true},
		{name: "any origin gets star", policy: "*", method: "GET", headers: map[string]string{"Origin": "http://x"}, wantCode: 418, wantOrigin: "*", wantNext: true},
		{name: "other origin gets no header", policy: "http://ui:5050", method: "GET", headers: map[string]string{"Origin": "http://evil"}, wantCode: 418, wantNext: true},
		{name: "preflight answered", policy: "http://ui:5050", method: "OPTIONS", headers: map[string]string{"Origin": "http://ui:5050", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}, wantCode: 204, wantOrigin: "http://ui:5050", wantMethods: true},
		{name: "preflight of other origin refused", policy: "http://ui:5050", method: "OPTIONS", headers: map[string]string{"Origin": "http://evil", "Access-Control-Request-Method": "POST"}, wantCode: 403},
		{name: "plain OPTIONS reaches the handler", policy: "http://ui:5050", method: "OPTIONS", headers: map[string]string{"Origin": "http://ui:5050"}, wantCode: 418, wantOrigin: "http://ui:5050", wantNext: true},
		{name: "empty policy is the handler itself", policy: "", method: "OPTIONS", headers: map[string]string{"Origin": "http://ui:5050", "Access-Control-Request-Method": "POST"}, wantCode: 418, wantNext: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := MustParse(tc.policy).Wrap(next)
			req := httptest.NewRequest(tc.method, "/api/v1", nil)
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.wantCode {
				t.Errorf("status %d, want %d", rec.Code, tc.wantCode)
			}
			if got := rec.Header().Get("Access-Control-Allow-Origin"); got != tc.wantOrigin {
				t.Errorf("Access-Control-Allow-Origin %q, want %q", got, tc.wantOrigin)
			}
			if got := rec.Header().Get("Access-Control-Allow-Methods"); (got != "") != tc.wantMethods || (tc.wantMethods && !strings.Contains(got, "POST")) {
				t.Errorf("Access-Control-Allow-Methods %q, want present: %v", got, tc.wantMethods)
			}
			if got := rec.Header().Get("X-Next") != ""; got != tc.wantNext {
				t.Errorf("handler called: %v, want %v", got, tc.wantNext)
			}
			for _, h := range []string{"Content-Type", "Authorization"} {
				if tc.wantMethods && !strings.Contains(rec.Header().Get("Access-Control-Allow-Headers"), h) {
					t.Errorf("Access-Control-Allow-Headers %q lacks %s", rec.Header().Get("Access-Control-Allow-Headers"), h)
				}
			}
			if tc.wantOrigin != "" && !tc.wantMethods && !strings.Contains(rec.Header().Get("Access-Control-Expose-Headers"), "WWW-Authenticate") {
				t.Errorf("Access-Control-Expose-Headers %q lacks WWW-Authenticate", rec.Header().Get("Access-Control-Expose-Headers"))
			}
		})
	}
}
