package integration

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/agoracluster/agora/integration/benchtest"
	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/security/credentials"
	"github.com/agoracluster/agora/security/tlsconfig"
	"github.com/agoracluster/agora/security/tlsconfig/tlstest"
)

// secureBenchOptions adds to opts what a secure benchmark cluster runs with: certificates
// of a CA made for it and mutual TLS on the master and agent, credentials for the
// scheduler and the agent, and executor tokens; it returns the scheduler's side.
func secureBenchOptions(b *testing.B, opts cluster.Options) (cluster.Options, benchtest.Options) {
	b.Helper()
	dir := b.TempDir()
	ca := tlstest.NewCA(b, "agora-bench-ca")
	master, agent, sched := ca.Write(b, dir, "master"), ca.Write(b, dir, "agent"), ca.Write(b, dir, "scheduler")
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			b.Fatal(err)
		}
		return p
	}
	creds := write("credentials", "bench bench-secret\nagent agent-secret\n")
	agentCred := write("agent.credential", "agent agent-secret\n")
	tlsArgs := func(f tlstest.Files) []string {
		return []string{"--tls_cert_file", f.Cert, "--tls_key_file", f.Key, "--tls_ca_file", f.CA, "--tls_verify_peer"}
	}
	opts.MasterArgs = append(append(opts.MasterArgs, tlsArgs(master)...), "--credentials", creds,
		"--authenticate_frameworks", "--authenticate_agents", "--authenticate_http_readwrite")
	opts.AgentArgs = append(append(opts.AgentArgs, tlsArgs(agent)...), "--credential", agentCred, "--authenticate_http_executors")
	files, err := tlsconfig.Load(tlsconfig.Config{CertFile: sched.Cert, KeyFile: sched.Key, CAFile: sched.CA}, nil)
	if err != nil {
		b.Fatal(err)
	}
	opts.ClientTLS = files.Client()
	return opts, benchtest.Options{TLS: files.Client(), Credential: credentials.Credential{Principal: "bench", Secret: "bench-secret"}}
}
