package registration

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/clock/clocktest"
	"github.com/agoracluster/agora/apicodec"
	"github.com/agoracluster/agora/internal/poll"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/recordio"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// master is a minimal master: it answers SUBSCRIBE with SUBSCRIBED (agent id "a1") and
// keeps the stream open until end is closed, and records the other calls.
type master struct {
	srv *httptest.Server
	end chan struct{}

	mu    sync.Mutex
	subs  int
	calls []agorapb.AgentCall_Type
}

func newMaster(t *testing.T) *master {
	m := &master{end: make(chan struct{})}
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var call agorapb.AgentCall
		if err := proto.Unmarshal(body, &call); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		m.mu.Lock()
		if call.GetType() != agorapb.AgentCall_SUBSCRIBE {
			m.calls = append(m.calls, call.GetType())
			m.mu.Unlock()
			w.WriteHeader(http.StatusAccepted)
			return
		}
		m.subs++
		m.mu.Unlock()
		w.Header().Set(StreamIDHeader, "s")
		w.Header().Set("Content-Type", apicodec.MediaProtobuf)
		b, _ := proto.Marshal(&agorapb.AgentEvent{Type: agorapb.AgentEvent_SUBSCRIBED.Enum(),
			Subscribed: &agorapb.AgentEvent_Subscribed{AgentId: &mesos.AgentID{Value: proto.String("a1")},
				HeartbeatIntervalSeconds: proto.Float64(60)}})
		if recordio.NewWriter(w).WriteRecord(b) != nil {
			return
		}
		w.(http.Flusher).Flush()
		select {
		case <-m.end:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(m.srv.Close)
	return m
}

func (m *master) url() *url.URL {
	u, _ := MasterURL(m.srv.Listener.Addr().String())
	return u
}

func (m *master) subscriptions() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.subs
}

func (m *master) callsOf(typ agorapb.AgentCall_Type) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, c := range m.calls {
		if c == typ {
			n++
		}
	}
	return n
}

// leader is a MasterDetector whose answer the test sets.
type leader struct {
	mu sync.Mutex
	u  *url.URL
}

func (l *leader) set(u *url.URL) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.u = u
}

func (l *leader) Detect(context.Context, *url.URL) (*url.URL, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.u, nil
}

// owner records what the connection tells the agent.
type owner struct {
	mu         sync.Mutex
	subscribed []string // master addresses
	connected  bool
}

func (o *owner) SubscribeCall(context.Context) (*agorapb.AgentCall, error) {
	return &agorapb.AgentCall{Type: agorapb.AgentCall_SUBSCRIBE.Enum(), Subscribe: &agorapb.AgentCall_Subscribe{
		AgentInfo: &mesos.AgentInfo{Hostname: proto.String("h")}}}, nil
}

func (o *owner) Subscribed(_, masterAddr string, _ *mesos.MasterInfo) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.subscribed = append(o.subscribed, masterAddr)
	o.connected = true
}

func (o *owner) Disconnected() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.connected = false
}

func (o *owner) Event(*agorapb.AgentEvent) {}

func (o *owner) masters() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.subscribed...)
}

// TestConnFollowsTheDetector: every attempt asks the detector; when the stream of one
// master ends, the connection subscribes to the master the detector names then, and the
// calls queued meanwhile reach the new one.
func TestConnFollowsTheDetector(t *testing.T) {
	first, second := newMaster(t), newMaster(t)
	det := &leader{u: first.url()}
	o := &owner{}
	c := New(Config{Detector: det, BackoffMin: time.Millisecond, BackoffMax: 10 * time.Millisecond}, o, zaptest.NewLogger(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	defer func() { cancel(); <-done }()

	poll.Eventually(t, 10*time.Second, func() bool { return first.subscriptions() == 1 }, "no subscription to the first master")
	det.set(second.url())
	close(first.end) // the first master goes away
	poll.Eventually(t, 10*time.Second, func() bool { return second.subscriptions() == 1 }, "no subscription to the detected master")
	c.Enqueue(&agorapb.AgentCall{Type: agorapb.AgentCall_EXECUTOR_EXITED.Enum()})
	poll.Eventually(t, 10*time.Second, func() bool { return second.callsOf(agorapb.AgentCall_EXECUTOR_EXITED) == 1 },
		"the queued call did not reach the detected master")
	if got := o.masters(); len(got) != 2 || got[0] != first.url().Host || got[1] != second.url().Host {
		t.Fatalf("subscribed to %v, want %s then %s", got, first.url().Host, second.url().Host)
	}
}

// countingDetector names one master and counts the attempts.
type countingDetector struct {
	u  *url.URL
	mu sync.Mutex
	n  int
}

func (d *countingDetector) Detect(context.Context, *url.URL) (*url.URL, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.n++
	return d.u, nil
}

func (d *countingDetector) attempts() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n
}

// TestConnBacksOffOnItsClock: after a failed attempt the next waits for the back-off on the
// connection's clock (jittered in [backoff/2, backoff)), doubling up to the maximum.
func TestConnBacksOffOnItsClock(t *testing.T) {
	refused := httptest.NewServer(http.NotFoundHandler()) // answers 404: not subscribed
	t.Cleanup(refused.Close)
	u, _ := MasterURL(refused.Listener.Addr().String())
	det := &countingDetector{u: u}
	clk := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c := New(Config{Detector: det, BackoffMin: time.Second, BackoffMax: 4 * time.Second, Clock: clk}, &owner{}, zaptest.NewLogger(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	defer func() { cancel(); <-done }()

	for i, backoff := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second} {
		attempt := i + 1
		poll.Eventually(t, 10*time.Second, func() bool { return det.attempts() == attempt && clk.Pending() > 0 },
			"attempt %d did not fail and wait", attempt)
		clk.Advance(backoff/2 - time.Millisecond)
		if det.attempts() != attempt {
			t.Fatalf("attempt %d before half its back-off of %v", attempt+1, backoff)
		}
		clk.Advance(backoff/2 + time.Millisecond)
	}
	poll.Eventually(t, 10*time.Second, func() bool { return det.attempts() == 5 }, "no fifth attempt")
}

// TestStaticFollowsRedirectsAcrossFailover: an agent given a non-leading master
// follows its 307 to the leader; when that leader dies, the agent asks the
// configured master again and follows its redirect to the new leader.
func TestStaticFollowsRedirectsAcrossFailover(t *testing.T) {
	first, second := newMaster(t), newMaster(t)
	var mu sync.Mutex
	leaderAddr := first.url().Host
	standby := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		addr := leaderAddr
		mu.Unlock()
		w.Header().Set("Location", "//"+addr+r.URL.Path)
		w.WriteHeader(http.StatusTemporaryRedirect)
	}))
	defer standby.Close()
	det, err := NewStatic(standby.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	o := &owner{}
	c := New(Config{Detector: det, BackoffMin: time.Millisecond, BackoffMax: 10 * time.Millisecond}, o, zaptest.NewLogger(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	defer func() { cancel(); <-done }()

	poll.Eventually(t, 10*time.Second, func() bool { return first.subscriptions() == 1 }, "no subscription to the leader behind the redirect")
	mu.Lock()
	leaderAddr = second.url().Host
	mu.Unlock()
	first.srv.CloseClientConnections()
	first.srv.Close() // the leader dies
	poll.Eventually(t, 10*time.Second, func() bool {
		got := o.masters()
		return len(got) == 2 && got[1] == second.url().Host
	}, "not subscribed to the new leader through the configured master")
}
