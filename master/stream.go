package master

import (
	"net/http"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/recordio"
)

// eventSink is an outbound event stream to a framework or an agent. Send never
// blocks; Close ends the stream once the queued events are written.
type eventSink interface {
	Send(m proto.Message)
	Close()
}

// httpStream is an eventSink written out by one HTTP handler goroutine.
type httpStream struct {
	codec codec

	mu     sync.Mutex
	queue  [][]byte
	closed bool
	wake   chan struct{}
}

var _ eventSink = (*httpStream)(nil)

func newHTTPStream(c codec) *httpStream {
	return &httpStream{codec: c, wake: make(chan struct{}, 1)}
}

// Send encodes m now (so the caller may reuse m) and queues it.
func (s *httpStream) Send(m proto.Message) {
	b, err := s.codec.marshal(m)
	if err != nil {
		return // our own messages always encode; nothing sensible to do otherwise
	}
	s.mu.Lock()
	if !s.closed {
		s.queue = append(s.queue, b)
	}
	s.mu.Unlock()
	s.notify()
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
	s.queue = nil
	return q, s.closed
}

// serve writes the stream to w until it is closed (returns true), the client goes
// away or stop is closed (returns false). heartbeat is written every interval.
func (s *httpStream) serve(w http.ResponseWriter, r *http.Request, stop <-chan struct{}, heartbeat proto.Message, interval time.Duration) bool {
	rw := recordio.NewWriter(w)
	hb, _ := s.codec.marshal(heartbeat)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-s.wake:
			q, closed := s.take()
			for _, b := range q {
				if err := rw.WriteRecord(b); err != nil {
					return false
				}
			}
			if closed {
				return true
			}
		case <-ticker.C:
			if err := rw.WriteRecord(hb); err != nil {
				return false
			}
		case <-r.Context().Done():
			return false
		case <-stop:
			return false
		}
	}
}
