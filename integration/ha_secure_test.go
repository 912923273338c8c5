package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agoracluster/agora/frameworks/ha"
	"github.com/agoracluster/agora/integration/cluster"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/security/authn"
	"github.com/agoracluster/agora/security/credentials"
	"github.com/agoracluster/agora/security/tlsconfig"
	"github.com/agoracluster/agora/security/tlsconfig/tlstest"
)

// writeFiles writes name → content under dir (owner-only) and returns name → path.
func writeFiles(t *testing.T, dir string, files map[string]string) map[string]string {
	t.Helper()
	paths := map[string]string{}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		paths[name] = p
	}
	return paths
}

// TestSecureHAStandbyOverTLS runs two masters in ZooKeeper with mutual TLS on every hop and
// credentials wanted for everything (schedulers, agents, reads and changes), and sends
// requests to the standby over HTTPS: without credentials it refuses them itself (401 with
// the challenge, nobody is sent on); with them it redirects to the leader on the same
// scheme, and a client that follows gets the leader's answer (its master_info, a weight
// change the leader's ACLs allow and one they refuse); a framework given only the standby's
// address subscribes through it with its credential and runs a task.
func TestSecureHAStandbyOverTLS(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "agora-ha-ca")
	masterCert := ca.Write(t, dir, "master")
	agentCert := ca.Write(t, dir, "agent")
	testCert := ca.Write(t, dir, "test")
	files := writeFiles(t, dir, map[string]string{
		"credentials.json": `{"credentials": [
			{"principal": "ops", "secret": "ops-secret"},
			{"principal": "fw", "secret": "fw-secret"},
			{"principal": "agent", "secret": "agent-secret"}]}`,
		"acls.json": `{"permissive": false,
			"register_frameworks": [{"principals": {"values": ["fw"]}, "roles": {"type": "ANY"}}],
			"run_tasks": [{"principals": {"values": ["fw"]}, "users": {"type": "ANY"}}],
			"view_frameworks": [{"principals": {"type": "ANY"}, "users": {"type": "ANY"}}],
			"update_weights": [{"principals": {"values": ["ops"]}, "roles": {"type": "ANY"}}],
			"view_roles": [{"principals": {"type": "ANY"}, "roles": {"type": "ANY"}}]}`,
		"agent.json": `{"principal": "agent", "secret": "agent-secret"}`,
	})
	tlsFiles, err := tlsconfig.Load(tlsconfig.Config{CertFile: testCert.Cert, KeyFile: testCert.Key, CAFile: testCert.CA}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ops := credentials.Credential{Principal: "ops", Secret: "ops-secret"}
	zk := cluster.StartZooKeeper(t)
	c := cluster.New(t, cluster.Options{ZooKeeper: zk.URL("/agora"), Masters: 2, Agents: 1,
		ClientTLS: tlsFiles.Client(), ClientCredential: ops,
		MasterArgs: append(tlsArgs(masterCert, true), "--credentials", files["credentials.json"], "--acls", files["acls.json"],
			"--authenticate_frameworks", "--authenticate_agents", "--authenticate_http_readwrite", "--authenticate_http_readonly"),
		AgentArgs: append(tlsArgs(agentCert, true), "--credential", files["agent.json"])})
	leader, err := c.Leader()
	if err != nil {
		t.Fatal(err)
	}
	standby := c.Masters[0]
	if standby == leader {
		standby = c.Masters[1]
	}

	// A client that sees each answer as it comes (no redirect followed) and one that
	// follows them, both over mutual TLS; credentials are set per request, by hand.
	noFollow := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsFiles.Client()},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	follow := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsFiles.Client()}}
	call := func(hc *http.Client, cred credentials.Credential, body string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, "https://"+standby.Addr+"/api/v1", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		if cred.Principal != "" {
			req.SetBasicAuth(cred.Principal, cred.Secret)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	getMaster := `{"type": "GET_MASTER"}`

	// Without credentials the standby answers 401 itself, with the challenge.
	if resp := call(noFollow, credentials.Credential{}, getMaster); resp.StatusCode != http.StatusUnauthorized ||
		!strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic realm=") || resp.Header.Get("Location") != "" {
		t.Fatalf("GET_MASTER to the standby without credentials: %s, WWW-Authenticate %q, Location %q; want 401 with a challenge and no redirect",
			resp.Status, resp.Header.Get("WWW-Authenticate"), resp.Header.Get("Location"))
	}
	// With them it redirects to the leader, keeping the scheme (a scheme-relative Location).
	resp := call(noFollow, ops, getMaster)
	if want := "//" + leader.Addr + "/api/v1"; resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != want {
		t.Fatalf("GET_MASTER to the standby: %s, Location %q; want 307 to %s", resp.Status, resp.Header.Get("Location"), want)
	}

	// Followed, the call is answered by the leader over HTTPS, the credentials going along.
	resp = call(follow, ops, getMaster)
	body, _ := io.ReadAll(resp.Body)
	var got struct {
		GetMaster struct {
			MasterInfo struct {
				Port    int `json:"port"`
				Address struct {
					IP string `json:"ip"`
				} `json:"address"`
			} `json:"master_info"`
		} `json:"get_master"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &got) != nil {
		t.Fatalf("GET_MASTER through the standby: %s %s", resp.Status, body)
	}
	if resp.Request.URL.Scheme != "https" || resp.Request.URL.Host != leader.Addr {
		t.Errorf("GET_MASTER through the standby was answered by %s, want https://%s", resp.Request.URL, leader.Addr)
	}
	if addr := got.GetMaster.MasterInfo.Address.IP + ":" + strconv.Itoa(got.GetMaster.MasterInfo.Port); addr != leader.Addr {
		t.Errorf("GET_MASTER through the standby names %s, want the leader %s", addr, leader.Addr)
	}

	// A change through the standby: the leader's ACLs decide, and it takes effect there.
	update := func(role string) string {
		return `{"type": "UPDATE_WEIGHTS", "update_weights": {"weight_infos": [{"role": "` + role + `", "weight": 3}]}}`
	}
	if resp := call(follow, credentials.Credential{Principal: "fw", Secret: "fw-secret"}, update("refused")); resp.StatusCode != http.StatusForbidden {
		t.Errorf("UPDATE_WEIGHTS through the standby as fw: %s, want 403 from the leader's ACLs", resp.Status)
	}
	if resp := call(follow, ops, update("web")); resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("UPDATE_WEIGHTS through the standby as ops: %s %s", resp.Status, b)
	}
	var weights struct {
		GetWeights struct {
			WeightInfos []struct {
				Role   string  `json:"role"`
				Weight float64 `json:"weight"`
			} `json:"weight_infos"`
		} `json:"get_weights"`
	}
	req, _ := http.NewRequest(http.MethodPost, c.MasterURL()+"/api/v1", strings.NewReader(`{"type": "GET_WEIGHTS"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	wresp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer wresp.Body.Close()
	wbody, _ := io.ReadAll(wresp.Body)
	if err := json.NewDecoder(bytes.NewReader(wbody)).Decode(&weights); err != nil || wresp.StatusCode != http.StatusOK {
		t.Fatalf("GET_WEIGHTS from the leader: %s %s (%v)", wresp.Status, wbody, err)
	}
	roles := map[string]float64{}
	for _, w := range weights.GetWeights.WeightInfos {
		roles[w.Role] = w.Weight
	}
	if roles["web"] != 3 || roles["refused"] != 0 {
		t.Errorf("the leader's weights after the calls through the standby: %v, want web=3 and nothing for refused", roles)
	}

	// A framework that knows only the standby subscribes through it and runs a task.
	fw := c.StartFramework(cluster.FrameworkOptions{Name: "ha-tls", Masters: []string{standby.Addr},
		TLS: tlsFiles.Client(), Credential: credentials.Credential{Principal: "fw", Secret: "fw-secret"}})
	fw.Launch(context.Background(), cluster.ShellTask("ha-tls-task", "sleep 600", "cpus:0.1;mem:32"))
	fw.WaitState("ha-tls-task", mesos.TaskState_TASK_RUNNING, 60*time.Second)
}

// TestFrameworksHAStandbyOverTLS runs two Marathon and two batch instances in ZooKeeper whose
// REST APIs serve HTTPS with mutual TLS and want --http_credentials, against a master over
// mutual TLS. A standby refuses a request without credentials itself (401 with the
// challenge); one with them it proxies to the leader over HTTPS, checking the leader's
// certificate against its CA and showing its own, with the caller's credentials passed on:
// the leader answers (its https:// address in X-Marathon-Leader), an app created through
// the standby runs its task, and a job created through it is on the leader.
func TestFrameworksHAStandbyOverTLS(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "agora-frameworks-ha-ca")
	masterCert := ca.Write(t, dir, "master")
	agentCert := ca.Write(t, dir, "agent")
	fwCert := ca.Write(t, dir, "framework")
	testCert := ca.Write(t, dir, "test")
	tlsFiles, err := tlsconfig.Load(tlsconfig.Config{CertFile: testCert.Cert, KeyFile: testCert.Key, CAFile: testCert.CA}, nil)
	if err != nil {
		t.Fatal(err)
	}
	zk := cluster.StartZooKeeper(t)
	c := cluster.New(t, cluster.Options{Agents: 1, ClientTLS: tlsFiles.Client(),
		MasterArgs: tlsArgs(masterCert, true), AgentArgs: tlsArgs(agentCert, true)})
	admin := authn.Client(&http.Client{Transport: &http.Transport{TLSClientConfig: tlsFiles.Client()}},
		credentials.Credential{Principal: "admin", Secret: "s3cret"})
	anonymous := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsFiles.Client()}}
	args := append(tlsArgs(fwCert, true), "--http_credentials", "admin:s3cret", "--http_realm", "agora")

	for _, tt := range []struct {
		kind, leaderPath, createPath, create, getPath string
	}{
		{"marathon", "/v2/leader", "/v2/apps", `{"id":"/ha-tls","cmd":"sleep 1000","cpus":0.1,"mem":16,"instances":1}`, "/v2/apps/ha-tls"},
		{"batch", "/v1/leader", "/v1/jobs", `{"id":"ha-tls","run":{"cmd":"echo hello","cpus":0.1,"mem":32}}`, "/v1/jobs/ha-tls"},
	} {
		t.Run(tt.kind, func(t *testing.T) {
			zkURL := zk.URL("/" + tt.kind)
			p1, m1 := startHAFrameworkWith(t, c, tt.kind, zkURL, 1, args)
			p2, m2 := startHAFrameworkWith(t, c, tt.kind, zkURL, 2, args)
			m1.t, m2.t = t, t
			m1.http, m2.http = admin, admin
			leader := leaderOf(t, tt.leaderPath, "", m1, m2)
			_, lc, sc := pickLeader(t, leader, []*cluster.Process{p1, p2}, []marathonClient{m1, m2})

			// Without credentials the standby answers 401 itself.
			req, _ := http.NewRequest(http.MethodPost, sc.base+tt.createPath, strings.NewReader(tt.create))
			req.Header.Set("Content-Type", "application/json")
			resp, err := anonymous.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != `Basic realm="agora"` || resp.Header.Get(ha.ViaHeader) != "" {
				t.Fatalf("POST %s to the standby without credentials: %s, WWW-Authenticate %q, Via %q; want 401 from the standby itself",
					tt.createPath, resp.Status, resp.Header.Get("WWW-Authenticate"), resp.Header.Get(ha.ViaHeader))
			}

			// With them the standby proxies to the leader over HTTPS.
			req, _ = http.NewRequest(http.MethodPost, sc.base+tt.createPath, strings.NewReader(tt.create))
			req.Header.Set("Content-Type", "application/json")
			resp, err = admin.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("POST %s through the standby: %s %s", tt.createPath, resp.Status, body)
			}
			if got, want := resp.Header.Get(ha.LeaderHeader), "https://"+leader; got != want {
				t.Errorf("answer through the standby: %s %q, want %q (the leader over HTTPS)", ha.LeaderHeader, got, want)
			}
			if via := resp.Header.Get(ha.ViaHeader); !strings.Contains(via, strings.TrimPrefix(sc.base, "https://")) {
				t.Errorf("answer through the standby: Via %q, want the standby named", via)
			}
			lc.must(http.MethodGet, tt.getPath, "", http.StatusOK, nil)
			if tt.kind == "marathon" {
				sc.settled("/ha-tls", 1, false, time.Minute) // read through the standby
			}
		})
	}
}
