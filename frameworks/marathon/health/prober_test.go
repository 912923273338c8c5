package health

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestProber probes real loopback servers: HTTP answers judged by status, TCP by connect.
func TestProber(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer tlsSrv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	port := func(url string) int {
		p, _ := strconv.Atoi(url[strings.LastIndex(url, ":")+1:])
		return p
	}
	tests := []struct {
		name    string
		probe   Probe
		healthy bool
		cause   string
	}{
		{"http ok", Probe{Protocol: "HTTP", Port: port(srv.URL), Path: "/"}, true, ""},
		{"http 503", Probe{Protocol: "HTTP", Port: port(srv.URL), Path: "/bad"}, false, "503 Service Unavailable"},
		{"https, certificate not verified", Probe{Protocol: "HTTPS", Port: port(tlsSrv.URL), Path: "/"}, true, ""},
		{"tcp open", Probe{Protocol: "TCP", Port: port(srv.URL)}, true, ""},
		{"tcp closed", Probe{Protocol: "TCP", Port: closedPort}, false, "connection refused"},
		{"http closed", Probe{Protocol: "HTTP", Port: closedPort, Path: "/"}, false, "connection refused"},
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := NewProber(ctx, 2)
	results := make(chan Result, len(tests))
	for _, tc := range tests {
		pr := tc.probe
		pr.Host, pr.Timeout = "127.0.0.1", 5*time.Second
		if !p.Run(pr, func(_ context.Context, _ Probe, res Result) { results <- res }) {
			t.Fatal("prober refused a probe")
		}
		res := <-results
		if res.Healthy != tc.healthy || !strings.Contains(res.Cause, tc.cause) {
			t.Errorf("%s: %+v; want healthy %v, cause containing %q", tc.name, res, tc.healthy, tc.cause)
		}
	}
	cancel()
	p.Wait()
	if p.Run(Probe{}, func(context.Context, Probe, Result) {}) {
		t.Fatal("a stopped prober took a probe")
	}
}
