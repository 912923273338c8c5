package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/agent"
	"github.com/agoracluster/agora/agent/registration"
	"github.com/agoracluster/agora/cors"
	"github.com/agoracluster/agora/election"
	"github.com/agoracluster/agora/zookeeper"
)

// runAgent is `agora agent`: registers with a master and runs tasks.
func runAgent(ctx context.Context, args []string, _, stderr io.Writer) error {
	cfg := agent.DefaultConfig()
	fs := newFlagSet("agent")
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Master, "master", "", "master address: host:port or http://host:port, or zk://host1:2181,host2:2181/agora (or file:///path holding one) to follow the master elected in ZooKeeper")
	zkCfg := zookeeper.DefaultConfig()
	durationVar(fs, &zkCfg.SessionTimeout, "zk_session_timeout", zkCfg.SessionTimeout,
		"ZooKeeper session timeout when --master is a zk:// URL")
	ip := fs.String("ip", "0.0.0.0", "IP address to listen on")
	port := fs.Int("port", 5051, "port to listen on")
	fs.StringVar(&cfg.Hostname, "hostname", "", "hostname advertised to the master (default: the system hostname)")
	fs.StringVar(&cfg.WorkDir, "work_dir", cfg.WorkDir, "directory for sandboxes and checkpoints")
	fs.StringVar(&cfg.Resources, "resources", "", "resources, e.g. cpus:4;mem:8192;disk:20000;ports:[31000-32000] (missing ones are detected)")
	fs.StringVar(&cfg.Attributes, "attributes", "", "attributes, e.g. rack:r1;zone:a")
	containerizers := fs.String("containerizers", strings.Join(cfg.Containerizers, ","),
		"comma-separated containerizers: process, docker (docker is used only when the engine answers at start)")
	fs.StringVar(&cfg.DockerSocket, "docker_socket", "", "Docker Engine unix socket (default: $DOCKER_HOST, else /var/run/docker.sock)")
	fs.StringVar(&cfg.ExecutorBinary, "executor_binary", "", "agora binary run as the command executor and executor host (default: this binary)")
	fs.BoolVar(&cfg.ExecutorHost, "executor_host", cfg.ExecutorHost,
		"run command executors inside one executor host process (agora executor-host) instead of a process per task")
	durationVar(fs, &cfg.ExecutorRegistrationTimeout, "executor_registration_timeout", cfg.ExecutorRegistrationTimeout,
		"how long an executor has to subscribe before it is killed")
	durationVar(fs, &cfg.ExecutorShutdownGracePeriod, "executor_shutdown_grace_period", cfg.ExecutorShutdownGracePeriod,
		"how long an executor told to shut down has before it is killed")
	fs.IntVar(&cfg.LaunchConcurrency, "launch_concurrency", cfg.LaunchConcurrency,
		"how many executors may be starting (launched, not yet subscribed) at once")
	fs.StringVar(&cfg.Recover, "recover", cfg.Recover,
		"what to do with the executors of a previous run: reconnect (adopt them, keep the agent id) or cleanup (kill them, register as a new agent)")
	durationVar(fs, &cfg.ExecutorReregistrationTimeout, "executor_reregistration_timeout", cfg.ExecutorReregistrationTimeout,
		"how long a recovered executor has to subscribe again before it is killed")
	fs.StringVar(&cfg.BootIDPath, "boot_id_path", cfg.BootIDPath, "file holding the host's boot id (a changed boot id means the host rebooted)")
	fs.StringVar(&cfg.Isolation, "isolation", cfg.Isolation,
		"isolators: cgroups/cpu,cgroups/mem (CPU and memory limits in cgroups where the host allows) or posix/cpu,posix/mem (none)")
	fs.StringVar(&cfg.CgroupsRoot, "cgroups_root", cfg.CgroupsRoot, "cgroup under which every executor container gets its own")
	fs.BoolVar(&cfg.CgroupsEnableCFS, "cgroups_enable_cfs", cfg.CgroupsEnableCFS, "cap CPU with a CFS quota (cpus × period), not only shares")
	fs.StringVar(&cfg.NvidiaGPUDevices, "nvidia_gpu_devices", cfg.NvidiaGPUDevices,
		"indices (nvidia-smi's) of the GPUs to offer, e.g. 0,1 (default: every detected GPU, or the first N with gpus:N in --resources)")
	durationVar(fs, &cfg.GCDelay, "gc_delay", cfg.GCDelay,
		"how long the sandboxes of finished executors are kept at an empty disk (sooner as the disk fills)")
	fs.Float64Var(&cfg.GCDiskHeadroom, "gc_disk_headroom", cfg.GCDiskHeadroom,
		"fraction of the work dir's disk to keep free: sandboxes may live gc_delay × max(0, 1 − headroom − disk usage)")
	durationVar(fs, &cfg.DiskWatchInterval, "disk_watch_interval", cfg.DiskWatchInterval,
		"how often the disk usage of the work dir is checked for sandbox garbage collection")
	fs.BoolVar(&cfg.SwitchUser, "switch_user", cfg.SwitchUser, "run tasks as their user (the task's, else the framework's) when the agent runs as root; false runs them as the agent's user")
	fs.BoolVar(&cfg.AuthenticateHTTPExecutors, "authenticate_http_executors", false, "executors must show a token of their own (MESOS_EXECUTOR_AUTHENTICATION_TOKEN) on the executor API")
	fs.StringVar(&cfg.HTTPCredentials, "http_credentials", "", "file of the principals and secrets that may authenticate to the agent's HTTP endpoints (Mesos's JSON {\"credentials\":[…]} or \"principal secret\" lines; reloaded on change)")
	fs.BoolVar(&cfg.AuthenticateHTTPReadOnly, "authenticate_http_readonly", false, "endpoints that read the agent (/state, /files/*, /monitor/statistics, /containers, /metrics, /flags, the operator API's reads) want credentials of --http_credentials")
	fs.BoolVar(&cfg.AuthenticateHTTPReadWrite, "authenticate_http_readwrite", false, "operator calls that would change the agent want credentials of --http_credentials")
	fs.StringVar(&cfg.ACLs, "acls", "", "Mesos ACLs: JSON, or the path of a file holding it (reloaded on change): view_frameworks, view_executors and view_tasks decide what each principal sees, access_sandboxes whose sandboxes it reads; empty allows everything")
	tlsf := addTLSFlags(fs)
	credential := fs.String("credential", "", "file with the agent's credential for a master with --authenticate_agents ({\"principal\": …, \"secret\": …} or one \"principal secret\" line)")
	allowOrigin := fs.String("access_control_allow_origin", "",
		"origins whose pages may call the agent's APIs from a browser, separated by commas, or * for any: give the master's URL (http://master:5050) so that its web UI can show sandboxes")
	level := fs.String("logging_level", "info", "log level: debug, info, warn, error")
	if err := parseFlags(fs, args, osEnv); err != nil {
		return err
	}
	var err error
	if cfg.Credential, err = readCredential("credential", *credential); err != nil {
		return err
	}
	if cfg.AccessControlAllowOrigin, err = cors.Parse(*allowOrigin); err != nil {
		return fmt.Errorf("agent: --access_control_allow_origin: %w", err)
	}
	cfg.Containerizers = nil
	for _, c := range strings.Split(*containerizers, ",") {
		if c = strings.TrimSpace(c); c != "" {
			cfg.Containerizers = append(cfg.Containerizers, c)
		}
	}
	cfg.Version = version
	cfg.Flags = flagValues(fs)
	log, logLevel, err := newToggledLogger(*level)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	defer logLevel.Stop()
	cfg.LogLevel = logLevel
	if zookeeper.IsURL(cfg.Master) || strings.HasPrefix(cfg.Master, "file://") {
		det, closeDet, err := detectMaster(ctx, cfg.Master, zkCfg, log)
		if err != nil {
			return err
		}
		defer closeDet()
		cfg.MasterDetector = det
	} else if fs.Changed("zk_session_timeout") {
		return fmt.Errorf("agent: --zk_session_timeout needs --master zk://…")
	}
	tlsSet, err := tlsf.load(log)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	cfg.TLS, cfg.MasterTLS = tlsSet.cfg, tlsSet.client()
	a, err := agent.New(cfg, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(*ip, strconv.Itoa(*port)))
	if err != nil {
		return fmt.Errorf("agent: listen: %w", err)
	}
	if ln, err = tlsSet.listen(ln); err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	return a.Run(ctx, ln)
}

// detectMaster connects to the ZooKeeper of a zk:// (or file://) --master and
// follows the elected master; the returned func closes the detector and session.
func detectMaster(ctx context.Context, master string, cfg zookeeper.Config, log *zap.Logger) (registration.MasterDetector, func(), error) {
	u, err := zookeeper.LoadURL(master)
	if err != nil {
		return nil, nil, fmt.Errorf("agent: --master: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, nil, fmt.Errorf("agent: %w", err)
	}
	sess, err := zookeeper.Connect(ctx, u, cfg, log)
	if err != nil {
		return nil, nil, fmt.Errorf("agent: --master %s: %w", u.Redacted(), err)
	}
	det, err := election.DetectMaster(sess, u.Path, log)
	if err != nil {
		sess.Close()
		return nil, nil, fmt.Errorf("agent: --master %s: %w", u.Redacted(), err)
	}
	return registration.NewLeader(det), func() {
		det.Close()
		sess.Close()
	}, nil
}
