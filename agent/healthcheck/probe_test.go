package healthcheck

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/proto"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func serverPort(t *testing.T, rawURL string) uint32 {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	return uint32(p)
}

func TestHTTPProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.WriteHeader(http.StatusOK)
		case "/redirect":
			http.Redirect(w, r, "http://example.invalid/", http.StatusFound)
		case "/slow":
			<-r.Context().Done()
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer tls.Close()
	port := serverPort(t, srv.URL)
	tests := []struct {
		name    string
		probe   HTTPProbe
		timeout time.Duration
		healthy bool
	}{
		{"200", HTTPProbe{Port: port, Path: "/ok"}, time.Minute, true},
		{"path without slash", HTTPProbe{Port: port, Path: "ok"}, time.Minute, true},
		{"302 is healthy and not followed", HTTPProbe{Port: port, Path: "/redirect"}, time.Minute, true},
		{"503", HTTPProbe{Port: port, Path: "/fail"}, time.Minute, false},
		{"timeout", HTTPProbe{Port: port, Path: "/slow"}, 50 * time.Millisecond, false},
		{"https with self-signed certificate", HTTPProbe{Scheme: "https", Port: serverPort(t, tls.URL)}, time.Minute, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			err := tt.probe.Probe(ctx)
			if (err == nil) != tt.healthy {
				t.Errorf("err = %v, want healthy %v", err, tt.healthy)
			}
		})
	}
}

func TestTCPProbe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := uint32(ln.Addr().(*net.TCPAddr).Port)
	if err := (TCPProbe{Port: port}).Probe(context.Background()); err != nil {
		t.Errorf("open port: %v", err)
	}
	ln.Close()
	if err := (TCPProbe{Port: port}).Probe(context.Background()); err == nil {
		t.Error("closed port: healthy")
	}
}

func TestCommandProbe(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		probe   CommandProbe
		timeout time.Duration
		want    error // nil = healthy; errAny = some failure
	}{
		{"shell exit 0", CommandProbe{Shell: true, Value: "exit 0"}, time.Minute, nil},
		{"shell exit 1", CommandProbe{Shell: true, Value: "exit 1"}, time.Minute, errAny},
		{"env and dir", CommandProbe{Shell: true, Value: `test "$X" = y && test "$(pwd)" = "` + dir + `"`, Env: []string{"X=y"}, Dir: dir}, time.Minute, nil},
		{"args", CommandProbe{Value: "/bin/sh", Args: []string{"sh", "-c", "exit 0"}}, time.Minute, nil},
		{"missing program", CommandProbe{Value: "/nonexistent"}, time.Minute, errAny},
		{"timeout kills the group", CommandProbe{Shell: true, Value: "sleep 30 & sleep 30; wait"}, 100 * time.Millisecond, ErrTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			err := tt.probe.Probe(ctx)
			switch {
			case tt.want == nil && err != nil:
				t.Errorf("err = %v, want healthy", err)
			case tt.want == errAny && err == nil:
				t.Error("healthy, want failure")
			case tt.want != nil && tt.want != errAny && !errors.Is(err, tt.want):
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestProbeFromProto(t *testing.T) {
	tests := []struct {
		name string
		hc   *mesos.HealthCheck
		want Probe
	}{
		{"http", &mesos.HealthCheck{Type: mesos.HealthCheck_HTTP.Enum(), Http: &mesos.HealthCheck_HTTPCheckInfo{Port: proto.Uint32(80), Path: proto.String("/h")}},
			HTTPProbe{Host: "127.0.0.1", Port: 80, Path: "/h"}},
		{"http ipv6", &mesos.HealthCheck{Type: mesos.HealthCheck_HTTP.Enum(), Http: &mesos.HealthCheck_HTTPCheckInfo{Port: proto.Uint32(80), Protocol: mesos.NetworkInfo_IPv6.Enum()}},
			HTTPProbe{Host: "::1", Port: 80}},
		{"tcp inferred", &mesos.HealthCheck{Tcp: &mesos.HealthCheck_TCPCheckInfo{Port: proto.Uint32(81)}},
			TCPProbe{Host: "127.0.0.1", Port: 81}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ProbeFromProto(tt.hc, nil, "")
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	cmd, err := ProbeFromProto(&mesos.HealthCheck{Type: mesos.HealthCheck_COMMAND.Enum(), Command: &mesos.CommandInfo{
		Value:       proto.String("true"),
		Environment: &mesos.Environment{Variables: []*mesos.Environment_Variable{{Name: proto.String("B"), Value: proto.String("2")}}},
	}}, []string{"A=1"}, "/sandbox")
	if err != nil {
		t.Fatal(err)
	}
	cp := cmd.(CommandProbe)
	if !cp.Shell || cp.Value != "true" || cp.Dir != "/sandbox" || len(cp.Env) != 2 || cp.Env[1] != "B=2" {
		t.Errorf("command probe = %+v", cp)
	}
	for _, bad := range []*mesos.HealthCheck{
		{},
		{Type: mesos.HealthCheck_HTTP.Enum()},
		{Type: mesos.HealthCheck_COMMAND.Enum(), Command: &mesos.CommandInfo{}},
		{Type: mesos.HealthCheck_HTTP.Enum(), Http: &mesos.HealthCheck_HTTPCheckInfo{Port: proto.Uint32(1), Scheme: proto.String("ftp")}},
	} {
		if _, err := ProbeFromProto(bad, nil, ""); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

// probeFunc adapts a function to Probe.
type probeFunc func(ctx context.Context) error

func (f probeFunc) Probe(ctx context.Context) error { return f(ctx) }

func TestRunnerReportsAndStopsOnKill(t *testing.T) {
	results := make(chan error, 10)
	for _, r := range []error{nil, errFail, errFail} {
		results <- r
	}
	probe := probeFunc(func(ctx context.Context) error { return <-results })
	statuses := make(chan Status, 10)
	policy := Policy{Interval: time.Millisecond, Timeout: time.Second, ConsecutiveFailures: 2}
	r := NewRunner(policy, probe, time.Now(), func(s Status) { statuses <- s }, zaptest.NewLogger(t))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Run(ctx); err != nil {
		t.Fatalf("Run = %v, want nil after kill", err)
	}
	close(statuses)
	var got []Status
	for s := range statuses {
		got = append(got, s)
	}
	want := []Status{{Healthy: true}, {ConsecutiveFailures: 1}, {ConsecutiveFailures: 2, Kill: true}}
	if len(got) != len(want) {
		t.Fatalf("statuses = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("status %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestRunnerTimeoutAndCancel(t *testing.T) {
	statuses := make(chan Status, 10)
	probe := probeFunc(func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	policy := Policy{Interval: time.Millisecond, Timeout: 10 * time.Millisecond, ConsecutiveFailures: 100}
	r := NewRunner(policy, probe, time.Now(), func(s Status) { statuses <- s }, zaptest.NewLogger(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	select {
	case s := <-statuses:
		if s.Healthy || s.ConsecutiveFailures != 1 || s.Kill {
			t.Errorf("first status = %+v, want first failure", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no status reported for a timed-out check")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
}
