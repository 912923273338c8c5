package httpapi

import (
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/apicodec"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	masterpb "github.com/agoracluster/agora/proto/mesos/v1/master"
)

// TestSlowOperatorSubscriberIsDropped: a subscriber whose queue fills up is
// dropped with a log line; the others keep their events, in order.
func TestSlowOperatorSubscriberIsDropped(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	s := New(DefaultConfig(), nil, nil, make(chan struct{}), zap.New(core))
	slow, fast := newHTTPStream(apicodec.JSON), newHTTPStream(apicodec.JSON)
	slow.limit = 64
	s.operators.add(slow, subscriber{remote: "10.0.0.1:1234"}, nil)
	s.operators.add(fast, subscriber{remote: "10.0.0.2:1234"}, nil)

	ev := &masterpb.Event{Type: masterpb.Event_AGENT_REMOVED.Enum(), AgentRemoved: &masterpb.Event_AgentRemoved{AgentId: &mesos.AgentID{Value: proto.String("a1")}}}
	for range 5 {
		s.PublishOperatorEvents([]*masterpb.Event{ev, {Type: masterpb.Event_HEARTBEAT.Enum()}})
	}
	if n := s.operators.Subscribers(); n != 1 {
		t.Fatalf("%d subscribers left, want the fast one", n)
	}
	if q, closed := slow.take(); !closed || len(q) != 0 {
		t.Errorf("slow stream: %d queued, closed %v; want it dropped", len(q), closed)
	}
	q, closed := fast.take()
	if closed || len(q) != 10 || string(q[1]) != `{"type":"HEARTBEAT"}` {
		t.Errorf("fast stream: %q closed %v", q, closed)
	}
	if got := logs.FilterMessageSnippet("does not keep up").FilterField(zap.String("remote", "10.0.0.1:1234")).Len(); got != 1 {
		t.Errorf("%d log lines about the dropped subscriber, want 1: %v", got, logs.All())
	}
}
