package tlsconfig

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/agoracluster/agora/security/tlsconfig/tlstest"
)

// serve starts an HTTPS server with f's server configuration.
func serve(t *testing.T, f *Files) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who := "anonymous"
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			who = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		_, _ = io.WriteString(w, who)
	}))
	cfg, err := f.Server()
	if err != nil {
		t.Fatal(err)
	}
	srv.TLS = cfg
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL
}

func get(url string, cfg *tls.Config) (string, error) {
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "agora-ca")
	srvFiles := ca.Write(t, dir, "master")
	cliFiles := ca.Write(t, dir, "agent")
	log := zaptest.NewLogger(t)

	server, err := Load(Config{CertFile: srvFiles.Cert, KeyFile: srvFiles.Key, CAFile: srvFiles.CA, VerifyPeer: true}, log)
	if err != nil {
		t.Fatal(err)
	}
	url := serve(t, server)

	client, err := Load(Config{CertFile: cliFiles.Cert, KeyFile: cliFiles.Key, CAFile: cliFiles.CA}, log)
	if err != nil {
		t.Fatal(err)
	}
	if who, err := get(url, client.Client()); err != nil || who != "agent" {
		t.Fatalf("mutual TLS: %q, %v; want the client named agent", who, err)
	}

	// Without a client certificate the server refuses the connection.
	noCert, err := Load(Config{CAFile: cliFiles.CA}, log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := get(url, noCert.Client()); err == nil {
		t.Error("a client without a certificate got through --tls_verify_peer")
	}

	// A server certificate of another CA is refused by the client, saying so.
	otherDir := t.TempDir()
	other := tlstest.NewCA(t, "other-ca").Write(t, otherDir, "impostor")
	impostor, err := Load(Config{CertFile: other.Cert, KeyFile: other.Key}, log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := get(serve(t, impostor), client.Client()); err == nil || !strings.Contains(err.Error(), "signed by unknown authority") {
		t.Errorf("untrusted server: %v, want the certificate's authority named unknown", err)
	}

	// An expired client certificate is refused by the server.
	cert, key := ca.Issue(t, "expired", time.Now().Add(-time.Hour))
	expiredDir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(expiredDir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	expired, err := Load(Config{CertFile: write("e.crt", cert), KeyFile: write("e.key", key), CAFile: cliFiles.CA}, log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := get(url, expired.Client()); err == nil {
		t.Error("an expired client certificate got through")
	}
}

// TestClientChecksTheServersName: a certificate of the trusted CA for another host or IP
// address than the one dialled is refused, naming what it is valid for; one for the
// address dialled, by IP or by name, is accepted.
func TestClientChecksTheServersName(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "agora-ca")
	client, err := Load(Config{CAFile: ca.Write(t, dir, "client").CA}, nil)
	if err != nil {
		t.Fatal(err)
	}
	serveFor := func(name string, hosts ...string) string {
		f := ca.WriteFor(t, dir, name, hosts...)
		server, err := Load(Config{CertFile: f.Cert, KeyFile: f.Key}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return serve(t, server)
	}
	byName := func(u string) string { return strings.Replace(u, "127.0.0.1", "localhost", 1) }
	tests := []struct {
		name, url, wantErr string
	}{
		{"another IP, dialled by IP", serveFor("other-ip", "127.0.0.2"), "certificate is valid for 127.0.0.2, not 127.0.0.1"},
		{"another name, dialled by IP", serveFor("other-name", "agora.example"), "cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs"},
		{"another name, dialled by name", byName(serveFor("other-name-2", "agora.example")), "certificate is valid for agora.example, not localhost"},
		{"an IP only, dialled by name", byName(serveFor("ip-only", "127.0.0.1")), "certificate is not valid for any names, but wanted to match localhost"},
		{"its IP, dialled by IP", serveFor("right-ip", "127.0.0.1"), ""},
		{"its name, dialled by name", byName(serveFor("right-name", "localhost")), ""},
	}
	for _, tt := range tests {
		_, err := get(tt.url, client.Client())
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v, want it accepted", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: %v, want it refused with %q", tt.name, err, tt.wantErr)
		}
	}
}

// TestClientStopsTrustingARemovedCA: once the CA file no longer holds the CA that signed a
// server's certificate, a client configured before the change refuses the server, saying
// why.
func TestClientStopsTrustingARemovedCA(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "old-ca")
	srv := ca.Write(t, dir, "server")
	server, err := Load(Config{CertFile: srv.Cert, KeyFile: srv.Key}, nil)
	if err != nil {
		t.Fatal(err)
	}
	url := serve(t, server)
	client, err := Load(Config{CAFile: srv.CA}, nil)
	if err != nil {
		t.Fatal(err)
	}
	client.interval = 0
	cfg := client.Client()
	cfg.ClientSessionCache = nil // full handshakes
	if _, err := get(url, cfg); err != nil {
		t.Fatalf("before the change: %v", err)
	}
	if err := os.WriteFile(srv.CA, tlstest.NewCA(t, "new-ca").PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := get(url, cfg); err == nil || !strings.Contains(err.Error(), "not trusted by the CA file as it is now") {
		t.Fatalf("after the CA was taken out: %v, want the server refused", err)
	}
}

func TestCertificatesRotateWithoutRestart(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "agora-ca")
	files := ca.Write(t, dir, "master-v1")
	server, err := Load(Config{CertFile: files.Cert, KeyFile: files.Key}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	server.interval = 0 // check the files at every handshake
	url := serve(t, server)
	client, err := Load(Config{CAFile: files.CA}, nil)
	if err != nil {
		t.Fatal(err)
	}
	name := func() string {
		c := client.Client()
		c.ClientSessionCache = nil // a full handshake each time: a resumed one shows the session's certificate
		var got string
		c.VerifyConnection = func(cs tls.ConnectionState) error { got = cs.PeerCertificates[0].Subject.CommonName; return nil }
		tr := &http.Transport{TLSClientConfig: c, DisableKeepAlives: true}
		resp, err := (&http.Client{Transport: tr}).Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return got
	}
	if got := name(); got != "master-v1" {
		t.Fatalf("server certificate %q", got)
	}
	v2 := ca.Write(t, t.TempDir(), "master-v2")
	for _, p := range [][2]string{{v2.Cert, files.Cert}, {v2.Key, files.Key}} {
		data, _ := os.ReadFile(p[0])
		if err := os.WriteFile(p[1], data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if got := name(); got != "master-v2" {
		t.Fatalf("after rotation the server shows %q, want master-v2", got)
	}
	if err := os.WriteFile(files.Cert, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := name(); got != "master-v2" {
		t.Fatalf("after a bad rotation the server shows %q, want the last good master-v2", got)
	}
}

func TestConfigValidateAndEnv(t *testing.T) {
	if err := (Config{CertFile: "c"}).Validate(); err == nil || !strings.Contains(err.Error(), "go together") {
		t.Errorf("cert without key: %v", err)
	}
	if err := (Config{VerifyPeer: true}).Validate(); err == nil || !strings.Contains(err.Error(), "needs --tls_ca_file") {
		t.Errorf("verify without CA: %v", err)
	}
	env := map[string]string{"LIBPROCESS_SSL_ENABLED": "true", "LIBPROCESS_SSL_CERT_FILE": "/c", "LIBPROCESS_SSL_KEY_FILE": "/k",
		"LIBPROCESS_SSL_CA_FILE": "/ca", "LIBPROCESS_SSL_VERIFY_CERT": "true"}
	got := Config{CertFile: "/flag.crt"}.Env(func(k string) string { return env[k] })
	want := Config{CertFile: "/flag.crt", KeyFile: "/k", CAFile: "/ca", VerifyPeer: true}
	if got != want {
		t.Errorf("Env = %+v, want %+v (flags win)", got, want)
	}
	if got := (Config{}).Env(func(string) string { return "" }); got.Enabled() {
		t.Errorf("no variables: %+v", got)
	}
	if _, err := Load(Config{CertFile: "/missing.crt", KeyFile: "/missing.key"}, nil); err == nil || !strings.Contains(err.Error(), "/missing.crt") {
		t.Errorf("Load of missing files: %v", err)
	}
}
