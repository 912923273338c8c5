package integration

import (
	"crypto/tls"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/internal/poll"
	"github.com/agoracluster/agora/security/tlsconfig"
	"github.com/agoracluster/agora/security/tlsconfig/tlstest"
)

// tlsArgs are the --tls_* flags of a process with the certificate in f.
func tlsArgs(f tlstest.Files, verifyPeer bool) []string {
	args := []string{"--tls_cert_file", f.Cert, "--tls_key_file", f.Key, "--tls_ca_file", f.CA}
	if verifyPeer {
		args = append(args, "--tls_verify_peer")
	}
	return args
}

// TestTLSCluster runs every hop over mutual TLS: agent → master, Marathon → master,
// executor → agent (the task's executor gets the agent's LIBPROCESS_SSL_* settings), and
// the test's own calls; Marathon deploys an app whose task runs. A plain-HTTP client and a
// client whose certificate another CA signed are refused, and the master says why.
func TestTLSCluster(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "agora-test-ca")
	masterCert := ca.Write(t, dir, "master")
	agentCert := ca.Write(t, dir, "agent")
	marathonCert := ca.Write(t, dir, "marathon")
	testCert := ca.Write(t, dir, "test")

	files, err := tlsconfig.Load(tlsconfig.Config{CertFile: testCert.Cert, KeyFile: testCert.Key, CAFile: testCert.CA}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := cluster.New(t, cluster.Options{Agents: 1, ClientTLS: files.Client(),
		MasterArgs: tlsArgs(masterCert, true), AgentArgs: tlsArgs(agentCert, true)})

	_, mc := startMarathon(t, c, tlsArgs(marathonCert, false)...)
	mc.must(http.MethodPost, "/v2/apps", `{"id":"/tls","cmd":"sleep 1000","cpus":0.1,"mem":16,"instances":1}`, http.StatusCreated, nil)
	mc.settled("/tls", 1, false, 30*time.Second)

	// Plain HTTP to the master gets nowhere.
	if resp, err := http.Get("http://" + c.Master.Addr + "/health"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("the master answered plain HTTP")
		}
	}
	// A client certificate of another CA is refused, and the master logs the handshake.
	otherDir := t.TempDir()
	rogue := tlstest.NewCA(t, "rogue-ca").Write(t, otherDir, "rogue")
	rogueFiles, err := tlsconfig.Load(tlsconfig.Config{CertFile: rogue.Cert, KeyFile: rogue.Key, CAFile: testCert.CA}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rc := &http.Client{Transport: &http.Transport{TLSClientConfig: rogueFiles.Client()}}
	if resp, err := rc.Get("https://" + c.Master.Addr + "/health"); err == nil {
		resp.Body.Close()
		t.Error("a client certificate of another CA got through --tls_verify_peer")
	}
	poll.Eventually(t, 10*time.Second, func() bool {
		out := c.Master.Output()
		return strings.Contains(out, "TLS handshake error") && strings.Contains(out, "certificate")
	}, "the master logs the refused handshake")

	// An expired client certificate of the right CA, too, and the master says it expired.
	expiredDir := t.TempDir()
	cert, key := ca.Issue(t, "expired", time.Now().Add(-time.Hour))
	expired := tlstest.Files{Cert: filepath.Join(expiredDir, "e.crt"), Key: filepath.Join(expiredDir, "e.key"), CA: testCert.CA}
	for p, data := range map[string][]byte{expired.Cert: cert, expired.Key: key} {
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	expiredFiles, err := tlsconfig.Load(tlsconfig.Config{CertFile: expired.Cert, KeyFile: expired.Key, CAFile: expired.CA}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ec := &http.Client{Transport: &http.Transport{TLSClientConfig: expiredFiles.Client()}}
	if resp, err := ec.Get("https://" + c.Master.Addr + "/health"); err == nil {
		resp.Body.Close()
		t.Error("an expired client certificate got through --tls_verify_peer")
	}
	poll.Eventually(t, 10*time.Second, func() bool {
		return strings.Contains(c.Master.Output(), "certificate has expired")
	}, "the master logs the expired certificate")

	// Without a client certificate, too.
	noCert := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: files.Client().RootCAs}}}
	if resp, err := noCert.Get("https://" + c.Master.Addr + "/health"); err == nil {
		resp.Body.Close()
		t.Error("a client without a certificate got through --tls_verify_peer")
	}
}
