package integration

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agoracluster/agora/agent/docker"
	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/integration/dockertest"
	"github.com/agoracluster/agora/internal/hosttest"
	"github.com/agoracluster/agora/internal/poll"
)

// startBatch runs `agora batch` against the cluster; the client is the one the Marathon tests
// use (a plain JSON-over-HTTP client).
func startBatch(t *testing.T, c *cluster.Cluster, extra ...string) (*cluster.Process, marathonClient) {
	t.Helper()
	port := strconv.Itoa(cluster.FreePort(t))
	dir := filepath.Join(t.TempDir(), "batch")
	addr := "127.0.0.1:" + port
	args := append([]string{"batch", "--master", c.Master.Addr, "--http_port", port,
		"--http_address", "127.0.0.1", "--hostname", "127.0.0.1", "--work_dir", dir}, extra...)
	p := cluster.Start(t, "batch", addr, dir, args...)
	bc := marathonClient{t: t, base: "http://" + addr}
	if slices.Contains(extra, "--tls_cert_file") { // its API serves HTTPS
		bc.base, bc.http = "https://"+addr, c.HTTP
	}
	waitPing(t, bc)
	return p, bc
}

type batchTask struct {
	ID         string `json:"id"`
	Status     string `json:"status"`
	ExitStatus *int   `json:"exitStatus"`
	AgentURL   string `json:"agentUrl"`
	Sandbox    string `json:"sandbox"`
}

type batchRun struct {
	ID       string      `json:"id"`
	Status   string      `json:"status"`
	Reason   string      `json:"reason"`
	Failures int         `json:"failures"`
	Tasks    []batchTask `json:"tasks"`
}

// startRun posts a run of job and returns its id.
func startRun(bc marathonClient, job string) string {
	var r batchRun
	bc.must(http.MethodPost, "/v1/jobs/"+job+"/runs", "", http.StatusCreated, &r)
	return r.ID
}

// waitRunDone waits until the run finished and returns it.
func waitRunDone(t *testing.T, bc marathonClient, job, id string, timeout time.Duration) batchRun {
	t.Helper()
	var r batchRun
	poll.Eventually(t, timeout, func() error {
		bc.must(http.MethodGet, "/v1/jobs/"+job+"/runs/"+id, "", http.StatusOK, &r)
		if r.Status != "SUCCESS" && r.Status != "FAILED" {
			return fmt.Errorf("run %s of %s is %s", id, job, r.Status)
		}
		return nil
	})
	return r
}

// TestBatch drives `agora batch` on a real master and agent: a run started now succeeds; a
// failing job is retried, then fails; the active deadline kills an overrunning run; a parent's
// success starts its child; and a restart of `agora batch` during an active run loses nothing
// and runs nothing twice.
func TestBatch(t *testing.T) {
	c := cluster.New(t, cluster.Options{Agents: 1})
	bp, bc := startBatch(t, c, "--retry_limit", "2", "--retry_backoff_max", "1s")

	t.Run("run now succeeds", func(t *testing.T) {
		bc.must(http.MethodPost, "/v1/jobs", `{"id":"hello","run":{"cmd":"echo hello batch","cpus":0.1,"mem":32}}`, http.StatusCreated, nil)
		id := startRun(bc, "hello")
		r := waitRunDone(t, bc, "hello", id, time.Minute)
		if r.Status != "SUCCESS" || len(r.Tasks) != 1 || r.Tasks[0].Status != "TASK_FINISHED" ||
			r.Tasks[0].ExitStatus == nil || *r.Tasks[0].ExitStatus != 0 {
			t.Fatalf("run %+v", r)
		}
		var j struct {
			HistorySummary struct{ SuccessCount, FailureCount int } `json:"historySummary"`
		}
		bc.must(http.MethodGet, "/v1/jobs/hello?embed=historySummary", "", http.StatusOK, &j)
		if j.HistorySummary.SuccessCount != 1 || j.HistorySummary.FailureCount != 0 {
			t.Fatalf("history %+v", j.HistorySummary)
		}
		// The run says where the task's stdout is: the agent's files API serves it.
		poll.Eventually(t, 30*time.Second, func() error {
			bc.must(http.MethodGet, "/v1/jobs/hello/runs/"+id, "", http.StatusOK, &r)
			tk := r.Tasks[0]
			if tk.AgentURL == "" || tk.Sandbox == "" {
				return fmt.Errorf("task %+v has no agent URL or sandbox yet", tk)
			}
			out := marathonClient{t: t, base: tk.AgentURL}
			var f struct{ Data string }
			out.must(http.MethodGet, "/files/read?offset=0&path="+url.QueryEscape(tk.Sandbox+"/stdout"), "", http.StatusOK, &f)
			if !strings.Contains(f.Data, "hello batch") {
				return fmt.Errorf("stdout %q", f.Data)
			}
			return nil
		})
	})

	t.Run("failing job retried then failed", func(t *testing.T) {
		bc.must(http.MethodPost, "/v1/jobs", `{"id":"flaky","run":{"cmd":"exit 3","cpus":0.1,"mem":32,"restart":{"policy":"ON_FAILURE"}}}`, http.StatusCreated, nil)
		id := startRun(bc, "flaky")
		r := waitRunDone(t, bc, "flaky", id, 2*time.Minute)
		if r.Status != "FAILED" || len(r.Tasks) != 3 || r.Failures != 3 || !strings.Contains(r.Reason, "retries exhausted") {
			t.Fatalf("run %+v, want FAILED after 3 tasks (2 retries)", r)
		}
		for _, tk := range r.Tasks {
			if tk.Status != "TASK_FAILED" || tk.ExitStatus == nil || *tk.ExitStatus != 3 {
				t.Fatalf("task %+v, want TASK_FAILED with exit status 3", tk)
			}
		}
	})

	t.Run("active deadline kills", func(t *testing.T) {
		bc.must(http.MethodPost, "/v1/jobs", `{"id":"slow","run":{"cmd":"sleep 600","cpus":0.1,"mem":32,"restart":{"policy":"NEVER","activeDeadlineSeconds":3}}}`, http.StatusCreated, nil)
		id := startRun(bc, "slow")
		r := waitRunDone(t, bc, "slow", id, time.Minute)
		if r.Status != "FAILED" || !strings.HasPrefix(r.Reason, "ACTIVE_DEADLINE_EXCEEDED") {
			t.Fatalf("run %+v, want FAILED by the deadline", r)
		}
		poll.Eventually(t, time.Minute, func() error {
			bc.must(http.MethodGet, "/v1/jobs/slow/runs/"+id, "", http.StatusOK, &r)
			if len(r.Tasks) != 1 || r.Tasks[0].Status != "TASK_KILLED" {
				return fmt.Errorf("tasks %+v, want one TASK_KILLED", r.Tasks)
			}
			return nil
		})
	})

	t.Run("parent then child", func(t *testing.T) {
		bc.must(http.MethodPost, "/v1/jobs", `{"id":"etl.extract","run":{"cmd":"echo extract","cpus":0.1,"mem":32}}`, http.StatusCreated, nil)
		bc.must(http.MethodPost, "/v1/jobs", `{"id":"etl.load","dependencies":["etl.extract"],"run":{"cmd":"echo load","cpus":0.1,"mem":32}}`, http.StatusCreated, nil)
		bc.must(http.MethodPost, "/v1/jobs", `{"id":"etl.report","dependencies":["etl.load"],"run":{"cmd":"echo report","cpus":0.1,"mem":32}}`, http.StatusCreated, nil)
		startRun(bc, "etl.extract")
		poll.Eventually(t, 2*time.Minute, func() error {
			var j struct {
				HistorySummary struct{ SuccessCount int } `json:"historySummary"`
			}
			bc.must(http.MethodGet, "/v1/jobs/etl.report?embed=historySummary", "", http.StatusOK, &j)
			if j.HistorySummary.SuccessCount != 1 {
				return fmt.Errorf("etl.report succeeded %d times", j.HistorySummary.SuccessCount)
			}
			return nil
		})
		for _, job := range []string{"etl.extract", "etl.load"} {
			var j struct {
				HistorySummary struct{ SuccessCount int } `json:"historySummary"`
			}
			bc.must(http.MethodGet, "/v1/jobs/"+job+"?embed=historySummary", "", http.StatusOK, &j)
			if j.HistorySummary.SuccessCount != 1 {
				t.Fatalf("%s succeeded %d times, want 1", job, j.HistorySummary.SuccessCount)
			}
		}
	})

	t.Run("restart during an active run", func(t *testing.T) {
		marks := t.TempDir()
		ran := filepath.Join(marks, "ran")
		bc.must(http.MethodPost, "/v1/jobs", `{"id":"steady","run":{"cmd":"echo $MESOS_TASK_ID >> `+ran+`; sleep 6","cpus":0.1,"mem":32}}`, http.StatusCreated, nil)
		id := startRun(bc, "steady")
		poll.Eventually(t, time.Minute, func() error {
			var r batchRun
			bc.must(http.MethodGet, "/v1/jobs/steady/runs/"+id, "", http.StatusOK, &r)
			if r.Status != "ACTIVE" {
				return fmt.Errorf("run is %s", r.Status)
			}
			return nil
		})
		bp.Kill()
		bp.Restart()
		waitPing(t, bc)
		r := waitRunDone(t, bc, "steady", id, time.Minute)
		if r.Status != "SUCCESS" || len(r.Tasks) != 1 {
			t.Fatalf("run after restart %+v, want SUCCESS with its one task", r)
		}
		b, err := os.ReadFile(ran)
		if err != nil {
			t.Fatal(err)
		}
		if lines := strings.Fields(string(b)); len(lines) != 1 || lines[0] != r.Tasks[0].ID {
			t.Fatalf("the job ran as %v, want once as %s", lines, r.Tasks[0].ID)
		}
		var runs []batchRun
		bc.must(http.MethodGet, "/v1/jobs/steady/runs", "", http.StatusOK, &runs)
		if len(runs) != 0 {
			t.Fatalf("active runs after the restart %+v", runs)
		}
		var j struct {
			HistorySummary struct{ SuccessCount int } `json:"historySummary"`
		}
		bc.must(http.MethodGet, "/v1/jobs/hello?embed=historySummary", "", http.StatusOK, &j)
		if j.HistorySummary.SuccessCount != 1 {
			t.Fatalf("the first job's history after the restart: %+v", j.HistorySummary)
		}
	})
}

// TestBatchDocker runs a job in a Docker image built locally (no registry).
func TestBatchDocker(t *testing.T) {
	cli := hosttest.RequireDocker(t)
	image := dockertest.HelloImage(t, cli)
	c := cluster.New(t, cluster.Options{Agents: 1})
	_, bc := startBatch(t, c)
	bc.must(http.MethodPost, "/v1/jobs", `{"id":"in-docker","run":{"cpus":0.2,"mem":64,
		"docker":{"image":"`+image+`"},"args":["-stdout","hello from docker","-exit","4"]}}`, http.StatusCreated, nil)
	id := startRun(bc, "in-docker")
	var r batchRun
	poll.Eventually(t, 2*time.Minute, func() error {
		bc.must(http.MethodGet, "/v1/jobs/in-docker/runs/"+id, "", http.StatusOK, &r)
		if r.Status != "FAILED" {
			return fmt.Errorf("run is %s", r.Status)
		}
		return nil
	})
	for _, tk := range r.Tasks {
		dockertest.RemoveContainersOnCleanup(t, cli, docker.LabelTaskID, tk.ID)
	}
	if len(r.Tasks) != 1 || r.Tasks[0].ExitStatus == nil || *r.Tasks[0].ExitStatus != 4 {
		t.Fatalf("run %+v, want one task that exited with 4 inside the container", r)
	}
}
