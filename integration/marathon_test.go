package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
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

// marathonClient talks to the REST API of a real `agora marathon`.
type marathonClient struct {
	t    *testing.T
	base string
	http *http.Client // nil: http.DefaultClient
}

func (m marathonClient) do(method, path, body string) (int, []byte) {
	m.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, m.base+path, strings.NewReader(body))
	if err != nil {
		m.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	hc := m.http
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		m.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// must sends a request and fails unless the status is want; it decodes the body into v.
func (m marathonClient) must(method, path, body string, want int, v any) {
	m.t.Helper()
	code, b := m.do(method, path, body)
	if code != want {
		m.t.Fatalf("%s %s = %d %s, want %d", method, path, code, b, want)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			m.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

type mTask struct {
	ID                 string   `json:"id"`
	State              string   `json:"state"`
	Version            string   `json:"version"`
	Ports              []uint64 `json:"ports"`
	HealthCheckResults []struct {
		Alive bool `json:"alive"`
	} `json:"healthCheckResults"`
}

type mApp struct {
	ID              string                `json:"id"`
	Instances       int                   `json:"instances"`
	Version         string                `json:"version"`
	TasksRunning    int                   `json:"tasksRunning"`
	TasksHealthy    int                   `json:"tasksHealthy"`
	Tasks           []mTask               `json:"tasks"`
	Deployments     []struct{ ID string } `json:"deployments"`
	LastTaskFailure *struct {
		State   string `json:"state"`
		Message string `json:"message"`
	} `json:"lastTaskFailure"`
	VersionInfo struct {
		LastConfigChangeAt string `json:"lastConfigChangeAt"`
	} `json:"versionInfo"`
}

func (m marathonClient) app(id string) (mApp, error) {
	code, b := m.do(http.MethodGet, "/v2/apps"+id, "")
	if code != http.StatusOK {
		return mApp{}, fmt.Errorf("GET app %s: %d %s", id, code, b)
	}
	var out struct{ App mApp }
	if err := json.Unmarshal(b, &out); err != nil {
		return mApp{}, err
	}
	return out.App, nil
}

// settled waits until the app has n running tasks of its current config (healthy when
// healthy is set) and no deployment, and returns it.
func (m marathonClient) settled(id string, n int, healthy bool, timeout time.Duration) mApp {
	m.t.Helper()
	var a mApp
	poll.Eventually(m.t, timeout, func() error {
		var err error
		if a, err = m.app(id); err != nil {
			return err
		}
		running := 0
		for _, t := range a.Tasks {
			if t.State != "TASK_RUNNING" {
				continue
			}
			if healthy && (len(t.HealthCheckResults) == 0 || !t.HealthCheckResults[0].Alive) {
				continue
			}
			running++
		}
		if running != n || len(a.Tasks) != n || len(a.Deployments) != 0 {
			return fmt.Errorf("app %s: %d tasks, %d running (healthy=%v), %d deployments; want %d", id, len(a.Tasks), running, healthy, len(a.Deployments), n)
		}
		return nil
	})
	return a
}

func taskIDs(a mApp) []string {
	var ids []string
	for _, t := range a.Tasks {
		ids = append(ids, t.ID)
	}
	sort.Strings(ids)
	return ids
}

type mQueue struct {
	Queue []struct {
		App   struct{ ID string } `json:"app"`
		Count int                 `json:"count"`
		Delay struct {
			TimeLeftSeconds int  `json:"timeLeftSeconds"`
			Overdue         bool `json:"overdue"`
		} `json:"delay"`
		ProcessedOffersSummary struct {
			RejectSummaryLastOffers []struct {
				Reason   string `json:"reason"`
				Declined int    `json:"declined"`
			} `json:"rejectSummaryLastOffers"`
		} `json:"processedOffersSummary"`
	} `json:"queue"`
}

func startMarathon(t *testing.T, c *cluster.Cluster, extra ...string) (*cluster.Process, marathonClient) {
	t.Helper()
	port := strconv.Itoa(cluster.FreePort(t))
	dir := filepath.Join(t.TempDir(), "marathon")
	addr := "127.0.0.1:" + port
	args := append([]string{"marathon", "--master", c.Master.Addr, "--http_port", port,
		"--http_address", "127.0.0.1", "--hostname", "127.0.0.1", "--work_dir", dir}, extra...)
	p := cluster.Start(t, "marathon", addr, dir, args...)
	mc := marathonClient{t: t, base: "http://" + addr}
	if slices.Contains(extra, "--tls_cert_file") { // its API serves HTTPS
		mc.base, mc.http = "https://"+addr, c.HTTP
	}
	waitPing(t, mc)
	return p, mc
}

func waitPing(t *testing.T, mc marathonClient) {
	t.Helper()
	poll.Eventually(t, 20*time.Second, func() error {
		hc := mc.http
		if hc == nil {
			hc = http.DefaultClient
		}
		resp, err := hc.Get(mc.base + "/ping")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if string(b) != "pong" {
			return fmt.Errorf("ping: %s", b)
		}
		return nil
	})
}

// TestMarathonAppLifecycle drives one cluster through create, scale, kill and replace,
// config change, rollback, a rolling restart gated by a health check, a restart of
// `agora marathon` in the middle of a deployment, and delete.
func TestMarathonAppLifecycle(t *testing.T) {
	c := cluster.New(t, cluster.Options{Agents: 1})
	p, mc := startMarathon(t, c)

	// Create.
	var created map[string]any
	mc.must(http.MethodPost, "/v2/apps", `{"id":"/web/sleep","cmd":"sleep 1000","cpus":0.1,"mem":16,"instances":2}`, http.StatusCreated, &created)
	if deps, _ := created["deployments"].([]any); len(deps) != 1 {
		t.Fatalf("created app deployments = %v", created["deployments"])
	}
	v1 := mc.settled("/web/sleep", 2, false, 30*time.Second)

	// Scale up: the running tasks stay.
	mc.must(http.MethodPut, "/v2/apps/web/sleep", `{"instances":3}`, http.StatusOK, nil)
	scaled := mc.settled("/web/sleep", 3, false, 30*time.Second)
	for _, id := range taskIDs(v1) {
		if !strings.Contains(strings.Join(taskIDs(scaled), ","), id) {
			t.Fatalf("scale up replaced task %s: %v", id, taskIDs(scaled))
		}
	}

	// Kill one task: it is replaced.
	victim := scaled.Tasks[0].ID
	mc.must(http.MethodDelete, "/v2/apps/web/sleep/tasks/"+victim, "", http.StatusOK, nil)
	poll.Eventually(t, 30*time.Second, func() error {
		a, err := mc.app("/web/sleep")
		if err != nil {
			return err
		}
		running := 0
		for _, tk := range a.Tasks {
			if tk.ID == victim {
				return fmt.Errorf("task %s still listed", victim)
			}
			if tk.State == "TASK_RUNNING" {
				running++
			}
		}
		if running != 3 {
			return fmt.Errorf("%d running, want 3", running)
		}
		return nil
	})

	// Scale down.
	mc.must(http.MethodPatch, "/v2/apps/web/sleep", `{"instances":1}`, http.StatusOK, nil)
	mc.settled("/web/sleep", 1, false, 30*time.Second)

	// Config change, then roll back to the first version.
	mc.must(http.MethodPut, "/v2/apps/web/sleep", `{"cmd":"sleep 2000"}`, http.StatusOK, nil)
	changed := mc.settled("/web/sleep", 1, false, 30*time.Second)
	if changed.VersionInfo.LastConfigChangeAt == v1.VersionInfo.LastConfigChangeAt {
		t.Fatalf("config change kept lastConfigChangeAt %s", changed.VersionInfo.LastConfigChangeAt)
	}
	mc.must(http.MethodPut, "/v2/apps/web/sleep", `{"version":"`+v1.Version+`"}`, http.StatusOK, nil)
	rolled := mc.settled("/web/sleep", 2, false, 30*time.Second)
	if rolled.VersionInfo.LastConfigChangeAt != v1.VersionInfo.LastConfigChangeAt {
		t.Fatalf("rollback config version %s, want %s", rolled.VersionInfo.LastConfigChangeAt, v1.VersionInfo.LastConfigChangeAt)
	}
	var versions struct{ Versions []string }
	mc.must(http.MethodGet, "/v2/apps/web/sleep/versions", "", http.StatusOK, &versions)
	if len(versions.Versions) < 4 {
		t.Fatalf("versions = %v, want at least 4", versions.Versions)
	}

	// Rolling restart gated by a COMMAND health check.
	hc := `{"id":"/hc","cmd":"sleep 1000","cpus":0.1,"mem":16,"instances":2,
		"healthChecks":[{"protocol":"COMMAND","command":{"value":"test -n \"$MESOS_TASK_ID\""},
		"gracePeriodSeconds":10,"intervalSeconds":1,"timeoutSeconds":1,"delaySeconds":0,"maxConsecutiveFailures":3}],
		"upgradeStrategy":{"minimumHealthCapacity":0.5,"maximumOverCapacity":0}}`
	mc.must(http.MethodPost, "/v2/apps", hc, http.StatusCreated, nil)
	before := mc.settled("/hc", 2, true, 40*time.Second)
	if before.TasksHealthy != 2 {
		t.Fatalf("tasksHealthy = %d, want 2", before.TasksHealthy)
	}
	mc.must(http.MethodPost, "/v2/apps/hc/restart", "", http.StatusOK, nil)

	// Restart agora marathon in the middle of the deployment: state is kept, the other
	// app's tasks are untouched, the deployment finishes.
	sleepers := taskIDs(mc.settled("/web/sleep", 2, false, 30*time.Second))
	p.Kill()
	p.Restart()
	waitPing(t, mc)
	after := mc.settled("/hc", 2, true, 60*time.Second)
	for _, tk := range after.Tasks {
		if tk.Version == before.Version {
			t.Fatalf("task %s still runs version %s after the restart", tk.ID, tk.Version)
		}
	}
	if got := taskIDs(mc.settled("/web/sleep", 2, false, 30*time.Second)); strings.Join(got, ",") != strings.Join(sleepers, ",") {
		t.Fatalf("tasks after restarting marathon = %v, want %v", got, sleepers)
	}

	// Delete.
	mc.must(http.MethodDelete, "/v2/apps/web/sleep", "", http.StatusOK, nil)
	poll.Eventually(t, 30*time.Second, func() error {
		var ts struct{ Tasks []struct{ AppID string } }
		mc.must(http.MethodGet, "/v2/tasks", "", http.StatusOK, &ts)
		for _, tk := range ts.Tasks {
			if tk.AppID == "/web/sleep" {
				return fmt.Errorf("task of deleted app still listed")
			}
		}
		return nil
	})
	mc.must(http.MethodGet, "/v2/apps/web/sleep", "", http.StatusNotFound, nil)
}

// TestMarathonQueueReasons: a failing command shows its back-off and last failure; an app
// that never fits shows why offers are declined.
func TestMarathonQueueReasons(t *testing.T) {
	c := cluster.New(t, cluster.Options{Agents: 1})
	_, mc := startMarathon(t, c)
	mc.must(http.MethodPost, "/v2/apps", `{"id":"/fails","cmd":"exit 3","cpus":0.1,"mem":16,"backoffSeconds":30}`, http.StatusCreated, nil)
	mc.must(http.MethodPost, "/v2/apps", `{"id":"/huge","cmd":"sleep 1000","cpus":1000,"mem":16}`, http.StatusCreated, nil)
	poll.Eventually(t, 30*time.Second, func() error {
		var q mQueue
		mc.must(http.MethodGet, "/v2/queue", "", http.StatusOK, &q)
		delayed, insufficient := false, false
		for _, e := range q.Queue {
			switch e.App.ID {
			case "/fails":
				delayed = e.Delay.TimeLeftSeconds > 0
			case "/huge":
				for _, r := range e.ProcessedOffersSummary.RejectSummaryLastOffers {
					if r.Reason == "InsufficientCpus" && r.Declined > 0 {
						insufficient = true
					}
				}
			}
		}
		if !delayed || !insufficient {
			return fmt.Errorf("queue: /fails delayed=%v /huge InsufficientCpus=%v: %+v", delayed, insufficient, q)
		}
		return nil
	})
	a, err := mc.app("/fails")
	if err != nil {
		t.Fatal(err)
	}
	if a.LastTaskFailure == nil || a.LastTaskFailure.State != "TASK_FAILED" || !strings.Contains(a.LastTaskFailure.Message, "3") {
		t.Fatalf("lastTaskFailure = %+v", a.LastTaskFailure)
	}
	// Resetting the delay lets it launch (and fail) again at once.
	mc.must(http.MethodDelete, "/v2/queue/fails/delay", "", http.StatusNoContent, nil)
}

// TestMarathonDockerHello posts the README's hello-marathon definition (host networking,
// a portMappings entry with hostPort 0) with the hello image: the task is reachable over
// HTTP through the host port it reports, and its MESOS_HTTP health check passes.
func TestMarathonDockerHello(t *testing.T) {
	cli := hosttest.RequireDocker(t)
	image := dockertest.HelloImage(t, cli)
	c := cluster.New(t, cluster.Options{Agents: 1})
	_, mc := startMarathon(t, c)
	def := `{"id":"marathon-demo-application","cpus":0.5,"mem":64,"disk":0,"instances":1,
		"container":{"type":"DOCKER","docker":{"image":"` + image + `","portMappings":[{"containerPort":9001,"hostPort":0}]}},
		"networks":[{"mode":"host"}],
		"healthChecks":[{"protocol":"MESOS_HTTP","path":"/","portIndex":0,"gracePeriodSeconds":60,"intervalSeconds":1,"timeoutSeconds":1,"delaySeconds":0}]}`
	mc.must(http.MethodPost, "/v2/apps", def, http.StatusCreated, nil)
	a := mc.settled("/marathon-demo-application", 1, true, 3*time.Minute)
	tk := a.Tasks[0]
	dockertest.RemoveContainersOnCleanup(t, cli, docker.LabelTaskID, tk.ID)
	if len(tk.Ports) != 1 {
		t.Fatalf("task ports = %v", tk.Ports)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/", tk.Ports[0])
	poll.Eventually(t, 30*time.Second, func() error {
		resp, err := http.Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if strings.TrimSpace(string(b)) != "hello" {
			return fmt.Errorf("GET %s = %q", url, b)
		}
		return nil
	})
	mc.must(http.MethodDelete, "/v2/apps/marathon-demo-application", "", http.StatusOK, nil)
	poll.Eventually(t, time.Minute, func() error {
		var ts struct{ Tasks []any }
		mc.must(http.MethodGet, "/v2/tasks", "", http.StatusOK, &ts)
		if len(ts.Tasks) > 0 {
			return fmt.Errorf("%d tasks left", len(ts.Tasks))
		}
		return nil
	})
}
