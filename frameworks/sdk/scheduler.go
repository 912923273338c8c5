package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agoracluster/agora/election"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
	"github.com/agoracluster/agora/recordio"
	"github.com/agoracluster/agora/zookeeper"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
)

// Scheduler is a framework scheduler's connection to the masters. Create it with
// NewScheduler, drive it with Run, make calls from any goroutine.
type Scheduler struct {
	cfg     Config
	handler Handler
	log     *zap.Logger
	codec   codec
	client  *http.Client
	masters []*url.URL
	running atomic.Bool
	// zk is the ZooKeeper URL of a zk:// master (nil for a list of masters), and detector
	// follows its leader while Run runs.
	zk       *zookeeper.URL
	detector *election.MasterDetector

	// wantMu serializes SetWantOffers with the post-subscription sync so that SUPPRESS and
	// REVIVE go out in the order the wishes were made.
	wantMu sync.Mutex

	mu           sync.Mutex
	framework    *mesos.FrameworkInfo // the caller's FrameworkInfo, cloned; Id kept current
	session      *session             // nil while not subscribed
	streamCancel context.CancelCauseFunc
	tornDown     bool
	offers       map[string]*mesos.AgentID // outstanding offers by id
	want         bool                      // the framework wants offers
	sentWant     bool                      // what the master was last told
	leader       int                       // index into masters to try first
	rng          *rand.Rand
	// Explicit reconciliation of the current session: the tasks without an UPDATE yet, and
	// a channel closed when the last of them is answered (both nil when none are pending).
	reconPending map[string]*scheduler.Call_Reconcile_Task
	reconDone    chan struct{}
}

// session is one live subscription.
type session struct {
	endpoint    *url.URL
	streamID    string
	frameworkID *mesos.FrameworkID
}

// NewScheduler checks cfg and returns a Scheduler; it does no IO.
func NewScheduler(cfg Config, handler Handler, log *zap.Logger) (*Scheduler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sdk: invalid config: %w", err)
	}
	if handler == nil {
		handler = NoopHandler{}
	}
	if log == nil {
		log = zap.NewNop()
	}
	if cfg.FrameworkIDStore == nil {
		cfg.FrameworkIDStore = &MemoryIDStore{}
	}
	if cfg.MaxEventSize == 0 {
		cfg.MaxEventSize = recordio.DefaultMaxRecordSize
	}
	def := DefaultConfig()
	if cfg.ReconcileInterval == 0 {
		cfg.ReconcileInterval = def.ReconcileInterval
	}
	if cfg.ReconcileIntervalMax == 0 {
		cfg.ReconcileIntervalMax = max(def.ReconcileIntervalMax, cfg.ReconcileInterval)
	}
	if p := cfg.Credential.Principal; p != "" && cfg.Framework.GetPrincipal() == "" {
		cfg.Framework = proto.Clone(cfg.Framework).(*mesos.FrameworkInfo)
		cfg.Framework.Principal = &p
	}
	s := &Scheduler{
		cfg:       cfg,
		handler:   handler,
		log:       log.Named("scheduler").With(zap.String("framework", cfg.Framework.GetName())),
		codec:     codec(cfg.Encoding),
		client:    newClient(withCredential(transportFor(cfg), cfg.Credential)),
		framework: proto.Clone(cfg.Framework).(*mesos.FrameworkInfo),
		offers:    map[string]*mesos.AgentID{},
		want:      cfg.WantOffers,
		rng:       rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x5eed)),
	}
	for _, m := range cfg.Masters {
		if zookeeper.IsURL(m) {
			u, _ := zookeeper.ParseURL(m) // checked by Validate
			s.zk = &u
			continue
		}
		u, _ := masterURL(m) // checked by Validate
		s.masters = append(s.masters, s.withScheme(u, m))
	}
	return s, nil
}

// withScheme makes the URL of a master given without a scheme (m) HTTPS when the
// scheduler uses TLS.
func (s *Scheduler) withScheme(u *url.URL, m string) *url.URL {
	if s.cfg.TLS != nil && u.Scheme == "http" && !strings.Contains(m, "://") {
		u.Scheme = "https"
	}
	return u
}

// FrameworkID returns the framework id, or "" before the first subscription.
func (s *Scheduler) FrameworkID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.framework.GetId().GetValue()
}

// Subscribed reports whether the scheduler currently holds a subscription.
func (s *Scheduler) Subscribed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.session != nil
}

// MasterURL returns the subscribed master's base URL ("http://host:port"), or "" while
// no subscription is held.
func (s *Scheduler) MasterURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.session == nil || s.session.endpoint == nil {
		return ""
	}
	return s.session.endpoint.Scheme + "://" + s.session.endpoint.Host
}

// Run subscribes and delivers events to the Handler until ctx is done (it returns nil), the
// framework is torn down through Teardown (nil), the master sends ERROR (an *ErrorEvent) or
// rejects the subscription permanently (a *CallError with a 4xx status). Lost connections,
// unreachable masters and missed heartbeats lead to a new subscription after a back-off.
func (s *Scheduler) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	defer s.running.Store(false)
	defer s.client.CloseIdleConnections()

	id, err := s.cfg.FrameworkIDStore.Load(ctx)
	if err != nil {
		return fmt.Errorf("sdk: load framework id: %w", err)
	}
	if id != "" {
		s.mu.Lock()
		s.framework.Id = &mesos.FrameworkID{Value: proto.String(id)}
		s.mu.Unlock()
		s.log.Info("resuming framework", zap.String("framework_id", id))
	}
	if s.zk != nil {
		stop, err := s.startDetector(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil // canceled while connecting
			}
			return err
		}
		defer stop()
	}

	failures := 0
	for {
		subscribed, err := s.attempt(ctx)
		s.endSession()
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, errTornDown) || s.tearingDown():
			return nil
		}
		var ev *ErrorEvent
		var ce *CallError
		if errors.As(err, &ev) || (errors.As(err, &ce) && ce.Permanent() && ce.Call == scheduler.Call_SUBSCRIBE) {
			return err
		}
		if subscribed {
			failures = 0
		}
		s.log.Warn("disconnected from master", zapError(err))
		s.handler.Disconnected(ctx, s, err)
		d := s.backoff(failures)
		failures++
		if errors.Is(err, ErrLeaderChanged) {
			d = 0 // the new leader is known: no reason to wait
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

func (s *Scheduler) tearingDown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tornDown
}

// backoff returns the delay before attempt number failures+1: BackoffMin doubled per
// failure, capped at BackoffMax, with the upper half jittered.
func (s *Scheduler) backoff(failures int) time.Duration {
	d := s.cfg.BackoffMin
	for i := 0; i < failures && d < s.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, s.cfg.BackoffMax)
	s.mu.Lock()
	j := time.Duration(s.rng.Int64N(int64(d/2) + 1))
	s.mu.Unlock()
	return d/2 + j
}

// endSession forgets the subscription; outstanding offers die with it.
func (s *Scheduler) endSession() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.session = nil
	s.streamCancel = nil
	clear(s.offers)
	s.reconPending, s.reconDone = nil, nil
}

// attempt makes one subscription and serves its stream until it ends. subscribed reports
// whether SUBSCRIBED arrived.
func (s *Scheduler) attempt(ctx context.Context) (subscribed bool, err error) {
	streamCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup // the session's reconciliation loop
	defer func() {
		cancel(nil)
		wg.Wait()
	}()
	s.mu.Lock()
	if s.tornDown {
		s.mu.Unlock()
		return false, errTornDown
	}
	s.streamCancel = cancel
	call := s.subscribeCallLocked()
	s.mu.Unlock()

	dog := &watchdog{cancel: cancel}
	defer dog.stop()
	dog.arm(s.cfg.SubscribeTimeout, errSubscribeTimeout)

	resp, endpoint, leaderNode, err := s.connect(streamCtx, call)
	if err != nil {
		return false, causeOr(streamCtx, err)
	}
	if s.detector != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.followLeader(streamCtx, leaderNode, cancel)
		}()
	}
	defer resp.Body.Close()
	streamID := resp.Header.Get(StreamIDHeader)
	s.log.Debug("subscription accepted", zap.String("master", endpoint.Host), zap.String("stream_id", streamID))

	dec := s.codec
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct == string(JSON) || ct == string(Protobuf) {
		dec = codec(ct) // decode what the master actually sent
	}
	sess := &session{endpoint: endpoint, streamID: streamID}
	wantAtSubscribe := len(call.GetSubscribe().GetSuppressedRoles()) == 0
	r := recordio.NewReader(resp.Body, s.cfg.MaxEventSize)
	timeout, timeoutErr := s.cfg.SubscribeTimeout, errSubscribeTimeout
	for {
		dog.arm(timeout, timeoutErr)
		rec, err := r.ReadRecord()
		dog.disarm()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = ErrStreamClosed
			}
			return subscribed, causeOr(streamCtx, err)
		}
		ev := &scheduler.Event{}
		if err := dec.unmarshal(rec, ev); err != nil {
			return subscribed, fmt.Errorf("sdk: decode event: %w", err)
		}
		if !subscribed && ev.GetType() != scheduler.Event_SUBSCRIBED {
			if ev.GetType() == scheduler.Event_ERROR {
				return false, s.onError(ctx, ev.GetError().GetMessage())
			}
			return false, fmt.Errorf("sdk: first event is %s, want SUBSCRIBED", ev.GetType())
		}
		switch ev.GetType() {
		case scheduler.Event_SUBSCRIBED:
			sub := ev.GetSubscribed()
			sess.frameworkID = sub.GetFrameworkId()
			pending, err := s.onSubscribed(ctx, sess, sub, wantAtSubscribe)
			if err != nil {
				return subscribed, err
			}
			if pending != nil {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s.reconcileLoop(streamCtx, pending)
				}()
			}
			subscribed = true
			timeout, timeoutErr = 0, ErrHeartbeatTimeout
			if hb := sub.GetHeartbeatIntervalSeconds(); hb > 0 {
				timeout = time.Duration(hb * float64(s.cfg.MissedHeartbeats) * float64(time.Second))
			}
		case scheduler.Event_ERROR:
			return subscribed, s.onError(ctx, ev.GetError().GetMessage())
		default:
			s.dispatch(ctx, ev)
		}
		if err := context.Cause(streamCtx); err != nil && ctx.Err() == nil {
			return subscribed, err // torn down from inside a handler
		}
	}
}

// causeOr returns the reason the stream context was cancelled (heartbeat timeout, teardown,
// the caller's ctx) when there is one, and err otherwise.
func causeOr(streamCtx context.Context, err error) error {
	if cause := context.Cause(streamCtx); cause != nil {
		return cause
	}
	return err
}

// subscribeCallLocked builds the SUBSCRIBE call; s.mu is held.
func (s *Scheduler) subscribeCallLocked() *scheduler.Call {
	fw := proto.Clone(s.framework).(*mesos.FrameworkInfo)
	sub := &scheduler.Call_Subscribe{FrameworkInfo: fw}
	if !s.want {
		sub.SuppressedRoles = frameworkRoles(fw)
	}
	return &scheduler.Call{
		FrameworkId: fw.GetId(),
		Type:        scheduler.Call_SUBSCRIBE.Enum(),
		Subscribe:   sub,
	}
}

// frameworkRoles returns the roles a framework subscribes with.
func frameworkRoles(fw *mesos.FrameworkInfo) []string {
	if len(fw.GetRoles()) > 0 {
		return append([]string(nil), fw.GetRoles()...)
	}
	return []string{fw.GetRole()}
}

// connect posts SUBSCRIBE to the masters in turn, starting with the last known leader, and
// follows redirects. It returns the streaming response and the URL that accepted it, and for
// a zk:// master the znode of the leader it detected.
func (s *Scheduler) connect(ctx context.Context, call *scheduler.Call) (*http.Response, *url.URL, string, error) {
	if s.detector != nil {
		return s.connectDetected(ctx, call)
	}
	resp, u, err := s.connectListed(ctx, call)
	return resp, u, "", err
}

// connectListed is connect for a list of masters.
func (s *Scheduler) connectListed(ctx context.Context, call *scheduler.Call) (*http.Response, *url.URL, error) {
	s.mu.Lock()
	start := s.leader
	s.mu.Unlock()
	var errs []error
	for i := range s.masters {
		idx := (start + i) % len(s.masters)
		resp, u, err := s.subscribeTo(ctx, s.masters[idx], call)
		if err == nil {
			s.mu.Lock()
			s.leader = idx
			s.mu.Unlock()
			return resp, u, nil
		}
		var ce *CallError
		if ctx.Err() != nil || (errors.As(err, &ce) && ce.Permanent()) {
			return nil, nil, err
		}
		errs = append(errs, err)
	}
	return nil, nil, errors.Join(errs...)
}

// subscribeTo posts SUBSCRIBE to u, following up to MaxRedirects redirects.
func (s *Scheduler) subscribeTo(ctx context.Context, u *url.URL, call *scheduler.Call) (*http.Response, *url.URL, error) {
	for hops := 0; ; hops++ {
		resp, err := s.post(ctx, u, call, "")
		var re *redirectError
		if !errors.As(err, &re) {
			return resp, u, err
		}
		if hops >= s.cfg.MaxRedirects {
			return nil, nil, fmt.Errorf("sdk: more than %d redirects, last to %q: %w", s.cfg.MaxRedirects, re.location, re.CallError)
		}
		next, err := resolveRedirect(u, re.location)
		if err != nil {
			return nil, nil, err
		}
		s.log.Info("following redirect to the leading master", zap.String("from", u.Host), zap.String("to", next.Host))
		u = next
	}
}

// onSubscribed records the session, persists the framework id, tells the Handler and
// starts reconciling: the known tasks explicitly, or all tasks implicitly when none are
// known. pending, when not nil, is closed once every known task got an UPDATE; until then
// the caller runs reconcileLoop.
func (s *Scheduler) onSubscribed(ctx context.Context, sess *session, sub *scheduler.Event_Subscribed, wantAtSubscribe bool) (pending <-chan struct{}, err error) {
	id := sub.GetFrameworkId().GetValue()
	if id == "" {
		return nil, errors.New("sdk: SUBSCRIBED without a framework id")
	}
	s.mu.Lock()
	prev := s.framework.GetId().GetValue()
	s.framework.Id = &mesos.FrameworkID{Value: proto.String(id)}
	s.session = sess
	s.sentWant = wantAtSubscribe
	clear(s.offers)
	s.mu.Unlock()
	log := s.log.With(zap.String("framework_id", id), zap.String("master", sess.endpoint.Host))
	log.Info("subscribed", zap.Float64("heartbeat_interval_seconds", sub.GetHeartbeatIntervalSeconds()))
	if prev != id {
		if err := s.cfg.FrameworkIDStore.Save(ctx, id); err != nil {
			log.Error("save framework id", zapError(err))
		}
	}

	s.handler.Subscribed(ctx, s, sub)

	if err := s.syncWantOffers(ctx); err != nil {
		log.Warn("sync offer suppression", zapError(err))
	}
	var known []*scheduler.Call_Reconcile_Task
	if s.cfg.KnownTasks != nil {
		known = s.cfg.KnownTasks(ctx)
	}
	if done := s.startReconciliation(known); done != nil {
		if err := s.Reconcile(ctx, s.pendingTasks()...); err != nil {
			log.Warn("explicit reconciliation", zapError(err))
		}
		return done, nil
	}
	s.implicitReconcile(ctx)
	return nil, nil
}

// startReconciliation makes tasks the pending set of the session (replacing any earlier
// one) and returns the channel closed when the last is answered; nil when tasks is empty.
func (s *Scheduler) startReconciliation(tasks []*scheduler.Call_Reconcile_Task) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reconPending, s.reconDone = nil, nil
	for _, t := range tasks {
		id := t.GetTaskId().GetValue()
		if id == "" {
			continue
		}
		if s.reconPending == nil {
			s.reconPending = map[string]*scheduler.Call_Reconcile_Task{}
		}
		s.reconPending[id] = proto.Clone(t).(*scheduler.Call_Reconcile_Task)
	}
	if len(s.reconPending) == 0 {
		return nil
	}
	s.reconDone = make(chan struct{})
	return s.reconDone
}

// pendingTasks returns the tasks still awaiting an UPDATE, by task id.
func (s *Scheduler) pendingTasks() []*scheduler.Call_Reconcile_Task {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.reconPending))
	for id := range s.reconPending {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]*scheduler.Call_Reconcile_Task, len(ids))
	for i, id := range ids {
		out[i] = s.reconPending[id]
	}
	return out
}

// answered removes a task from the pending set: an UPDATE for it arrived.
func (s *Scheduler) answered(taskID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.reconPending[taskID]; !ok {
		return
	}
	delete(s.reconPending, taskID)
	if len(s.reconPending) == 0 {
		close(s.reconDone)
		s.reconPending, s.reconDone = nil, nil
	}
}

// reconcileLoop repeats the explicit reconciliation of the unanswered tasks with back-off
// (ReconcileInterval doubling, capped at ReconcileIntervalMax) until done is closed, then
// reconciles implicitly. It returns early when ctx (the stream) ends.
func (s *Scheduler) reconcileLoop(ctx context.Context, done <-chan struct{}) {
	d := s.cfg.ReconcileInterval
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-done:
			s.implicitReconcile(ctx)
			return
		case <-t.C:
		}
		tasks := s.pendingTasks()
		if len(tasks) == 0 { // answered just now; done is closed
			continue
		}
		s.log.Info("repeating explicit reconciliation", zap.Int("tasks", len(tasks)), zap.Duration("after", d))
		if err := s.Reconcile(ctx, tasks...); err != nil && ctx.Err() == nil {
			s.log.Warn("explicit reconciliation", zapError(err))
		}
		d = min(2*d, s.cfg.ReconcileIntervalMax)
		t.Reset(d)
	}
}

func (s *Scheduler) implicitReconcile(ctx context.Context) {
	if !s.cfg.ImplicitReconcile {
		return
	}
	if err := s.Reconcile(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("implicit reconciliation", zapError(err))
	}
}

func (s *Scheduler) onError(ctx context.Context, msg string) error {
	s.log.Error("master sent ERROR", zap.String("message", msg))
	s.handler.Error(ctx, s, msg)
	return &ErrorEvent{Message: msg}
}

// dispatch hands one event (not SUBSCRIBED or ERROR) to the Handler.
func (s *Scheduler) dispatch(ctx context.Context, ev *scheduler.Event) {
	switch ev.GetType() {
	case scheduler.Event_HEARTBEAT:
	case scheduler.Event_OFFERS:
		offers := ev.GetOffers().GetOffers()
		s.mu.Lock()
		for _, o := range offers {
			s.offers[o.GetId().GetValue()] = o.GetAgentId()
		}
		s.mu.Unlock()
		s.handler.Offers(ctx, s, offers)
	case scheduler.Event_RESCIND:
		id := ev.GetRescind().GetOfferId()
		s.mu.Lock()
		delete(s.offers, id.GetValue())
		s.mu.Unlock()
		s.handler.Rescind(ctx, s, id)
	case scheduler.Event_UPDATE:
		st := ev.GetUpdate().GetStatus()
		s.answered(st.GetTaskId().GetValue())
		s.handler.Update(ctx, s, st)
		if s.cfg.AutoAcknowledge && len(st.GetUuid()) > 0 && !s.tearingDown() {
			if err := s.Acknowledge(ctx, st); err != nil {
				s.log.Warn("acknowledge update", zap.String("task_id", st.GetTaskId().GetValue()), zapError(err))
			}
		}
	case scheduler.Event_INVERSE_OFFERS:
		if h, ok := s.handler.(InverseOfferHandler); ok {
			h.InverseOffers(ctx, s, ev.GetInverseOffers().GetInverseOffers())
		}
	case scheduler.Event_RESCIND_INVERSE_OFFER:
		if h, ok := s.handler.(InverseOfferHandler); ok {
			h.RescindInverseOffer(ctx, s, ev.GetRescindInverseOffer().GetInverseOfferId())
		}
	case scheduler.Event_MESSAGE:
		s.handler.Message(ctx, s, ev.GetMessage())
	case scheduler.Event_FAILURE:
		s.handler.Failure(ctx, s, ev.GetFailure())
	default:
		s.log.Debug("ignoring event", zap.Stringer("type", ev.GetType()))
	}
}

// watchdog cancels the stream when no event arrives in time.
type watchdog struct {
	cancel context.CancelCauseFunc
	timer  *time.Timer
	cause  atomic.Pointer[error]
}

// arm starts (or restarts) the countdown; d <= 0 disables it.
func (w *watchdog) arm(d time.Duration, cause error) {
	if d <= 0 {
		return
	}
	w.cause.Store(&cause)
	if w.timer == nil {
		w.timer = time.AfterFunc(d, func() { w.cancel(*w.cause.Load()) })
		return
	}
	w.timer.Reset(d)
}

func (w *watchdog) disarm() {
	if w.timer != nil {
		w.timer.Stop()
	}
}

func (w *watchdog) stop() { w.disarm() }
