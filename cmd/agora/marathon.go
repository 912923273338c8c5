package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/agoracluster/agora/frameworks/marathon"
	"github.com/agoracluster/agora/frameworks/sdk"
)

// runMarathon is `agora marathon`: the Marathon-compatible app framework (REST /v2).
func runMarathon(ctx context.Context, args []string, _, stderr io.Writer) error {
	cfg := marathon.DefaultConfig()
	fs := newFlagSet("marathon")
	fs.SetOutput(stderr)
	masters := fs.String("master", "127.0.0.1:5050", "master address (host:port, comma separated for several, or zk://host:2181,…/agora to follow the elected master)")
	fs.IntVar(&cfg.HTTPPort, "http_port", cfg.HTTPPort, "port of the REST API")
	httpAddr := fs.String("http_address", "", "address to listen on (default: all interfaces)")
	fs.StringVar(&cfg.Hostname, "hostname", "", "hostname advertised as the leader and to the master (default: the system hostname)")
	fs.StringVar(&cfg.WorkDir, "work_dir", filepath.Join(os.TempDir(), "agora", "marathon"), "directory for the state (apps, versions, deployments, tasks, framework id)")
	zk := addZKFlags(fs, "marathon")
	fs.StringVar(&cfg.FrameworkName, "framework_name", cfg.FrameworkName, "framework name")
	durationVar(fs, &cfg.FailoverTimeout, "failover_timeout", cfg.FailoverTimeout, "how long the master keeps tasks while Marathon is away")
	fs.StringVar(&cfg.User, "mesos_user", "", "user tasks run as (default: the current user)")
	fs.StringVar(&cfg.Role, "mesos_role", cfg.Role, "framework role")
	features := fs.String("enable_features", "", "comma-separated optional features: gpu_resources (register with GPU_RESOURCES, so that agents with GPUs are offered)")
	durationVar(fs, &cfg.IdleRefuse, "decline_offer_duration", cfg.IdleRefuse, "refuse filter for offers declined while nothing waits")
	fs.Var(msDurationOrZeroFlag{&cfg.TaskLaunchTimeout}, "task_launch_timeout", "how long a launched task may take to reach TASK_RUNNING before it is killed and replaced (milliseconds as Marathon takes them, or a duration; 0 waits forever)")
	fs.Var(msDurationOrZeroFlag{&cfg.ReconciliationInterval}, "reconciliation_interval", "how often every task is reconciled with the master besides at each subscription (milliseconds, or a duration; 0 never)")
	fs.Var(msDurationOrZeroFlag{&cfg.AutoscaleInterval}, "autoscale_interval", "how often apps with AGORA_AUTOSCALE_ labels are measured (one request per agent that runs them) and scaled (milliseconds, or a duration; 0 turns autoscaling off)")
	lbURLs := fs.String("autoscale_lb_url", "", "comma-separated admin URLs of the load balancers (agora lb --admin_port) whose request counts drive AGORA_AUTOSCALE_TARGET_RPS")
	fs.StringVar(&cfg.WebUIURL, "webui_url", "", "web UI URL given to the master (default: http://hostname:http_port)")
	fs.StringVar(&cfg.EventSubscriber, "event_subscriber", "", "event subscriber besides /v2/events: http_callback POSTs every event as JSON to the URLs subscribed through /v2/eventSubscriptions")
	endpoints := fs.String("http_endpoints", "", "comma-separated callback URLs subscribed at start (with --event_subscriber http_callback)")
	fs.IntVar(&cfg.MaxVersions, "max_versions", cfg.MaxVersions, "how many versions of each app and of the root group are stored")
	access := addFrameworkAccessFlags(fs, &cfg.HTTPRealm)
	level := fs.String("logging_level", "info", "log level: debug, info, warn, error")
	if err := parseFlags(fs, args, osEnv); err != nil {
		return err
	}
	acc, err := access.parse("marathon")
	if err != nil {
		return err
	}
	cfg.Credential, cfg.HTTPCredentials, cfg.AccessControlAllowOrigin = acc.credential, acc.httpCredentials, acc.origins
	if err := cfg.ParseFeatures(*features); err != nil {
		return fmt.Errorf("marathon: %w", err)
	}
	cfg.Masters = sdk.SplitMasters(*masters)
	for _, u := range strings.Split(*lbURLs, ",") {
		if u = strings.TrimSpace(u); u != "" {
			cfg.AutoscaleLBURLs = append(cfg.AutoscaleLBURLs, strings.TrimSuffix(u, "/"))
		}
	}
	for _, e := range strings.Split(*endpoints, ",") {
		if e = strings.TrimSpace(e); e != "" {
			cfg.HTTPEndpoints = append(cfg.HTTPEndpoints, e)
		}
	}
	if err := frameworkDefaults("marathon", &cfg.Hostname, &cfg.User); err != nil {
		return err
	}
	log, err := newLogger(*level)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	if zk.tls, err = access.tls.load(log); err != nil {
		return fmt.Errorf("marathon: %w", err)
	}
	cfg.MasterTLS, cfg.PeerTLS = zk.tls.client(), zk.tls.peer()
	m, err := marathon.New(cfg, log)
	if err != nil {
		return err
	}
	return zk.serve(ctx, "marathon", *httpAddr, cfg.Hostname, cfg.HTTPPort, log, m.Run, m.RunHA)
}

// msDurationOrZeroFlag is an msDurationFlag that also takes 0 (off).
type msDurationOrZeroFlag struct{ d *time.Duration }

func (f msDurationOrZeroFlag) String() string { return f.d.String() }
func (f msDurationOrZeroFlag) Type() string   { return "duration" }
func (f msDurationOrZeroFlag) Set(s string) error {
	if s == "0" {
		*f.d = 0
		return nil
	}
	return msDurationFlag(f).Set(s)
}
