package httpapi

import (
	"net/http"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/apicodec"
	"github.com/agoracluster/agora/master/ledger"
	"github.com/agoracluster/agora/recordio"
)

// Limits that keep a subscriber that stopped reading from holding the master's
// memory: its stream ends (and the framework or agent is disconnected) instead.
const (
	maxQueuedBytes     = 64 << 20
	streamWriteTimeout = 30 * time.Second
)

// httpStream is a ledger.Sink written out by one HTTP handler goroutine.
type httpStream struct {
	codec apicodec.Codec

	mu     sync.Mutex
	queue  [][]byte
	queued int
	limit  int // bytes queued at most
	closed bool
	full   bool // closed because the subscriber did not keep up
	wake   chan struct{}
}

var _ ledger.Sink = (*httpStream)(nil)

func newHTTPStream(c apicodec.Codec) *httpStream {
	return &httpStream{codec: c, limit: maxQueuedBytes, wake: make(chan struct{}, 1)}
}

// Send encodes m now (so the caller may reuse m) and queues it.
func (s *httpStream) Send(m proto.Message) {
	b, err := s.codec.Marshal(m)
	if err != nil {
		return // our own messages always encode; nothing sensible to do otherwise
	}
	s.mu.Lock()
	switch {
	case s.closed:
	case s.queued+len(b) > s.limit:
		// The subscriber does not keep up: drop it.
		s.queue, s.queued, s.closed, s.full = nil, 0, true, true
	default:
		s.queue = append(s.queue, b)
		s.queued += len(b)
	}
	s.mu.Unlock()
	s.notify()
}

// sendFirst queues m ahead of everything queued so far, encoding it on the caller's
// goroutine: a subscription's first event, built on the loop and encoded off it while
// later events queue behind it.
func (s *httpStream) sendFirst(m proto.Message) error {
	b, err := s.codec.Marshal(m)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if !s.closed {
		s.queue = append([][]byte{b}, s.queue...)
		s.queued += len(b)
	}
	s.mu.Unlock()
	s.notify()
	return nil
}

// overflowed reports whether the stream was dropped for not keeping up.
func (s *httpStream) overflowed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.full
}

// Close ends the stream after the queued events.
func (s *httpStream) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.notify()
}

func (s *httpStream) notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *httpStream) take() ([][]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queue
	s.queue, s.queued = nil, 0
	return q, s.closed
}

// serve writes the stream to w until it is closed (returns true), the client goes
// away or stop is closed (returns false). heartbeat is written every interval.
func (s *httpStream) serve(w http.ResponseWriter, r *http.Request, stop <-chan struct{}, heartbeat proto.Message, interval time.Duration) bool {
	rw := recordio.NewWriter(w)
	rc := http.NewResponseController(w)
	hb, _ := s.codec.Marshal(heartbeat)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	write := func(bs ...[]byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		return rw.WriteRecords(bs...) == nil
	}
	for {
		select {
		case <-s.wake:
			q, closed := s.take()
			if len(q) > 0 && !write(q...) { // the events queued meanwhile, flushed once
				return false
			}
			if closed {
				return true
			}
		case <-ticker.C:
			if !write(hb) {
				return false
			}
		case <-r.Context().Done():
			return false
		case <-stop:
			return false
		}
	}
}
