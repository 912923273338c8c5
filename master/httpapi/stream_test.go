package httpapi

import (
	"testing"

	"github.com/agoracluster/agora/apicodec"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
)

func TestHTTPStreamDropsSlowSubscriber(t *testing.T) {
	s := newHTTPStream(apicodec.JSON)
	s.limit = 100
	ev := &scheduler.Event{Type: scheduler.Event_HEARTBEAT.Enum()}
	for range 10 {
		s.Send(ev)
	}
	q, closed := s.take()
	if !closed || len(q) != 0 {
		t.Errorf("queue %d events, closed %v; want the stream dropped", len(q), closed)
	}
}

func TestHTTPStreamQueuesInOrder(t *testing.T) {
	s := newHTTPStream(apicodec.JSON)
	s.Send(&scheduler.Event{Type: scheduler.Event_HEARTBEAT.Enum()})
	s.Send(&scheduler.Event{Type: scheduler.Event_OFFERS.Enum()})
	s.Close()
	s.Send(&scheduler.Event{Type: scheduler.Event_HEARTBEAT.Enum()})
	q, closed := s.take()
	if !closed || len(q) != 2 || string(q[1]) != `{"type":"OFFERS"}` {
		t.Errorf("queue %q closed %v", q, closed)
	}
}
