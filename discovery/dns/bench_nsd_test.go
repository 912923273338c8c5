package dns

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	"go.uber.org/zap"

	"github.com/agoracluster/agora/internal/poll"
)

var (
	benchDNSRounds  = flag.Int("dns.rounds", 3, "BenchmarkDNSvsNSD: rounds over the two servers")
	benchDNSSeconds = flag.Int("dns.seconds", 3, "BenchmarkDNSvsNSD: seconds of dnsperf per server and round")
)

// benchServeEnv names the environment variable that makes TestBenchServerProcess serve the
// benchmark's zone: BenchmarkDNSvsNSD runs the test binary again as the server process.
const benchServeEnv = "AGORA_DNS_BENCH_SERVE"

// benchApps and benchPerApp size the benchmark zones: 10,000 tasks.
const benchApps, benchPerApp, benchAgents = 1000, 10, 200

func benchZone(cfg Config) *Zone {
	return Records(benchState(benchApps, benchPerApp, benchAgents), cfg.Masters, cfg, 1)
}

func benchConfig() Config {
	cfg := DefaultConfig()
	cfg.Masters = []string{"10.0.0.1:5050"}
	return cfg
}

// TestBenchServerProcess is the agora dns server of BenchmarkDNSvsNSD when run by it (it
// skips otherwise): it serves the benchmark zone on a loopback port, prints the address and
// serves until its standard input closes.
func TestBenchServerProcess(t *testing.T) {
	if os.Getenv(benchServeEnv) == "" {
		t.Skip("the server process of BenchmarkDNSvsNSD")
	}
	cfg := benchConfig()
	s, err := NewServer(cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	s.SetZone(benchZone(cfg))
	pc, ln, err := Listen("127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ServeDNSConns(ctx, pc, ln) }()
	fmt.Printf("ADDR %s\n", pc.LocalAddr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// BenchmarkDNSvsNSD measures queries/s of a DNS server on one core for a zone of 10,000
// tasks (1,000 apps of 10 on 200 agents): agora dns (this test binary run again as a process
// with GOMAXPROCS 1) and Debian's NSD (one server process) serving the same zone from the
// master file that Zone.String renders, side by side in the same run. The load is dnsperf's
// (A and SRV queries for every app, EDNS0, 200 in flight); with two CPUs or more the server
// is pinned to CPU 0 and dnsperf to the others, so the figure is the server's core alone.
// The servers take turns in dns.rounds rounds of dns.seconds each, so other work on a shared
// machine slows them alike. Skipped without nsd or dnsperf (make deps installs them).
func BenchmarkDNSvsNSD(b *testing.B) {
	nsd, err := lookSbin("nsd")
	if err != nil {
		b.Skip("nsd not installed (make deps installs it)")
	}
	dnsperf, err := exec.LookPath("dnsperf")
	if err != nil {
		b.Skip("dnsperf not installed (make deps installs it)")
	}
	serverCPU, clientCPUs := pinning()
	dir := b.TempDir()
	cfg := benchConfig()
	z := benchZone(cfg)
	if err := os.WriteFile(filepath.Join(dir, "mesos.zone"), []byte(z.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	queries := filepath.Join(dir, "queries.txt")
	var qs strings.Builder
	for i := range benchApps {
		fmt.Fprintf(&qs, "app%d-group.marathon.mesos A\n_app%d-group._tcp.marathon.mesos SRV\n", i, i)
	}
	if err := os.WriteFile(queries, []byte(qs.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	agora := startAgoraServer(b, serverCPU)
	nsdAddr := startNSD(b, nsd, dir, serverCPU)
	servers := []struct{ name, addr string }{{"agora", agora}, {"nsd", nsdAddr}}
	for _, s := range servers {
		probe := &mdns.Client{Timeout: time.Second}
		poll.Eventually(b, 10*time.Second, func() error {
			m := new(mdns.Msg)
			m.SetQuestion("app1-group.marathon.mesos.", mdns.TypeA)
			resp, _, err := probe.Exchange(m, s.addr)
			if err == nil && len(resp.Answer) != benchPerApp {
				err = fmt.Errorf("%d answers, want %d", len(resp.Answer), benchPerApp)
			}
			return err
		}, "%s never answered", s.name)
	}
	for b.Loop() {
		qps := map[string]float64{}
		for range max(1, *benchDNSRounds) {
			for _, s := range servers {
				qps[s.name] += runDNSPerf(b, dnsperf, clientCPUs, s.addr, queries) / float64(max(1, *benchDNSRounds))
			}
		}
		b.ReportMetric(qps["agora"], "agora-qps")
		b.ReportMetric(qps["nsd"], "nsd-qps")
		b.ReportMetric(qps["agora"]/qps["nsd"], "agora/nsd")
	}
}

// lookSbin finds a daemon on PATH or in /usr/sbin (not on every user's PATH).
func lookSbin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	p := "/usr/sbin/" + name
	if _, err := os.Stat(p); err != nil {
		return "", err
	}
	return p, nil
}

// pinning is the taskset CPU lists of the server and of the client: CPU 0 and the others
// when there are two or more and taskset exists, else none ("").
func pinning() (server, client string) {
	if _, err := exec.LookPath("taskset"); err != nil || runtime.NumCPU() < 2 {
		return "", ""
	}
	return "0", "1-" + strconv.Itoa(runtime.NumCPU()-1)
}

// pinned is the command line of name and args run on cpus (none: as it is).
func pinned(cpus, name string, args ...string) (string, []string) {
	if cpus == "" {
		return name, args
	}
	return "taskset", append([]string{"-c", cpus, name}, args...)
}

// startAgoraServer runs this test binary as the agora dns server process on cpus with
// GOMAXPROCS 1; its address.
func startAgoraServer(b *testing.B, cpus string) string {
	name, args := pinned(cpus, os.Args[0], "-test.run", "^TestBenchServerProcess$", "-test.count", "1")
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), benchServeEnv+"=1", "GOMAXPROCS=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if addr, ok := strings.CutPrefix(sc.Text(), "ADDR "); ok {
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			return addr
		}
	}
	b.Fatalf("the agora dns server process printed no address: %v", sc.Err())
	return ""
}

// startNSD runs nsd with one server process on cpus, serving dir/mesos.zone on a free
// loopback port; its address.
func startNSD(b *testing.B, nsd, dir, cpus string) string {
	ln, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := ln.LocalAddr().(*net.UDPAddr).Port
	ln.Close()
	conf := filepath.Join(dir, "nsd.conf")
	err = os.WriteFile(conf, fmt.Appendf(nil, `server:
	ip-address: 127.0.0.1
	port: %d
	server-count: 1
	username: ""
	chroot: ""
	zonesdir: %q
	database: ""
	pidfile: %q
	xfrdfile: %q
	zonelistfile: %q
	verbosity: 1
	hide-version: yes
remote-control:
	control-enable: no
zone:
	name: "mesos."
	zonefile: "mesos.zone"
`, port, dir, filepath.Join(dir, "nsd.pid"), filepath.Join(dir, "xfrd.state"), filepath.Join(dir, "zone.list")), 0o644)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	name, args := pinned(cpus, nsd, "-d", "-c", conf)
	cmd := exec.CommandContext(ctx, name, args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cancel()
		if err := cmd.Wait(); err != nil && ctx.Err() == nil {
			b.Logf("nsd: %v: %s", err, &out)
		}
	})
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

var dnsperfQPS = regexp.MustCompile(`Queries per second:\s+([0-9.]+)`)

// runDNSPerf runs dnsperf on cpus against addr for dns.seconds with the queries file; the
// queries/s it reports.
func runDNSPerf(b *testing.B, dnsperf, cpus, addr, queries string) float64 {
	host, port, _ := net.SplitHostPort(addr)
	name, args := pinned(cpus, dnsperf, "-s", host, "-p", port, "-d", queries, "-l", strconv.Itoa(*benchDNSSeconds),
		"-c", "4", "-T", "1", "-q", "200", "-e")
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		b.Fatalf("dnsperf: %v: %s", err, out)
	}
	m := dnsperfQPS.FindSubmatch(out)
	if m == nil {
		b.Fatalf("dnsperf reported no queries/s: %s", out)
	}
	qps, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		b.Fatal(err)
	}
	return qps
}
