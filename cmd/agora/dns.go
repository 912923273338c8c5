package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/agoracluster/agora/discovery/dns"
	"github.com/agoracluster/agora/frameworks/sdk"
)

// runDNS is `agora dns`: the Mesos-DNS-compatible DNS server for the cluster's domain.
func runDNS(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := dns.DefaultConfig()
	fs := newFlagSet("dns")
	fs.SetOutput(stderr)
	masters := fs.String("master", "127.0.0.1:5050", "master address (host:port, comma separated for several, or zk://host:2181,…/agora to follow the elected master)")
	ip := fs.String("ip", "0.0.0.0", "address to serve DNS and the HTTP API on")
	port := fs.Int("port", 53, "DNS port, UDP and TCP (0: a free port, printed at start)")
	fs.StringVar(&cfg.Domain, "domain", cfg.Domain, "domain served authoritatively")
	resolvers := fs.String("resolvers", "", "upstream DNS servers for other names (host:port, comma separated; none: such queries are REFUSED)")
	fs.BoolVar(&cfg.Recurse, "recurse", cfg.Recurse, "forward names outside the domain to --resolvers when the query asks for recursion")
	httpPort := fs.Int("http_port", 8123, "port of the HTTP API (/v1/hosts, /v1/services; -1: no HTTP API)")
	durationVar(fs, &cfg.Refresh, "refresh", cfg.Refresh, "how often a master without the operator API is polled; otherwise the records follow its event stream, and /state is read on every (re)subscription and leader change")
	durationVar(fs, &cfg.StateTimeout, "state_timeout", cfg.StateTimeout, "time limit of one read of the master's state")
	durationVar(fs, &cfg.ForwardTimeout, "timeout", cfg.ForwardTimeout, "time limit of one exchange with an upstream resolver")
	ttl := fs.Uint32("ttl", cfg.TTL, "TTL of the records, in seconds")
	tlsf := addTLSFlags(fs)
	principal := fs.String("mesos_authentication_principal", "", "principal the masters' state is read as, for masters with --authenticate_http_readonly (with --mesos_authentication_secret_file)")
	secretFile := fs.String("mesos_authentication_secret_file", "", "file holding the secret of --mesos_authentication_principal")
	level := fs.String("logging_level", "info", "log level: debug, info, warn, error")
	if err := parseFlags(fs, args, osEnv); err != nil {
		return err
	}
	cfg.TTL = *ttl
	var err error
	if cfg.Credential, err = frameworkCredential(*principal, *secretFile); err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	cfg.Masters = sdk.SplitMasters(*masters)
	if *resolvers != "" {
		for _, r := range strings.Split(*resolvers, ",") {
			cfg.Resolvers = append(cfg.Resolvers, strings.TrimSpace(r))
		}
	}
	log, err := newLogger(*level)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	tlsSet, err := tlsf.load(log)
	if err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	cfg.MasterTLS = tlsSet.client()
	srv, err := dns.NewServer(cfg, log)
	if err != nil {
		return err
	}
	pc, ln, err := dns.Listen(*ip, *port)
	if err != nil {
		return err
	}
	var httpLn net.Listener
	if *httpPort >= 0 {
		httpLn, err = net.Listen("tcp", net.JoinHostPort(*ip, strconv.Itoa(*httpPort)))
		if err == nil {
			httpLn, err = tlsSet.listen(httpLn)
		}
		if err != nil {
			pc.Close()
			ln.Close()
			return fmt.Errorf("dns: http: listen: %w", err)
		}
		scheme := "http"
		if tlsSet.cfg.CertFile != "" {
			scheme = "https"
		}
		fmt.Fprintf(stdout, "agora dns: domain %s, DNS on %s (udp, tcp), HTTP on %s://%s\n", cfg.Domain, pc.LocalAddr(), scheme, httpLn.Addr())
	} else {
		fmt.Fprintf(stdout, "agora dns: domain %s, DNS on %s (udp, tcp)\n", cfg.Domain, pc.LocalAddr())
	}
	return srv.Run(ctx, dns.NewSubscriber(cfg, log), version, pc, ln, httpLn)
}
