package ha

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/agoracluster/agora/store"
	"github.com/agoracluster/agora/store/zkstore"
	"github.com/agoracluster/agora/zookeeper"
	"github.com/agoracluster/agora/zookeeper/zktest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func openNode(t *testing.T, zkURL, address string) *Node {
	t.Helper()
	u, err := zookeeper.ParseURL(zkURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.ZK, cfg.SessionTimeout, cfg.Address, cfg.RetryDelay = u, 2*time.Second, address, 50*time.Millisecond
	n, err := Open(context.Background(), cfg, zaptest.NewLogger(t).Named(address))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return n
}

// started is a term that began: who runs it and its store.
type started struct {
	who string
	st  store.Store
}

// runNode runs n's terms until the test ends; each term reports on terms and waits for
// its context.
func runNode(t *testing.T, n *Node, terms chan<- started, ended chan<- string) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- n.Run(ctx, func(ctx context.Context, st store.Store) error {
			terms <- started{who: n.Address(), st: st}
			<-ctx.Done()
			ended <- n.Address()
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func TestTermsFollowTheLeadAndShareTheState(t *testing.T) {
	srv := zktest.Start(t)
	a := openNode(t, srv.URL("/marathon"), "127.0.0.1:1001")
	waitLeading(t, a)
	b := openNode(t, srv.URL("/marathon"), "127.0.0.1:1002")
	terms, ended := make(chan started, 4), make(chan string, 4)
	runNode(t, a, terms, ended)
	runNode(t, b, terms, ended)

	first := waitFor(t, terms, "the first term")
	if first.who != a.Address() {
		t.Fatalf("first term runs on %s, want %s", first.who, a.Address())
	}
	if _, err := first.st.Put(context.Background(), "apps/web", []byte("v1"), 0); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*Node{a, b} {
		if l, err := n.Leader(); err != nil || l != a.Address() {
			t.Errorf("%s: Leader() = %q, %v; want %s", n.Address(), l, err, a.Address())
		}
	}
	if b.Leading() {
		t.Error("b leads beside a")
	}

	a.Abdicate()
	if who := waitFor(t, ended, "a's term to end"); who != a.Address() {
		t.Fatalf("%s's term ended, want a's", who)
	}
	second := waitFor(t, terms, "the second term")
	if second.who != b.Address() {
		t.Fatalf("second term runs on %s, want %s", second.who, b.Address())
	}
	got, _, err := second.st.Get(context.Background(), "apps/web")
	if err != nil || string(got) != "v1" {
		t.Fatalf("b reads %q, %v; want the state a wrote", got, err)
	}
	// a's store is fenced now: its late writes change nothing.
	if _, err := first.st.Put(context.Background(), "apps/web", []byte("stale"), store.AnyVersion); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("deposed leader's write: %v, want ErrFenced", err)
	}
	if got, _, _ := second.st.Get(context.Background(), "apps/web"); string(got) != "v1" {
		t.Fatalf("value %q after a fenced write, want v1", got)
	}
}

func TestCutOffLeaderStopsAndTheOtherLeads(t *testing.T) {
	srv := zktest.Start(t)
	px := zktest.NewProxy(t, srv.Addr())
	a := openNode(t, px.URL("/marathon"), "127.0.0.1:1001")
	waitLeading(t, a)
	b := openNode(t, srv.URL("/marathon"), "127.0.0.1:1002")
	terms, ended := make(chan started, 4), make(chan string, 4)
	runNode(t, a, terms, ended)
	runNode(t, b, terms, ended)
	if first := waitFor(t, terms, "the first term"); first.who != a.Address() {
		t.Fatalf("first term runs on %s, want a", first.who)
	}
	px.Cut()
	if who := waitFor(t, ended, "the cut-off leader's term to end"); who != a.Address() {
		t.Fatalf("%s's term ended, want a's", who)
	}
	if second := waitFor(t, terms, "the second term"); second.who != b.Address() {
		t.Fatalf("second term runs on %s, want b once a's session expired", second.who)
	}
	px.Heal()
}

func TestFencedWriteEndsTheTerm(t *testing.T) {
	srv := zktest.Start(t)
	sess := zktest.Connect(t, srv.URL("/marathon"), 2*time.Second)
	base, err := zkstore.New(context.Background(), sess, "/marathon/state")
	if err != nil {
		t.Fatal(err)
	}
	lost := 0
	st := &fencedStore{Store: base.WithFence("/marathon/leader/latch-0000000007", 0), lost: func() { lost++ }}
	if _, err := st.Put(context.Background(), "apps/web", []byte("x"), 0); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("Put without the latch znode: %v, want ErrFenced", err)
	}
	if err := st.Delete(context.Background(), "apps/web", store.AnyVersion); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("Delete without the latch znode: %v, want ErrFenced", err)
	}
	if lost != 2 {
		t.Fatalf("lost called %d times, want 2", lost)
	}
}

func waitLeading(t *testing.T, n *Node) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := n.cont.WaitLeading(ctx); err != nil {
		t.Fatal(err)
	}
}

// fixedLeader is a Leadership the test sets.
type fixedLeader struct {
	self, leader string
	err          error
}

func (f fixedLeader) Leader() (string, error) { return f.leader, f.err }
func (f fixedLeader) Address() string         { return f.self }

func TestProxy(t *testing.T) {
	var gotVia, gotPath, gotBody string
	leader := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotVia, gotPath = r.Header.Get(ViaHeader), r.URL.RequestURI()
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		w.Header().Set("X-From", "leader")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"id":"/web"}`)
	}))
	defer leader.Close()
	leaderAddr := strings.TrimPrefix(leader.URL, "http://")
	closed := listenClosed(t)
	tests := []struct {
		name     string
		l        fixedLeader
		via      string
		wantCode int
		wantBody string
	}{
		{"forwards to the leader", fixedLeader{self: "127.0.0.1:9", leader: leaderAddr}, "", http.StatusCreated, `{"id":"/web"}`},
		{"no leader", fixedLeader{self: "127.0.0.1:9", err: ErrNoLeader}, "", http.StatusServiceUnavailable, "Could not determine the current leader"},
		{"leader starting here", fixedLeader{self: "127.0.0.1:9", leader: "127.0.0.1:9"}, "", http.StatusServiceUnavailable, "Leader is starting"},
		{"loop", fixedLeader{self: "127.0.0.1:9", leader: leaderAddr}, "1.1 127.0.0.1:8, 1.1 127.0.0.1:9", http.StatusBadGateway, "Detected proxying loop."},
		{"leader unreachable", fixedLeader{self: "127.0.0.1:9", leader: closed}, "", http.StatusBadGateway, "Could not reach the leader"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gotVia, gotPath, gotBody = "", "", ""
			front := httptest.NewServer(Proxy(tc.l, nil, zaptest.NewLogger(t)))
			defer front.Close()
			req, _ := http.NewRequest(http.MethodPost, front.URL+"/v2/apps?force=true", strings.NewReader(`{"id":"web"}`))
			if tc.via != "" {
				req.Header.Set(ViaHeader, tc.via)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantCode || !strings.Contains(string(body), tc.wantBody) {
				t.Fatalf("got %d %s, want %d with %q", resp.StatusCode, body, tc.wantCode, tc.wantBody)
			}
			if tc.wantCode != http.StatusCreated {
				if gotPath != "" {
					t.Fatalf("the leader got %s; want nothing forwarded", gotPath)
				}
				return
			}
			if gotPath != "/v2/apps?force=true" || gotBody != `{"id":"web"}` || gotVia != "1.1 127.0.0.1:9" {
				t.Fatalf("leader got %s %q via %q", gotPath, gotBody, gotVia)
			}
			if resp.Header.Get("X-From") != "leader" || resp.Header.Get(ViaHeader) != "1.1 127.0.0.1:9" {
				t.Fatalf("answer headers %v", resp.Header)
			}
		})
	}
}

// listenClosed returns a loopback address nothing listens on.
func listenClosed(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestConfigValidate(t *testing.T) {
	u, _ := zookeeper.ParseURL("zk://127.0.0.1:2181/marathon")
	good := DefaultConfig()
	good.ZK, good.Address = u, "host:8080"
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"good", func(*Config) {}, ""},
		{"no zk", func(c *Config) { c.ZK = zookeeper.URL{} }, "zk:"},
		{"bad address", func(c *Config) { c.Address = "host" }, "address:"},
		{"short session", func(c *Config) { c.SessionTimeout = time.Millisecond }, "session timeout"},
		{"no retry delay", func(c *Config) { c.RetryDelay = 0 }, "retry_delay"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.edit(&c)
			err := c.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestHandlersWaitForTheStartingTerm(t *testing.T) {
	leading := make(chan bool, 1)
	leading <- true
	hs := &Handlers{Self: "http://127.0.0.1:9", StartWait: 10 * time.Second,
		Leading:  func() bool { l := <-leading; leading <- l; return l },
		Follower: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })}
	srv := httptest.NewServer(hs)
	defer srv.Close()
	got := make(chan int, 1)
	go func() {
		resp, err := http.Get(srv.URL + "/v2/apps")
		if err != nil {
			got <- 0
			return
		}
		resp.Body.Close()
		got <- resp.StatusCode
	}()
	select {
	case code := <-got:
		t.Fatalf("answered %d before the term started", code)
	case <-time.After(100 * time.Millisecond):
	}
	stop := hs.Lead(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) }))
	if code := waitFor(t, got, "the answer"); code != http.StatusAccepted {
		t.Fatalf("answered %d, want the leader's 202", code)
	}
	stop()
	<-leading
	leading <- false
	resp, err := http.Get(srv.URL + "/v2/apps")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot || resp.Header.Get(LeaderHeader) != "" {
		t.Fatalf("after the term: %d %v, want the follower's answer", resp.StatusCode, resp.Header)
	}
}
