package integration

import (
	"context"
	"flag"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agoracluster/agora/integration/cluster"
)

// servesSchedulerCalls reports whether the master at addr answers a scheduler
// call itself: a leader rejects the empty call (400); a standby redirects
// (307) and a master without a leader answers 503.
func servesSchedulerCalls(client *http.Client, addr string) bool {
	resp, err := client.Post("http://"+addr+"/api/v1/scheduler", "application/json", strings.NewReader("{}"))
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode != http.StatusTemporaryRedirect && resp.StatusCode != http.StatusServiceUnavailable
}

// timeFailover stops the leader with stop and returns how long until another
// master serves scheduler calls (polled every 5ms).
func timeFailover(b *testing.B, c *cluster.Cluster, stop func(*cluster.Process)) time.Duration {
	b.Helper()
	old, err := c.Leader()
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{
		Timeout:       time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer client.CloseIdleConnections()
	start := time.Now()
	stop(old)
	deadline := start.Add(60 * time.Second)
	for time.Now().Before(deadline) {
		for _, p := range c.Masters {
			if p != old && servesSchedulerCalls(client, p.Addr) {
				took := time.Since(start)
				if !old.Wait(10 * time.Second) {
					b.Fatalf("%s did not exit within 10s", old.Name)
				}
				old.Restart() // back as a standby for the next round
				return took
			}
		}
		time.Sleep(5 * time.Millisecond) // a deadline poll
	}
	b.Fatalf("no master serves scheduler calls 60s after stopping %s", old.Name)
	return 0
}

// BenchmarkHAFailover: 3 masters in ZooKeeper (4s sessions), one agent. The
// leader is SIGKILLed (its znode lasts until the session expires), then
// SIGTERMed (it deletes its znode): time until a new leader serves scheduler
// calls.
func BenchmarkHAFailover(b *testing.B) {
	url := cluster.StartZooKeeper(b).URL("/agora")
	c := cluster.New(b, cluster.Options{ZooKeeper: url, Masters: 3, Agents: 1})
	var kill, term time.Duration
	for range b.N {
		kill += timeFailover(b, c, func(p *cluster.Process) { p.Signal(syscall.SIGKILL) })
		term += timeFailover(b, c, func(p *cluster.Process) { p.Signal(syscall.SIGTERM) })
	}
	b.ReportMetric(kill.Seconds()/float64(b.N), "sigkill-s")
	b.ReportMetric(term.Seconds()/float64(b.N), "sigterm-s")
	b.ReportMetric(cluster.HASessionTimeout.Seconds(), "session-s")
}

var benchReregisterAgents = flag.Int("agora.ha.agents", 10000, "BenchmarkHAReregistration: simulated agents that follow the masters")

// BenchmarkHAReregistration: -agora.ha.agents simulated agents follow 3 masters in
// ZooKeeper; the leader is SIGTERMed (its znode goes at once) and the time until the new
// leader has every agent re-registered is measured.
func BenchmarkHAReregistration(b *testing.B) {
	if testing.Short() {
		b.Skip("end-to-end benchmark; run it with make bench")
	}
	n := *benchReregisterAgents
	url := cluster.StartZooKeeper(b).URL("/agora")
	c := cluster.New(b, cluster.Options{ZooKeeper: url, Masters: 3, MasterArgs: []string{"--logging_level", "warn"}})
	startSimulatedAgents(b, url, n, "cpus:4;mem:4096;disk:1000;ports:[31000-31100]")
	var total, elected time.Duration
	for range b.N {
		old, err := c.Leader()
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		old.Signal(syscall.SIGTERM)
		deadline := time.Now().Add(10 * time.Minute)
		seen := false
		for {
			if time.Now().After(deadline) {
				b.Fatalf("%d agents not re-registered within 10 minutes", n)
			}
			if leader, err := c.Leader(); err == nil && leader != old {
				if !seen {
					seen = true
					elected += time.Since(start)
				}
				var m map[string]float64
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err := cluster.GetJSON(ctx, "http://"+leader.Addr+"/metrics/snapshot", &m)
				cancel()
				if err == nil && int(m["master/slaves_active"]) == n {
					break
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		total += time.Since(start)
		b.StopTimer()
		old.Wait(10 * time.Second)
		old.Restart()
		b.StartTimer()
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(n), "agents")
	b.ReportMetric(total.Seconds()/float64(b.N), "reregistered-s")
	b.ReportMetric(elected.Seconds()/float64(b.N), "elected-s")
}
