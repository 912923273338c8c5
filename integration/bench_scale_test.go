package integration

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/integration/benchtest"
	"github.com/agoracluster/agora/integration/cluster"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
	"github.com/agoracluster/agora/simulate"
)

var (
	benchSimAgents = flag.Int("agora.sim.agents", 5000, "BenchmarkSimulatedAgents: simulated agents registered with one master (the issue's figure: 50000)")
	benchSimTasks  = flag.Int("agora.sim.tasks", 10, "BenchmarkSimulatedAgents: tasks launched per agent after they registered (0: none)")
)

// BenchmarkSimulatedAgents registers -agora.sim.agents simulated agents (agora simulate's,
// in this process) with a real `agora master`, then runs -agora.sim.tasks tasks on each.
// Figures: seconds until every agent is registered and the master's RSS then, per agent;
// with the tasks, seconds until every task runs and the master's RSS.
func BenchmarkSimulatedAgents(b *testing.B) {
	if testing.Short() {
		b.Skip("end-to-end benchmark; run it with make bench")
	}
	n, per := *benchSimAgents, *benchSimTasks
	c := cluster.New(b, cluster.Options{MasterArgs: []string{"--logging_level", "warn"}})
	mpid, err := benchtest.FindProcess("master", c.Master.WorkDir)
	if err != nil {
		b.Fatal(err)
	}
	idle, err := benchtest.Measure(mpid)
	if err != nil {
		b.Fatal(err)
	}
	cfg := simulate.DefaultConfig()
	cfg.Master, cfg.Agents, cfg.SourceAddrs = c.Master.Addr, n, 64
	cfg.Resources = "cpus:" + strconv.Itoa(max(per, 1)) + ";mem:" + strconv.Itoa(max(per, 1)*64) + ";disk:1000;ports:[31000-31100]"
	sim, err := simulate.New(cfg, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	b.ResetTimer()
	start := time.Now()
	go func() { done <- sim.Run(ctx) }()
	defer func() { cancel(); <-done }()
	wctx, wcancel := context.WithTimeout(ctx, 15*time.Minute)
	defer wcancel()
	if err := sim.WaitConnected(wctx, n); err != nil {
		b.Fatal(err)
	}
	registered := time.Since(start)
	mem, err := benchtest.Measure(mpid)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(n), "agents")
	b.ReportMetric(registered.Seconds(), "registered-s")
	b.ReportMetric(float64(mem.RSS)/(1<<20), "master-rss-MiB")
	b.ReportMetric(float64(mem.RSS-idle.RSS)/1024/float64(n), "master-KiB/agent")
	if per == 0 {
		return
	}
	fw := benchtest.StartScheduler(b, c.Master.Addr, benchtest.Options{Name: "scale"})
	res := resources.MustParse("cpus:1;mem:64")
	var ids []string
	var tasks []*mesos.TaskInfo
	for i := range n * per {
		id := fmt.Sprintf("scale-%07d", i)
		ids = append(ids, id)
		tasks = append(tasks, benchtest.SleepTask(id, 36000, res))
	}
	start = time.Now()
	if err := fw.Launch(ctx, tasks...); err != nil {
		b.Fatal(err)
	}
	if _, err := fw.WaitAll(ids, mesos.TaskState_TASK_RUNNING, 30*time.Minute); err != nil {
		b.Fatalf("%v\n%s", err, fw.Summary(ids))
	}
	running := time.Since(start)
	if mem, err = benchtest.Measure(mpid); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(n*per), "tasks")
	b.ReportMetric(running.Seconds(), "tasks-running-s")
	b.ReportMetric(float64(n*per)/running.Seconds(), "tasks/s")
	b.ReportMetric(float64(mem.RSS)/(1<<20), "master-rss-tasks-MiB")
}
