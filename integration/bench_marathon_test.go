package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/integration/benchtest"
	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/internal/poll"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/simulate"
)

// The Marathon scale benchmarks run a real `agora master` and a real `agora marathon` (or
// both in process with -agora.inprocess -tags inprocess, for -cpuprofile) against
// simulated agents in the benchmark process: many agents that speak the real agent
// protocol over loopback but run no processes (package simagent).
var (
	benchMarathonInstances = flag.Int("agora.marathon.instances", 10000, "BenchmarkMarathonDeploy: instances of the one app")
	benchMarathonAgents    = flag.Int("agora.marathon.agents", 200, "Marathon benchmarks: simulated agents")
	benchMarathonApps      = flag.Int("agora.marathon.apps", 1000, "BenchmarkMarathonListApps: apps")
	benchMarathonAppTasks  = flag.Int("agora.marathon.apptasks", 10, "BenchmarkMarathonListApps: instances per app")
	benchMarathonGets      = flag.Int("agora.marathon.gets", 50, "BenchmarkMarathonListApps: GET /v2/apps?embed=apps.tasks requests measured")
)

// simAgentResources is plenty for every benchmark task on each simulated agent.
const simAgentResources = "cpus:256;mem:1048576;disk:1000000;ports:[31000-32000]"

// marathonBench is a master, simulated agents and Marathon under a benchmark.
type marathonBench struct {
	sim      *simulate.Sim
	base     string // Marathon's REST API
	client   *http.Client
	procs    []*cluster.Process // empty in process
	masterWD string
}

func startMarathonBench(b *testing.B, agents int) *marathonBench {
	b.Helper()
	if testing.Short() {
		b.Skip("end-to-end benchmark; run it with make bench")
	}
	mb := &marathonBench{client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}}
	var masterAddr string
	if *benchInProcess {
		masterAddr = startInProcessMaster(b)
	} else {
		c := cluster.New(b, cluster.Options{MasterArgs: []string{"--logging_level", *benchLogLevel}})
		masterAddr, mb.masterWD = c.Master.Addr, c.Master.WorkDir
		mb.procs = append(mb.procs, c.Master)
	}

	cfg := simulate.DefaultConfig()
	cfg.Master = masterAddr
	cfg.Agents = agents
	cfg.Resources = simAgentResources
	cfg.AttributesFor = func(i int) string { return fmt.Sprintf("rack:r%d", i%10) }
	sim, err := simulate.New(cfg, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	mb.sim = sim
	wctx, wcancel := context.WithTimeout(context.Background(), time.Minute)
	defer wcancel()
	if err := sim.WaitConnected(wctx, agents); err != nil {
		b.Fatal(err)
	}

	if *benchInProcess {
		mb.base = "http://" + startInProcessMarathon(b, masterAddr)
	} else {
		port := strconv.Itoa(cluster.FreePort(b))
		addr := "127.0.0.1:" + port
		dir := filepath.Join(b.TempDir(), "marathon")
		p := cluster.Start(b, "marathon", addr, dir, "marathon", "--master", masterAddr, "--http_port", port,
			"--http_address", "127.0.0.1", "--hostname", "127.0.0.1", "--work_dir", dir, "--logging_level", *benchLogLevel)
		mb.procs = append(mb.procs, p)
		mb.base = "http://" + addr
	}
	poll.Eventually(b, 30*time.Second, func() error {
		var info struct {
			FrameworkID string `json:"frameworkId"`
		}
		if err := cluster.GetJSON(context.Background(), mb.base+"/v2/info", &info); err != nil {
			return err
		}
		if info.FrameworkID == "" {
			return fmt.Errorf("marathon not subscribed yet")
		}
		return nil
	})
	return mb
}

// do sends one request to Marathon and returns the status and body.
func (mb *marathonBench) do(method, path string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(context.Background(), method, mb.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := mb.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func (mb *marathonBench) must(b *testing.B, method, path string, body []byte, want int) []byte {
	b.Helper()
	code, out, err := mb.do(method, path, body)
	if err != nil {
		b.Fatalf("%s %s: %v", method, path, err)
	}
	if code != want {
		b.Fatalf("%s %s = %d %s, want %d", method, path, code, out, want)
	}
	return out
}

// progress logs, every half second until stopped, how many tasks the agents were asked to
// run and how many TASK_STARTING and TASK_RUNNING updates were acknowledged.
func (mb *marathonBench) progress(b *testing.B, start time.Time) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		var lines []string
		for {
			select {
			case <-done:
				b.Logf("progress (launched/starting/running acknowledged):%v", lines)
				return
			case <-t.C:
				lines = append(lines, fmt.Sprintf(" %.1fs:%d/%d/%d", time.Since(start).Seconds(), mb.sim.Launched(),
					mb.sim.Acked(mesos.TaskState_TASK_STARTING), mb.sim.Acked(mesos.TaskState_TASK_RUNNING)))
			}
		}
	}()
	return func() { close(done); <-finished }
}

// appCounts is an app's task counts as /v2/apps reports them.
type appCounts struct {
	ID           string            `json:"id"`
	TasksRunning int               `json:"tasksRunning"`
	Deployments  []json.RawMessage `json:"deployments"`
	Tasks        []json.RawMessage `json:"tasks"`
}

// waitSettled waits until Marathon reports n running tasks of app id and no deployment.
func (mb *marathonBench) waitSettled(b *testing.B, id string, n int) {
	b.Helper()
	poll.Eventually(b, benchWait, func() error {
		var out struct{ Apps []appCounts }
		if err := cluster.GetJSON(context.Background(), mb.base+"/v2/apps?id="+id, &out); err != nil {
			return err
		}
		for _, a := range out.Apps {
			if a.ID == id && a.TasksRunning == n && len(a.Deployments) == 0 {
				return nil
			}
		}
		return fmt.Errorf("app %s: %+v, want %d running and no deployment", id, out.Apps, n)
	})
}

func sleepApp(id string, instances int) []byte {
	b, _ := json.Marshal(map[string]any{"id": id, "cmd": "sleep 3600", "cpus": 0.01, "mem": 1, "instances": instances})
	return b
}

// BenchmarkMarathonDeploy posts one app with -agora.marathon.instances instances onto
// -agora.marathon.agents simulated agents. Figures: seconds from the POST to the last
// TASK_RUNNING acknowledged (Marathon acknowledges an update once it has recorded it), the
// launch rate, and seconds from DELETE to the last TASK_KILLED acknowledged.
func BenchmarkMarathonDeploy(b *testing.B) {
	n := *benchMarathonInstances
	mb := startMarathonBench(b, *benchMarathonAgents)
	var running, killed time.Duration
	b.ResetTimer()
	for round := range b.N {
		id := fmt.Sprintf("/bench/scale%d", round)
		start := time.Now()
		stopProgress := mb.progress(b, start)
		mb.must(b, http.MethodPost, "/v2/apps", sleepApp(id, n), http.StatusCreated)
		ctx, cancel := context.WithTimeout(context.Background(), benchWait)
		last, err := mb.sim.WaitAcked(ctx, mesos.TaskState_TASK_RUNNING, n*(round+1))
		cancel()
		stopProgress()
		if err != nil {
			b.Fatal(err)
		}
		running += last.Sub(start)
		b.StopTimer()
		mb.waitSettled(b, id, n)
		b.StartTimer()

		start = time.Now()
		mb.must(b, http.MethodDelete, "/v2/apps"+id, nil, http.StatusOK)
		ctx, cancel = context.WithTimeout(context.Background(), benchWait)
		last, err = mb.sim.WaitAcked(ctx, mesos.TaskState_TASK_KILLED, n*(round+1))
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		killed += last.Sub(start)
	}
	b.StopTimer()
	rounds := float64(b.N)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(running.Seconds()/rounds, "running-s")
	b.ReportMetric(float64(n)*rounds/running.Seconds(), "tasks/s")
	b.ReportMetric(killed.Seconds()/rounds, "killed-s")
}

// BenchmarkMarathonListApps creates -agora.marathon.apps apps of -agora.marathon.apptasks
// instances each, waits until every task runs, then times -agora.marathon.gets requests of
// GET /v2/apps?embed=apps.tasks after a first one. Figures: p50, p99 and max in
// milliseconds, the first request's latency, and the size of the response.
func BenchmarkMarathonListApps(b *testing.B) {
	apps, per := *benchMarathonApps, *benchMarathonAppTasks
	mb := startMarathonBench(b, *benchMarathonAgents)
	start := time.Now()
	postApps(b, mb, apps, per)
	ctx, cancel := context.WithTimeout(context.Background(), benchWait)
	_, err := mb.sim.WaitAcked(ctx, mesos.TaskState_TASK_RUNNING, apps*per)
	cancel()
	if err != nil {
		b.Fatal(err)
	}
	setup := time.Since(start)
	// The first request renders every app and task for the first time: its latency is
	// reported on its own, the steady state is what the percentiles describe.
	t0 := time.Now()
	mb.must(b, http.MethodGet, "/v2/apps?embed=apps.tasks", nil, http.StatusOK)
	cold := time.Since(t0)
	var samples []time.Duration
	var size int
	b.ResetTimer()
	for range b.N {
		for i := range *benchMarathonGets {
			t0 := time.Now()
			body := mb.must(b, http.MethodGet, "/v2/apps?embed=apps.tasks", nil, http.StatusOK)
			samples = append(samples, time.Since(t0))
			size = len(body)
			if i > 0 {
				continue
			}
			b.StopTimer()
			var out struct{ Apps []appCounts }
			if err := json.Unmarshal(body, &out); err != nil {
				b.Fatal(err)
			}
			tasks := 0
			for _, a := range out.Apps {
				tasks += len(a.Tasks)
			}
			if len(out.Apps) != apps || tasks != apps*per {
				b.Fatalf("GET /v2/apps?embed=apps.tasks: %d apps, %d tasks; want %d, %d", len(out.Apps), tasks, apps, apps*per)
			}
			b.StartTimer()
		}
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(ms(benchtest.Percentile(samples, 50)), "p50-ms")
	b.ReportMetric(ms(benchtest.Percentile(samples, 99)), "p99-ms")
	b.ReportMetric(ms(benchtest.Percentile(samples, 100)), "max-ms")
	b.ReportMetric(ms(cold), "first-ms")
	b.ReportMetric(float64(size)/(1<<20), "MiB")
	b.ReportMetric(setup.Seconds(), "setup-s")
}

// postApps creates apps with a few requests in flight.
func postApps(b *testing.B, mb *marathonBench, apps, per int) {
	b.Helper()
	const inFlight = 4
	ids := make(chan int)
	errs := make(chan error, inFlight)
	var wg sync.WaitGroup
	for range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ids {
				code, out, err := mb.do(http.MethodPost, "/v2/apps", sleepApp(fmt.Sprintf("/bench/list/app%04d", i), per))
				if err == nil && code != http.StatusCreated {
					err = fmt.Errorf("POST app %d = %d %s", i, code, out)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := range apps {
		select {
		case ids <- i:
			continue
		case err := <-errs:
			close(ids)
			wg.Wait()
			b.Fatal(err)
		}
	}
	close(ids)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
}
