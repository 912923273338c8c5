package integration

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/internal/poll"
	"github.com/agoracluster/agora/security/credentials"
	"github.com/agoracluster/agora/security/tlsconfig"
	"github.com/agoracluster/agora/security/tlsconfig/tlstest"
)

// TestCLIAgainstASecuredCluster runs the CLI against a cluster with mutual TLS on every
// hop and credentials wanted everywhere: a master with --authenticate_http_readonly and
// _readwrite and ACLs, an agent whose own endpoints want credentials too
// (--authenticate_http_readonly, access_sandboxes), and Marathon and batch with
// --http_credentials. With --tls_ca_file, a client certificate and --principal with
// --secret_file (or AGORA_PRINCIPAL and AGORA_SECRET) the CLI deploys an app, lists agents,
// frameworks and tasks, reads a task's stdout from the agent's sandbox, and creates and
// runs a batch job; without credentials it exits 1 with the 401 and the flags to give.
func TestCLIAgainstASecuredCluster(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "agora-cli-ca")
	certs := map[string]tlstest.Files{}
	for _, name := range []string{"master", "agent", "marathon", "batch", "cli"} {
		certs[name] = ca.Write(t, dir, name)
	}
	files := writeFiles(t, dir, map[string]string{
		"credentials.json": `{"credentials": [
			{"principal": "ops", "secret": "ops-secret"},
			{"principal": "marathon", "secret": "marathon-secret"},
			{"principal": "batch", "secret": "batch-secret"},
			{"principal": "agent", "secret": "agent-secret"}]}`,
		"acls.json": `{"permissive": false,
			"register_frameworks": [{"principals": {"values": ["marathon", "batch"]}, "roles": {"type": "ANY"}}],
			"run_tasks": [{"principals": {"values": ["marathon", "batch"]}, "users": {"type": "ANY"}}],
			"view_frameworks": [{"principals": {"values": ["ops"]}, "users": {"type": "ANY"}}],
			"view_tasks": [{"principals": {"values": ["ops"]}, "users": {"type": "ANY"}}],
			"view_executors": [{"principals": {"values": ["ops"]}, "users": {"type": "ANY"}}],
			"access_sandboxes": [{"principals": {"values": ["ops"]}, "users": {"type": "ANY"}}]}`,
		"agent.json":      `{"principal": "agent", "secret": "agent-secret"}`,
		"marathon.secret": "marathon-secret\n",
		"batch.secret":    "batch-secret\n",
		"ops.secret":      "ops-secret\n",
	})
	cli := certs["cli"]
	tlsFiles, err := tlsconfig.Load(tlsconfig.Config{CertFile: cli.Cert, KeyFile: cli.Key, CAFile: cli.CA}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ops := credentials.Credential{Principal: "ops", Secret: "ops-secret"}
	c := cluster.New(t, cluster.Options{Agents: 1, ClientTLS: tlsFiles.Client(), ClientCredential: ops,
		MasterArgs: append(tlsArgs(certs["master"], true), "--credentials", files["credentials.json"], "--acls", files["acls.json"],
			"--authenticate_frameworks", "--authenticate_agents", "--authenticate_http_readwrite", "--authenticate_http_readonly"),
		AgentArgs: append(tlsArgs(certs["agent"], true), "--credential", files["agent.json"],
			"--http_credentials", files["credentials.json"], "--acls", files["acls.json"],
			"--authenticate_http_readonly", "--authenticate_http_readwrite",
			"--hostname", "127.0.0.1")}) // the name its certificate is for, which the CLI reaches it by
	_, mc := startMarathon(t, c, append(tlsArgs(certs["marathon"], true), "--mesos_authentication_principal", "marathon",
		"--mesos_authentication_secret_file", files["marathon.secret"], "--http_credentials", "ops:ops-secret")...)
	_, bc := startBatch(t, c, append(tlsArgs(certs["batch"], true), "--mesos_authentication_principal", "batch",
		"--mesos_authentication_secret_file", files["batch.secret"], "--http_credentials", "ops:ops-secret")...)

	access := []string{"--tls_ca_file", cli.CA, "--tls_cert_file", cli.Cert, "--tls_key_file", cli.Key,
		"--principal", "ops", "--secret_file", files["ops.secret"]}
	master := "--master=" + c.Master.Addr                               // host:port: HTTPS, as --tls_ca_file says
	marathon := "--marathon=" + strings.TrimPrefix(mc.base, "https://") // likewise
	batch := "--batch=" + bc.base                                       // a URL is taken as is
	cliRun := func(timeout time.Duration, args ...string) (string, string, int) {
		t.Helper()
		return agoraCLI(t, timeout, append(args, access...)...)
	}

	// Without credentials the master refuses, and the CLI says what to give.
	_, errOut, code := agoraCLI(t, 30*time.Second, "agents", master, "--tls_ca_file", cli.CA, "--tls_cert_file", cli.Cert, "--tls_key_file", cli.Key)
	if code != 1 || !strings.Contains(errOut, "master: 401") || !strings.Contains(errOut, "--principal") {
		t.Fatalf("agents without credentials: exit %d, stderr %q; want 1 with the 401 and the flags to give", code, errOut)
	}

	app := filepath.Join(dir, "app.json")
	if err := os.WriteFile(app, []byte(`{"id":"/secure/echo","cmd":"echo hello from $MESOS_TASK_ID; sleep 1000","cpus":0.1,"mem":16,"instances":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := cliRun(2*time.Minute, "apps", "deploy", "-f", app, marathon, "--timeout", "90s"); code != 0 || !strings.Contains(out, "succeeded: 1/1 running") {
		t.Fatalf("apps deploy exited %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if out, errOut, code := cliRun(30*time.Second, "agents", master); code != 0 || !strings.Contains(out, c.Agents[0].Addr) {
		t.Fatalf("agents exited %d: %s %s", code, out, errOut)
	}
	if out, errOut, code := cliRun(30*time.Second, "frameworks", master); code != 0 || !strings.Contains(out, "marathon") || !strings.Contains(out, "batch") {
		t.Fatalf("frameworks exited %d: %s %s", code, out, errOut)
	}
	out, errOut, code := cliRun(30*time.Second, "tasks", master)
	if code != 0 || !strings.Contains(out, "secure_echo.") {
		t.Fatalf("tasks exited %d: %s %s", code, out, errOut)
	}
	var taskID string
	for _, f := range strings.Fields(out) {
		if strings.HasPrefix(f, "secure_echo.") {
			taskID = f
		}
	}

	// The task's stdout, read from the agent's sandbox with the same credentials, here
	// given in the environment.
	t.Setenv("AGORA_PRINCIPAL", "ops")
	t.Setenv("AGORA_SECRET", "ops-secret")
	poll.Eventually(t, 30*time.Second, func() error {
		out, errOut, code := agoraCLI(t, 30*time.Second, "logs", taskID, master, "--tls_ca_file", cli.CA, "--tls_cert_file", cli.Cert, "--tls_key_file", cli.Key)
		if code != 0 {
			return errors.New(errOut)
		}
		if !strings.Contains(out, "hello from "+taskID) {
			return errors.New("stdout so far: " + out)
		}
		return nil
	})

	job := filepath.Join(dir, "job.json")
	if err := os.WriteFile(job, []byte(`{"id":"secure-job","run":{"cmd":"echo hello","cpus":0.1,"mem":32}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := cliRun(30*time.Second, "jobs", "create", "-f", job, batch); code != 0 {
		t.Fatalf("jobs create exited %d: %s %s", code, out, errOut)
	}
	if out, errOut, code := cliRun(30*time.Second, "jobs", "run", "secure-job", batch); code != 0 {
		t.Fatalf("jobs run exited %d: %s %s", code, out, errOut)
	}
	if out, errOut, code := cliRun(30*time.Second, "jobs", "list", batch); code != 0 || !strings.Contains(out, "secure-job") {
		t.Fatalf("jobs list exited %d: %s %s", code, out, errOut)
	}
	if out, errOut, code := cliRun(30*time.Second, "top", master, "--count", "1"); code != 0 || !strings.Contains(out, "agents: 1 (1 active)") {
		t.Fatalf("top exited %d: %s %s", code, out, errOut)
	}
}
