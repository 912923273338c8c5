package integration

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agoracluster/agora/integration/benchtest"
	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/internal/poll"
)

var benchLBTasks = flag.Int("agora.lbtasks", 20, "BenchmarkLBRouteAfterRunning: tasks started one after another")

// BenchmarkLBRouteAfterRunning measures how long after TASK_RUNNING (the executor's status
// timestamp, Marathon's startedAt) a new task of an app is a backend of `agora lb`, which
// follows Marathon's event stream: the app is scaled up one task at a time, and the LB's
// /_lb/table is read every millisecond from the scale-up on.
func BenchmarkLBRouteAfterRunning(b *testing.B) {
	if testing.Short() {
		b.Skip("end-to-end benchmark; run it with make bench")
	}
	c := cluster.New(b, cluster.Options{Agents: 1, AgentArgs: []string{"--hostname", "127.0.0.1"}})
	mport := strconv.Itoa(cluster.FreePort(b))
	mdir := filepath.Join(b.TempDir(), "marathon")
	cluster.Start(b, "marathon", "127.0.0.1:"+mport, mdir, "marathon", "--master", c.Master.Addr, "--http_port", mport,
		"--http_address", "127.0.0.1", "--hostname", "127.0.0.1", "--work_dir", mdir)
	mbase := "http://127.0.0.1:" + mport
	adminPort := strconv.Itoa(cluster.FreePort(b))
	admin := "http://127.0.0.1:" + adminPort
	cluster.Start(b, "lb", "127.0.0.1:"+adminPort, filepath.Join(b.TempDir(), "lb"), "lb", "--marathon", mbase,
		"--ip", "127.0.0.1", "--admin_port", adminPort, "--http_port", "-1")
	poll.Eventually(b, 20*time.Second, func() error {
		_, err := lbGet(http.DefaultClient, admin+"/health", "")
		return err
	}, "agora lb never healthy")
	send := func(method, path, body string, want int) {
		req, err := http.NewRequest(method, mbase+path, strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatalf("%s %s: %v", method, path, err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			b.Fatalf("%s %s = %d %s; want %d", method, path, resp.StatusCode, out, want)
		}
	}
	servicePort := cluster.FreePort(b)
	send(http.MethodPost, "/v2/apps", `{"id":"/bench/lb","cmd":"sleep 600","cpus":0.01,"mem":8,"instances":0,
		"portDefinitions":[{"port":`+strconv.Itoa(servicePort)+`}]}`, http.StatusCreated)
	frontend := "tcp:" + strconv.Itoa(servicePort)
	var samples []time.Duration
	instances := 0
	b.ResetTimer()
	for range b.N {
		for range *benchLBTasks {
			before, _, err := lbBackends(admin, frontend)
			if err != nil && instances > 0 {
				b.Fatal(err)
			}
			instances++
			send(http.MethodPut, "/v2/apps/bench/lb?force=true", `{"instances":`+strconv.Itoa(instances)+`}`, http.StatusOK)
			deadline := time.Now().Add(60 * time.Second)
			var seen time.Time
			var added string
			for time.Now().Before(deadline) {
				if got, _, err := lbBackends(admin, frontend); err == nil && len(got) == len(before)+1 {
					seen = time.Now()
					added = newAddr(before, got)
					break
				}
				time.Sleep(time.Millisecond)
			}
			if seen.IsZero() {
				b.Fatalf("task %d never became a backend of %s", instances, frontend)
			}
			started, err := startedAtOf(mbase, "/bench/lb", added)
			if err != nil {
				b.Fatal(err)
			}
			samples = append(samples, max(seen.Sub(started), 0))
		}
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(ms(benchtest.Percentile(samples, 50)), "p50-ms")
	b.ReportMetric(ms(benchtest.Percentile(samples, 99)), "p99-ms")
	b.ReportMetric(ms(benchtest.Percentile(samples, 100)), "max-ms")
}

// newAddr is the address in after that is not in before.
func newAddr(before, after []string) string {
	in := map[string]bool{}
	for _, a := range before {
		in[a] = true
	}
	for _, a := range after {
		if !in[a] {
			return a
		}
	}
	return ""
}

// startedAtOf is the startedAt of the app's task at host:port addr.
func startedAtOf(base, appID, addr string) (time.Time, error) {
	var out struct {
		App struct {
			Tasks []struct {
				Host      string   `json:"host"`
				Ports     []uint64 `json:"ports"`
				StartedAt string   `json:"startedAt"`
			} `json:"tasks"`
		} `json:"app"`
	}
	if err := cluster.GetJSON(context.Background(), base+"/v2/apps"+appID, &out); err != nil {
		return time.Time{}, err
	}
	for _, t := range out.App.Tasks {
		if len(t.Ports) > 0 && t.Host+":"+strconv.FormatUint(t.Ports[0], 10) == addr {
			return time.Parse(time.RFC3339Nano, t.StartedAt)
		}
	}
	return time.Time{}, fmt.Errorf("no task of %s at %s", appID, addr)
}
