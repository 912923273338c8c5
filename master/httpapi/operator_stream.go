package httpapi

import (
	"context"
	"net/http"
	"sync"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/apicodec"
	"github.com/agoracluster/agora/master/ledger"
	masterpb "github.com/agoracluster/agora/proto/mesos/v1/master"
)

// The operator API's SUBSCRIBE: a RecordIO stream that starts with SUBSCRIBED
// (the whole state, as GET_STATE answers it) and goes on with the events the
// ledger records while it is watched (Effects.OperatorEvents), which the loop
// hands to PublishOperatorEvents after each step. SUBSCRIBED is queued on the
// loop in the same step that adds the subscriber, so every later change reaches
// the subscriber as an event and none twice. Each subscriber has a bounded
// queue (httpStream); one that does not keep up is dropped, with a log line,
// instead of holding the master's memory or slowing the loop.

var operatorHeartbeat = &masterpb.Event{Type: masterpb.Event_HEARTBEAT.Enum()}

// operatorHub is the set of operator subscribers. It is changed and read on
// the loop's goroutine; the mutex guards the count that tests read.
type operatorHub struct {
	mu   sync.Mutex
	subs map[*httpStream]string // stream → remote address, for logs
}

func newOperatorHub() *operatorHub { return &operatorHub{subs: map[*httpStream]string{}} }

func (h *operatorHub) add(s *httpStream, remote string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.subs[s] = remote
}

// remove drops s and reports whether subscribers remain.
func (h *operatorHub) remove(s *httpStream) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, s)
	return len(h.subs) > 0
}

// Subscribers is how many operator streams are open.
func (h *operatorHub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// PublishOperatorEvents sends the ledger's operator events to every subscriber.
// The loop calls it after each step, on its goroutine, with the step's events.
func (s *Server) PublishOperatorEvents(events []*masterpb.Event) {
	if len(events) == 0 {
		return
	}
	h := s.operators
	h.mu.Lock()
	defer h.mu.Unlock()
	for sub, remote := range h.subs {
		for _, ev := range events {
			sub.Send(ev)
		}
		if sub.overflowed() {
			delete(h.subs, sub)
			s.log.Warn("dropping an operator API subscriber that does not keep up with the events",
				zap.String("remote", remote), zap.Int("queue_limit_bytes", sub.limit))
		}
	}
}

// subscribeOperator serves SUBSCRIBE until the subscriber goes away or the
// master stops.
func (s *Server) subscribeOperator(w http.ResponseWriter, r *http.Request, out apicodec.Codec) {
	stream := newHTTPStream(out)
	if s.cfg.OperatorQueueBytes > 0 {
		stream.limit = s.cfg.OperatorQueueBytes
	}
	// The state is taken on the loop, in the step that adds the subscriber; encoding it,
	// which for a large cluster takes long, is done here, ahead of the events that queue
	// meanwhile.
	var subscribed *masterpb.Event
	err := s.loop.Do(r.Context(), func(l *ledger.Ledger) {
		l.WatchOperator(true)
		subscribed = l.OperatorSubscribed(s.cfg.FrameworkHeartbeatInterval)
		s.operators.add(stream, r.RemoteAddr)
	})
	if err == nil {
		err = stream.sendFirst(subscribed)
	}
	if err != nil {
		s.unsubscribe(stream)
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", out.ContentType())
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	stream.serve(w, r, s.stop, operatorHeartbeat, s.cfg.FrameworkHeartbeatInterval)
	if s.stopping() {
		return
	}
	s.unsubscribe(stream)
}

// unsubscribe removes a subscriber; the ledger stops recording events when none is left.
func (s *Server) unsubscribe(stream *httpStream) {
	_ = s.loop.Do(context.Background(), func(l *ledger.Ledger) {
		if !s.operators.remove(stream) {
			l.WatchOperator(false)
		}
	})
}
