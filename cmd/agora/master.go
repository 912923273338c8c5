package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/agoracluster/agora/cors"
	"github.com/agoracluster/agora/master"
	"github.com/agoracluster/agora/master/allocator"
	"github.com/agoracluster/agora/zookeeper"
)

// runMaster is `agora master`: a standalone master, or with --zk one of several
// masters elected in ZooKeeper.
func runMaster(ctx context.Context, args []string, _, stderr io.Writer) error {
	cfg := master.DefaultConfig()
	fs := newFlagSet("master")
	fs.SetOutput(stderr)
	ip := fs.String("ip", "0.0.0.0", "IP address to listen on (and to advertise unless it is 0.0.0.0)")
	port := fs.Int("port", 5050, "port to listen on")
	fs.StringVar(&cfg.Hostname, "hostname", "", "hostname advertised to agents and frameworks (default: the system hostname)")
	fs.StringVar(&cfg.WorkDir, "work_dir", filepath.Join(os.TempDir(), "agora", "master"), "directory for the registry")
	zk := fs.String("zk", "", "ZooKeeper URL for leader election and the registry (zk://[user:pw@]host1:2181,host2:2181/agora, or file:///path holding one); empty: a standalone master with its registry in --work_dir")
	zkCfg := zookeeper.DefaultConfig()
	durationVar(fs, &zkCfg.SessionTimeout, "zk_session_timeout", zkCfg.SessionTimeout,
		"ZooKeeper session timeout: how long a leader cut off from ZooKeeper keeps its znode")
	quorum := fs.Int("quorum", 1, "accepted for Mesos habits; ZooKeeper keeps the registry (no replicated log), so it only has to be at least 1")
	fs.StringVar(&cfg.Cluster, "cluster", "", "human readable cluster name")
	durationVar(fs, &cfg.AgentPingTimeout, "agent_ping_timeout", cfg.AgentPingTimeout,
		"how long an agent may go without a heartbeat before a ping is counted as missed")
	fs.IntVar(&cfg.MaxAgentPingTimeouts, "max_agent_ping_timeouts", cfg.MaxAgentPingTimeouts,
		"missed pings after which an agent is marked unreachable")
	durationVar(fs, &cfg.AgentHeartbeatInterval, "agent_heartbeat_interval", cfg.AgentHeartbeatInterval,
		"interval of HEARTBEAT events on agent streams")
	durationVar(fs, &cfg.AgentReregisterTimeout, "agent_reregister_timeout", cfg.AgentReregisterTimeout,
		"how long agents known from the registry have to re-register after a master restart")
	durationVar(fs, &cfg.AgentRemovalTimeout, "agent_removal_timeout", cfg.AgentRemovalTimeout,
		"how long an unreachable agent is kept in the registry")
	durationVar(fs, &cfg.AgentRemovalTimeout, "registry_max_agent_age", cfg.AgentRemovalTimeout,
		"alias of --agent_removal_timeout (the Mesos name)")
	durationVar(fs, &cfg.OfferTimeout, "offer_timeout", 0, "rescind offers after this long (0: never)")
	durationVar(fs, &cfg.AllocationInterval, "allocation_interval", cfg.AllocationInterval, "interval of the periodic allocation cycle")
	weights := fs.String("weights", "", "role weights, role=weight separated by commas (eng=2.5,ops=1); a role without one weighs 1")
	minAllocatable := fs.String("min_allocatable_resources", "cpus:0.01|mem:32",
		"smallest resources worth offering: alternatives separated by '|', each name:amount pairs separated by ';'")
	fs.StringVar(&cfg.Credentials, "credentials", "", "file of the principals and secrets that may authenticate (Mesos's JSON {\"credentials\":[{\"principal\":…,\"secret\":…}]} or \"principal secret\" lines; reloaded on change)")
	fs.StringVar(&cfg.ACLs, "acls", "", "Mesos ACLs: JSON, or the path of a file holding it (reloaded on change); empty allows everything")
	fs.BoolVar(&cfg.AuthenticateFrameworks, "authenticate_frameworks", false, "schedulers must authenticate (HTTP Basic with --credentials)")
	fs.BoolVar(&cfg.AuthenticateFrameworks, "authenticate_http_frameworks", false, "alias of --authenticate_frameworks (Mesos's name for the v1 HTTP API)")
	fs.BoolVar(&cfg.AuthenticateAgents, "authenticate_agents", false, "agents must authenticate (HTTP Basic with --credentials)")
	fs.BoolVar(&cfg.AuthenticateHTTPReadWrite, "authenticate_http_readwrite", false, "operator calls that change the master must authenticate")
	fs.BoolVar(&cfg.AuthenticateHTTPReadOnly, "authenticate_http_readonly", false, "operator calls that read the master must authenticate")
	tlsf := addTLSFlags(fs)
	allowOrigin := fs.String("access_control_allow_origin", "",
		"origins whose pages may call the master's APIs from a browser, separated by commas (http://dash.example.com:8000), or * for any; the master's own web UI needs none")
	level := fs.String("logging_level", "info", "log level: debug, info, warn, error")
	err := parseFlags(fs, args, osEnv)
	if err != nil {
		return err
	}
	if cfg.AccessControlAllowOrigin, err = cors.Parse(*allowOrigin); err != nil {
		return fmt.Errorf("master: --access_control_allow_origin: %w", err)
	}
	if *quorum < 1 {
		return fmt.Errorf("master: --quorum %d: must be at least 1", *quorum)
	}
	if *zk == "" && fs.Changed("zk_session_timeout") {
		return errors.New("master: --zk_session_timeout needs --zk")
	}
	cfg.Version = version
	cfg.Flags = flagValues(fs)
	if cfg.Weights, err = allocator.ParseWeights(*weights); err != nil {
		return fmt.Errorf("master: --weights: %w", err)
	}
	if cfg.MinAllocatable, err = allocator.ParseMinAllocatable(*minAllocatable); err != nil {
		return fmt.Errorf("master: --min_allocatable_resources: %w", err)
	}
	if parsed := net.ParseIP(*ip); parsed != nil && !parsed.IsUnspecified() {
		cfg.IP = *ip
	}
	log, logLevel, err := newToggledLogger(*level)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	defer logLevel.Stop()
	cfg.LogLevel = logLevel
	var m *master.Master
	if *zk == "" {
		if m, err = master.New(cfg, log); err != nil {
			return err
		}
	} else {
		u, err := zookeeper.LoadURL(*zk)
		if err != nil {
			return fmt.Errorf("master: --zk: %w", err)
		}
		if err := zkCfg.Validate(); err != nil {
			return fmt.Errorf("master: %w", err)
		}
		sess, err := zookeeper.Connect(ctx, u, zkCfg, log)
		if err != nil {
			return fmt.Errorf("master: --zk %s: %w", u.Redacted(), err)
		}
		defer sess.Close()
		if m, err = master.NewHA(cfg, master.HA{Session: sess, Path: u.Path}, log); err != nil {
			return err
		}
	}
	tlsSet, err := tlsf.load(log)
	if err != nil {
		return fmt.Errorf("master: %w", err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(*ip, strconv.Itoa(*port)))
	if err != nil {
		return fmt.Errorf("master: listen: %w", err)
	}
	if ln, err = tlsSet.listen(ln); err != nil {
		return fmt.Errorf("master: %w", err)
	}
	return m.Run(ctx, ln)
}
