package simulate

import (
	"bytes"
	"container/heap"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/registration"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
	"github.com/agoracluster/agora/workqueue"
)

const (
	mediaProtobuf  = "application/x-protobuf"
	streamIDHeader = "Mesos-Stream-Id"
	// defaultHeartbeat is used when the master announces no heartbeat interval.
	defaultHeartbeat = 15 * time.Second
)

// Sim is a set of simulated agents. Create it with New and run it with Run.
type Sim struct {
	cfg      Config
	log      *zap.Logger
	detector registration.MasterDetector
	stream   *http.Client // subscriptions: no timeout
	calls    *http.Client
	agents   []*agent
	timers   *timers
	queue    *workqueue.Queue[outCall] // calls of every agent, so that an agent never blocks on a slow master

	mu        sync.Mutex
	changed   chan struct{} // closed and replaced whenever a counter below changes
	connected int
	acked     map[mesos.TaskState]int
	lastAck   map[mesos.TaskState]time.Time
	launched  int
}

// New checks cfg and prepares the agents; it does no IO.
func New(cfg Config, log *zap.Logger) (*Sim, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	res, err := resources.Parse(cfg.Resources, "*")
	if err != nil {
		return nil, err
	}
	detector := cfg.Detector
	if detector == nil {
		static, err := registration.NewStatic(cfg.Master)
		if err != nil {
			return nil, fmt.Errorf("simulate: %w", err)
		}
		detector = static
	}
	tr := &http.Transport{
		DialContext:         newLoopbackDialer(cfg.SourceAddrs).DialContext,
		MaxIdleConns:        0, // no limit
		MaxIdleConnsPerHost: cfg.CallWorkers * 2,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	s := &Sim{
		cfg:      cfg,
		log:      log.Named("simulate"),
		detector: detector,
		stream:   &http.Client{Transport: tr},
		calls:    &http.Client{Transport: tr, Timeout: cfg.CallTimeout},
		timers:   newTimers(),
		queue:    workqueue.New[outCall](),
		changed:  make(chan struct{}),
		acked:    map[mesos.TaskState]int{},
		lastAck:  map[mesos.TaskState]time.Time{},
	}
	for i := range cfg.Agents {
		hostname := fmt.Sprintf("%s%d", cfg.HostnamePrefix, i)
		if cfg.HostnameFor != nil {
			hostname = cfg.HostnameFor(i)
		}
		attrText := cfg.Attributes
		if cfg.AttributesFor != nil {
			attrText = cfg.AttributesFor(i)
		}
		attrs, err := resources.ParseAttributes(attrText)
		if err != nil {
			return nil, fmt.Errorf("simulate: attributes of agent %d: %w", i, err)
		}
		info := &mesos.AgentInfo{
			Hostname:   proto.String(hostname),
			Port:       proto.Int32(int32(20000 + i%40000)),
			Resources:  res.ToProto(),
			Attributes: attrs,
		}
		s.agents = append(s.agents, newAgent(s, i, info))
	}
	return s, nil
}

// Run subscribes every agent and serves them until ctx is done; it returns nil then.
func (s *Sim) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	start := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	start(func() { s.timers.run(ctx) })
	for range s.cfg.CallWorkers {
		start(func() { s.callWorker(ctx) })
	}
	start(func() { s.heartbeats(ctx) })
	for _, a := range s.agents {
		start(func() { a.run(ctx) })
	}
	wg.Wait()
	s.stream.Transport.(*http.Transport).CloseIdleConnections()
	return nil
}

// Agents is how many agents the simulation runs.
func (s *Sim) Agents() int { return len(s.agents) }

// Connected is how many agents are subscribed right now.
func (s *Sim) Connected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// Launched is how many tasks the master asked the agents to run so far.
func (s *Sim) Launched() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.launched
}

// Acked is how many status updates of state the master acknowledged so far.
func (s *Sim) Acked(state mesos.TaskState) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acked[state]
}

// AgentIDs lists the ids the master gave the agents ("" for one not subscribed yet).
func (s *Sim) AgentIDs() []string {
	out := make([]string, len(s.agents))
	for i, a := range s.agents {
		a.mu.Lock()
		out[i] = a.id
		a.mu.Unlock()
	}
	return out
}

// Tasks counts the agents' tasks by their latest state (terminal tasks stay counted
// until their last update is acknowledged).
func (s *Sim) Tasks() map[mesos.TaskState]int {
	out := map[mesos.TaskState]int{}
	for _, a := range s.agents {
		a.mu.Lock()
		for _, t := range a.tasks {
			out[t.state]++
		}
		a.mu.Unlock()
	}
	return out
}

// WaitConnected waits until n agents are subscribed.
func (s *Sim) WaitConnected(ctx context.Context, n int) error {
	return s.wait(ctx, func() bool { return s.connected >= n }, func() string {
		return fmt.Sprintf("%d of %d agents subscribed", s.connected, n)
	})
}

// WaitAcked waits until n updates of state have been acknowledged and returns when the
// last of them was.
func (s *Sim) WaitAcked(ctx context.Context, state mesos.TaskState, n int) (time.Time, error) {
	err := s.wait(ctx, func() bool { return s.acked[state] >= n }, func() string {
		return fmt.Sprintf("%d of %d %s updates acknowledged", s.acked[state], n, state)
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastAck[state], err
}

func (s *Sim) wait(ctx context.Context, done func() bool, describe func() string) error {
	for {
		s.mu.Lock()
		ok, ch := done(), s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			s.mu.Lock()
			msg := describe()
			s.mu.Unlock()
			return fmt.Errorf("simulate: %s: %w", msg, ctx.Err())
		}
	}
}

// count changes the counters under s.mu and wakes the waiters.
func (s *Sim) count(f func()) {
	s.mu.Lock()
	f()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// --- calls to the master ---------------------------------------------------------------

// outCall is one call to post on an agent's session.
type outCall struct {
	url               string // the agent API of the master the session is with
	agentID, streamID string
	call              *agorapb.AgentCall
}

func (s *Sim) callWorker(ctx context.Context) {
	for {
		c, ok := s.queue.Pop(ctx)
		if !ok {
			return
		}
		if err := s.post(ctx, c); err != nil && ctx.Err() == nil {
			// Status updates are resent by their retry timer; heartbeats are not worth it.
			s.log.Debug("call to the master failed", zap.String("agent_id", c.agentID),
				zap.Stringer("type", c.call.GetType()), zap.Error(err))
		}
	}
}

func (s *Sim) post(ctx context.Context, c outCall) error {
	call := proto.Clone(c.call).(*agorapb.AgentCall)
	call.AgentId = &mesos.AgentID{Value: proto.String(c.agentID)}
	body, err := proto.Marshal(call)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", mediaProtobuf)
	req.Header.Set(streamIDHeader, c.streamID)
	resp, err := s.calls.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// heartbeats sends HEARTBEAT for every subscribed agent at the heartbeat interval.
func (s *Sim) heartbeats(ctx context.Context) {
	interval := s.cfg.HeartbeatInterval
	if interval == 0 {
		interval = defaultHeartbeat
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, a := range s.agents {
			a.heartbeat()
		}
		if s.cfg.HeartbeatInterval == 0 {
			if d := s.announcedHeartbeat(); d > 0 && d != interval {
				interval = d
				t.Reset(d)
			}
		}
	}
}

// announcedHeartbeat is the shortest interval the master announced to any agent.
func (s *Sim) announcedHeartbeat() time.Duration {
	var d time.Duration
	for _, a := range s.agents {
		a.mu.Lock()
		if a.heartbeatEvery > 0 && (d == 0 || a.heartbeatEvery < d) {
			d = a.heartbeatEvery
		}
		a.mu.Unlock()
	}
	return d
}

// --- timers ----------------------------------------------------------------------------

// timers runs callbacks at their due time on one goroutine, for every agent.
type timers struct {
	mu   sync.Mutex
	h    timerHeap
	seq  uint64
	wake chan struct{}
}

type timer struct {
	at  time.Time
	seq uint64
	f   func()
}

type timerHeap []timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)   { *h = append(*h, x.(timer)) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = timer{}
	*h = old[:len(old)-1]
	return t
}

func newTimers() *timers { return &timers{wake: make(chan struct{}, 1)} }

// after runs f on the timer goroutine once d has passed.
func (t *timers) after(d time.Duration, f func()) {
	t.mu.Lock()
	t.seq++
	heap.Push(&t.h, timer{at: time.Now().Add(d), seq: t.seq, f: f})
	first := t.h[0].seq == t.seq
	t.mu.Unlock()
	if first {
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
}

func (t *timers) run(ctx context.Context) {
	tm := time.NewTimer(time.Hour)
	defer tm.Stop()
	for {
		now := time.Now()
		var due []func()
		t.mu.Lock()
		for len(t.h) > 0 && !t.h[0].at.After(now) {
			due = append(due, heap.Pop(&t.h).(timer).f)
		}
		next := time.Hour
		if len(t.h) > 0 {
			next = t.h[0].at.Sub(now)
		}
		t.mu.Unlock()
		for _, f := range due {
			f()
		}
		if len(due) > 0 {
			continue
		}
		tm.Reset(next)
		select {
		case <-ctx.Done():
			return
		case <-t.wake:
			if !tm.Stop() {
				select {
				case <-tm.C:
				default:
				}
			}
		case <-tm.C:
		}
	}
}
