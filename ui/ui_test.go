package ui

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func TestHandlerServesAssets(t *testing.T) {
	h, err := New()
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux, nil)
	for _, tc := range []struct {
		name, method, path string
		wantCode           int
		wantType           string
		wantBody           string
		wantHeader         map[string]string
	}{
		{name: "page", method: "GET", path: "/ui/", wantCode: 200, wantType: "text/html; charset=utf-8", wantBody: `<script type="module" src="app.js">`,
			wantHeader: map[string]string{"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}},
		{name: "page by name", method: "GET", path: "/ui/index.html", wantCode: 200, wantType: "text/html; charset=utf-8"},
		{name: "script", method: "GET", path: "/ui/app.js", wantCode: 200, wantType: "text/javascript; charset=utf-8", wantBody: "OperatorStream",
			wantHeader: map[string]string{"Cache-Control": "no-cache"}},
		{name: "parser", method: "GET", path: "/ui/recordio.js", wantCode: 200, wantType: "text/javascript; charset=utf-8", wantBody: "class RecordIOParser"},
		{name: "style", method: "GET", path: "/ui/app.css", wantCode: 200, wantType: "text/css; charset=utf-8"},
		{name: "icon", method: "GET", path: "/ui/favicon.svg", wantCode: 200, wantType: "image/svg+xml"},
		{name: "head has no body", method: "HEAD", path: "/ui/app.js", wantCode: 200, wantType: "text/javascript; charset=utf-8"},
		{name: "unknown asset", method: "GET", path: "/ui/nope.js", wantCode: 404, wantBody: "No such asset of the web UI: /ui/nope.js"},
		{name: "no directory listing", method: "GET", path: "/ui/assets/", wantCode: 404},
		{name: "post refused", method: "POST", path: "/ui/app.js", wantCode: 405, wantHeader: map[string]string{"Allow": "GET, HEAD"}},
		{name: "root redirects", method: "GET", path: "/", wantCode: 302, wantHeader: map[string]string{"Location": "/ui/"}},
		{name: "ui without slash redirects", method: "GET", path: "/ui", wantCode: 302, wantHeader: map[string]string{"Location": "/ui/"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.wantCode {
				t.Fatalf("%s %s: %d, want %d: %s", tc.method, tc.path, rec.Code, tc.wantCode, rec.Body)
			}
			if tc.wantType != "" && rec.Header().Get("Content-Type") != tc.wantType {
				t.Errorf("Content-Type %q, want %q", rec.Header().Get("Content-Type"), tc.wantType)
			}
			if !strings.Contains(rec.Body.String(), tc.wantBody) {
				t.Errorf("body does not contain %q:\n%.300s", tc.wantBody, rec.Body)
			}
			for k, v := range tc.wantHeader {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if tc.method == "HEAD" && rec.Body.Len() != 0 {
				t.Errorf("HEAD answered a body of %d bytes", rec.Body.Len())
			}
		})
	}
}

func TestHandlerRevalidatesWithETag(t *testing.T) {
	h, err := New()
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/ui/app.js", nil))
	etag := rec.Header().Get("ETag")
	if !strings.HasPrefix(etag, `"`) || len(etag) < 10 {
		t.Fatalf("ETag %q, want a strong tag", etag)
	}
	for _, tc := range []struct {
		name, ifNoneMatch string
		want              int
	}{
		{"same tag", etag, http.StatusNotModified},
		{"weak form of the tag", "W/" + etag, http.StatusNotModified},
		{"among others", `"x", ` + etag, http.StatusNotModified},
		{"other tag", `"stale"`, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/ui/app.js", nil)
			req.Header.Set("If-None-Match", tc.ifNoneMatch)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Errorf("If-None-Match %s: %d, want %d", tc.ifNoneMatch, rec.Code, tc.want)
			}
			if tc.want == http.StatusNotModified && rec.Body.Len() != 0 {
				t.Errorf("304 with a body of %d bytes", rec.Body.Len())
			}
		})
	}
}

// The page loads nothing from outside: every script and stylesheet it names is an asset.
func TestPageNamesOnlyLocalAssets(t *testing.T) {
	h, err := New()
	if err != nil {
		t.Fatal(err)
	}
	page := string(h.assets["index.html"].body)
	for _, bad := range []string{"http://", "https://", "//cdn"} {
		if strings.Contains(page, bad) {
			t.Errorf("index.html refers to %q", bad)
		}
	}
	for name, a := range h.assets {
		if strings.HasSuffix(name, ".js") && (strings.Contains(string(a.body), "from 'http") || strings.Contains(string(a.body), `from "http`)) {
			t.Errorf("%s imports a module from outside", name)
		}
	}
}

func TestNewRefusesUnknownKindsAndMissingPage(t *testing.T) {
	for _, tc := range []struct {
		name string
		fs   fstest.MapFS
		want string
	}{
		{"unknown kind", fstest.MapFS{"a/index.html": {Data: []byte("x")}, "a/x.exe": {Data: []byte("x")}}, `no content type for ".exe"`},
		{"no page", fstest.MapFS{"a/app.js": {Data: []byte("x")}}, "no index.html"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := newHandler(tc.fs, "a"); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// The page may load nothing but its own assets (no CDN); it may connect to agents and
// frameworks on other origins.
func TestPageContentSecurityPolicy(t *testing.T) {
	h, err := New()
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/ui/", nil))
	csp := rec.Header().Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self' http: https:"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/ui/app.js", nil))
	if csp := rec.Header().Get("Content-Security-Policy"); csp != "" {
		t.Errorf("a script answered with a Content-Security-Policy: %q", csp)
	}
}
