package dns

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/agoracluster/agora/security/authn"
	"github.com/agoracluster/agora/security/credentials"
)

func TestPollerReadsState(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	master := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/state" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(data)
	}))
	defer master.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "not the leader", http.StatusServiceUnavailable)
	}))
	defer down.Close()

	cfg := DefaultConfig()
	cfg.Masters = []string{strings.TrimPrefix(down.URL, "http://"), strings.TrimPrefix(master.URL, "http://")}
	cfg.Refresh = 10 * time.Millisecond
	p := NewPoller(cfg, zaptest.NewLogger(t))
	lookups := 0
	p.LookupHost = func(_ context.Context, host string) ([]string, error) { lookups++; return []string{"10.9.9.9"}, nil }
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	updates := 0
	var got *State
	err = p.Run(ctx, func(st *State) {
		updates++
		got = st
		if updates == 2 { // a second read: the poller keeps polling
			cancel()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if updates != 2 {
		t.Fatalf("%d updates before the deadline, want 2", updates)
	}
	if lookups != 2 { // the two agents named by hostname, once: the second read uses the cache
		t.Errorf("%d host lookups in two reads, want 2", lookups)
	}
	if got.Leader != "master@10.0.0.1:5050" || len(got.Frameworks) != 3 || got.Slaves[0].IP != "10.0.1.10" || got.Slaves[1].IP != "10.9.9.9" {
		t.Errorf("state: leader %q, %d frameworks, agents %+v", got.Leader, len(got.Frameworks), got.Slaves)
	}
}

func TestConfigValidate(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Domain = ""
	cfg.Refresh = 0
	cfg.Resolvers = []string{"8.8.8.8"}
	err := cfg.Validate()
	for _, want := range []string{"domain: must not be empty", "masters: must not be empty", "refresh: must be positive", `resolvers[0]: "8.8.8.8": want host:port`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to say %q", err, want)
		}
	}
	cfg = DefaultConfig()
	cfg.Masters = []string{"127.0.0.1:5050"}
	if err := cfg.Validate(); err != nil {
		t.Errorf("defaults with a master: %v", err)
	}
}

// TestPollerAuthenticates: a master with --authenticate_http_readonly is read with the
// configured credential.
func TestPollerAuthenticates(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	cred := credentials.Credential{Principal: "dns", Secret: "dns-secret"}
	master := httptest.NewServer(authn.Protect(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(data)
	}), cred, "mesos", func(*http.Request) bool { return false }))
	defer master.Close()
	read := func(cred credentials.Credential) error {
		cfg := DefaultConfig()
		cfg.Masters = []string{strings.TrimPrefix(master.URL, "http://")}
		cfg.Credential = cred
		p := NewPoller(cfg, zaptest.NewLogger(t))
		p.LookupHost = func(context.Context, string) ([]string, error) { return []string{"10.9.9.9"}, nil }
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		read := false
		_ = p.Run(ctx, func(*State) { read = true; cancel() })
		if !read {
			return errors.New("no state read")
		}
		return nil
	}
	if err := read(cred); err != nil {
		t.Errorf("with the credential: %v", err)
	}
	if err := read(credentials.Credential{}); err == nil {
		t.Error("without the credential the master's state was read")
	}
}
