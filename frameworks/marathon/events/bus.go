package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Errors that end a subscription.
var (
	ErrClosed       = errors.New("events: bus closed")
	ErrSlowConsumer = errors.New("events: subscriber fell behind and was dropped")
)

// Config tunes the bus and its SSE handler.
type Config struct {
	// BufferSize is how many events (count) may wait for one subscriber;
	// a subscriber with a full buffer is dropped.
	BufferSize int
	// KeepAlive is the interval between ":" comment lines sent to idle SSE
	// clients; 0 sends none.
	KeepAlive time.Duration
	// WriteTimeout bounds each write to an SSE client; a client that does
	// not read for this long is disconnected. 0 means no bound.
	WriteTimeout time.Duration
	// Now is the clock for the timestamps of the events the handler
	// publishes itself (event_stream_attached/detached); nil = time.Now.
	Now func() time.Time
}

// DefaultConfig returns the defaults: 1024 buffered events per subscriber,
// a keep-alive every 10s (Marathon's Jetty event source heartbeat) and a
// 30s write timeout.
func DefaultConfig() Config {
	return Config{BufferSize: 1024, KeepAlive: 10 * time.Second, WriteTimeout: 30 * time.Second, Now: time.Now}
}

// Validate returns every problem in the config at once.
func (c Config) Validate() error {
	var errs []error
	if c.BufferSize < 1 {
		errs = append(errs, fmt.Errorf("events: BufferSize must be at least 1, got %d", c.BufferSize))
	}
	if c.KeepAlive < 0 {
		errs = append(errs, fmt.Errorf("events: KeepAlive must not be negative, got %s", c.KeepAlive))
	}
	if c.WriteTimeout < 0 {
		errs = append(errs, fmt.Errorf("events: WriteTimeout must not be negative, got %s", c.WriteTimeout))
	}
	return errors.Join(errs...)
}

// Message is a published event, encoded once as JSON. Data is shared by
// all subscribers and must not be modified.
type Message struct {
	Type string
	Data []byte
}

// Bus fans events out to subscribers. Publish never blocks: it encodes the
// event once (only when someone wants it) and offers it to each matching
// subscriber's buffer; a subscriber whose buffer is full is dropped. The
// bus starts no goroutines. It is safe for concurrent use.
type Bus struct {
	cfg  Config
	log  *zap.Logger
	mu   sync.Mutex
	subs map[*Subscription]struct{}
	done bool
}

// NewBus returns an open bus.
func NewBus(cfg Config, log *zap.Logger) (*Bus, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Bus{cfg: cfg, log: log.Named("events"), subs: map[*Subscription]struct{}{}}, nil
}

// Subscription receives the events of the types it asked for.
type Subscription struct {
	bus    *Bus
	filter map[string]bool // empty: every type
	ch     chan Message
	err    error // why ch was closed; guarded by bus.mu
}

// Subscribe registers a subscriber for the given event types (none: all
// types). Unknown type names are accepted, as Marathon accepts them; they
// simply never match.
func (b *Bus) Subscribe(filter []string) (*Subscription, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return nil, ErrClosed
	}
	s := &Subscription{bus: b, filter: map[string]bool{}, ch: make(chan Message, b.cfg.BufferSize)}
	for _, t := range filter {
		s.filter[t] = true
	}
	b.subs[s] = struct{}{}
	return s, nil
}

func (s *Subscription) wants(typ string) bool { return len(s.filter) == 0 || s.filter[typ] }

// C delivers the events in publish order. It is closed when the
// subscription ends; Err then tells why.
func (s *Subscription) C() <-chan Message { return s.ch }

// Err is nil while the subscription is open or after Close, ErrSlowConsumer
// after it was dropped, ErrClosed after the bus closed.
func (s *Subscription) Err() error {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	return s.err
}

// Close ends the subscription; it is idempotent.
func (s *Subscription) Close() {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	s.bus.remove(s, nil)
}

// remove ends s with err; b.mu must be held.
func (b *Bus) remove(s *Subscription, err error) {
	if _, ok := b.subs[s]; !ok {
		return
	}
	delete(b.subs, s)
	s.err = err
	close(s.ch)
}

// Publish offers ev to every subscriber that wants its type, without
// blocking. Publishing to a closed bus does nothing.
func (b *Bus) Publish(ev Event) {
	typ := ev.Type()
	b.mu.Lock()
	defer b.mu.Unlock()
	var msg *Message
	for s := range b.subs {
		if !s.wants(typ) {
			continue
		}
		if msg == nil {
			data, err := json.Marshal(ev)
			if err != nil {
				b.log.Error("encode event", zap.String("event_type", typ), zap.Error(err))
				return
			}
			msg = &Message{Type: typ, Data: data}
		}
		select {
		case s.ch <- *msg:
		default:
			b.log.Warn("dropping slow event subscriber", zap.String("event_type", typ), zap.Int("buffer", cap(s.ch)))
			b.remove(s, ErrSlowConsumer)
		}
	}
}

// Subscribers returns the number of open subscriptions.
func (b *Bus) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

// Close ends every subscription with ErrClosed and refuses new ones.
func (b *Bus) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done = true
	for s := range b.subs {
		b.remove(s, ErrClosed)
	}
}
