package lb

import (
	"context"
	"flag"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agoracluster/agora/internal/poll"
)

var (
	benchLBRequests = flag.Int("lb.requests", 20000, "BenchmarkLBvsHAProxy: requests per target for the throughput")
	benchLBLatency  = flag.Int("lb.latency", 5000, "BenchmarkLBvsHAProxy: sequential requests per target for the latency")
	benchLBClients  = flag.Int("lb.clients", 8, "BenchmarkLBvsHAProxy: concurrent clients for the throughput")
	benchLBRounds   = flag.Int("lb.rounds", 10, "BenchmarkLBvsHAProxy: rounds over the targets, each a share of the requests")
)

// BenchmarkLBvsHAProxy sends small HTTP requests (keep-alive) to one loopback backend
// directly, through agora's proxy (virtual host and service port) and through Debian's
// HAProxy running the configuration RenderHAProxy writes for the same table, in the same run:
// requests/s with lb.clients concurrent clients, and the p99 latency of sequential requests
// minus the direct p99 (the latency the LB adds), and agora's requests/s over HAProxy's. The
// targets take turns in lb.rounds rounds, each sending a share of the requests, so that
// other work on a shared machine slows them alike. Skipped without haproxy.
func BenchmarkLBvsHAProxy(b *testing.B) {
	haproxy := "/usr/sbin/haproxy"
	if _, err := os.Stat(haproxy); err != nil {
		if haproxy, err = exec.LookPath("haproxy"); err != nil {
			b.Skip("haproxy not installed (make deps installs it)")
		}
	}
	httpAddr, tcpAddr, backendAddr := benchProxy(b)
	hpHTTP, hpTCP := freeBenchPort(b), freeBenchPort(b)
	bs := []Backend{{TaskID: "t1", Addr: backendAddr}}
	cfg := RenderHAProxy(Table{Services: []Service{{Port: hpTCP, AppID: "/bench", Backends: bs}}, VHosts: []VHost{{Host: "bench.local", AppID: "/bench", Backends: bs}}},
		HAProxyOptions{Group: "bench", IP: "127.0.0.1", HTTPPort: hpHTTP, Balance: RoundRobin, ConnectTimeout: 2 * time.Second})
	cfgPath := filepath.Join(b.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	hp := exec.CommandContext(ctx, haproxy, "-db", "-f", cfgPath)
	var out strings.Builder
	hp.Stdout, hp.Stderr = &out, &out
	if err := hp.Start(); err != nil {
		cancel()
		b.Fatal(err)
	}
	b.Cleanup(func() { cancel(); _ = hp.Wait() })
	hpHTTPAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(hpHTTP))
	hpTCPAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(hpTCP))
	targets := []struct{ name, addr, host string }{
		{"direct", backendAddr, ""},
		{"agora-vhost", httpAddr, "bench.local"},
		{"haproxy-vhost", hpHTTPAddr, "bench.local"},
		{"agora-tcp", tcpAddr, ""},
		{"haproxy-tcp", hpTCPAddr, ""},
	}
	for _, tg := range targets {
		poll.Eventually(b, 10*time.Second, func() error { return benchGet(http.DefaultClient, tg.addr, tg.host) }, "%s never served (haproxy: %s)", tg.name, &out)
	}
	for b.Loop() {
		rounds := max(1, *benchLBRounds)
		sent, busy := map[string]int{}, map[string]time.Duration{}
		lat := map[string][]time.Duration{}
		for range rounds {
			for _, tg := range targets {
				n, took := throughput(b, tg.addr, tg.host, *benchLBRequests/rounds)
				sent[tg.name] += n
				busy[tg.name] += took
				lat[tg.name] = latencies(b, tg.addr, tg.host, *benchLBLatency/rounds, lat[tg.name])
			}
		}
		rps, p99 := map[string]float64{}, map[string]float64{}
		for _, tg := range targets {
			rps[tg.name] = float64(sent[tg.name]) / busy[tg.name].Seconds()
			p99[tg.name] = percentile99(lat[tg.name])
			b.ReportMetric(rps[tg.name], tg.name+"-req/s")
		}
		for _, tg := range targets[1:] {
			b.ReportMetric((p99[tg.name]-p99["direct"])*1e6, tg.name+"-p99-added-us")
		}
		b.ReportMetric(rps["agora-vhost"]/rps["haproxy-vhost"], "vhost-agora/haproxy")
		b.ReportMetric(rps["agora-tcp"]/rps["haproxy-tcp"], "tcp-agora/haproxy")
	}
}

func freeBenchPort(b *testing.B) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func benchGet(hc *http.Client, addr, host string) error {
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
	if err != nil {
		return err
	}
	if host != "" {
		req.Host = host
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &statusError{resp.StatusCode}
	}
	return nil
}

type statusError struct{ code int }

func (e *statusError) Error() string { return "status " + strconv.Itoa(e.code) }

// throughput sends about requests requests from lb.clients keep-alive clients; how many
// it sent and the time they took.
func throughput(b *testing.B, addr, host string, requests int) (int, time.Duration) {
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *benchLBClients}}
	defer hc.CloseIdleConnections()
	var wg sync.WaitGroup
	per := requests / *benchLBClients
	start := time.Now()
	for range *benchLBClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per {
				if err := benchGet(hc, addr, host); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return per * *benchLBClients, time.Since(start)
}

// latencies appends to lat the latencies of n sequential requests on one keep-alive
// connection.
func latencies(b *testing.B, addr, host string, n int, lat []time.Duration) []time.Duration {
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	for range n {
		start := time.Now()
		if err := benchGet(hc, addr, host); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	return lat
}

// percentile99 is the p99 of lat in seconds.
func percentile99(lat []time.Duration) float64 {
	slices.Sort(lat)
	return lat[len(lat)*99/100].Seconds()
}
