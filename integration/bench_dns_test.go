package integration

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/agoracluster/agora/integration/benchtest"
	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/internal/poll"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

var benchDNSTasks = flag.Int("agora.dnstasks", 50, "BenchmarkDNSUpdateAfterRunning: tasks launched one after another")

// BenchmarkDNSUpdateAfterRunning measures how long after TASK_RUNNING (the executor's status
// timestamp) a new task's A record is served by `agora dns`, which follows the master's
// operator SUBSCRIBE stream (its /state poll is set to an hour, so only the stream can
// bring the record). A query is sent every millisecond from the launch on.
func BenchmarkDNSUpdateAfterRunning(b *testing.B) {
	if testing.Short() {
		b.Skip("end-to-end benchmark; run it with make bench")
	}
	c := cluster.New(b, cluster.Options{Agents: 1})
	port := strconv.Itoa(cluster.FreePort(b))
	addr := "127.0.0.1:" + port
	cluster.Start(b, "dns", addr, filepath.Join(b.TempDir(), "dns"), "dns", "--master", c.Master.Addr,
		"--ip", "127.0.0.1", "--port", port, "--http_port", "-1", "--refresh", "1h")
	client := &mdns.Client{Net: "udp", Timeout: time.Second}
	answers := func(name string) int {
		m := new(mdns.Msg)
		m.SetQuestion(name, mdns.TypeA)
		resp, _, err := client.Exchange(m, addr)
		if err != nil {
			return 0
		}
		return len(resp.Answer)
	}
	poll.Eventually(b, 20*time.Second, func() bool { return answers("leader.mesos.") > 0 }, "agora dns serves the cluster")
	f := c.StartFramework(cluster.FrameworkOptions{Name: "bench"})
	var samples []time.Duration
	b.ResetTimer()
	for round := range b.N {
		for i := range *benchDNSTasks {
			id := fmt.Sprintf("d%d-%d", round, i)
			name := id + ".bench.mesos."
			f.Launch(context.Background(), cluster.ShellTask(id, "sleep 600", "cpus:0.01;mem:8"))
			deadline := time.Now().Add(60 * time.Second)
			var resolved time.Time
			for time.Now().Before(deadline) {
				if answers(name) > 0 {
					resolved = time.Now()
					break
				}
				time.Sleep(time.Millisecond)
			}
			if resolved.IsZero() {
				b.Fatalf("%s never resolved", name)
			}
			st := f.WaitState(id, mesos.TaskState_TASK_RUNNING, 10*time.Second)
			running := time.Unix(0, int64(st.GetTimestamp()*1e9))
			samples = append(samples, max(resolved.Sub(running), 0))
			if err := f.S.Kill(context.Background(), st.GetTaskId(), st.GetAgentId()); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(ms(benchtest.Percentile(samples, 50)), "p50-ms")
	b.ReportMetric(ms(benchtest.Percentile(samples, 99)), "p99-ms")
	b.ReportMetric(ms(benchtest.Percentile(samples, 100)), "max-ms")
}
