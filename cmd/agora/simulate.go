package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/simulate"
	"github.com/agoracluster/agora/zookeeper"
)

// runSimulate is `agora simulate`: many simulated agents in one process against a real
// master, for capacity testing.
func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := simulate.DefaultConfig()
	fs := newFlagSet("simulate")
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Master, "master", "127.0.0.1:5050", "master address: host:port (a standby redirects to the leader), or zk://host:2181,…/agora to follow the elected master")
	zkCfg := zookeeper.DefaultConfig()
	durationVar(fs, &zkCfg.SessionTimeout, "zk_session_timeout", zkCfg.SessionTimeout, "ZooKeeper session timeout when --master is a zk:// URL")
	fs.IntVar(&cfg.Agents, "agents", 100, "how many agents to simulate")
	fs.StringVar(&cfg.Resources, "resources", cfg.Resources, "every agent's resources (Mesos text form)")
	fs.StringVar(&cfg.Attributes, "attributes", "", "every agent's attributes (rack:r1;zone:a)")
	fs.StringVar(&cfg.HostnamePrefix, "hostname_prefix", cfg.HostnamePrefix, "agent i is named <prefix><i>")
	durationVar(fs, &cfg.RunningDelay, "running_delay", 0, "how long a launched task stays TASK_STARTING before TASK_RUNNING")
	durationVar(fs, &cfg.FinishDelay, "run_time", 0, "how long a task runs before TASK_FINISHED (0: until killed)")
	fs.BoolVar(&cfg.Unhealthy, "unhealthy", false, "tasks with a health check report unhealthy")
	durationVar(fs, &cfg.RetryInterval, "status_update_retry", cfg.RetryInterval, "how long an unacknowledged status update waits before it is sent again")
	fs.IntVar(&cfg.CallWorkers, "call_workers", cfg.CallWorkers, "calls to the master in flight at once, for all agents")
	fs.IntVar(&cfg.SourceAddrs, "source_addresses", 64, "loopback source addresses (127.1.0.1, …) the connections to a loopback master are spread over")
	report := fs.Duration("report_interval", 5*time.Second, "how often to print the agents connected, the tasks by state and the memory per agent (0: never)")
	level := fs.String("logging_level", "warn", "log level: debug, info, warn, error")
	if err := parseFlags(fs, args, osEnv); err != nil {
		return err
	}
	log, err := newLogger(*level)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	if zookeeper.IsURL(cfg.Master) || strings.HasPrefix(cfg.Master, "file://") {
		det, closeDet, err := detectMaster(ctx, cfg.Master, zkCfg, log)
		if err != nil {
			return fmt.Errorf("simulate: %w", err)
		}
		defer closeDet()
		cfg.Detector, cfg.Master = det, ""
	}
	sim, err := simulate.New(cfg, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "simulating %d agents against %s\n", cfg.Agents, fs.Lookup("master").Value)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return sim.Run(gctx) })
	if *report > 0 {
		g.Go(func() error { reportSimulation(gctx, sim, *report, stdout, log); return nil })
	}
	return g.Wait()
}

// reportSimulation prints a line of progress every interval until ctx ends.
func reportSimulation(ctx context.Context, sim *simulate.Sim, every time.Duration, w io.Writer, log *zap.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		tasks := sim.Tasks()
		var b strings.Builder
		for _, st := range []mesos.TaskState{mesos.TaskState_TASK_STAGING, mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_RUNNING,
			mesos.TaskState_TASK_FINISHED, mesos.TaskState_TASK_KILLED} {
			fmt.Fprintf(&b, " %s=%d", strings.TrimPrefix(st.String(), "TASK_"), tasks[st])
		}
		agents := max(1, sim.Agents())
		if _, err := fmt.Fprintf(w, "connected=%d/%d launched=%d tasks:%s memory=%.1f KiB/agent (Go heap+stacks in use)\n",
			sim.Connected(), sim.Agents(), sim.Launched(), b.String(),
			float64(ms.HeapInuse+ms.StackInuse)/1024/float64(agents)); err != nil {
			log.Debug("report", zap.Error(err))
		}
	}
}
