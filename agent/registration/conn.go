package registration

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/clock"
	"github.com/agoracluster/agora/apicodec"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/recordio"
	"github.com/agoracluster/agora/security/authn"
	"github.com/agoracluster/agora/security/credentials"
	"github.com/agoracluster/agora/workqueue"
)

const (
	// StreamIDHeader carries the subscription's stream id on every call.
	StreamIDHeader = "Mesos-Stream-Id"
	// callWorkers is how many calls to the master are in flight at once. Status updates of
	// one task are never concurrent (the status update manager sends one at a time).
	callWorkers = 4
	// defaultMasterHeartbeat is assumed when the master announces no heartbeat interval.
	defaultMasterHeartbeat = 15 * time.Second
)

// Owner is the agent as the connection sees it: the calls run on the agent's loop.
type Owner interface {
	// SubscribeCall builds SUBSCRIBE with everything the agent runs.
	SubscribeCall(ctx context.Context) (*agorapb.AgentCall, error)
	// Subscribed records a new subscription, under agentID, to the master at masterAddr.
	Subscribed(agentID, masterAddr string, info *mesos.MasterInfo)
	// Disconnected records the end of the subscription.
	Disconnected()
	// Event carries out one event from the master.
	Event(ev *agorapb.AgentEvent)
}

// Config configures the connection.
type Config struct {
	// Detector tells which master to subscribe to.
	Detector MasterDetector
	// BackoffMin and BackoffMax bound the exponential back-off between attempts to
	// subscribe.
	BackoffMin, BackoffMax time.Duration
	// Clock times the back-off, the heartbeats and the watchdog of a silent stream; nil
	// means the wall clock.
	Clock clock.Clock
	// Credential authenticates the agent to a master that asks for it
	// (--authenticate_agents); zero: none sent.
	Credential credentials.Credential
	// TLS, when set, makes every connection to the master HTTPS with this configuration
	// (masters given or detected as host:port are reached over https).
	TLS *tls.Config
}

// withScheme makes u HTTPS when the connection uses TLS.
func (m *Conn) withScheme(u *url.URL) *url.URL {
	if m.cfg.TLS == nil || u == nil || u.Scheme != "http" {
		return u
	}
	c := *u
	c.Scheme = "https"
	return &c
}

// Conn is the agent's connection to the master: the subscription stream (with
// re-subscription and back-off), heartbeats, and a queue of outgoing calls. Create it with
// New, run it with Run, queue calls with Enqueue.
type Conn struct {
	owner  Owner
	cfg    Config
	clock  clock.Clock
	log    *zap.Logger
	stream *http.Client // no timeout: the subscription is long-lived
	calls  *http.Client

	session atomic.Pointer[session]

	out    *workqueue.Queue[*agorapb.AgentCall]
	heldMu sync.Mutex
	held   []*agorapb.AgentCall // calls made while disconnected, sent after the next subscription
}

// session is one successful subscription.
type session struct {
	url      string
	streamID string
	agentID  string
}

// New returns a connection for owner; it does nothing until Run.
func New(cfg Config, owner Owner, log *zap.Logger) *Conn {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = callWorkers + 2
	tr.TLSClientConfig = cfg.TLS
	clk := cfg.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	return &Conn{
		owner:  owner,
		cfg:    cfg,
		clock:  clk,
		log:    log.Named("master"),
		stream: authn.Client(&http.Client{Transport: tr}, cfg.Credential),
		calls:  authn.Client(&http.Client{Transport: tr, Timeout: 15 * time.Second}, cfg.Credential),
		out:    workqueue.New[*agorapb.AgentCall](),
	}
}

// Run subscribes to the master, keeps the subscription alive and sends the queued calls
// until ctx is done.
func (m *Conn) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		m.sendLoop(ctx)
	}()
	m.run(ctx)
	wg.Wait()
}

// run subscribes to the master and keeps the subscription alive until ctx is done.
func (m *Conn) run(ctx context.Context) {
	backoff := m.cfg.BackoffMin
	var target *url.URL // the master the last attempt reached
	for ctx.Err() == nil {
		var subscribed bool
		var tried *url.URL // the master the last attempt could not reach
		next, err := m.cfg.Detector.Detect(ctx, target)
		if err == nil {
			target = m.withScheme(next)
			subscribed, next, err = m.subscribe(ctx, target)
			if next != nil {
				target = next
			}
			if next == nil && !subscribed {
				// No master answered at target (a leader reached through a redirect may
				// have died): the next attempt asks the detector afresh, so a Static
				// one goes back to the configured master, which redirects to the new
				// leader.
				tried, target = target, nil
			}
		}
		if ctx.Err() != nil {
			return
		}
		if subscribed {
			backoff = m.cfg.BackoffMin
		}
		m.log.Info("not subscribed to the master, retrying", zap.String("master", masterHost(cmp.Or(target, tried))),
			zap.Duration("backoff", backoff), zap.Error(err))
		// Full jitter in [backoff/2, backoff).
		wait := backoff/2 + time.Duration(rand.Int64N(int64(backoff/2)+1))
		due, stop := clock.At(m.clock, m.clock.Now().Add(wait))
		elected, stopWatching := m.watchLeader(ctx, cmp.Or(target, tried))
		select {
		case <-ctx.Done():
		case <-due:
		case <-elected:
			// Another master is elected: try it now, from the shortest back-off.
			backoff = m.cfg.BackoffMin / 2
		}
		stop()
		stopWatching()
		if ctx.Err() != nil {
			return
		}
		backoff = min(2*backoff, m.cfg.BackoffMax)
	}
}

// watchLeader returns a channel closed when a LeaderWatcher detector names a
// master other than target, and a func that stops watching and waits for the
// watcher. Other detectors never close the channel.
func (m *Conn) watchLeader(ctx context.Context, target *url.URL) (<-chan struct{}, func()) {
	w, ok := m.cfg.Detector.(LeaderWatcher)
	if !ok || target == nil {
		return nil, func() {}
	}
	wctx, cancel := context.WithCancel(ctx)
	elected, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		if w.WaitChange(wctx, target) == nil {
			close(elected)
		}
	}()
	return elected, func() {
		cancel()
		<-done
	}
}

// subscribe runs one subscription: it returns whether SUBSCRIBED arrived, the master URL
// that answered (after redirects), and why the stream ended.
func (m *Conn) subscribe(ctx context.Context, target *url.URL) (bool, *url.URL, error) {
	call, err := m.owner.SubscribeCall(ctx)
	if err != nil {
		return false, nil, err
	}
	body, err := proto.Marshal(call)
	if err != nil {
		return false, nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(sctx, http.MethodPost, target.String(), bytes.NewReader(body))
	if err != nil {
		return false, nil, err
	}
	req.Header.Set("Content-Type", apicodec.MediaProtobuf)
	req.Header.Set("Accept", apicodec.MediaProtobuf)
	resp, err := m.stream.Do(req) // follows 307 from a non-leading master
	if err != nil {
		return false, nil, err
	}
	defer resp.Body.Close()
	final := resp.Request.URL
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return false, final, fmt.Errorf("subscribe: %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	rd := recordio.NewReader(resp.Body, 0)
	rec, err := rd.ReadRecord()
	if err != nil {
		return false, final, fmt.Errorf("subscribe: read SUBSCRIBED: %w", err)
	}
	var ev agorapb.AgentEvent
	if err := proto.Unmarshal(rec, &ev); err != nil {
		return false, final, fmt.Errorf("subscribe: decode event: %w", err)
	}
	if ev.GetType() != agorapb.AgentEvent_SUBSCRIBED {
		if ev.GetType() == agorapb.AgentEvent_ERROR {
			return false, final, fmt.Errorf("subscribe: master error: %s", ev.GetError().GetMessage())
		}
		return false, final, fmt.Errorf("subscribe: first event is %v, want SUBSCRIBED", ev.GetType())
	}
	sub := ev.GetSubscribed()
	agentID := sub.GetAgentId().GetValue()
	s := &session{url: final.String(), streamID: resp.Header.Get(StreamIDHeader), agentID: agentID}
	m.session.Store(s)
	defer m.session.Store(nil)
	m.releaseHeld()
	interval := time.Duration(sub.GetHeartbeatIntervalSeconds() * float64(time.Second))
	if interval <= 0 {
		interval = defaultMasterHeartbeat
	}
	m.log.Info("subscribed to the master", zap.String("agent_id", agentID), zap.String("master", final.Host),
		zap.Duration("heartbeat_interval", interval))
	masterAddr := final.Host
	m.owner.Subscribed(agentID, masterAddr, sub.GetMasterInfo())
	defer m.owner.Disconnected()

	// Heartbeats, and a watchdog that drops a silent stream.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		m.heartbeat(sctx, s, interval)
	}()
	defer wg.Wait()
	watchdog := m.clock.AfterFunc(3*interval, cancel)
	defer watchdog.Stop()
	if w, ok := m.cfg.Detector.(LeaderWatcher); ok {
		// Another master elected: drop this stream and subscribe to it.
		wg.Add(1)
		go func() {
			defer wg.Done()
			if w.WaitChange(sctx, final) == nil {
				m.log.Info("another master is elected; re-subscribing", zap.String("master", final.Host))
				cancel()
			}
		}()
	}

	for {
		rec, err := rd.ReadRecord()
		if err != nil {
			cancel()
			if errors.Is(err, io.EOF) {
				err = errors.New("the master closed the stream")
			}
			return true, final, err
		}
		watchdog.Reset(3 * interval)
		ev := &agorapb.AgentEvent{}
		if err := proto.Unmarshal(rec, ev); err != nil {
			cancel()
			return true, final, fmt.Errorf("decode event: %w", err)
		}
		m.owner.Event(ev)
		if ev.GetType() == agorapb.AgentEvent_ERROR {
			cancel()
			return true, final, fmt.Errorf("master error: %s", ev.GetError().GetMessage())
		}
	}
}

func (m *Conn) heartbeat(ctx context.Context, s *session, interval time.Duration) {
	for {
		due, stop := clock.At(m.clock, m.clock.Now().Add(interval))
		select {
		case <-ctx.Done():
			stop()
			return
		case <-due:
			if err := m.post(ctx, s, &agorapb.AgentCall{Type: agorapb.AgentCall_HEARTBEAT.Enum()}); err != nil {
				m.log.Debug("heartbeat failed", zap.Error(err))
			}
		}
	}
}

// maxHeldCalls bounds the calls kept while the master is away.
const maxHeldCalls = 4096

// hold keeps a call made while disconnected for the next subscription. Heartbeats are
// pointless later and status updates are resent by the status update manager, so they are
// dropped; executor exits and framework messages would otherwise be lost.
func (m *Conn) hold(c *agorapb.AgentCall) {
	switch c.GetType() {
	case agorapb.AgentCall_HEARTBEAT, agorapb.AgentCall_STATUS_UPDATE, agorapb.AgentCall_SUBSCRIBE:
		m.log.Debug("dropping call while disconnected", zap.Stringer("type", c.GetType()))
		return
	}
	m.heldMu.Lock()
	defer m.heldMu.Unlock()
	if len(m.held) >= maxHeldCalls {
		m.log.Warn("dropping call while disconnected: too many held", zap.Stringer("type", c.GetType()))
		return
	}
	m.held = append(m.held, c)
}

// releaseHeld queues the held calls once a subscription exists.
func (m *Conn) releaseHeld() {
	m.heldMu.Lock()
	held := m.held
	m.held = nil
	m.heldMu.Unlock()
	m.out.Push(held...)
}

// Enqueue queues a call for the master; see hold for calls made while disconnected.
func (m *Conn) Enqueue(c *agorapb.AgentCall) { m.out.Push(c) }

// sendLoop posts queued calls with callWorkers workers until ctx is done.
func (m *Conn) sendLoop(ctx context.Context) {
	var wg sync.WaitGroup
	for range callWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, ok := m.out.Pop(ctx)
				if !ok {
					return
				}
				s := m.session.Load()
				if s == nil {
					m.hold(c)
					continue
				}
				if err := m.post(ctx, s, c); err != nil && ctx.Err() == nil {
					m.log.Info("call to the master failed", zap.Stringer("type", c.GetType()), zap.Error(err))
				}
			}
		}()
	}
	wg.Wait()
}

// post sends one call on session s and expects 202.
func (m *Conn) post(ctx context.Context, s *session, c *agorapb.AgentCall) error {
	c.AgentId = &mesos.AgentID{Value: proto.String(s.agentID)}
	body, err := proto.Marshal(c)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", apicodec.MediaProtobuf)
	req.Header.Set(StreamIDHeader, s.streamID)
	resp, err := m.calls.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// masterHost is u's host, "" for nil (no master detected yet).
func masterHost(u *url.URL) string {
	if u == nil {
		return ""
	}
	return u.Host
}
