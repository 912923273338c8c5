package lb

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/agoracluster/agora/internal/poll"
)

// echoBackend is a real loopback TCP backend: each connection first reads "<name>\n", then
// gets back every line it sends.
type echoBackend struct {
	name string
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	conn []net.Conn
}

func startEcho(t *testing.T, name string) *echoBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &echoBackend{name: name, ln: ln}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.conn = append(b.conn, c)
			b.mu.Unlock()
			b.wg.Add(1)
			go func() {
				defer b.wg.Done()
				defer c.Close()
				fmt.Fprintf(c, "%s\n", name)
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	t.Cleanup(b.kill)
	return b
}

func (b *echoBackend) addr() string { return b.ln.Addr().String() }

// stop closes the listener (new connections are refused); established ones go on.
func (b *echoBackend) stop() { b.ln.Close() }

// kill stops the backend and closes every connection.
func (b *echoBackend) kill() {
	b.ln.Close()
	b.mu.Lock()
	for _, c := range b.conn {
		c.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startProxy runs a proxy on 127.0.0.1 with an HTTP listener; it stops at the test's end.
func startProxy(t *testing.T, balance Balance) (*Proxy, string) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Marathons = []string{"127.0.0.1:1"}
	cfg.IP = "127.0.0.1"
	cfg.Balance = balance
	p, err := NewProxy(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	httpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, httpLn) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return p, httpLn.Addr().String()
}

func backends(bs ...*echoBackend) []Backend {
	var out []Backend
	for _, b := range bs {
		out = append(out, Backend{TaskID: b.name, Addr: b.addr()})
	}
	return out
}

type lbConn struct {
	net.Conn
	r    *bufio.Reader
	name string
}

// dialLB connects to the service port and reads which backend answered.
func dialLB(t *testing.T, port int) *lbConn {
	t.Helper()
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	name, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read backend name through the LB: %v", err)
	}
	return &lbConn{Conn: c, r: r, name: strings.TrimSpace(name)}
}

func (c *lbConn) echo(t *testing.T, line string) {
	t.Helper()
	if _, err := fmt.Fprintf(c, "%s\n", line); err != nil {
		t.Fatalf("write through the LB to %s: %v", c.name, err)
	}
	got, err := c.r.ReadString('\n')
	if err != nil || strings.TrimSpace(got) != line {
		t.Fatalf("echo through the LB to %s = %q, %v; want %q", c.name, got, err, line)
	}
}

func TestProxyTCPRoundRobin(t *testing.T) {
	a, b, c := startEcho(t, "a"), startEcho(t, "b"), startEcho(t, "c")
	p, _ := startProxy(t, RoundRobin)
	port := freePort(t)
	p.Update(Table{Services: []Service{{Port: port, AppID: "/web", Backends: backends(a, b, c)}}})
	var got []string
	for range 6 {
		lc := dialLB(t, port)
		lc.echo(t, "hello")
		got = append(got, lc.name)
		lc.Close()
	}
	if strings.Join(got, "") != "abcabc" {
		t.Errorf("backends in order = %v, want a b c a b c", got)
	}
}

// TestProxyBackendChangeKeepsConnections: a backend leaving the table (a task killing or
// unhealthy, still listening) gets no new connection, while the connection it already has
// keeps working, even after its service port leaves the table.
func TestProxyBackendChangeKeepsConnections(t *testing.T) {
	a, b := startEcho(t, "a"), startEcho(t, "b")
	p, _ := startProxy(t, RoundRobin)
	port := freePort(t)
	p.Update(Table{Services: []Service{{Port: port, AppID: "/web", Backends: backends(a, b)}}})
	first := dialLB(t, port)
	if first.name != "a" {
		t.Fatalf("first connection to %s, want a", first.name)
	}
	first.echo(t, "before")

	p.Update(Table{Services: []Service{{Port: port, AppID: "/web", Backends: backends(b)}}}) // a drains
	for range 4 {
		lc := dialLB(t, port)
		if lc.name != "b" {
			t.Fatalf("new connection went to draining backend %s", lc.name)
		}
		lc.Close()
	}
	first.echo(t, "during")

	p.Update(Table{}) // the port leaves: its listener closes
	poll.Eventually(t, 5*time.Second, func() bool {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			c.Close()
		}
		return err != nil
	}, "service port still accepting after it left the table")
	first.echo(t, "after")
}

func TestProxyRetriesRefusedBackend(t *testing.T) {
	a, b := startEcho(t, "a"), startEcho(t, "b")
	a.stop()
	p, _ := startProxy(t, RoundRobin)
	port := freePort(t)
	p.Update(Table{Services: []Service{{Port: port, AppID: "/web", Backends: backends(a, b)}}})
	for range 4 {
		if lc := dialLB(t, port); lc.name != "b" {
			t.Fatalf("connection went to %s, want b", lc.name)
		}
	}
	st := p.Stats()
	if len(st) != 1 || st[0].Backends[0].Errors != 2 || st[0].Backends[1].Total != 4 || st[0].Total != 4 || st[0].Errors != 0 {
		t.Errorf("stats = %+v, want 2 errors on a, 4 connections to b, 4 on the frontend and no frontend error", st)
	}
}

func TestProxyNoBackendClosesConnection(t *testing.T) {
	a := startEcho(t, "a")
	a.stop()
	p, _ := startProxy(t, RoundRobin)
	port := freePort(t)
	p.Update(Table{Services: []Service{{Port: port, AppID: "/web", Backends: backends(a)}}})
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if n, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("read with no backend = %d, %v; want EOF", n, err)
	}
	poll.Eventually(t, 5*time.Second, func() bool { return p.Stats()[0].Errors == 1 }, "frontend error not counted")
}

func TestProxyLeastConn(t *testing.T) {
	a, b := startEcho(t, "a"), startEcho(t, "b")
	p, _ := startProxy(t, LeastConn)
	port := freePort(t)
	p.Update(Table{Services: []Service{{Port: port, AppID: "/web", Backends: backends(a, b)}}})
	held := dialLB(t, port)
	if held.name != "a" {
		t.Fatalf("first connection to %s, want a", held.name)
	}
	for range 3 { // round robin would alternate; least connections keeps away from a
		lc := dialLB(t, port)
		if lc.name != "b" {
			t.Fatalf("connection went to %s while a holds one and b none", lc.name)
		}
		lc.Close()
		poll.Eventually(t, 5*time.Second, func() bool { return p.Stats()[0].Backends[1].Active == 0 }, "b's connection still active")
	}
	held.echo(t, "still")
}

func TestProxyServicePortInUse(t *testing.T) {
	a := startEcho(t, "a")
	p, _ := startProxy(t, RoundRobin)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	free := freePort(t)
	p.Update(Table{Services: []Service{{Port: port, AppID: "/busy", Backends: backends(a)}, {Port: free, AppID: "/web", Backends: backends(a)}}})
	if lc := dialLB(t, free); lc.name != "a" {
		t.Errorf("the other port served by %s, want a", lc.name)
	}
	if st := p.Stats(); len(st) != 1 || st[0].Name != tcpName(free) {
		t.Errorf("stats = %+v, want only %s", st, tcpName(free))
	}
	if u := p.Unbound(); len(u) != 1 || u[0].Port != port || u[0].AppID != "/busy" || !strings.Contains(u[0].Error, "address already in use") {
		t.Errorf("unbound = %+v, want port %d of /busy, address in use", u, port)
	}
	busy.Close()
	p.Update(Table{Services: []Service{{Port: port, AppID: "/busy", Backends: backends(a)}}})
	if lc := dialLB(t, port); lc.name != "a" {
		t.Errorf("freed port served by %s, want a", lc.name)
	}
	if u := p.Unbound(); len(u) != 0 {
		t.Errorf("unbound after the port was freed = %+v", u)
	}
}

// httpBackend is a loopback HTTP server that answers "<name> <Host> <X-Forwarded-For>".
func httpBackend(t *testing.T, name string) (string, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s %s", name, r.Host, r.Header.Get("X-Forwarded-For"))
	})}
	done := make(chan struct{})
	go func() { _ = srv.Serve(ln); close(done) }()
	stop := func() { srv.Close(); <-done }
	t.Cleanup(stop)
	return ln.Addr().String(), stop
}

func get(t *testing.T, url, host string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s (Host %s): %v", url, host, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestProxyHTTPVirtualHosts(t *testing.T) {
	shop1, _ := httpBackend(t, "shop1")
	shop2, stopShop2 := httpBackend(t, "shop2")
	blog, _ := httpBackend(t, "blog")
	p, httpAddr := startProxy(t, RoundRobin)
	p.Update(Table{VHosts: []VHost{
		{Host: "shop.example.com", AppID: "/shop", Backends: []Backend{{"s1", shop1}, {"s2", shop2}}},
		{Host: "blog.example.com", AppID: "/blog", Backends: []Backend{{"b1", blog}}},
		{Host: "empty.example.com", AppID: "/empty"},
	}})
	url := "http://" + httpAddr + "/"
	tests := []struct {
		host     string
		wantCode int
		want     string
	}{
		{"shop.example.com", 200, "shop1 shop.example.com 127.0.0.1"},
		{"SHOP.example.com:80", 200, "shop2 SHOP.example.com:80 127.0.0.1"},
		{"blog.example.com", 200, "blog blog.example.com 127.0.0.1"},
		{"other.example.com", 503, `agora lb: no app serves virtual host "other.example.com"`},
		{"empty.example.com", 503, "agora lb: lb: no backend available: http:empty.example.com has no healthy task"},
	}
	for _, tt := range tests {
		code, body := get(t, url, tt.host)
		if code != tt.wantCode || strings.TrimSpace(body) != tt.want {
			t.Errorf("GET Host %s = %d %q, want %d %q", tt.host, code, body, tt.wantCode, tt.want)
		}
	}

	stopShop2() // refuses connections: every request goes to shop1
	for range 4 {
		if code, body := get(t, url, "shop.example.com"); code != 200 || !strings.HasPrefix(body, "shop1 ") {
			t.Fatalf("GET with shop2 down = %d %q, want shop1", code, body)
		}
	}

	var st StatsResponse
	resp, err := http.Get(adminURL(t, p) + "/_lb/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	byName := map[string]FrontendStats{}
	for _, f := range st.Frontends {
		byName[f.Name] = f
	}
	shop := byName["http:shop.example.com"]
	if shop.Total != 6 || shop.Errors != 0 || shop.AppID != "/shop" || len(shop.Backends) != 2 || shop.Backends[0].Total != 5 || shop.Backends[1].Errors < 2 || shop.BytesOut == 0 {
		t.Errorf("shop stats = %+v, want 6 requests, 5 to shop1, shop2's refusals counted, bytes out", shop)
	}
	if e := byName["http:empty.example.com"]; e.Errors != 1 {
		t.Errorf("empty stats = %+v, want 1 error", e)
	}
	_, metrics := get(t, adminURL(t, p)+"/metrics", "")
	for _, want := range []string{
		`agora_lb_backend_connections_total{app_id="/shop",backend="` + shop1 + `",frontend="http:shop.example.com",task_id="s1"} 5`,
		`agora_lb_frontend_errors_total{app_id="/empty",frontend="http:empty.example.com"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, metrics)
		}
	}
}

// adminURL serves p's admin handler on a loopback port for the test.
func adminURL(t *testing.T, p *Proxy) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: p.AdminHandler()}
	done := make(chan struct{})
	go func() { _ = srv.Serve(ln); close(done) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return "http://" + ln.Addr().String()
}

// TestProxyHTTPPassesEncodingThrough: the proxy asks the backend for no encoding the client
// did not ask for (no transparent gzip), and keeps the Host header and path.
func TestProxyHTTPPassesEncodingThrough(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "accept-encoding=%q host=%s uri=%s", r.Header.Get("Accept-Encoding"), r.Host, r.RequestURI)
	})}
	done := make(chan struct{})
	go func() { _ = srv.Serve(ln); close(done) }()
	defer func() { srv.Close(); <-done }()
	p, httpAddr := startProxy(t, RoundRobin)
	p.Update(Table{VHosts: []VHost{{Host: "web.local", AppID: "/web", Backends: []Backend{{"t1", ln.Addr().String()}}}}})
	hc := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer hc.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodGet, "http://"+httpAddr+"/a/b?c=d", nil)
	req.Host = "web.local"
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if want := `accept-encoding="" host=web.local uri=/a/b?c=d`; string(b) != want {
		t.Errorf("backend saw %s, want %s", b, want)
	}
}

// TestProxyHTTPRetriesBackendThatDrops: a GET that a backend drops without an answer (a task
// killed mid-request) goes to the next backend, and every request's end is counted.
func TestProxyHTTPRetriesBackendThatDrops(t *testing.T) {
	good, _ := httpBackend(t, "good")
	dropper, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := dropper.Accept()
			if err != nil {
				return
			}
			_, _ = http.ReadRequest(bufio.NewReader(c)) // the whole request, then no answer
			c.Close()
		}
	}()
	t.Cleanup(func() { dropper.Close(); wg.Wait() })
	p, httpAddr := startProxy(t, RoundRobin)
	p.Update(Table{VHosts: []VHost{{Host: "web.local", AppID: "/web", Backends: []Backend{{"d1", dropper.Addr().String()}, {"g1", good}}}}})
	for range 4 {
		if code, body := get(t, "http://"+httpAddr+"/", "web.local"); code != 200 || !strings.HasPrefix(body, "good ") {
			t.Fatalf("GET = %d %q, want good's answer", code, body)
		}
	}
	st := p.Stats()
	if len(st) != 1 || len(st[0].Backends) != 2 {
		t.Fatalf("stats = %+v, want one frontend of two backends", st)
	}
	web, d1, g1 := st[0], st[0].Backends[0], st[0].Backends[1]
	if web.Total != 4 || web.Active != 0 || web.Errors != 0 || web.BytesOut == 0 {
		t.Errorf("frontend = %+v, want 4 requests, none active, no error, bytes out", web.CounterValues)
	}
	if d1.Errors != 2 || d1.Active != 0 || g1.Total != 4 || g1.Active != 0 || g1.BytesOut != web.BytesOut {
		t.Errorf("backends = %+v, %+v, want 2 drops by d1 and 4 answers by g1, none active", d1.CounterValues, g1.CounterValues)
	}
}
