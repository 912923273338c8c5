package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agoracluster/agora/security/authn"
	"github.com/agoracluster/agora/security/credentials"
	"github.com/agoracluster/agora/security/tlsconfig"
	"github.com/agoracluster/agora/security/tlsconfig/tlstest"
)

// secureServe serves a handler over mutual TLS with files' certificate, requiring cred.
func secureServe(t *testing.T, files tlstest.Files, cred credentials.Credential) func(http.Handler) *httptest.Server {
	return func(h http.Handler) *httptest.Server {
		tf, err := tlsconfig.Load(tlsconfig.Config{CertFile: files.Cert, KeyFile: files.Key, CAFile: files.CA, VerifyPeer: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := tf.Server()
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewUnstartedServer(authn.Protect(h, cred, "mesos", func(*http.Request) bool { return false }))
		srv.TLS = cfg
		srv.StartTLS()
		return srv
	}
}

// TestClientCommandsReachASecuredCluster: with --tls_ca_file (and a client certificate for
// servers that verify peers) and --principal with --secret_file, or AGORA_PRINCIPAL and
// AGORA_SECRET, the client commands read a master and an agent that serve mutual TLS and
// want HTTP Basic credentials; without credentials they fail naming the flags to give.
func TestClientCommandsReachASecuredCluster(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "cli-ca")
	serverFiles, clientFiles := ca.Write(t, dir, "server"), ca.Write(t, dir, "cli")
	ops := credentials.Credential{Principal: "ops", Secret: "ops-secret"}
	master := fakeClusterServing(t, secureServe(t, serverFiles, ops))
	secret := writeFile(t, "secret", "ops-secret\n")
	tlsArgs := []string{"--tls_ca_file", clientFiles.CA, "--tls_cert_file", clientFiles.Cert, "--tls_key_file", clientFiles.Key}

	out, _, err := runCLI(t, append([]string{"logs", "web", "--master", master, "--principal", "ops", "--secret_file", secret}, tlsArgs...)...)
	if err != nil || out != "hello\nworld\n" {
		t.Fatalf("logs over TLS with credentials = %q, %v; want the task's stdout", out, err)
	}

	t.Setenv("AGORA_PRINCIPAL", "ops")
	t.Setenv("AGORA_SECRET", "ops-secret")
	t.Setenv("LIBPROCESS_SSL_ENABLED", "true")
	t.Setenv("LIBPROCESS_SSL_CA_FILE", clientFiles.CA)
	t.Setenv("LIBPROCESS_SSL_CERT_FILE", clientFiles.Cert)
	t.Setenv("LIBPROCESS_SSL_KEY_FILE", clientFiles.Key)
	out, _, err = runCLI(t, "agents", "--master", master)
	if err != nil || !strings.Contains(out, "a1") {
		t.Fatalf("agents with the environment's credentials and TLS = %q, %v", out, err)
	}

	t.Setenv("AGORA_PRINCIPAL", "")
	t.Setenv("AGORA_SECRET", "")
	_, _, err = runCLI(t, "tasks", "--master", master)
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "--principal") {
		t.Fatalf("tasks without credentials: %v, want the 401 and the flags to give", err)
	}
	_, _, err = runCLI(t, "tasks", "--master", master, "--principal", "ops", "--secret_file", writeFile(t, "wrong", "nope"))
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "wrong secret") {
		t.Fatalf("tasks with a wrong secret: %v, want the server's 401", err)
	}
	_, _, err = runCLI(t, "tasks", "--master", master, "--principal", "ops")
	if err == nil || !strings.Contains(err.Error(), "--principal needs --secret_file") {
		t.Fatalf("--principal without a secret: %v", err)
	}

	// Without the CA the server's certificate is not trusted.
	t.Setenv("LIBPROCESS_SSL_ENABLED", "")
	_, _, err = runCLI(t, "tasks", "--master", "https://"+master, "--principal", "ops", "--secret_file", secret)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("tasks without --tls_ca_file: %v, want the certificate refused", err)
	}
}

// TestCredentialsInAURL: a Marathon whose --http_credentials differ from the principal is
// reached with them in --marathon's URL; the password never shows in a message.
func TestCredentialsInAURL(t *testing.T) {
	srv := httptest.NewServer(authn.Protect(&fakeMarathon{}, credentials.Credential{Principal: "admin", Secret: "s3cret"}, "Mesosphere",
		func(*http.Request) bool { return false }))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	secret := writeFile(t, "secret", "ops-secret")
	out, _, err := runCLI(t, "apps", "list", "--marathon", "http://admin:s3cret@"+host, "--principal", "ops", "--secret_file", secret)
	if err != nil || !strings.Contains(out, "/web") {
		t.Fatalf("apps list with the URL's credentials = %q, %v", out, err)
	}
	_, _, err = runCLI(t, "apps", "show", "/nope", "--marathon", "http://admin:wrong-pass@127.0.0.1:1")
	if err == nil || strings.Contains(err.Error(), "wrong-pass") {
		t.Fatalf("error %v: want one that does not show the password", err)
	}
	_, _, err = runCLI(t, "apps", "list", "--marathon", host, "--principal", "ops", "--secret_file", secret)
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("apps list as a principal Marathon does not know: %v, want 401", err)
	}
}
