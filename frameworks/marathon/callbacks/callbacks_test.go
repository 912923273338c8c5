package callbacks

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/agoracluster/agora/frameworks/marathon/events"
	"github.com/agoracluster/agora/internal/poll"
	"github.com/agoracluster/agora/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// receiver is a real HTTP callback endpoint that records the event types it got; it
// answers 500 to the first failFirst requests.
type receiver struct {
	*httptest.Server
	mu        sync.Mutex
	got       []string
	failFirst int
	requests  int
}

func newReceiver(t *testing.T, failFirst int) *receiver {
	r := &receiver{failFirst: failFirst}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.requests++
		if r.requests <= r.failFirst {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		var ev struct{ EventType string }
		if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" || json.Unmarshal(b, &ev) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.got = append(r.got, ev.EventType)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) events() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

type fixture struct {
	bus    *events.Bus
	svc    *Service
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, st store.Store, cfg Config) *fixture {
	t.Helper()
	log := zaptest.NewLogger(t)
	bus, err := events.NewBus(events.DefaultConfig(), log)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(cfg, st, bus, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &fixture{bus: bus, svc: svc, cancel: cancel, done: make(chan error, 1)}
	go func() { f.done <- svc.Run(ctx) }()
	poll.Eventually(t, 5*time.Second, func() error {
		if bus.Subscribers() == 0 {
			return io.ErrNoProgress
		}
		return nil
	})
	t.Cleanup(f.stop)
	return f
}

func (f *fixture) stop() {
	if f.cancel == nil {
		return
	}
	f.cancel()
	<-f.done
	f.bus.Close()
	f.cancel = nil
}

func fastConfig() Config {
	c := DefaultConfig()
	c.RetryMin, c.RetryMax = 10*time.Millisecond, 40*time.Millisecond
	return c
}

func waitFor(t *testing.T, r *receiver, want []string) {
	t.Helper()
	// Subscription events are left out: a callback added a moment after another may
	// get the other's subscribe_event or not.
	want = withoutSubscriptions(want)
	poll.Eventually(t, 10*time.Second, func() error {
		if got := withoutSubscriptions(r.events()); !slices.Equal(got, want) {
			return &mismatch{got, want}
		}
		return nil
	})
}

func withoutSubscriptions(evs []string) []string {
	return slices.DeleteFunc(slices.Clone(evs), func(e string) bool { return e == TypeSubscribe })
}

type mismatch struct{ got, want []string }

func (m *mismatch) Error() string { b, _ := json.Marshal(m.got); return "got " + string(b) }

// TestEventsPostedToEachSubscriberAndRetried: every event goes to every subscriber in
// order, subscribe_event included; a callback that fails at first gets the events after
// retries; an unsubscribed one gets nothing more.
func TestEventsPostedToEachSubscriberAndRetried(t *testing.T) {
	st, _ := store.OpenFile(t.TempDir())
	f := start(t, st, fastConfig())
	ok, flaky := newReceiver(t, 0), newReceiver(t, 2)
	ctx := context.Background()
	if ev, err := f.svc.Subscribe(ctx, "127.0.0.1", ok.URL); err != nil || ev.EventType != TypeSubscribe || ev.CallbackURL != ok.URL {
		t.Fatalf("Subscribe = %+v, %v", ev, err)
	}
	if _, err := f.svc.Subscribe(ctx, "127.0.0.1", flaky.URL); err != nil {
		t.Fatal(err)
	}
	f.bus.Publish(events.NewAppTerminated("/a", time.Now()))
	waitFor(t, ok, []string{TypeSubscribe, TypeSubscribe, events.TypeAppTerminated})
	waitFor(t, flaky, []string{TypeSubscribe, events.TypeAppTerminated}) // the first one failed twice, then went
	if got := f.svc.URLs(); !slices.Equal(got, sortedOf(ok.URL, flaky.URL)) {
		t.Fatalf("URLs = %v", got)
	}
	if _, err := f.svc.Unsubscribe(ctx, "127.0.0.1", flaky.URL); err != nil {
		t.Fatal(err)
	}
	f.bus.Publish(events.NewAppTerminated("/b", time.Now()))
	waitFor(t, ok, []string{TypeSubscribe, TypeSubscribe, events.TypeAppTerminated, TypeUnsubscribe, events.TypeAppTerminated})
	if got := withoutSubscriptions(flaky.events()); len(got) != 1 {
		t.Fatalf("unsubscribed callback got %v", got)
	}
}

func sortedOf(s ...string) []string { slices.Sort(s); return s }

// TestSubscribersSurviveRestart: the subscribed URLs are stored; a new Service on the same
// store (a restart, a new leader) delivers to them, and to the --http_endpoints.
func TestSubscribersSurviveRestart(t *testing.T) {
	st, _ := store.OpenFile(t.TempDir())
	r, static := newReceiver(t, 0), newReceiver(t, 0)
	f := start(t, st, fastConfig())
	if _, err := f.svc.Subscribe(context.Background(), "127.0.0.1", r.URL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, r, []string{TypeSubscribe})
	f.stop()
	cfg := fastConfig()
	cfg.Endpoints = []string{static.URL}
	f2 := start(t, st, cfg)
	if got := f2.svc.URLs(); !slices.Equal(got, sortedOf(r.URL, static.URL)) {
		t.Fatalf("URLs after restart = %v", got)
	}
	f2.bus.Publish(events.NewAppTerminated("/a", time.Now()))
	waitFor(t, r, []string{TypeSubscribe, events.TypeAppTerminated})
	waitFor(t, static, []string{events.TypeAppTerminated})
}

// TestFullQueueDropsEvents: a callback that does not answer holds one event in flight;
// its queue fills and further events are dropped, while another subscriber gets all.
func TestFullQueueDropsEvents(t *testing.T) {
	st, _ := store.OpenFile(t.TempDir())
	release := make(chan struct{})
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { <-release }))
	defer stuck.Close()
	defer close(release)
	cfg := fastConfig()
	cfg.QueueSize = 2
	f := start(t, st, cfg)
	ok := newReceiver(t, 0)
	ctx := context.Background()
	// The live callback first, and its queue emptied of both subscribe_events before the
	// test publishes: with a queue of 2 it would otherwise drop the first event itself.
	if _, err := f.svc.Subscribe(ctx, "", ok.URL); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Subscribe(ctx, "", stuck.URL); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 10*time.Second, func() error {
		if got := ok.events(); len(got) != 2 {
			return &mismatch{got, []string{TypeSubscribe, TypeSubscribe}}
		}
		return nil
	})
	var want []string
	for range 10 { // one at a time, so that the live callback's queue never fills
		f.bus.Publish(events.NewAppTerminated("/a", time.Now()))
		want = append(want, events.TypeAppTerminated)
		waitFor(t, ok, want)
	}
	f.svc.mu.Lock()
	dropped := f.svc.subs[stuck.URL].dropped
	f.svc.mu.Unlock()
	// 11 events or more: one in flight, two queued, the rest dropped.
	if dropped < 11-1-2 {
		t.Fatalf("dropped %d events for the stuck callback; want at least 8", dropped)
	}
}

func TestValidateURL(t *testing.T) {
	for _, u := range []string{"http://h:1/cb", "https://h/x"} {
		if err := ValidateURL(u); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{"", "h:1/cb", "ftp://h/x", "http:///x", "://"} {
		if err := ValidateURL(u); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
}
