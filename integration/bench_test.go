package integration

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agoracluster/agora/integration/benchtest"
	"github.com/agoracluster/agora/integration/cluster"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
)

// The end-to-end benchmarks run real agora processes; `make bench` (scripts/bench.sh) runs
// them once each (-benchtime 1x) and prints their figures as one table. They measure and
// never assert speed: they fail only when tasks do not reach the expected states at all.
//
// With -agora.inprocess the master and the agent are served from the benchmark process
// (executors stay real processes), so that -cpuprofile and -memprofile cover them.
var (
	benchInProcess = flag.Bool("agora.inprocess", false, "benchmarks: serve the master and agent from the test process (for -cpuprofile)")
	benchTasks     = flag.Int("agora.tasks", 1000, "BenchmarkLaunchKill: tasks launched at once on one agent")
	benchRounds    = flag.Int("agora.roundtrips", 200, "BenchmarkOfferToRunning: sequential single-task launches")
	benchMemTasks  = flag.Int("agora.memtasks", 200, "BenchmarkMemoryPerTask: running tasks measured")
	benchLogs      = flag.String("agora.logs", "", "benchmarks: write the master's and agent's output into this directory")
	benchLogLevel  = flag.String("agora.loglevel", "info", "benchmarks: --logging_level of the master and agent")
)

const (
	// benchAgentResources is big enough for every benchmark's tasks on one agent.
	benchAgentResources = "cpus:1000;mem:1000000;disk:100000;ports:[31000-32000]"
	benchTaskResources  = "cpus:0.01;mem:1"
	benchWait           = 3 * time.Minute // a failure, not a slow figure, past this
)

// benchCluster is a master with one agent under a benchmark.
type benchCluster struct {
	masterAddr string
	masterPID  int // 0 when the master runs in this process
	agentPID   int // 0 when the agent runs in this process
	// agentWorkDir names the agent's executor host (empty when the agent runs in process).
	agentWorkDir string
	// secure is how a scheduler reaches a secure cluster's master (zero: plain).
	secure benchtest.Options
}

// scheduler subscribes a benchmark framework named name to the cluster's master.
func (c benchCluster) scheduler(b *testing.B, name string) *benchtest.Scheduler {
	opts := c.secure
	opts.Name = name
	return benchtest.StartScheduler(b, c.masterAddr, opts)
}

func startBenchCluster(b *testing.B) benchCluster { return startBenchClusterWith(b, false) }

// startBenchClusterWith starts the benchmark's master and agent; secure runs them with
// every hop in mutual TLS and every caller authenticated (frameworks, agents, executors),
// for the figures of what security costs.
func startBenchClusterWith(b *testing.B, secure bool) benchCluster {
	b.Helper()
	if testing.Short() {
		b.Skip("end-to-end benchmark; run it with make bench")
	}
	if *benchInProcess {
		if secure {
			b.Skip("the secure cluster runs as processes (not with -agora.inprocess)")
		}
		ip := benchtest.StartInProcess(b, benchAgentResources, cluster.Binary(b))
		return benchCluster{masterAddr: ip.MasterAddr}
	}
	level := []string{"--logging_level", *benchLogLevel}
	opts := cluster.Options{Agents: 1, AgentResources: benchAgentResources, MasterArgs: level, AgentArgs: level}
	var sched benchtest.Options
	if secure {
		opts, sched = secureBenchOptions(b, opts)
	}
	c := cluster.New(b, opts)
	mpid, err := benchtest.FindProcess("master", c.Master.WorkDir)
	if err != nil {
		b.Fatalf("master pid: %v", err)
	}
	apid, err := benchtest.FindProcess("agent", c.Agents[0].WorkDir)
	if err != nil {
		b.Fatalf("agent pid: %v", err)
	}
	if dir := *benchLogs; dir != "" {
		b.Cleanup(func() {
			for _, p := range []*cluster.Process{c.Master, c.Agents[0]} {
				path := filepath.Join(dir, b.Name()+"."+p.Name+".log")
				if err := os.WriteFile(path, []byte(p.Output()), 0o644); err != nil {
					b.Errorf("write %s log: %v", p.Name, err)
				}
			}
		})
	}
	return benchCluster{masterAddr: c.Master.Addr, masterPID: mpid, agentPID: apid, agentWorkDir: c.Agents[0].WorkDir, secure: sched}
}

// cpuUse is the CPU time used by the parts of a benchmark: the master, the agent, the
// executors under the agent (with their tasks), and the benchmark process (the scheduler,
// and the master and agent when they run in process).
// machine is the busy time of the whole machine (every process, and the kernel).
type cpuUse struct {
	master, agent, executors, self, machine time.Duration
}

func (u cpuUse) plus(o cpuUse) cpuUse {
	return cpuUse{u.master + o.master, u.agent + o.agent, u.executors + o.executors, u.self + o.self, u.machine + o.machine}
}

func (u cpuUse) minus(o cpuUse) cpuUse {
	return cpuUse{u.master - o.master, u.agent - o.agent, u.executors - o.executors, u.self - o.self, u.machine - o.machine}
}

// executors returns the agent's executor processes: its executor host (not its child: the
// host is started detached) and the executors it runs as processes of their own.
func (c benchCluster) executors() ([]int, error) {
	pids, err := benchtest.Children(c.agentPID)
	if err != nil {
		return nil, err
	}
	if host, err := benchtest.FindProcess("executor-host", c.agentWorkDir); err == nil {
		pids = append(pids, host)
	}
	return pids, nil
}

// cpu reads the CPU time used so far. Executors that exited are not counted, so take it
// while the executors of interest run.
func (c benchCluster) cpu(b *testing.B) cpuUse {
	b.Helper()
	var u cpuUse
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	u.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	busy, _, err := benchtest.MachineCPU()
	if err != nil {
		b.Fatal(err)
	}
	u.machine = busy
	if c.agentPID == 0 {
		return u
	}
	if u.master, err = benchtest.CPUTime(c.masterPID); err != nil {
		b.Fatal(err)
	}
	if u.agent, err = benchtest.CPUTime(c.agentPID); err != nil {
		b.Fatal(err)
	}
	execs, err := c.executors()
	if err != nil {
		b.Fatal(err)
	}
	var all []int
	for _, pid := range execs {
		d, err := benchtest.Descendants(pid)
		if err != nil {
			b.Fatal(err)
		}
		all = append(append(all, pid), d...)
	}
	if u.executors, err = benchtest.CPUTime(all...); err != nil {
		b.Fatal(err)
	}
	return u
}

func sleepTasks(prefix string, n int) ([]string, []*mesos.TaskInfo) {
	res := resources.MustParse(benchTaskResources)
	ids := make([]string, n)
	tasks := make([]*mesos.TaskInfo, n)
	for i := range n {
		ids[i] = fmt.Sprintf("%s-%04d", prefix, i)
		tasks[i] = benchtest.SleepTask(ids[i], 3600, res)
	}
	return ids, tasks
}

// killAndWait kills tasks ids and waits until all are TASK_KILLED; it returns the time from
// the first KILL call to the last TASK_KILLED seen by the scheduler.
func killAndWait(b *testing.B, s *benchtest.Scheduler, ids []string) time.Duration {
	b.Helper()
	start, err := s.KillAll(context.Background(), ids, 16)
	if err != nil {
		b.Fatal(err)
	}
	last, err := s.WaitAll(ids, mesos.TaskState_TASK_KILLED, benchWait)
	if err != nil {
		b.Fatal(err)
	}
	return last.Sub(start)
}

// BenchmarkLaunchKill launches -agora.tasks plain `sleep` tasks on one agent in as few
// ACCEPTs as the offers allow (one), then kills them all. Figures: seconds from the first
// ACCEPT to the last TASK_STARTING and TASK_RUNNING seen by the scheduler, and from the
// first KILL call to the last TASK_KILLED.
func BenchmarkLaunchKill(b *testing.B) { benchLaunchKill(b, false) }

// BenchmarkLaunchKillSecure is BenchmarkLaunchKill with mutual TLS on every hop and every
// caller authenticated: what security costs a launch.
func BenchmarkLaunchKillSecure(b *testing.B) { benchLaunchKill(b, true) }

func benchLaunchKill(b *testing.B, secure bool) {
	c := startBenchClusterWith(b, secure)
	s := c.scheduler(b, "bench-launch")
	n := *benchTasks
	var starting, running, kill time.Duration
	var cpu cpuUse
	b.ResetTimer()
	for round := range b.N {
		ids, tasks := sleepTasks(fmt.Sprintf("launch%d", round), n)
		before := c.cpu(b)
		if err := s.Launch(context.Background(), tasks...); err != nil {
			b.Fatal(err)
		}
		lastRunning, err := s.WaitAll(ids, mesos.TaskState_TASK_RUNNING, benchWait)
		if err != nil {
			b.Fatal(err)
		}
		cpu = cpu.plus(c.cpu(b).minus(before))
		lastStarting, err := s.WaitAll(ids, mesos.TaskState_TASK_STARTING, time.Second)
		if err != nil {
			b.Fatal(err)
		}
		offerAt, acceptAt := s.Batch()
		for _, st := range []mesos.TaskState{mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_RUNNING} {
			b.Logf("%v after ACCEPT (offer to ACCEPT %v): %s", st, acceptAt.Sub(offerAt).Round(time.Microsecond),
				s.Timeline(ids, st, acceptAt, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1))
		}
		starting += lastStarting.Sub(acceptAt)
		running += lastRunning.Sub(acceptAt)
		kill += killAndWait(b, s, ids)
	}
	b.StopTimer()
	rounds := float64(b.N)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(starting.Seconds()/rounds, "starting-s")
	b.ReportMetric(running.Seconds()/rounds, "running-s")
	b.ReportMetric(kill.Seconds()/rounds, "killed-s")
	b.ReportMetric(float64(n)*rounds/running.Seconds(), "launched-tasks/s")
	if c.agentPID != 0 {
		b.ReportMetric(cpu.master.Seconds()/rounds, "launch-master-cpu-s")
		b.ReportMetric(cpu.agent.Seconds()/rounds, "launch-agent-cpu-s")
		b.ReportMetric(cpu.executors.Seconds()/rounds, "launch-executors-cpu-s")
	}
	b.ReportMetric(cpu.self.Seconds()/rounds, "launch-scheduler-cpu-s")
	b.ReportMetric(cpu.machine.Seconds()/rounds, "launch-machine-cpu-s")
	b.ReportMetric(float64(runtime.NumCPU()), "cpus")
}

// BenchmarkOfferToRunning launches -agora.roundtrips tasks one after the other, each on
// its own offer: revive, take the offer, ACCEPT, wait for TASK_RUNNING. Figures: the time
// from receiving the offer to receiving TASK_RUNNING, p50, p99 and max, in milliseconds.
func BenchmarkOfferToRunning(b *testing.B) { benchOfferToRunning(b, false) }

// BenchmarkOfferToRunningSecure is BenchmarkOfferToRunning with mutual TLS on every hop and
// every caller authenticated.
func BenchmarkOfferToRunningSecure(b *testing.B) { benchOfferToRunning(b, true) }

func benchOfferToRunning(b *testing.B, secure bool) {
	c := startBenchClusterWith(b, secure)
	s := c.scheduler(b, "bench-roundtrip")
	var samples, toStarting []time.Duration
	var timeline strings.Builder // task, offer, TASK_STARTING, TASK_RUNNING (Unix ns)
	b.ResetTimer()
	for round := range b.N {
		ids, tasks := sleepTasks(fmt.Sprintf("rt%d", round), *benchRounds)
		for i, task := range tasks {
			if err := s.Launch(context.Background(), task); err != nil {
				b.Fatal(err)
			}
			running, err := s.WaitAll(ids[i:i+1], mesos.TaskState_TASK_RUNNING, benchWait)
			if err != nil {
				b.Fatal(err)
			}
			offerAt, _ := s.Batch()
			samples = append(samples, running.Sub(offerAt))
			starting, ok := s.Reached(ids[i], mesos.TaskState_TASK_STARTING)
			if ok {
				toStarting = append(toStarting, starting.Sub(offerAt))
			}
			fmt.Fprintf(&timeline, "%s %d %d %d\n", ids[i], offerAt.UnixNano(), starting.UnixNano(), running.UnixNano())
		}
		b.StopTimer()
		killAndWait(b, s, ids)
		b.StartTimer()
	}
	b.StopTimer()
	if dir := *benchLogs; dir != "" {
		if err := os.WriteFile(filepath.Join(dir, b.Name()+".timeline"), []byte(timeline.String()), 0o644); err != nil {
			b.Error(err)
		}
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(ms(benchtest.Percentile(samples, 50)), "p50-ms")
	b.ReportMetric(ms(benchtest.Percentile(samples, 99)), "p99-ms")
	b.ReportMetric(ms(benchtest.Percentile(samples, 100)), "max-ms")
	b.ReportMetric(ms(benchtest.Percentile(toStarting, 50)), "starting-p50-ms")
}

// BenchmarkMemoryPerTask runs -agora.memtasks `sleep` tasks on one agent and divides the
// memory of its executors (the executor host), their tasks and the agent's growth by their
// number. Figures in
// KiB per task: RSS and PSS (proportional set size: shared pages split between the
// processes that map them, the better estimate of what a task really costs), and the parts.
func BenchmarkMemoryPerTask(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("reads /proc")
	}
	if *benchInProcess {
		b.Skip("needs the agent as its own process")
	}
	c := startBenchCluster(b)
	s := benchtest.StartScheduler(b, c.masterAddr, benchtest.Options{Name: "bench-memory"})
	n := *benchMemTasks
	var perTask, agentGrowth, executors, taskProcs benchtest.Mem
	b.ResetTimer()
	for round := range b.N {
		before, err := benchtest.Measure(c.agentPID)
		if err != nil {
			b.Fatal(err)
		}
		ids, tasks := sleepTasks(fmt.Sprintf("mem%d", round), n)
		if err := s.Launch(context.Background(), tasks...); err != nil {
			b.Fatal(err)
		}
		if _, err := s.WaitAll(ids, mesos.TaskState_TASK_RUNNING, benchWait); err != nil {
			b.Fatal(err)
		}
		execPIDs, err := c.executors()
		if err != nil {
			b.Fatal(err)
		}
		var taskPIDs []int
		for _, pid := range execPIDs {
			d, err := benchtest.Descendants(pid)
			if err != nil {
				b.Fatal(err)
			}
			taskPIDs = append(taskPIDs, d...)
		}
		after, err := benchtest.Measure(c.agentPID)
		if err != nil {
			b.Fatal(err)
		}
		exec, err := benchtest.Measure(execPIDs...)
		if err != nil {
			b.Fatal(err)
		}
		procs, err := benchtest.Measure(taskPIDs...)
		if err != nil {
			b.Fatal(err)
		}
		// Command executors run in the agent's one executor host (the agent's only child
		// here, the tasks' parent): its whole memory is shared out among the tasks.
		if exec.Procs < 1 || procs.Procs != n {
			b.Fatalf("found %d executor processes and %d task processes under the agent, want at least 1 and %d", exec.Procs, procs.Procs, n)
		}
		growth := benchtest.Mem{RSS: after.RSS - before.RSS, PSS: after.PSS - before.PSS}
		agentGrowth = agentGrowth.Plus(growth)
		executors = executors.Plus(exec)
		taskProcs = taskProcs.Plus(procs)
		perTask = perTask.Plus(exec).Plus(procs).Plus(growth)
		b.StopTimer()
		killAndWait(b, s, ids)
		b.StartTimer()
	}
	b.StopTimer()
	per := func(total int64) float64 { return float64(total) / float64(b.N) / float64(n) / 1024 }
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(per(perTask.RSS), "rss-KiB/task")
	b.ReportMetric(per(perTask.PSS), "pss-KiB/task")
	b.ReportMetric(per(executors.RSS), "executor-rss-KiB/task")
	b.ReportMetric(per(executors.PSS), "executor-pss-KiB/task")
	b.ReportMetric(per(taskProcs.RSS), "sleep-rss-KiB/task")
	b.ReportMetric(per(agentGrowth.RSS), "agent-growth-KiB/task")
}
