package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/agoracluster/agora/discovery/lb"
	"github.com/agoracluster/agora/security/authn"
)

// runLB is `agora lb`: the marathon-lb-style load balancer fed by Marathon's events.
func runLB(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := lb.DefaultConfig()
	fs := newFlagSet("lb")
	fs.SetOutput(stderr)
	marathons := fs.String("marathon", "http://127.0.0.1:8080", "Marathon URL (comma separated for several: the next is tried when one fails)")
	fs.StringVar(&cfg.IP, "ip", cfg.IP, "address the service ports, the HTTP virtual hosts and the admin API listen on")
	fs.StringVar(&cfg.Group, "group", cfg.Group, "LB group served: apps whose HAPROXY_GROUP label names it (apps without the label are in external; * serves every app)")
	adminPort := fs.Int("admin_port", 9090, "port of the admin API: /_lb/stats, /metrics, /health (0: a free port, printed; -1: none)")
	httpPort := fs.Int("http_port", 80, "port of the HTTP listener that routes by Host header to the apps' HAPROXY_{n}_VHOST (0: a free port, printed; -1: none)")
	balance := fs.String("balance", string(cfg.Balance), "how a frontend picks a backend: roundrobin or leastconn")
	durationVar(fs, &cfg.ConnectTimeout, "connect_timeout", cfg.ConnectTimeout, "time limit of one connection attempt to a backend (the next backend is tried after it)")
	durationVar(fs, &cfg.Debounce, "debounce", cfg.Debounce, "wait after an app change event before reading Marathon's apps, so a burst costs one read")
	haproxy := fs.String("haproxy", "", "write an HAProxy configuration to this path (and run --haproxy_reload_cmd when it changes) instead of proxying; the HTTP frontend binds --http_port")
	reloadCmd := fs.String("haproxy_reload_cmd", "", "command run by /bin/sh -c after each change of the --haproxy file (e.g. 'haproxy -c -f /etc/haproxy/haproxy.cfg && systemctl reload haproxy')")
	var reloadTimeout time.Duration
	durationVar(fs, &reloadTimeout, "haproxy_reload_timeout", time.Minute, "time limit of one run of --haproxy_reload_cmd")
	tlsf := addTLSFlags(fs)
	authCreds := fs.String("auth_credentials", "", "user:password sent (HTTP Basic) to a Marathon with --http_credentials (marathon-lb's --auth-credentials)")
	level := fs.String("logging_level", "info", "log level: debug, info, warn, error")
	if err := parseFlags(fs, args, osEnv); err != nil {
		return err
	}
	cfg.Balance = lb.Balance(*balance)
	if *authCreds != "" {
		c, err := authn.ParsePair(*authCreds)
		if err != nil {
			return fmt.Errorf("lb: --auth_credentials: %w", err)
		}
		cfg.MarathonCredential = c
	}
	for _, m := range strings.Split(*marathons, ",") {
		if m = strings.TrimSpace(m); m != "" {
			cfg.Marathons = append(cfg.Marathons, m)
		}
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("lb: %w", err)
	}
	if *reloadCmd != "" && *haproxy == "" {
		return fmt.Errorf("lb: --haproxy_reload_cmd needs --haproxy")
	}
	if *httpPort > 65535 {
		return fmt.Errorf("lb: --http_port: %d is not a port", *httpPort)
	}
	log, err := newLogger(*level)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	tlsSet, err := tlsf.load(log)
	if err != nil {
		return fmt.Errorf("lb: %w", err)
	}
	cfg.MarathonTLS = tlsSet.client()
	adminListen := func() (net.Listener, error) {
		ln, err := listenOptional(cfg.IP, *adminPort, "admin")
		if err != nil || ln == nil {
			return ln, err
		}
		return tlsSet.listen(ln)
	}
	if *haproxy != "" {
		if *httpPort == 0 {
			return fmt.Errorf("lb: --http_port: 0 (a free port) cannot be written into an HAProxy configuration; give a port or -1")
		}
		w, err := lb.NewHAProxyWriter(*haproxy, *reloadCmd, lb.HAProxyOptions{Group: cfg.Group, IP: cfg.IP, HTTPPort: *httpPort,
			Balance: cfg.Balance, ConnectTimeout: cfg.ConnectTimeout}, reloadTimeout, log)
		if err != nil {
			return err
		}
		adminLn, err := adminListen()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "agora lb: group %s, writing HAProxy configuration %s, %s\n", cfg.Group, *haproxy, describeListener("admin", adminLn))
		return lb.RunHAProxy(ctx, cfg, log, w, adminLn)
	}
	httpLn, err := listenOptional(cfg.IP, *httpPort, "http")
	if err != nil {
		return err
	}
	adminLn, err := adminListen()
	if err != nil {
		if httpLn != nil {
			httpLn.Close()
		}
		return err
	}
	fmt.Fprintf(stdout, "agora lb: group %s, service ports on %s, %s, %s\n", cfg.Group, cfg.IP,
		describeListener("HTTP virtual hosts", httpLn), describeListener("admin", adminLn))
	return lb.Run(ctx, cfg, log, httpLn, adminLn)
}

// listenOptional listens on ip:port, or returns nil for port -1.
func listenOptional(ip string, port int, what string) (net.Listener, error) {
	if port < 0 {
		return nil, nil
	}
	if port > 65535 {
		return nil, fmt.Errorf("lb: --%s_port: %d is not a port", what, port)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("lb: %s: listen: %w", what, err)
	}
	return ln, nil
}

func describeListener(what string, ln net.Listener) string {
	if ln == nil {
		return what + " off"
	}
	return what + " on http://" + ln.Addr().String()
}
