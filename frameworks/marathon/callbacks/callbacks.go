// Package callbacks is Marathon's HTTP callback event subscribers (--event_subscriber
// http_callback, /v2/eventSubscriptions): every event on the bus is POSTed as JSON to
// each subscribed callback URL. Each subscriber has its own bounded queue and sender, so
// a slow or dead callback delays nobody else: a failed POST is retried with a growing
// back-off, and when its queue is full new events for it are dropped and logged. The
// subscribed URLs are stored with the framework's state and survive a restart or a
// change of leader; the --http_endpoints ones are subscribed at every start.
package callbacks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/events"
	"github.com/agoracluster/agora/store"
)

// StoreKey is where the subscribed callback URLs are stored (one JSON list).
const StoreKey = "event_subscribers"

// Event types of the subscription changes, as Marathon names them.
const (
	TypeSubscribe   = "subscribe_event"
	TypeUnsubscribe = "unsubscribe_event"
)

// SubscriptionEvent is subscribe_event and unsubscribe_event.
type SubscriptionEvent struct {
	ClientIP    string `json:"clientIp"`
	CallbackURL string `json:"callbackUrl"`
	EventType   string `json:"eventType"`
	Timestamp   string `json:"timestamp"`
}

// Type implements events.Event.
func (e *SubscriptionEvent) Type() string { return e.EventType }

// Config tunes the delivery.
type Config struct {
	// Endpoints are subscribed at every start (--http_endpoints).
	Endpoints []string
	// QueueSize is how many events may wait for one subscriber; beyond it they are
	// dropped.
	QueueSize int
	// Attempts is how many times one event is POSTed before it is given up.
	Attempts int
	// RetryMin and RetryMax bound the back-off between attempts (doubling).
	RetryMin, RetryMax time.Duration
	// Timeout bounds one POST.
	Timeout time.Duration
	// Now stamps the subscription events; nil = time.Now.
	Now func() time.Time
}

// DefaultConfig: 1024 events queued per subscriber, 5 attempts 500ms…10s apart, 10s per
// POST.
func DefaultConfig() Config {
	return Config{QueueSize: 1024, Attempts: 5, RetryMin: 500 * time.Millisecond, RetryMax: 10 * time.Second,
		Timeout: 10 * time.Second, Now: time.Now}
}

// ValidateURL checks a callback URL: absolute http or https with a host.
func ValidateURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("callbackUrl %q: %v", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("callbackUrl %q: must be an absolute http:// or https:// URL", raw)
	}
	return nil
}

// Service keeps the subscribers and delivers the bus's events to them.
type Service struct {
	cfg    Config
	st     store.Store
	bus    *events.Bus
	log    *zap.Logger
	client *http.Client

	mu   sync.Mutex
	subs map[string]*sender // by URL
	ctx  context.Context    // Run's; nil before Run
	wg   sync.WaitGroup
}

// New returns a Service over st's stored subscribers; Run loads and serves them.
func New(cfg Config, st store.Store, bus *events.Bus, log *zap.Logger) (*Service, error) {
	if cfg.QueueSize < 1 || cfg.Attempts < 1 || cfg.RetryMin <= 0 || cfg.RetryMax < cfg.RetryMin || cfg.Timeout <= 0 {
		return nil, errors.New("callbacks: need QueueSize, Attempts >= 1 and 0 < RetryMin <= RetryMax, Timeout > 0")
	}
	for _, e := range cfg.Endpoints {
		if err := ValidateURL(e); err != nil {
			return nil, fmt.Errorf("http_endpoints: %w", err)
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg, st: st, bus: bus, log: log.Named("callbacks"),
		client: &http.Client{Timeout: cfg.Timeout}, subs: map[string]*sender{}}, nil
}

// Run loads the stored subscribers, adds --http_endpoints, and delivers every event on
// the bus until ctx ends or the bus closes.
func (s *Service) Run(ctx context.Context) error {
	stored, err := s.load(ctx)
	if err != nil {
		return fmt.Errorf("callbacks: load subscribers: %w", err)
	}
	sub, err := s.bus.Subscribe(nil)
	if err != nil {
		return nil // the bus closed: the term is over
	}
	defer sub.Close()
	s.mu.Lock()
	s.ctx = ctx
	for _, u := range append(stored, s.cfg.Endpoints...) {
		s.addLocked(u)
	}
	s.mu.Unlock()
	defer s.wg.Wait()
	defer s.stopAll()
	if len(s.cfg.Endpoints) > 0 {
		if err := s.save(ctx); err != nil {
			s.log.Warn("store subscribers", zap.Error(err))
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-sub.C():
			if !ok {
				if errors.Is(sub.Err(), events.ErrSlowConsumer) {
					s.log.Error("callback delivery fell behind the event bus; resubscribing")
					if sub, err = s.bus.Subscribe(nil); err == nil {
						continue
					}
				}
				return nil
			}
			s.mu.Lock()
			for _, snd := range s.subs {
				snd.offer(m)
			}
			s.mu.Unlock()
		}
	}
}

// URLs returns the subscribed callback URLs, sorted.
func (s *Service) URLs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.subs))
	for u := range s.subs {
		out = append(out, u)
	}
	slices.Sort(out)
	return out
}

// Endpoints are the --http_endpoints.
func (s *Service) Endpoints() []string { return append([]string{}, s.cfg.Endpoints...) }

// Subscribe adds callbackURL (again: no change), stores the list and publishes
// subscribe_event, which it returns.
func (s *Service) Subscribe(ctx context.Context, clientIP, callbackURL string) (*SubscriptionEvent, error) {
	if err := ValidateURL(callbackURL); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.ctx == nil {
		s.mu.Unlock()
		return nil, errors.New("callbacks: not running")
	}
	s.addLocked(callbackURL)
	s.mu.Unlock()
	if err := s.save(ctx); err != nil {
		return nil, err
	}
	ev := &SubscriptionEvent{ClientIP: clientIP, CallbackURL: callbackURL, EventType: TypeSubscribe, Timestamp: app.FormatTime(s.cfg.Now())}
	s.bus.Publish(ev)
	return ev, nil
}

// Unsubscribe removes callbackURL (absent: no change), stores the list and publishes
// unsubscribe_event, which it returns.
func (s *Service) Unsubscribe(ctx context.Context, clientIP, callbackURL string) (*SubscriptionEvent, error) {
	s.mu.Lock()
	if snd := s.subs[callbackURL]; snd != nil {
		snd.stop()
		delete(s.subs, callbackURL)
	}
	s.mu.Unlock()
	if err := s.save(ctx); err != nil {
		return nil, err
	}
	ev := &SubscriptionEvent{ClientIP: clientIP, CallbackURL: callbackURL, EventType: TypeUnsubscribe, Timestamp: app.FormatTime(s.cfg.Now())}
	s.bus.Publish(ev)
	return ev, nil
}

// addLocked starts a sender for u unless one runs; s.mu must be held and s.ctx set.
func (s *Service) addLocked(u string) {
	if _, ok := s.subs[u]; ok {
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	snd := &sender{url: u, queue: make(chan events.Message, s.cfg.QueueSize), stop: cancel, log: s.log.With(zap.String("callback_url", u))}
	s.subs[u] = snd
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.deliver(ctx, snd)
	}()
}

func (s *Service) stopAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, snd := range s.subs {
		snd.stop()
	}
}

func (s *Service) load(ctx context.Context) ([]string, error) {
	b, _, err := s.st.Get(ctx, StoreKey)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var urls []string
	if err := json.Unmarshal(b, &urls); err != nil {
		return nil, fmt.Errorf("decode %s: %w", StoreKey, err)
	}
	return urls, nil
}

func (s *Service) save(ctx context.Context) error {
	b, err := json.Marshal(s.URLs())
	if err != nil {
		return err
	}
	if _, err := s.st.Put(ctx, StoreKey, b, store.AnyVersion); err != nil {
		return fmt.Errorf("callbacks: store subscribers: %w", err)
	}
	return nil
}

// sender is one subscriber: its queue and the goroutine that empties it.
type sender struct {
	url     string
	queue   chan events.Message
	stop    context.CancelFunc
	log     *zap.Logger
	dropped int // guarded by Service.mu
}

// offer queues m without blocking; a full queue drops it. Service.mu is held.
func (snd *sender) offer(m events.Message) {
	select {
	case snd.queue <- m:
	default:
		snd.dropped++
		if snd.dropped == 1 || snd.dropped%100 == 0 {
			snd.log.Warn("callback queue full; dropping events", zap.Int("queue", cap(snd.queue)),
				zap.Int("dropped", snd.dropped), zap.String("event_type", m.Type))
		}
	}
}

// deliver POSTs the queued events in order until ctx ends.
func (s *Service) deliver(ctx context.Context, snd *sender) {
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-snd.queue:
			s.post(ctx, snd, m)
		}
	}
}

// post sends one event, retrying with a doubling back-off; it gives up after Attempts.
func (s *Service) post(ctx context.Context, snd *sender, m events.Message) {
	wait := s.cfg.RetryMin
	var err error
	for attempt := 1; attempt <= s.cfg.Attempts; attempt++ {
		if err = s.postOnce(ctx, snd.url, m.Data); err == nil {
			return
		}
		if attempt == s.cfg.Attempts {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(2*wait, s.cfg.RetryMax)
	}
	snd.log.Warn("callback failed; event dropped", zap.String("event_type", m.Type), zap.Int("attempts", s.cfg.Attempts), zap.Error(err))
}

func (s *Service) postOnce(ctx context.Context, u string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s answered %s", u, resp.Status)
	}
	return nil
}
