package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/agoracluster/agora/agent"
	"github.com/agoracluster/agora/cors"
	"github.com/agoracluster/agora/discovery/dns"
	"github.com/agoracluster/agora/discovery/lb"
	"github.com/agoracluster/agora/frameworks/batch"
	"github.com/agoracluster/agora/frameworks/marathon"
	"github.com/agoracluster/agora/loglevel"
	"github.com/agoracluster/agora/master"
)

// localConfig is what `agora local` starts.
type localConfig struct {
	ip         string
	masterPort int
	agentPort  int // first agent's port; the others follow
	agents     int
	workDir    string
	resources  string
	attributes string
	level      string
	marathon   int // Marathon's port; 0 disables it
	batch      int // the batch framework's port; 0 disables it
	dnsPort    int // agora dns's port (UDP and TCP); 0 picks a free one, -1 disables it
	lbAdmin    int // agora lb's admin port; 0 picks a free one, -1 disables the LB
	lbHTTP     int // agora lb's HTTP virtual-host port; 0 picks a free one, -1: none
}

// runLocal is `agora local`: a master and N agents (and the frameworks) in one process
// tree, for development and demos. Ctrl-C stops everything, tasks included.
func runLocal(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var lc localConfig
	fs := newFlagSet("local")
	fs.SetOutput(stderr)
	fs.StringVar(&lc.ip, "ip", "127.0.0.1", "IP address every component listens on")
	fs.IntVar(&lc.masterPort, "port", 5050, "master port")
	fs.IntVar(&lc.agentPort, "agent_port", 5051, "port of the first agent; agent i listens on agent_port+i")
	fs.IntVar(&lc.agents, "agents", 1, "number of agents")
	fs.StringVar(&lc.workDir, "work_dir", filepath.Join(".work", "local"), "directory for the master's registry and the agents' sandboxes")
	fs.StringVar(&lc.resources, "resources", "", "resources of each agent (default: detected)")
	fs.StringVar(&lc.attributes, "attributes", "", "attributes of each agent")
	fs.IntVar(&lc.marathon, "marathon_port", 8080, "port of the Marathon-compatible app framework (0: don't run it)")
	fs.IntVar(&lc.batch, "batch_port", 8081, "port of the batch framework (0: don't run it)")
	fs.IntVar(&lc.dnsPort, "dns_port", 0, "port of the DNS server for the domain mesos, UDP and TCP (0: a free port, printed; -1: don't run it)")
	fs.IntVar(&lc.lbAdmin, "lb_admin_port", 0, "admin port of the load balancer (agora lb, fed by Marathon; service ports on --ip) (0: a free port, printed; -1: don't run it)")
	fs.IntVar(&lc.lbHTTP, "lb_http_port", 0, "port of the load balancer's HTTP virtual hosts (0: a free port, printed; -1: none)")
	fs.StringVar(&lc.level, "logging_level", "info", "log level: debug, info, warn, error")
	if err := parseFlags(fs, args, osEnv); err != nil {
		return err
	}
	if lc.agents < 0 {
		return fmt.Errorf("local: --agents must not be negative, got %d", lc.agents)
	}
	workDir, err := filepath.Abs(lc.workDir)
	if err != nil {
		return fmt.Errorf("local: work_dir: %w", err)
	}
	lc.workDir = workDir
	log, logLevel, err := newToggledLogger(lc.level)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	defer logLevel.Stop()
	return runLocalCluster(ctx, lc, stdout, log, logLevel)
}

// runLocalCluster runs the cluster of lc; its master and agents share one logger, whose
// level logLevel changes.
func runLocalCluster(ctx context.Context, lc localConfig, stdout io.Writer, log *zap.Logger, logLevel *loglevel.Toggle) error {
	masterAddr := net.JoinHostPort(lc.ip, strconv.Itoa(lc.masterPort))
	mcfg := master.DefaultConfig()
	mcfg.IP = lc.ip
	mcfg.WorkDir = filepath.Join(lc.workDir, "master")
	mcfg.Cluster = "local"
	mcfg.LogLevel = logLevel
	if err := os.MkdirAll(mcfg.WorkDir, 0o755); err != nil {
		return fmt.Errorf("local: %w", err)
	}
	m, err := master.New(mcfg, log)
	if err != nil {
		return err
	}
	mln, err := net.Listen("tcp", masterAddr)
	if err != nil {
		return fmt.Errorf("local: master: listen: %w", err)
	}

	type runner struct {
		name string
		ln   net.Listener
		run  func(context.Context, net.Listener) error
	}
	// The master's web UI reads the agents' sandboxes and the frameworks' REST APIs from the
	// master's origin, by its address or, on this machine, as localhost.
	uiOrigin := cors.MustParse(fmt.Sprintf("http://%s,http://localhost:%d", masterAddr, lc.masterPort))
	runners := []runner{{"master", mln, m.Run}}
	closeAll := func() {
		for _, r := range runners {
			r.ln.Close()
		}
	}
	for i := 0; i < lc.agents; i++ {
		acfg := agent.DefaultConfig()
		acfg.Master = masterAddr
		acfg.Hostname = lc.ip
		acfg.WorkDir = filepath.Join(lc.workDir, fmt.Sprintf("agent-%d", i))
		acfg.Resources = lc.resources
		acfg.Attributes = lc.attributes
		acfg.ShutdownExecutorsOnExit = true // Ctrl-C stops the tasks too
		acfg.Version = version
		acfg.AccessControlAllowOrigin = uiOrigin
		acfg.LogLevel = logLevel
		a, err := agent.New(acfg, log.Named(fmt.Sprintf("agent-%d", i)))
		if err != nil {
			closeAll()
			return err
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(lc.ip, strconv.Itoa(lc.agentPort+i)))
		if err != nil {
			closeAll()
			return fmt.Errorf("local: agent %d: listen: %w", i, err)
		}
		runners = append(runners, runner{fmt.Sprintf("agent %d", i), ln, a.Run})
	}

	if lc.marathon > 0 {
		mcfg := marathon.DefaultConfig()
		mcfg.Masters = []string{masterAddr}
		mcfg.HTTPPort = lc.marathon
		mcfg.Hostname = lc.ip
		mcfg.WorkDir = filepath.Join(lc.workDir, "marathon")
		mcfg.AccessControlAllowOrigin = uiOrigin
		if u, err := user.Current(); err == nil {
			mcfg.User = u.Username
		}
		mar, err := marathon.New(mcfg, log)
		if err != nil {
			closeAll()
			return err
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(lc.ip, strconv.Itoa(lc.marathon)))
		if err != nil {
			closeAll()
			return fmt.Errorf("local: marathon: listen: %w", err)
		}
		runners = append(runners, runner{"marathon", ln, mar.Run})
	}

	if lc.batch > 0 {
		bcfg := batch.DefaultConfig()
		bcfg.Masters = []string{masterAddr}
		bcfg.HTTPPort = lc.batch
		bcfg.Hostname = lc.ip
		bcfg.WorkDir = filepath.Join(lc.workDir, "batch")
		bcfg.AccessControlAllowOrigin = uiOrigin
		if u, err := user.Current(); err == nil {
			bcfg.User = u.Username
		}
		bat, err := batch.New(bcfg, log)
		if err != nil {
			closeAll()
			return err
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(lc.ip, strconv.Itoa(lc.batch)))
		if err != nil {
			closeAll()
			return fmt.Errorf("local: batch: listen: %w", err)
		}
		runners = append(runners, runner{"batch", ln, bat.Run})
	}

	var dnsRun func(context.Context) error
	var dnsAddr net.Addr
	if lc.dnsPort >= 0 {
		dcfg := dns.DefaultConfig()
		dcfg.Masters = []string{masterAddr}
		srv, err := dns.NewServer(dcfg, log)
		if err != nil {
			closeAll()
			return err
		}
		pc, ln, err := dns.Listen(lc.ip, lc.dnsPort)
		if err != nil {
			closeAll()
			return fmt.Errorf("local: %w", err)
		}
		dnsAddr = pc.LocalAddr()
		dnsRun = func(ctx context.Context) error {
			return srv.Run(ctx, dns.NewSubscriber(dcfg, log), version, pc, ln, nil)
		}
	}

	var lbRun func(context.Context) error
	var lbAdminLn, lbHTTPLn net.Listener
	if lc.lbAdmin >= 0 && lc.marathon > 0 {
		lcfg := lb.DefaultConfig()
		lcfg.Marathons = []string{net.JoinHostPort(lc.ip, strconv.Itoa(lc.marathon))}
		lcfg.IP = lc.ip
		if lbAdminLn, err = listenOptional(lc.ip, lc.lbAdmin, "admin"); err == nil {
			lbHTTPLn, err = listenOptional(lc.ip, lc.lbHTTP, "http")
			if err != nil {
				lbAdminLn.Close()
			}
		}
		if err != nil {
			closeAll()
			return fmt.Errorf("local: %w", err)
		}
		lbRun = func(ctx context.Context) error { return lb.Run(ctx, lcfg, log, lbHTTPLn, lbAdminLn) }
	}

	fmt.Fprintf(stdout, "Agora local cluster (work dir %s)\n", lc.workDir)
	for _, r := range runners {
		fmt.Fprintf(stdout, "  %-9s http://%s\n", r.name, r.ln.Addr())
	}
	fmt.Fprintf(stdout, "  %-9s http://%s/\n", "web UI", mln.Addr())
	if dnsRun != nil {
		fmt.Fprintf(stdout, "  %-9s %s (udp, tcp; domain mesos: dig @%s -p %d leader.mesos)\n", "dns", dnsAddr, lc.ip, dnsAddr.(*net.UDPAddr).Port)
	}
	if lbRun != nil {
		fmt.Fprintf(stdout, "  %-9s http://%s/_lb/stats (service ports on %s; %s)\n", "lb", lbAdminLn.Addr(), lc.ip, describeListener("HTTP virtual hosts", lbHTTPLn))
	}
	fmt.Fprintln(stdout, "Press Ctrl-C to stop.")

	g, gctx := errgroup.WithContext(ctx)
	for _, r := range runners {
		g.Go(func() error {
			if err := r.run(gctx, r.ln); err != nil {
				return fmt.Errorf("%s: %w", r.name, err)
			}
			return nil
		})
	}
	if dnsRun != nil {
		g.Go(func() error {
			if err := dnsRun(gctx); err != nil {
				return fmt.Errorf("dns: %w", err)
			}
			return nil
		})
	}
	if lbRun != nil {
		g.Go(func() error {
			if err := lbRun(gctx); err != nil {
				return fmt.Errorf("lb: %w", err)
			}
			return nil
		})
	}
	return g.Wait()
}
