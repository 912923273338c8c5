package integration

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/internal/hosttest"
)

// pythonWithMarathon returns a python3 that imports Debian's python3-marathon client;
// without one the test is skipped, and fails in CI (make deps installs it).
func pythonWithMarathon(t *testing.T) string {
	t.Helper()
	var candidates []string
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		candidates = append(candidates, "/usr/bin/python3")
	}
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, p)
	}
	for _, py := range candidates {
		if exec.Command(py, "-c", "import marathon").Run() == nil {
			return py
		}
	}
	hosttest.Require(t, "python3-marathon (a Marathon client library) not installed; make deps installs it")
	return ""
}

// TestMarathonPythonClient drives `agora marathon` with Debian's python3-marathon, used
// unchanged (testdata/marathon_python_client.py): create, scale, kill with and without
// scale, restart, update, versions and rollback, groups, the queue, a forced delete of
// a deployment, events over SSE and delete. The client sends paths such as
// PUT /v2/apps//pyclient/web?force=True and parses every answer into its models.
func TestMarathonPythonClient(t *testing.T) {
	py := pythonWithMarathon(t)
	c := cluster.New(t, cluster.Options{Agents: 1})
	_, mc := startMarathon(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "testdata/marathon_python_client.py", mc.base)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "PASS") {
		t.Fatalf("python3-marathon against agora marathon: %v\n%s", err, out)
	}
}
