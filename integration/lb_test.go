package integration

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/internal/poll"
)

// lbStats is the part of /_lb/stats the test reads.
type lbStats struct {
	Frontends []struct {
		Name     string `json:"name"`
		AppID    string `json:"app_id"`
		Total    int64  `json:"total"`
		Errors   int64  `json:"errors"`
		Backends []struct {
			Addr  string `json:"addr"`
			Total int64  `json:"total"`
		} `json:"backends"`
	} `json:"frontends"`
}

// lbBackends returns the backend addresses of the frontend named name, sorted, and their
// request counts in that order.
func lbBackends(admin, name string) ([]string, []int64, error) {
	var st lbStats
	if err := cluster.GetJSON(context.Background(), admin+"/_lb/stats", &st); err != nil {
		return nil, nil, err
	}
	for _, f := range st.Frontends {
		if f.Name != name {
			continue
		}
		sort.Slice(f.Backends, func(i, j int) bool { return f.Backends[i].Addr < f.Backends[j].Addr })
		var addrs []string
		var totals []int64
		for _, b := range f.Backends {
			addrs = append(addrs, b.Addr)
			totals = append(totals, b.Total)
		}
		return addrs, totals, nil
	}
	return nil, nil, fmt.Errorf("no frontend %s in /_lb/stats", name)
}

// lbGet sends GET url with the given Host header (none: the URL's) and returns the body.
func lbGet(hc *http.Client, url, host string) (string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	if host != "" {
		req.Host = host
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s (Host %s): %s: %s", url, host, resp.Status, b)
	}
	return strings.TrimSpace(string(b)), nil
}

// TestLBMarathonApp: `agora lb` follows a real Marathon: an app of 3 instances with a service
// port and an HAPROXY_0_VHOST label is served on the service port (TCP) and by Host header
// (HTTP) from all 3 tasks; a malformed label is ignored with a warning; a rolling restart
// (PUT with a changed env) under continuous requests through the virtual host loses no
// request, and afterwards only the new tasks are behind the LB; a task killed leaves it.
func TestLBMarathonApp(t *testing.T) {
	py := python3(t)
	c := cluster.New(t, cluster.Options{Agents: 1, AgentArgs: []string{"--hostname", "127.0.0.1"}})
	_, mc := startMarathon(t, c)

	servicePort := cluster.FreePort(t)
	httpPort := strconv.Itoa(cluster.FreePort(t))
	adminPort := strconv.Itoa(cluster.FreePort(t))
	admin := "http://127.0.0.1:" + adminPort
	lbp := cluster.Start(t, "lb", "127.0.0.1:"+adminPort, filepath.Join(t.TempDir(), "lb"), "lb",
		"--marathon", "http://127.0.0.1:1,"+mc.base, // the first Marathon is not there: the next one is used
		"--ip", "127.0.0.1", "--group", "external", "--admin_port", adminPort, "--http_port", httpPort)
	poll.Eventually(t, 20*time.Second, func() error {
		_, err := lbGet(http.DefaultClient, admin+"/health", "")
		return err
	}, "agora lb never healthy")

	const vhost = "hello.example.com"
	app := func(version string) string {
		return `{"id":"/web/hello","cmd":"echo v$VERSION > index.html && exec ` + py + ` -m http.server $PORT0 --bind 127.0.0.1",
			"env":{"VERSION":"` + version + `"},"cpus":0.1,"mem":32,"instances":3,
			"portDefinitions":[{"port":` + strconv.Itoa(servicePort) + `}],
			"labels":{"HAPROXY_GROUP":"external","HAPROXY_0_VHOST":"` + vhost + `","HAPROXY_x_VHOST":"bad.example.com"},
			"healthChecks":[{"protocol":"HTTP","path":"/index.html","portIndex":0,"gracePeriodSeconds":30,"intervalSeconds":1,"timeoutSeconds":1,"maxConsecutiveFailures":3}],
			"upgradeStrategy":{"minimumHealthCapacity":1,"maximumOverCapacity":1}}`
	}
	mc.must(http.MethodPost, "/v2/apps", app("1"), http.StatusCreated, nil)
	v1 := mc.settled("/web/hello", 3, true, 60*time.Second)
	want := taskHostPorts(v1)

	tcpName, httpName := "tcp:"+strconv.Itoa(servicePort), "http:"+vhost
	poll.Eventually(t, 10*time.Second, func() error {
		for _, name := range []string{tcpName, httpName} {
			got, _, err := lbBackends(admin, name)
			if err != nil {
				return err
			}
			if !slices.Equal(got, want) {
				return fmt.Errorf("%s backends %v, want the tasks %v", name, got, want)
			}
		}
		return nil
	})
	hc := &http.Client{Timeout: 10 * time.Second}
	serviceURL := "http://127.0.0.1:" + strconv.Itoa(servicePort) + "/index.html"
	vhostURL := "http://127.0.0.1:" + httpPort + "/index.html"
	for range 3 {
		if body, err := lbGet(hc, serviceURL, ""); err != nil || body != "v1" {
			t.Fatalf("GET through the service port = %q, %v; want v1", body, err)
		}
	}
	for range 3 {
		if body, err := lbGet(hc, vhostURL, vhost); err != nil || body != "v1" {
			t.Fatalf("GET through the virtual host = %q, %v; want v1", body, err)
		}
	}
	if _, err := lbGet(hc, vhostURL, "other.example.com"); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("GET for an unknown virtual host: %v, want 503", err)
	}
	for _, name := range []string{tcpName, httpName} {
		_, totals, err := lbBackends(admin, name)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(totals, []int64{1, 1, 1}) {
			t.Errorf("%s: requests per backend %v, want round robin over all 3 tasks", name, totals)
		}
	}
	if out := lbp.Output(); !strings.Contains(out, "HAPROXY_x_VHOST") || !strings.Contains(out, "/web/hello") {
		t.Errorf("agora lb did not warn about the label HAPROXY_x_VHOST of /web/hello:\n%s", out)
	}

	// Rolling restart under continuous requests through the virtual host.
	var (
		mu       sync.Mutex
		served   = map[string]int{}
		failures []string
	)
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				body, err := lbGet(hc, vhostURL, vhost)
				mu.Lock()
				if err != nil {
					failures = append(failures, err.Error())
				} else {
					served[body]++
				}
				mu.Unlock()
			}
		}()
	}
	t.Cleanup(func() { stop(); wg.Wait() })
	mc.must(http.MethodPut, "/v2/apps/web/hello", `{"env":{"VERSION":"2"}}`, http.StatusOK, nil)
	poll.Eventually(t, 90*time.Second, func() error {
		a, err := mc.app("/web/hello")
		if err != nil {
			return err
		}
		if len(a.Deployments) != 0 || a.TasksHealthy != 3 || len(a.Tasks) != 3 {
			return fmt.Errorf("restart: %d tasks, %d healthy, %d deployments", len(a.Tasks), a.TasksHealthy, len(a.Deployments))
		}
		if got, _, err := lbBackends(admin, httpName); err != nil || !slices.Equal(got, taskHostPorts(a)) {
			return fmt.Errorf("LB backends %v (%v), want the new tasks %v", got, err, taskHostPorts(a))
		}
		mu.Lock()
		defer mu.Unlock()
		if served["v2"] < 3 {
			return fmt.Errorf("%d requests served by v2", served["v2"])
		}
		return nil
	}, "rolling restart behind the LB")
	stop()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("during the rolling restart: served %v, %d failures", served, len(failures))
	if len(failures) > 0 {
		t.Errorf("%d requests failed during the rolling restart, first: %s", len(failures), failures[0])
	}
	if served["v1"] == 0 || served["v2"] == 0 || len(served) != 2 {
		t.Errorf("served %v, want answers from v1 and v2 only", served)
	}
	for _, old := range want {
		if slices.Contains(taskHostPorts(mustApp(t, mc, "/web/hello")), old) {
			t.Errorf("old task %s still running after the restart", old)
		}
	}
	if body, err := lbGet(hc, serviceURL, ""); err != nil || body != "v2" {
		t.Errorf("GET through the service port after the restart = %q, %v; want v2", body, err)
	}

	// A task killed (and scaled away) leaves the LB.
	v2 := mustApp(t, mc, "/web/hello")
	victim := v2.Tasks[0]
	gone := "127.0.0.1:" + strconv.FormatUint(victim.Ports[0], 10)
	mc.must(http.MethodDelete, "/v2/apps/web/hello/tasks/"+victim.ID+"?scale=true", "", http.StatusOK, nil)
	poll.Eventually(t, 20*time.Second, func() error {
		for _, name := range []string{tcpName, httpName} {
			got, _, err := lbBackends(admin, name)
			if err != nil {
				return err
			}
			if len(got) != 2 || slices.Contains(got, gone) {
				return fmt.Errorf("after killing %s (%s): %s backends %v, want the 2 others", victim.ID, gone, name, got)
			}
		}
		return nil
	})
	for range 4 {
		if body, err := lbGet(hc, vhostURL, vhost); err != nil || body != "v2" {
			t.Fatalf("GET through the virtual host after the kill = %q, %v; want v2", body, err)
		}
	}
}

func mustApp(t *testing.T, mc marathonClient, id string) mApp {
	t.Helper()
	a, err := mc.app(id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
