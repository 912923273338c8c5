package integration

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/internal/poll"
	"github.com/agoracluster/agora/security/authn"
	"github.com/agoracluster/agora/security/credentials"
)

// TestSecureCluster runs a master that wants credentials from schedulers, agents and
// operators' changes, with ACLs: an agent with its credential registers and one without is
// refused; Marathon with its principal deploys an app while one without gets nowhere; an
// operator change needs an allowed principal.
func TestSecureCluster(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	creds := write("credentials.json", `{"credentials": [
		{"principal": "ops", "secret": "ops-secret"},
		{"principal": "marathon", "secret": "marathon-secret"},
		{"principal": "agent", "secret": "agent-secret"}]}`)
	acls := write("acls.json", `{
		"permissive": false,
		"register_frameworks": [{"principals": {"values": ["marathon"]}, "roles": {"type": "ANY"}}],
		"run_tasks": [{"principals": {"values": ["marathon"]}, "users": {"type": "ANY"}}],
		"update_weights": [{"principals": {"values": ["ops"]}, "roles": {"type": "ANY"}}]}`)
	agentCred := write("agent.json", `{"principal": "agent", "secret": "agent-secret"}`)
	secret := write("marathon.secret", "marathon-secret\n")

	c := cluster.New(t, cluster.Options{Agents: 1,
		MasterArgs: []string{"--credentials", creds, "--acls", acls, "--authenticate_frameworks",
			"--authenticate_agents", "--authenticate_http_readwrite"},
		AgentArgs: []string{"--credential", agentCred, "--authenticate_http_executors"}})

	// An agent without a credential is refused, and says so.
	port := strconv.Itoa(cluster.FreePort(t))
	rogue := cluster.Start(t, "rogue-agent", "127.0.0.1:"+port, filepath.Join(dir, "rogue"), "agent",
		"--master", c.Master.Addr, "--ip", "127.0.0.1", "--port", port, "--work_dir", filepath.Join(dir, "rogue"),
		"--cgroups_root", "agora-it-"+port)
	poll.Eventually(t, 20*time.Second, func() bool { return strings.Contains(rogue.Output(), "401") },
		"the agent without a credential logs the master's 401")
	if n, err := c.ActiveAgents(); err != nil || n != 1 {
		t.Fatalf("active agents = %d (%v), want only the authenticated one", n, err)
	}

	// Marathon without credentials cannot subscribe (and stops, naming the 401).
	anonPort := strconv.Itoa(cluster.FreePort(t))
	anonDir := filepath.Join(dir, "anon-marathon")
	anon := cluster.Start(t, "anon-marathon", "127.0.0.1:"+anonPort, anonDir, "marathon", "--master", c.Master.Addr,
		"--http_port", anonPort, "--http_address", "127.0.0.1", "--hostname", "127.0.0.1", "--work_dir", anonDir)
	poll.Eventually(t, 20*time.Second, func() bool { return strings.Contains(anon.Output(), "401") },
		"Marathon without credentials logs the master's 401")
	anon.Stop()

	// Marathon with its principal deploys an app; its own REST API wants --http_credentials
	// (but /ping, for load balancers).
	_, open := startMarathon(t, c, "--mesos_authentication_principal", "marathon", "--mesos_authentication_secret_file", secret,
		"--http_credentials", "admin:s3cret", "--http_realm", "agora")
	if code, body := open.do(http.MethodGet, "/v2/apps", ""); code != http.StatusUnauthorized {
		t.Fatalf("GET /v2/apps without credentials: %d %s, want 401", code, body)
	}
	mc := open
	mc.http = authn.Client(nil, credentials.Credential{Principal: "admin", Secret: "s3cret"})
	mc.must(http.MethodPost, "/v2/apps", `{"id":"/secure","cmd":"sleep 1000","cpus":0.1,"mem":16,"instances":1}`, http.StatusCreated, nil)
	mc.settled("/secure", 1, false, 30*time.Second)

	// Operator changes need an allowed principal.
	update := `{"type": "UPDATE_WEIGHTS", "update_weights": {"weight_infos": [{"role": "web", "weight": 2}]}}`
	for _, tt := range []struct {
		user, pass string
		want       int
	}{{"", "", 401}, {"ops", "wrong", 401}, {"marathon", "marathon-secret", 403}, {"ops", "ops-secret", 200}} {
		req, _ := http.NewRequest(http.MethodPost, c.MasterURL()+"/api/v1", strings.NewReader(update))
		req.Header.Set("Content-Type", "application/json")
		if tt.user != "" {
			req.SetBasicAuth(tt.user, tt.pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("UPDATE_WEIGHTS as %q: %s, want %d", tt.user, resp.Status, tt.want)
		}
	}
}
