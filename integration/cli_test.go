package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/internal/poll"
)

// agoraCLI runs `agora args…` against the test cluster and returns its stdout, stderr and
// exit code.
func agoraCLI(t *testing.T, timeout time.Duration, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, cluster.Binary(t), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out.String(), errb.String(), 0
	case errors.As(err, &exit):
		return out.String(), errb.String(), exit.ExitCode()
	default:
		t.Fatalf("agora %v: %v", args, err)
		return "", "", -1
	}
}

// TestCLIAgainstACluster deploys an app with `agora apps deploy`, lists its tasks with
// `agora tasks`, reads a task's stdout with `agora logs` and deletes the app, all through
// the real binary against a real master, agent and `agora marathon`.
func TestCLIAgainstACluster(t *testing.T) {
	c := cluster.New(t, cluster.Options{Agents: 1})
	_, mc := startMarathon(t, c)
	master := "--master=" + c.Master.Addr
	marathon := "--marathon=" + mc.base

	app := filepath.Join(t.TempDir(), "app.json")
	def := `{"id":"/cli/echo","cmd":"echo hello from $MESOS_TASK_ID; sleep 1000","cpus":0.1,"mem":16,"instances":2}`
	if err := os.WriteFile(app, []byte(def), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := agoraCLI(t, 2*time.Minute, "apps", "deploy", "-f", app, marathon, "--timeout", "90s")
	if code != 0 {
		t.Fatalf("apps deploy exited %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "succeeded: 2/2 running") || !strings.Contains(out, "[####################] 2/2 running") {
		t.Fatalf("apps deploy output:\n%s", out)
	}

	out, errOut, code = agoraCLI(t, 30*time.Second, "tasks", master, "-o", "json")
	if code != 0 {
		t.Fatalf("tasks exited %d: %s", code, errOut)
	}
	var tasks []struct {
		ID        string `json:"id"`
		State     string `json:"state"`
		Framework string `json:"framework"`
	}
	if err := json.Unmarshal([]byte(out), &tasks); err != nil {
		t.Fatalf("tasks -o json: %v\n%s", err, out)
	}
	var ids []string
	for _, tk := range tasks {
		if strings.HasPrefix(tk.ID, "cli_echo.") && tk.State == "TASK_RUNNING" {
			ids = append(ids, tk.ID)
		}
	}
	if len(ids) != 2 {
		t.Fatalf("agora tasks lists %d running tasks of /cli/echo, want 2:\n%s", len(ids), out)
	}
	if table, _, code := agoraCLI(t, 30*time.Second, "tasks", master); code != 0 || !strings.Contains(table, ids[0]) || !strings.Contains(table, "TASK_RUNNING") {
		t.Fatalf("tasks table (exit %d):\n%s", code, table)
	}

	// The task's stdout holds its greeting once the shell ran it.
	want := "hello from " + ids[0]
	poll.Eventually(t, 30*time.Second, func() error {
		out, errOut, code := agoraCLI(t, 30*time.Second, "logs", ids[0], master)
		if code != 0 {
			return errors.New(errOut)
		}
		if !strings.Contains(out, want) {
			return errors.New("stdout so far: " + out)
		}
		return nil
	})

	// Errors are the server's message with exit code 1; usage errors exit 2.
	if _, errOut, code := agoraCLI(t, 30*time.Second, "apps", "show", "/cli/nope", marathon); code != 1 || !strings.Contains(errOut, "agora: marathon: 404 App '/cli/nope' does not exist") {
		t.Fatalf("apps show of a missing app: exit %d, stderr %q", code, errOut)
	}
	if _, _, code := agoraCLI(t, 30*time.Second, "apps", "scale", "/cli/echo"); code != 2 {
		t.Fatalf("apps scale without N exited %d, want 2", code)
	}

	// Scale to 3, then roll back to the first version (2 instances).
	if out, errOut, code := agoraCLI(t, 2*time.Minute, "apps", "scale", "/cli/echo", "3", marathon, "--timeout", "90s"); code != 0 || !strings.Contains(out, "succeeded: 3/3 running") {
		t.Fatalf("apps scale exited %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	out, errOut, code = agoraCLI(t, 30*time.Second, "apps", "versions", "/cli/echo", marathon, "-o", "json")
	var versions []string
	if code != 0 || json.Unmarshal([]byte(out), &versions) != nil || len(versions) != 2 {
		t.Fatalf("apps versions exited %d: %s %s", code, out, errOut)
	}
	if out, errOut, code := agoraCLI(t, 2*time.Minute, "apps", "rollback", "/cli/echo", versions[1], marathon, "--timeout", "90s"); code != 0 || !strings.Contains(out, "succeeded: 2/2 running") {
		t.Fatalf("apps rollback exited %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}

	out, errOut, code = agoraCLI(t, 2*time.Minute, "apps", "delete", "/cli/echo", marathon, "--timeout", "90s")
	if code != 0 {
		t.Fatalf("apps delete exited %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	poll.Eventually(t, 30*time.Second, func() error {
		out, _, _ := agoraCLI(t, 30*time.Second, "tasks", master)
		if strings.Contains(out, "cli_echo.") {
			return errors.New("tasks still listed:\n" + out)
		}
		return nil
	})
}
