package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"

	"github.com/agoracluster/agora/frameworks/batch"
	"github.com/agoracluster/agora/frameworks/ha"
	"github.com/agoracluster/agora/frameworks/sdk"
)

// runBatch is `agora batch`: the batch framework (Metronome's REST /v1 with cron schedules
// and dependencies).
func runBatch(ctx context.Context, args []string, _, stderr io.Writer) error {
	cfg := batch.DefaultConfig()
	fs := newFlagSet("batch")
	fs.SetOutput(stderr)
	masters := fs.String("master", "127.0.0.1:5050", "master address (host:port, comma separated for several, or zk://host:2181,…/agora to follow the elected master)")
	fs.IntVar(&cfg.HTTPPort, "http_port", cfg.HTTPPort, "port of the REST API")
	httpAddr := fs.String("http_address", "", "address to listen on (default: all interfaces)")
	fs.StringVar(&cfg.Hostname, "hostname", "", "hostname advertised as the leader and to the master (default: the system hostname)")
	fs.StringVar(&cfg.WorkDir, "work_dir", filepath.Join(os.TempDir(), "agora", "batch"), "directory for the state (jobs, schedules, runs, history, framework id)")
	zk := addZKFlags(fs, "batch")
	fs.StringVar(&cfg.FrameworkName, "framework_name", cfg.FrameworkName, "framework name")
	durationVar(fs, &cfg.FailoverTimeout, "failover_timeout", cfg.FailoverTimeout, "how long the master keeps tasks while batch is away")
	fs.StringVar(&cfg.User, "mesos_user", "", "user tasks run as unless a job names one (default: the current user)")
	fs.StringVar(&cfg.Role, "mesos_role", cfg.Role, "framework role")
	fs.BoolVar(&cfg.GPUResources, "gpu_resources", cfg.GPUResources, "register with GPU_RESOURCES, so that agents with GPUs are offered (for jobs with run.gpus)")
	fs.IntVar(&cfg.HistoryRuns, "history_runs", cfg.HistoryRuns, "how many finished runs of each job are kept")
	fs.IntVar(&cfg.Retry.Limit, "retry_limit", cfg.Retry.Limit, "failed tasks a run retries under ON_FAILURE before it fails (0: until its activeDeadlineSeconds)")
	durationVar(fs, &cfg.Retry.Max, "retry_backoff_max", cfg.Retry.Max, "longest back-off before a failed task is retried")
	fs.BoolVar(&cfg.FindSandboxes, "find_sandboxes", cfg.FindSandboxes, "look up each task's agent URL and sandbox (from the master's and the agent's /state) for the run's stdout/stderr links")
	access := addFrameworkAccessFlags(fs, &cfg.HTTPRealm)
	level := fs.String("logging_level", "info", "log level: debug, info, warn, error")
	if err := parseFlags(fs, args, osEnv); err != nil {
		return err
	}
	acc, err := access.parse("batch")
	if err != nil {
		return err
	}
	cfg.Credential, cfg.HTTPCredentials, cfg.AccessControlAllowOrigin = acc.credential, acc.httpCredentials, acc.origins
	cfg.Masters = sdk.SplitMasters(*masters)
	if err := frameworkDefaults("batch", &cfg.Hostname, &cfg.User); err != nil {
		return err
	}
	log, err := newLogger(*level)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	if zk.tls, err = access.tls.load(log); err != nil {
		return fmt.Errorf("batch: %w", err)
	}
	cfg.MasterTLS, cfg.PeerTLS = zk.tls.client(), zk.tls.peer()
	b, err := batch.New(cfg, log) // checks the config; a term of RunHA makes its own
	if err != nil {
		return err
	}
	return zk.serve(ctx, "batch", *httpAddr, cfg.Hostname, cfg.HTTPPort, log, b.Run,
		func(ctx context.Context, ln net.Listener, node *ha.Node) error {
			return batch.RunHA(ctx, cfg, log, ln, node)
		})
}
