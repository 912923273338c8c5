package lb

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/agoracluster/agora/frameworks/marathon/events"
	"github.com/agoracluster/agora/internal/poll"
	"github.com/agoracluster/agora/security/authn"
	"github.com/agoracluster/agora/security/credentials"
)

// testMarathon serves /v2/events from Marathon's real event bus and handler, and
// /v2/apps?embed=apps.tasks from a list the test changes.
type testMarathon struct {
	*httptest.Server
	bus *events.Bus

	mu       sync.Mutex
	apps     []App
	appReads int
}

func startTestMarathon(t *testing.T, apps ...App) *testMarathon {
	t.Helper()
	return startTestMarathonWith(t, events.DefaultConfig(), apps...)
}

func startTestMarathonWith(t *testing.T, busCfg events.Config, apps ...App) *testMarathon {
	t.Helper()
	return startTestMarathonBehind(t, busCfg, func(h http.Handler) http.Handler { return h }, apps...)
}

// startTestMarathonBehind is startTestMarathonWith whose handler is wrapped by wrap.
func startTestMarathonBehind(t *testing.T, busCfg events.Config, wrap func(http.Handler) http.Handler, apps ...App) *testMarathon {
	t.Helper()
	log := zaptest.NewLogger(t)
	bus, err := events.NewBus(busCfg, log)
	if err != nil {
		t.Fatal(err)
	}
	m := &testMarathon{bus: bus, apps: apps}
	mux := http.NewServeMux()
	mux.Handle("/v2/events", events.Handler(bus, log))
	mux.HandleFunc("/v2/apps", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("embed") != "apps.tasks" {
			http.Error(w, "want embed=apps.tasks", http.StatusBadRequest)
			return
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		m.appReads++
		_ = json.NewEncoder(w).Encode(map[string][]App{"apps": m.apps})
	})
	m.Server = httptest.NewServer(wrap(mux))
	t.Cleanup(func() {
		bus.Close()
		m.Server.CloseClientConnections()
		m.Server.Close()
	})
	return m
}

func (m *testMarathon) setApps(apps ...App) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.apps = apps
}

func (m *testMarathon) reads() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.appReads
}

// runFeed runs a feed of the given Marathon URLs and returns the latest table it yielded.
func runFeed(t *testing.T, urls ...string) func() (Table, bool) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Marathons = urls
	return runFeedWith(t, cfg)
}

func runFeedWith(t *testing.T, cfg Config) func() (Table, bool) {
	t.Helper()
	cfg.BackoffMin = 10 * time.Millisecond
	cfg.BackoffMax = 50 * time.Millisecond
	f, err := NewFeed(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var latest Table
	var got bool
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- f.Run(ctx, func(tb Table) {
			mu.Lock()
			latest, got = tb, true
			mu.Unlock()
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Feed.Run: %v", err)
		}
	})
	return func() (Table, bool) {
		mu.Lock()
		defer mu.Unlock()
		return latest, got
	}
}

// backendsOf lists the task ids behind service port port, or "-" when it has no frontend.
func backendsOf(tb Table, port int) string {
	for _, s := range tb.Services {
		if s.Port == port {
			out := ""
			for _, b := range s.Backends {
				out += b.TaskID + " "
			}
			return out
		}
	}
	return "-"
}

func waitBackends(t *testing.T, latest func() (Table, bool), port int, want string) {
	t.Helper()
	poll.Eventually(t, 10*time.Second, func() bool {
		tb, _ := latest()
		return backendsOf(tb, port) == want
	}, "service port %d never had backends %q", port, want)
}

func TestFeedFollowsEvents(t *testing.T) {
	web := App{ID: "/web", PortDefinitions: ports(10000), Tasks: []Task{running("t1", "127.0.0.1", 31000), running("t2", "127.0.0.1", 31001)}}
	m := startTestMarathon(t, web)
	// The first Marathon is not there: the feed moves on to the second.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	latest := runFeed(t, dead.URL, m.URL)
	waitBackends(t, latest, 10000, "t1 t2 ")

	// A task killing leaves at once, from the event alone.
	now := time.Now()
	m.bus.Publish(events.NewStatusUpdate("agent", "t1", "TASK_KILLING", "", "/web", "127.0.0.1", nil, []int{31000}, "v1", now))
	waitBackends(t, latest, 10000, "t2 ")

	// A task running joins at once, from the event alone.
	m.bus.Publish(events.NewStatusUpdate("agent", "t3", "TASK_RUNNING", "", "/web", "127.0.0.1", nil, []int{31002}, "v1", now))
	waitBackends(t, latest, 10000, "t2 t3 ")

	// A new app: the api_post_event makes the feed read the apps again.
	newApp := App{ID: "/new", PortDefinitions: ports(10001), Tasks: []Task{running("n1", "127.0.0.1", 31005)}}
	m.setApps(App{ID: "/web", PortDefinitions: ports(10000), Tasks: []Task{running("t2", "127.0.0.1", 31001), running("t3", "127.0.0.1", 31002)}}, newApp)
	m.bus.Publish(events.NewAPIPost("127.0.0.1", "/v2/apps", nil, now))
	waitBackends(t, latest, 10001, "n1 ")

	// The stream breaks: the feed reconnects and reads the apps again.
	reads := m.reads()
	m.setApps(newApp)
	m.CloseClientConnections()
	waitBackends(t, latest, 10000, "-")
	if m.reads() <= reads {
		t.Errorf("apps read %d times after the reconnection, want more than %d", m.reads(), reads)
	}
}

// TestFeedAuthenticates: a Marathon with --http_credentials is followed with the
// configured credential.
func TestFeedAuthenticates(t *testing.T) {
	cred := credentials.Credential{Principal: "lb", Secret: "lb-secret"}
	m := startTestMarathonBehind(t, events.DefaultConfig(), func(h http.Handler) http.Handler {
		return authn.Protect(h, cred, "Mesosphere", func(*http.Request) bool { return false })
	}, App{ID: "/web", PortDefinitions: ports(10000), Tasks: []Task{running("t1", "127.0.0.1", 31000)}})
	cfg := DefaultConfig()
	cfg.Marathons = []string{m.URL}
	cfg.MarathonCredential = cred
	latest := runFeedWith(t, cfg)
	waitBackends(t, latest, 10000, "t1 ")
	m.bus.Publish(events.NewStatusUpdate("agent", "t2", "TASK_RUNNING", "", "/web", "127.0.0.1", nil, []int{31001}, "v1", time.Now()))
	waitBackends(t, latest, 10000, "t1 t2 ") // the event stream, too
}

func TestFeedDebouncesBursts(t *testing.T) {
	m := startTestMarathon(t, App{ID: "/web", PortDefinitions: ports(10000)})
	latest := runFeed(t, m.URL)
	waitBackends(t, latest, 10000, "")
	before := m.reads()
	m.setApps(App{ID: "/web", PortDefinitions: ports(10000), Tasks: []Task{running("t1", "h", 1)}})
	for i := range 50 {
		m.bus.Publish(events.NewHealthStatusChanged("/web", "i"+strconv.Itoa(i), "v1", true, time.Now()))
	}
	waitBackends(t, latest, 10000, "t1 ")
	if n := m.reads() - before; n < 1 || n > 10 {
		t.Errorf("50 events made %d reads of the apps, want a few", n)
	}
}

// TestFeedReconnectsSilentStream: a stream without keep-alives past StreamIdleTimeout is
// taken for dead; the feed reconnects and reads the apps again.
func TestFeedReconnectsSilentStream(t *testing.T) {
	busCfg := events.DefaultConfig()
	busCfg.KeepAlive = 0
	m := startTestMarathonWith(t, busCfg, App{ID: "/web", PortDefinitions: ports(10000)})
	cfg := DefaultConfig()
	cfg.Marathons = []string{m.URL}
	cfg.StreamIdleTimeout = 50 * time.Millisecond
	latest := runFeedWith(t, cfg)
	waitBackends(t, latest, 10000, "")
	m.setApps(App{ID: "/web", PortDefinitions: ports(10000), Tasks: []Task{running("t1", "h", 1)}})
	waitBackends(t, latest, 10000, "t1 ") // no event: only a new connection reads the apps again
}
