package exechost

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/agoracluster/agora/internal/poll"
	"github.com/agoracluster/agora/security/tlsconfig"
	"github.com/agoracluster/agora/security/tlsconfig/tlstest"
)

// Executors with the agent's TLS settings share the certificate files, loaded once, and
// one client: their subscriptions reach the agent over one connection, showing the
// agent's certificate.
func TestExecutorsShareTLS(t *testing.T) {
	ca := tlstest.NewCA(t, "exechost-ca")
	agentFiles := ca.Write(t, t.TempDir(), "agent")
	serverFiles, err := tlsconfig.Load(tlsconfig.Config{CertFile: agentFiles.Cert, KeyFile: agentFiles.Key,
		CAFile: agentFiles.CA, VerifyPeer: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	serverTLS, err := serverFiles.Server()
	if err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int64
	var mu sync.Mutex
	subscribers := map[string]string{} // executor id → client certificate's name
	stop := make(chan struct{})
	agent := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := make([]byte, 4096)
		n, _ := r.Body.Read(body)
		mu.Lock()
		for _, id := range []string{"ex-0", "ex-1", "ex-2"} {
			if strings.Contains(string(body[:n]), id) {
				subscribers[id] = r.TLS.PeerCertificates[0].Subject.CommonName
			}
		}
		mu.Unlock()
		select { // the subscription stays open, without events
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	agent.TLS, agent.EnableHTTP2 = serverTLS, true
	agent.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	agent.StartTLS()
	t.Cleanup(agent.Close)
	t.Cleanup(func() { close(stop) })

	c, _ := startHost(t, DefaultConfig())
	for i, id := range []string{"ex-0", "ex-1", "ex-2"} {
		env := append(executorEnv(t.TempDir()), "MESOS_EXECUTOR_ID="+id,
			"MESOS_AGENT_ENDPOINT="+strings.TrimPrefix(agent.URL, "https://"),
			"LIBPROCESS_SSL_ENABLED=true", "LIBPROCESS_SSL_CERT_FILE="+agentFiles.Cert,
			"LIBPROCESS_SSL_KEY_FILE="+agentFiles.Key, "LIBPROCESS_SSL_CA_FILE="+agentFiles.CA)
		if err := c.Launch(context.Background(), LaunchRequest{ContainerID: "c" + string(rune('0'+i)), Env: env}); err != nil {
			t.Fatal(err)
		}
		if i == 0 { // the first one's connection is up before the others launch
			poll.Eventually(t, 10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(subscribers) == 1 }, "the first executor subscribes")
		}
	}
	poll.Eventually(t, 10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(subscribers) == 3 }, "every executor subscribes")
	mu.Lock()
	for id, name := range subscribers {
		if name != "agent" {
			t.Errorf("%s subscribed showing certificate %q, want the agent's", id, name)
		}
	}
	mu.Unlock()
	if n := conns.Load(); n != 1 {
		t.Errorf("3 executors took %d connections to the agent, want 1", n)
	}
}

// The files of one TLS setting are loaded once; a setting that cannot be loaded is tried
// again by the next executor.
func TestTLSPeerLoadedOnce(t *testing.T) {
	h := New(DefaultConfig(), zaptest.NewLogger(t))
	f := tlstest.NewCA(t, "exechost-ca").Write(t, t.TempDir(), "agent")
	tc := tlsconfig.Config{CertFile: f.Cert, KeyFile: f.Key, CAFile: f.CA}
	a, err := h.tlsPeer(tc)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := h.tlsPeer(tc); err != nil || b != a {
		t.Errorf("a second executor with the same settings got %p (%v), want the shared %p", b, err, a)
	}
	missing := tlsconfig.Config{CertFile: f.Cert + ".missing", KeyFile: f.Key, CAFile: f.CA}
	if _, err := h.tlsPeer(missing); err == nil {
		t.Fatal("a missing certificate loaded")
	}
	if len(h.tlsPeers) != 1 {
		t.Errorf("%d settings kept, want only the loaded one", len(h.tlsPeers))
	}
}
