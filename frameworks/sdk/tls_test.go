package sdk_test

import (
	"context"
	"sync"
	"testing"

	"github.com/agoracluster/agora/frameworks/sdk"
	"github.com/agoracluster/agora/frameworks/sdk/sdktest"
	"github.com/agoracluster/agora/security/tlsconfig"
	"github.com/agoracluster/agora/security/tlsconfig/tlstest"
)

// Over TLS the subscription and a burst of concurrent calls share one connection to the
// master (HTTP/2): no call waits for a handshake of its own.
func TestTLSCallsShareOneConnection(t *testing.T) {
	ca := tlstest.NewCA(t, "sdk-test-ca")
	load := func(name string) *tlsconfig.Files {
		f := ca.Write(t, t.TempDir(), name)
		files, err := tlsconfig.Load(tlsconfig.Config{CertFile: f.Cert, KeyFile: f.Key, CAFile: f.CA}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return files
	}
	serverTLS, err := load("master").Server()
	if err != nil {
		t.Fatal(err)
	}
	m := sdktest.NewTLSMaster(serverTLS)
	t.Cleanup(m.Close)
	cfg := testConfig(m.Addr())
	cfg.TLS = load("scheduler").Client()
	h := newRecorder()
	s, _ := run(t, cfg, h)
	recv(t, h.subscribed, "SUBSCRIBED")

	const calls = 64
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for i := range calls {
		wg.Go(func() {
			errs <- s.Message(context.Background(), sdk.AgentID("a"), sdk.ExecutorID("e"), []byte{byte(i)})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := m.Connections(); n != 1 {
		t.Errorf("the subscription and %d concurrent calls took %d connections, want 1", calls, n)
	}
}
