package lb

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
)

// benchApps is apps apps of perApp running tasks each, every app with a service port and a
// virtual host.
func benchApps(apps, perApp int) []App {
	out := make([]App, apps)
	for i := range out {
		a := App{ID: fmt.Sprintf("/group/app%d", i), PortDefinitions: ports(10000 + i),
			Labels: map[string]string{"HAPROXY_GROUP": "external", "HAPROXY_0_VHOST": fmt.Sprintf("app%d.example.com", i)}}
		for j := range perApp {
			a.Tasks = append(a.Tasks, running(fmt.Sprintf("app%d.%d", i, j), fmt.Sprintf("10.0.%d.%d", j/250, j%250), 31000+j))
		}
		out[i] = a
	}
	return out
}

// BenchmarkBuild: the time to turn Marathon's apps into a table, by cluster size.
func BenchmarkBuild(b *testing.B) {
	for _, size := range []struct{ apps, perApp int }{{10, 3}, {100, 10}, {1000, 10}} {
		apps := benchApps(size.apps, size.perApp)
		b.Run(fmt.Sprintf("apps=%d/tasks=%d", size.apps, size.apps*size.perApp), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Build(apps, "external")
			}
		})
	}
}

// benchProxy runs a proxy (logging nothing) with one HTTP backend behind a virtual host and a
// service port; it returns the proxy's HTTP address, the service port's and the backend's.
func benchProxy(b *testing.B) (httpAddr, tcpAddr, backendAddr string) {
	b.Helper()
	backend, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })}
	go func() { _ = srv.Serve(backend) }()
	b.Cleanup(func() { srv.Close() })
	cfg := DefaultConfig()
	cfg.Marathons = []string{"127.0.0.1:1"}
	cfg.IP = "127.0.0.1"
	p, err := NewProxy(cfg, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	httpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := func() int {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().(*net.TCPAddr).Port
	}()
	bs := []Backend{{TaskID: "t1", Addr: backend.Addr().String()}}
	p.Update(Table{Services: []Service{{Port: port, AppID: "/bench", Backends: bs}}, VHosts: []VHost{{Host: "bench.local", AppID: "/bench", Backends: bs}}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = p.Run(ctx, httpLn); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	return httpLn.Addr().String(), fmt.Sprintf("127.0.0.1:%d", port), backend.Addr().String()
}

// BenchmarkProxyHTTP: small HTTP requests (keep-alive) straight to the backend, through the
// service port (TCP) and through the virtual host (HTTP); the difference is what the LB adds,
// in time and in the CPU time of the process (cpu-us/op, less swayed by other work on the
// machine than the time).
func BenchmarkProxyHTTP(b *testing.B) {
	httpAddr, tcpAddr, backendAddr := benchProxy(b)
	for _, path := range []struct{ name, addr, host string }{
		{"direct", backendAddr, ""},
		{"service_port", tcpAddr, ""},
		{"vhost", httpAddr, "bench.local"},
	} {
		b.Run(path.name, func(b *testing.B) {
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			defer hc.CloseIdleConnections()
			b.ReportAllocs()
			cpu0 := processCPU(b)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest(http.MethodGet, "http://"+path.addr+"/", nil)
					if path.host != "" {
						req.Host = path.host
					}
					resp, err := hc.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N), "cpu-us/op")
		})
	}
}

// processCPU is the CPU time (user and system) the test process has used: the client's,
// the backend's and the proxy's together, whatever else runs on the machine.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
