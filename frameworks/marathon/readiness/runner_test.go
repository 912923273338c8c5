package readiness

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agoracluster/agora/frameworks/marathon/app"
)

func readinessCheck(codes ...int) app.ReadinessCheck {
	return app.ReadinessCheck{Name: "ready", Protocol: "HTTP", Path: "/", PortName: "http",
		IntervalSeconds: 30, TimeoutSeconds: 2, HTTPStatusCodesForReady: codes, PreserveLastResponse: true}
}

func TestReadinessProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte("ready"))
		case "/wait":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/moved":
			http.Redirect(w, r, "/ok", http.StatusFound)
		case "/slow":
			<-r.Context().Done()
		}
	}))
	defer srv.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	noKeep := func(c app.ReadinessCheck) app.ReadinessCheck { c.PreserveLastResponse = false; return c }
	fast := func(c app.ReadinessCheck) app.ReadinessCheck { c.TimeoutSeconds = 1; return c }
	tests := []struct {
		name  string
		url   string
		check app.ReadinessCheck
		want  Result
	}{
		{"ready", srv.URL + "/ok", readinessCheck(200), Result{Name: "ready", TaskID: "t", Ready: true,
			LastResponse: &Response{Status: 200, ContentType: "text/plain", Body: "ready"}}},
		{"not ready", srv.URL + "/wait", readinessCheck(200), Result{Name: "ready", TaskID: "t",
			LastResponse: &Response{Status: 503}}},
		{"other codes", srv.URL + "/wait", readinessCheck(200, 503), Result{Name: "ready", TaskID: "t", Ready: true,
			LastResponse: &Response{Status: 503}}},
		{"response not kept", srv.URL + "/ok", noKeep(readinessCheck(200)), Result{Name: "ready", TaskID: "t", Ready: true}},
		{"redirect not followed", srv.URL + "/moved", readinessCheck(200), Result{Name: "ready", TaskID: "t",
			LastResponse: &Response{Status: 302, ContentType: "text/html; charset=utf-8", Body: "<a href=\"/ok\">Found</a>.\n\n"}}},
		{"refused", closed.URL + "/ok", readinessCheck(200), Result{Name: "ready", TaskID: "t"}},
		{"timeout", srv.URL + "/slow", fast(readinessCheck(200)), Result{Name: "ready", TaskID: "t"}},
	}
	r := NewRunner(context.Background(), 1)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := r.probe(context.Background(), Probe{TaskID: "t", URL: tc.url, Check: tc.check})
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("probe = %+v %+v, want %+v %+v", got, got.LastResponse, tc.want, tc.want.LastResponse)
			}
		})
	}
	r.client.CloseIdleConnections()
}

// TestReadinessRunner: a check probes until it passes, reporting every result; stop and
// the end of the runner's context end checks, and wait waits for them.
func TestReadinessRunner(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	r := NewRunner(ctx, 2)
	now := make(chan time.Time)
	close(now)
	r.after = func(time.Duration) <-chan time.Time { return now } // no waiting between probes

	var mu sync.Mutex
	var got []bool
	done := make(chan struct{})
	if _, ok := r.Start(Probe{TaskID: "t", URL: srv.URL, Check: readinessCheck(200)}, func(_ context.Context, res Result) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, res.Ready)
		if res.Ready {
			close(done)
		}
	}); !ok {
		t.Fatal("start refused")
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("check never passed")
	}
	// A check that never passes runs until stopped.
	never := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	defer never.Close()
	var reports atomic.Int32
	stop, _ := r.Start(Probe{TaskID: "u", URL: never.URL, Check: readinessCheck(200)}, func(context.Context, Result) { reports.Add(1) })
	deadline := time.Now().Add(10 * time.Second)
	for reports.Load() < 3 && time.Now().Before(deadline) {
		select {
		case <-time.After(5 * time.Millisecond):
		}
	}
	stop()
	// And one that the runner's end stops.
	_, _ = r.Start(Probe{TaskID: "v", URL: never.URL, Check: readinessCheck(200)}, func(context.Context, Result) {})
	cancel()
	r.Wait()
	if _, ok := r.Start(Probe{TaskID: "w", URL: never.URL, Check: readinessCheck(200)}, func(context.Context, Result) {}); ok {
		t.Error("start after the end accepted")
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []bool{false, false, true}; !reflect.DeepEqual(got, want) {
		t.Errorf("results = %v, want %v", got, want)
	}
	if reports.Load() < 3 {
		t.Errorf("never-ready check reported %d times", reports.Load())
	}
}
