package main

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/spf13/pflag"
	"go.uber.org/zap"

	"github.com/agoracluster/agora/frameworks/ha"
	"github.com/agoracluster/agora/zookeeper"
)

// zkFlags are a framework's ZooKeeper flags (Marathon's names): --zk for several
// instances sharing a leader latch and their state.
type zkFlags struct {
	url            string
	sessionTimeout time.Duration
	timeout        time.Duration
	tls            tlsSetup // the API's listener serves HTTPS when it has a certificate
}

func addZKFlags(fs *pflag.FlagSet, name string) *zkFlags {
	def := ha.DefaultConfig()
	z := &zkFlags{sessionTimeout: def.SessionTimeout, timeout: def.ConnectTimeout}
	fs.StringVar(&z.url, "zk", "", fmt.Sprintf("ZooKeeper URL (zk://[user:password@]host:2181[,host:2181…]/%s) for the state and the leader election of several instances; the followers proxy API calls to the leader (default: one instance, state in --work_dir)", name))
	fs.Var(msDurationFlag{&z.sessionTimeout}, "zk_session_timeout", "ZooKeeper session timeout: how long a crashed leader keeps the lead (milliseconds as Marathon takes them, or a duration: 10secs, 4s)")
	fs.Var(msDurationFlag{&z.timeout}, "zk_timeout", "how long to wait for ZooKeeper at start (milliseconds, or a duration)")
	return z
}

// open joins the leader latch under --zk as the instance serving at hostname:port.
func (z *zkFlags) open(ctx context.Context, hostname string, port int, log *zap.Logger) (*ha.Node, error) {
	u, err := zookeeper.ParseURL(z.url)
	if err != nil {
		return nil, fmt.Errorf("--zk: %w", err)
	}
	cfg := ha.DefaultConfig()
	cfg.ZK, cfg.SessionTimeout, cfg.ConnectTimeout = u, z.sessionTimeout, z.timeout
	cfg.Address = net.JoinHostPort(hostname, strconv.Itoa(port))
	return ha.Open(ctx, cfg, log)
}

// serve listens on the framework's API address and runs it: alone (run) without --zk, as
// one of the instances sharing the leader latch (runHA) with it. name prefixes errors.
func (z *zkFlags) serve(ctx context.Context, name, httpAddr, hostname string, port int, log *zap.Logger,
	run func(context.Context, net.Listener) error, runHA func(context.Context, net.Listener, *ha.Node) error) error {
	ln, err := net.Listen("tcp", net.JoinHostPort(httpAddr, strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("%s: listen: %w", name, err)
	}
	if ln, err = z.tls.listen(ln); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if z.url == "" {
		return run(ctx, ln)
	}
	node, err := z.open(ctx, hostname, port, log)
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("%s: %w", name, err)
	}
	defer node.Close()
	return runHA(ctx, ln, node)
}

// msDurationFlag is a duration flag that also takes a bare number of milliseconds, as
// Marathon's ZooKeeper flags do.
type msDurationFlag struct{ d *time.Duration }

func (f msDurationFlag) String() string { return f.d.String() }
func (f msDurationFlag) Type() string   { return "duration" }
func (f msDurationFlag) Set(s string) error {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		if ms <= 0 {
			return fmt.Errorf("%q: must be positive", s)
		}
		*f.d = time.Duration(ms) * time.Millisecond
		return nil
	}
	return durationFlag{f.d}.Set(s)
}
