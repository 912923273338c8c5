package dns

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	"go.uber.org/zap"
)

// benchState is a cluster of apps×perApp Marathon tasks on agents agents, one port each.
func benchState(apps, perApp, agents int) *State {
	st := &State{Leader: "master@10.0.0.1:5050"}
	for i := 0; i < agents; i++ {
		st.Slaves = append(st.Slaves, Agent{ID: fmt.Sprintf("a-S%d", i), Hostname: fmt.Sprintf("10.2.%d.%d", i/250, i%250+1)})
	}
	fw := Framework{ID: "fw", Name: "marathon"}
	for a := 0; a < apps; a++ {
		for k := 0; k < perApp; k++ {
			n := a*perApp + k
			fw.Tasks = append(fw.Tasks, Task{ID: fmt.Sprintf("app%d.%d", a, k), Name: fmt.Sprintf("app%d.group", a),
				SlaveID: fmt.Sprintf("a-S%d", n%agents), State: "TASK_RUNNING",
				Resources: map[string]any{"ports": fmt.Sprintf("[%d-%d]", 31000+n%1000, 31000+n%1000)}})
		}
	}
	st.Frameworks = []Framework{fw}
	return st
}

// BenchmarkRecords: computing the zone of a snapshot, by cluster size.
func BenchmarkRecords(b *testing.B) {
	for _, tasks := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("tasks=%d", tasks), func(b *testing.B) {
			st := benchState(tasks/10, 10, 200)
			cfg := DefaultConfig()
			b.ReportAllocs()
			for b.Loop() {
				Records(st, nil, cfg, 1)
			}
		})
	}
}

// BenchmarkServeUDP: queries/s of the DNS server over loopback UDP for a zone of 10,000
// tasks (1,000 apps of 10 on 200 agents), A and SRV queries for random apps alternately,
// 64 queries in flight. Run with -cpu 1 for the figure on one core (client included).
func BenchmarkServeUDP(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Masters = []string{"10.0.0.1:5050"}
	s, err := NewServer(cfg, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	const apps = 1000
	s.SetZone(Records(benchState(apps, 10, 200), cfg.Masters, cfg, 1))
	pc, ln, err := Listen("127.0.0.1", 0)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = s.ServeDNSConns(ctx, pc, ln) }()
	defer func() { cancel(); wg.Wait() }()

	// Pre-packed queries: the client costs little next to the server.
	queries := make([][]byte, 2*apps)
	for i := range apps {
		for j, q := range []struct {
			name  string
			qtype uint16
		}{{fmt.Sprintf("app%d-group.marathon.mesos.", i), mdns.TypeA}, {fmt.Sprintf("_app%d-group._tcp.marathon.mesos.", i), mdns.TypeSRV}} {
			m := new(mdns.Msg)
			m.SetQuestion(q.name, q.qtype)
			m.SetEdns0(4096, false)
			raw, err := m.Pack()
			if err != nil {
				b.Fatal(err)
			}
			queries[2*i+j] = raw
		}
	}
	addr := pc.LocalAddr().String()
	var next atomic.Uint64
	var failed atomic.Int64
	b.SetParallelism(64)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(p *testing.PB) {
		conn, err := net.Dial("udp", addr)
		if err != nil {
			b.Error(err)
			return
		}
		defer conn.Close()
		buf := make([]byte, 4096)
		for p.Next() {
			q := queries[next.Add(1)%uint64(len(queries))]
			_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
			if _, err := conn.Write(q); err != nil {
				failed.Add(1)
				continue
			}
			n, err := conn.Read(buf)
			if err != nil || n < 12 || buf[3]&0x0f != 0 { // rcode NOERROR
				failed.Add(1)
			}
		}
	})
	elapsed := time.Since(start)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "qps")
	if f := failed.Load(); f > int64(b.N)/100 {
		b.Fatalf("%d of %d queries failed", f, b.N)
	}
}
