package readiness

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestTracker: a check's results are current until Sync stops it or it passes; a check
// started again for the same task gets a generation of its own.
func TestTracker(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	r := NewRunner(ctx, 2)
	r.after = func(time.Duration) <-chan time.Time { return nil } // one probe per check
	x := NewTracker(r)
	reports := make(chan uint64, 4)
	report := func(_ context.Context, gen uint64, _ Result) { reports <- gen }
	want := map[string]Probe{"t": {TaskID: "t", URL: srv.URL, Check: readinessCheck(200)}}
	next := func() uint64 {
		t.Helper()
		select {
		case gen := <-reports:
			return gen
		case <-time.After(10 * time.Second):
			t.Fatal("no result")
			return 0
		}
	}

	x.Sync(want, report)
	g1 := next()
	if !x.Current(g1, "t") {
		t.Fatal("first check's result not current")
	}
	x.Sync(map[string]Probe{}, report)
	if x.Current(g1, "t") {
		t.Error("a stopped check's result is current")
	}
	x.Sync(want, report)
	g2 := next()
	if g2 == g1 || x.Current(g1, "t") || !x.Current(g2, "t") {
		t.Errorf("generations %d then %d: current %v %v", g1, g2, x.Current(g1, "t"), x.Current(g2, "t"))
	}
	x.Passed("t")
	if x.Current(g2, "t") {
		t.Error("a passed check's result is still current")
	}
	cancel()
	r.Wait()
	r.client.CloseIdleConnections()
}
