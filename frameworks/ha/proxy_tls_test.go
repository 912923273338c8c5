package ha

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/agoracluster/agora/security/tlsconfig"
	"github.com/agoracluster/agora/security/tlsconfig/tlstest"
)

// tlsFiles loads the certificate name signed by ca, written under dir.
func tlsFiles(t *testing.T, ca *tlstest.CA, dir, name string, verifyPeer bool) *tlsconfig.Files {
	t.Helper()
	f := ca.Write(t, dir, name)
	files, err := tlsconfig.Load(tlsconfig.Config{CertFile: f.Cert, KeyFile: f.Key, CAFile: f.CA, VerifyPeer: verifyPeer}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestProxyOverTLS: with a peer TLS configuration the follower reaches the leader over
// HTTPS, shows its certificate to a leader that wants one and passes the caller's
// credentials on; a leader whose certificate the CA did not sign is not reached (502).
func TestProxyOverTLS(t *testing.T) {
	ca := tlstest.NewCA(t, "peers")
	leaderFiles := tlsFiles(t, ca, t.TempDir(), "leader", true)
	followerFiles := tlsFiles(t, ca, t.TempDir(), "follower", true)
	rogueFiles := tlsFiles(t, tlstest.NewCA(t, "rogue"), t.TempDir(), "rogue", false)

	type seen struct {
		user, pass, clientCN string
	}
	got := make(chan seen, 1)
	startLeader := func(files *tlsconfig.Files) string {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var s seen
			s.user, s.pass, _ = r.BasicAuth()
			if len(r.TLS.PeerCertificates) > 0 {
				s.clientCN = r.TLS.PeerCertificates[0].Subject.CommonName
			}
			got <- s
			w.WriteHeader(http.StatusCreated)
		}))
		cfg, err := files.Server()
		if err != nil {
			t.Fatal(err)
		}
		srv.TLS = cfg
		srv.StartTLS()
		t.Cleanup(srv.Close)
		return strings.TrimPrefix(srv.URL, "https://")
	}
	trusted := startLeader(leaderFiles)
	untrusted := startLeader(rogueFiles)

	for _, tc := range []struct {
		name     string
		leader   string
		wantCode int
		wantSeen seen
		wantBody string
	}{
		{"a trusted leader", trusted, http.StatusCreated, seen{user: "admin", pass: "s3cret", clientCN: "follower"}, ""},
		{"a leader the CA did not sign", untrusted, http.StatusBadGateway, seen{}, "certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			front := httptest.NewServer(Proxy(fixedLeader{self: "127.0.0.1:9", leader: tc.leader}, followerFiles.Client(), zaptest.NewLogger(t)))
			defer front.Close()
			req, _ := http.NewRequest(http.MethodPost, front.URL+"/v2/apps", strings.NewReader(`{"id":"web"}`))
			req.SetBasicAuth("admin", "s3cret")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantCode || !strings.Contains(string(body), tc.wantBody) {
				t.Fatalf("got %d %s, want %d with %q", resp.StatusCode, body, tc.wantCode, tc.wantBody)
			}
			if tc.wantCode != http.StatusCreated {
				select {
				case s := <-got:
					t.Fatalf("the untrusted leader was reached: %+v", s)
				default:
				}
				return
			}
			if s := <-got; s != tc.wantSeen {
				t.Fatalf("the leader saw %+v, want %+v", s, tc.wantSeen)
			}
		})
	}
}

// TestScheme: the instances' scheme follows whether they serve TLS.
func TestScheme(t *testing.T) {
	if Scheme(nil) != "http" || Scheme(&tls.Config{}) != "https" {
		t.Fatalf("Scheme(nil) = %s, Scheme(tls) = %s", Scheme(nil), Scheme(&tls.Config{}))
	}
}
