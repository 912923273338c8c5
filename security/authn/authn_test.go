package authn

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agoracluster/agora/security/credentials"
	"github.com/agoracluster/agora/security/reload"
)

func TestMiddlewareAndTransport(t *testing.T) {
	set := credentials.NewSet([]credentials.Credential{{Principal: "ops", Secret: "pw"}})
	a := New(reload.Static(set), "mesos")
	h := a.Middleware(func(r *http.Request) bool { return r.URL.Path == "/private" },
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "principal="+Principal(r.Context()))
		}))
	srv := httptest.NewServer(h)
	defer srv.Close()

	get := func(hc *http.Client, path string) (int, string, string) {
		t.Helper()
		resp, err := hc.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header.Get("WWW-Authenticate")
	}
	anon := &http.Client{}
	good := Client(nil, credentials.Credential{Principal: "ops", Secret: "pw"})
	bad := Client(nil, credentials.Credential{Principal: "ops", Secret: "nope"})

	if code, body, challenge := get(anon, "/private"); code != 401 || !strings.Contains(body, "no credentials") || challenge != `Basic realm="mesos"` {
		t.Errorf("anonymous private = %d %q %q", code, body, challenge)
	}
	if code, body, _ := get(bad, "/private"); code != 401 || !strings.Contains(body, "bad credentials") {
		t.Errorf("bad secret private = %d %q", code, body)
	}
	if code, body, _ := get(good, "/private"); code != 200 || body != "principal=ops" {
		t.Errorf("good private = %d %q", code, body)
	}
	if code, body, _ := get(anon, "/public"); code != 200 || body != "principal=" {
		t.Errorf("anonymous public = %d %q", code, body)
	}
	if code, body, _ := get(good, "/public"); code != 200 || body != "principal=ops" {
		t.Errorf("good public = %d %q (valid credentials still name the principal)", code, body)
	}
	if code, body, _ := get(bad, "/public"); code != 200 || body != "principal=" {
		t.Errorf("bad public = %d %q", code, body)
	}

	var none *Authenticator
	rec := httptest.NewRecorder()
	none.Middleware(func(*http.Request) bool { return true }, h).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/private", nil))
	if rec.Code != 401 {
		t.Errorf("a nil authenticator in front of the authenticating handler: %d, want its 401", rec.Code)
	}
}

func TestProtectAndParsePair(t *testing.T) {
	cred, err := ParsePair("admin:pa:ss")
	if err != nil || cred.Principal != "admin" || cred.Secret != "pa:ss" {
		t.Fatalf("ParsePair = %+v, %v", cred, err)
	}
	for _, bad := range []string{"admin", ":pw", "admin:"} {
		if _, err := ParsePair(bad); err == nil {
			t.Errorf("ParsePair(%q) succeeded", bad)
		}
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	h := Protect(ok, cred, "Mesosphere", func(r *http.Request) bool { return r.URL.Path == "/ping" })
	for _, tt := range []struct {
		path, user, pass string
		want             int
	}{{"/v2/apps", "", "", 401}, {"/v2/apps", "admin", "wrong", 401}, {"/v2/apps", "admin", "pa:ss", 200}, {"/ping", "", "", 200}} {
		req := httptest.NewRequest(http.MethodGet, tt.path, nil)
		if tt.user != "" {
			req.SetBasicAuth(tt.user, tt.pass)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("%s as %q: %d, want %d", tt.path, tt.user, rec.Code, tt.want)
		}
		if rec.Code == 401 && rec.Header().Get("WWW-Authenticate") != `Basic realm="Mesosphere"` {
			t.Errorf("challenge %q", rec.Header().Get("WWW-Authenticate"))
		}
	}
}
