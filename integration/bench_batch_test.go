package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/agoracluster/agora/integration/benchtest"
	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/internal/poll"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/simulate"
)

// BenchmarkBatchJobs runs a real `agora master` and a real `agora batch` against simulated
// agents whose tasks finish after a short delay: J jobs of T tasks each (parallelism =
// completions = T) are started at once, and the figure is the sustained rate from submission
// to every run SUCCESS, with the master's and batch's CPU per task. With -agora.inprocess
// -tags inprocess the master and batch run in the benchmark process instead, so that
// -cpuprofile covers them (no CPU per process then).
var (
	benchBatchJobs   = flag.Int("agora.batch.jobs", 100, "BenchmarkBatchJobs: jobs, one run each")
	benchBatchTasks  = flag.Int("agora.batch.tasks", 1000, "BenchmarkBatchJobs: tasks per run")
	benchBatchAgents = flag.Int("agora.batch.agents", 200, "BenchmarkBatchJobs: simulated agents")
	benchBatchFinish = flag.Duration("agora.batch.finish", 100*time.Millisecond, "BenchmarkBatchJobs: how long a task runs")
	benchBatchWait   = flag.Duration("agora.batch.wait", 8*time.Minute, "BenchmarkBatchJobs: a failure, not a slow figure, past this (keep it below go test's -timeout)")
)

func BenchmarkBatchJobs(b *testing.B) {
	if testing.Short() {
		b.Skip("end-to-end benchmark; run it with make bench")
	}
	jobs, tasks := *benchBatchJobs, *benchBatchTasks
	var masterAddr, masterWD string
	if *benchInProcess {
		masterAddr = startInProcessMaster(b)
	} else {
		c := cluster.New(b, cluster.Options{MasterArgs: []string{"--logging_level", *benchLogLevel}})
		masterAddr, masterWD = c.Master.Addr, c.Master.WorkDir
	}

	cfg := simulate.DefaultConfig()
	cfg.Master = masterAddr
	cfg.Agents = *benchBatchAgents
	cfg.Resources = simAgentResources
	cfg.FinishDelay = *benchBatchFinish
	sim, err := simulate.New(cfg, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	wctx, wcancel := context.WithTimeout(context.Background(), time.Minute)
	defer wcancel()
	if err := sim.WaitConnected(wctx, cfg.Agents); err != nil {
		b.Fatal(err)
	}

	var baddr, bdir string
	if *benchInProcess {
		baddr = startInProcessBatch(b, masterAddr)
	} else {
		bport := strconv.Itoa(cluster.FreePort(b))
		baddr = "127.0.0.1:" + bport
		bdir = filepath.Join(b.TempDir(), "batch")
		cluster.Start(b, "batch", baddr, bdir, "batch", "--master", masterAddr, "--http_port", bport,
			"--http_address", "127.0.0.1", "--hostname", "127.0.0.1", "--work_dir", bdir,
			"--find_sandboxes=false", "--logging_level", *benchLogLevel)
	}
	base := "http://" + baddr
	poll.Eventually(b, 30*time.Second, func() error {
		var info struct {
			FrameworkID string `json:"frameworkId"`
		}
		if err := cluster.GetJSON(context.Background(), base+"/v1/info", &info); err != nil {
			return err
		}
		if info.FrameworkID == "" {
			return fmt.Errorf("batch not subscribed yet")
		}
		return nil
	})
	post := func(path string, body []byte) error {
		resp, err := http.Post(base+path, "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("POST %s = %s", path, resp.Status)
		}
		return nil
	}
	for i := range jobs {
		spec, _ := json.Marshal(map[string]any{"id": fmt.Sprintf("bench-%d", i), "run": map[string]any{
			"cmd": "true", "cpus": 0.01, "mem": 1, "parallelism": tasks, "completions": tasks}})
		if err := post("/v1/jobs", spec); err != nil {
			b.Fatal(err)
		}
	}
	var cpu func() (master, batch time.Duration) // nil in process: see the profile instead
	if !*benchInProcess {
		masterPID, err := benchtest.FindProcess("master", "--work_dir", masterWD)
		if err != nil {
			b.Fatal(err)
		}
		batchPID, err := benchtest.FindProcess("batch", "--work_dir", bdir)
		if err != nil {
			b.Fatal(err)
		}
		cpu = func() (master, batch time.Duration) {
			master, _ = benchtest.CPUTime(masterPID)
			batch, _ = benchtest.CPUTime(batchPID)
			return master, batch
		}
	}
	var masterCPU0, batchCPU0 time.Duration
	if cpu != nil {
		masterCPU0, batchCPU0 = cpu()
	}

	b.ResetTimer()
	start := time.Now()
	var g errgroup.Group // the runs are submitted at once, as a burst of clients would
	for i := range jobs {
		g.Go(func() error { return post(fmt.Sprintf("/v1/jobs/bench-%d/runs", i), nil) })
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	poll.Eventually(b, *benchBatchWait, func() error {
		var all []struct {
			HistorySummary struct{ SuccessCount, FailureCount int } `json:"historySummary"`
		}
		if err := cluster.GetJSON(context.Background(), base+"/v1/jobs?embed=historySummary", &all); err != nil {
			return err
		}
		ok := 0
		for _, j := range all {
			if j.HistorySummary.FailureCount > 0 {
				b.Fatalf("a run failed")
			}
			ok += j.HistorySummary.SuccessCount
		}
		if ok < jobs {
			return fmt.Errorf("%d of %d runs succeeded; %d tasks finished", ok, jobs, sim.Acked(mesos.TaskState_TASK_FINISHED))
		}
		return nil
	})
	elapsed := time.Since(start)
	b.StopTimer()
	n := float64(jobs * tasks)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(elapsed.Seconds(), "finished-s")
	b.ReportMetric(n/elapsed.Seconds(), "tasks/s")
	b.ReportMetric(n/elapsed.Seconds()/float64(runtime.NumCPU()), "tasks/s/core") // master, batch and agents share the cores
	b.ReportMetric(n, "tasks")
	b.ReportMetric(float64(jobs), "jobs")
	if cpu != nil {
		masterCPU1, batchCPU1 := cpu()
		b.ReportMetric(float64(masterCPU1-masterCPU0)/float64(time.Millisecond)/n, "master-cpu-ms/task")
		b.ReportMetric(float64(batchCPU1-batchCPU0)/float64(time.Millisecond)/n, "batch-cpu-ms/task")
		b.ReportMetric(float64(batchCPU1-batchCPU0)/float64(masterCPU1-masterCPU0), "batch/master-cpu")
	}
}
