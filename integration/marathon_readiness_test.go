package integration

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/internal/hosttest"
	"github.com/agoracluster/agora/internal/poll"
)

// python3 returns a python3 that a task's shell finds without the test's environment.
func python3(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	return hosttest.RequireCommand(t, "python3") // the tasks' HTTP server
}

// TestMarathonReadinessRollingRestart: the tasks serve HTTP (python3 -m http.server in the
// sandbox) and become ready a few seconds after they start (the file /ready appears);
// Marathon probes them itself, a deployment finishes only once its new tasks are ready,
// and a rolling restart keeps the old tasks until the new ones are.
func TestMarathonReadinessRollingRestart(t *testing.T) {
	py := python3(t)
	c := cluster.New(t, cluster.Options{Agents: 1, AgentArgs: []string{"--hostname", "127.0.0.1"}})
	_, mc := startMarathon(t, c)
	def := `{"id":"/ready","cpus":0.1,"mem":32,"instances":2,
		"cmd":"rm -f ready; (sleep 3; touch ready) & exec ` + py + ` -m http.server $PORT0 --bind 127.0.0.1",
		"portDefinitions":[{"port":0,"name":"http"}],
		"readinessChecks":[{"name":"warm","portName":"http","path":"/ready","intervalSeconds":2,"timeoutSeconds":1}]}`
	mc.must(http.MethodPost, "/v2/apps", def, http.StatusCreated, nil)
	// Waiting for readiness shows in the deployment.
	mc.waitDeployment(`"ready":false`, 60*time.Second)
	before := mc.settled("/ready", 2, false, 60*time.Second)

	mc.must(http.MethodPost, "/v2/apps/ready/restart", "", http.StatusOK, nil)
	// While the new tasks warm up, the old ones keep running beside them.
	poll.Eventually(t, 60*time.Second, func() error {
		code, b := mc.do(http.MethodGet, "/v2/deployments", "")
		if code != http.StatusOK || !strings.Contains(string(b), `"ready":false`) {
			return fmt.Errorf("deployments: %d %s", code, b)
		}
		a, err := mc.app("/ready")
		if err != nil {
			return err
		}
		running := 0
		for _, tk := range a.Tasks {
			if tk.State == "TASK_RUNNING" {
				running++
			}
		}
		if running != 4 {
			return fmt.Errorf("%d tasks running, want the 2 old and the 2 new ones", running)
		}
		return nil
	})
	after := mc.settled("/ready", 2, false, 60*time.Second)
	for _, tk := range after.Tasks {
		if tk.Version == before.Version {
			t.Fatalf("task %s still runs version %s after the restart", tk.ID, tk.Version)
		}
	}
}

// waitDeployment waits until /v2/deployments contains want.
func (m marathonClient) waitDeployment(want string, timeout time.Duration) {
	m.t.Helper()
	poll.Eventually(m.t, timeout, func() error {
		code, b := m.do(http.MethodGet, "/v2/deployments", "")
		if code != http.StatusOK || !strings.Contains(string(b), want) {
			return fmt.Errorf("deployments: %d %s", code, b)
		}
		return nil
	})
}
