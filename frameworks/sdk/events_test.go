package sdk_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/frameworks/sdk"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
	"github.com/agoracluster/agora/resources"
)

// eventLog is a Handler that names every event it gets on one channel.
type eventLog struct {
	sdk.NoopHandler
	events chan string
}

func (l *eventLog) Subscribed(context.Context, *sdk.Scheduler, *scheduler.Event_Subscribed) {
	l.events <- "subscribed"
}
func (l *eventLog) Offers(_ context.Context, _ *sdk.Scheduler, o []*mesos.Offer) {
	l.events <- "offers " + o[0].GetId().GetValue()
}
func (l *eventLog) Rescind(_ context.Context, _ *sdk.Scheduler, id *mesos.OfferID) {
	l.events <- "rescind " + id.GetValue()
}
func (l *eventLog) Message(_ context.Context, _ *sdk.Scheduler, m *scheduler.Event_Message) {
	l.events <- "message " + string(m.GetData())
}
func (l *eventLog) Failure(_ context.Context, _ *sdk.Scheduler, f *scheduler.Event_Failure) {
	l.events <- "failure " + f.GetAgentId().GetValue()
}

func TestEventsReachHandler(t *testing.T) {
	m := newMaster(t)
	l := &eventLog{events: make(chan string, 16)}
	s, _ := run(t, testConfig(m.Addr()), l)
	if got := recv(t, l.events, "subscribed"); got != "subscribed" {
		t.Fatalf("first event %q", got)
	}
	tests := []struct {
		ev   *scheduler.Event
		want string
	}{
		{ev: &scheduler.Event{Type: scheduler.Event_OFFERS.Enum(), Offers: &scheduler.Event_Offers{
			Offers: []*mesos.Offer{m.NewOffer("o-1", "a-1", "cpus:1")}}}, want: "offers o-1"},
		{ev: &scheduler.Event{Type: scheduler.Event_RESCIND.Enum(), Rescind: &scheduler.Event_Rescind{OfferId: sdk.OfferID("o-1")}},
			want: "rescind o-1"},
		{ev: &scheduler.Event{Type: scheduler.Event_MESSAGE.Enum(), Message: &scheduler.Event_Message{
			AgentId: sdk.AgentID("a-1"), ExecutorId: sdk.ExecutorID("e"), Data: []byte("hi")}}, want: "message hi"},
		{ev: &scheduler.Event{Type: scheduler.Event_FAILURE.Enum(), Failure: &scheduler.Event_Failure{AgentId: sdk.AgentID("a-1")}},
			want: "failure a-1"},
		{ev: &scheduler.Event{Type: scheduler.Event_HEARTBEAT.Enum()}, want: ""},
		{ev: &scheduler.Event{Type: scheduler.Event_UPDATE_OPERATION_STATUS.Enum(), UpdateOperationStatus: &scheduler.Event_UpdateOperationStatus{
			Status: &mesos.OperationStatus{State: mesos.OperationState_OPERATION_FINISHED.Enum()}}}, want: ""},
	}
	for _, tt := range tests {
		if err := m.Send(tt.ev); err != nil {
			t.Fatal(err)
		}
		if tt.want == "" {
			continue
		}
		if got := recv(t, l.events, tt.want); got != tt.want {
			t.Errorf("event %s: handler got %q, want %q", tt.ev.GetType(), got, tt.want)
		}
	}
	// The rescinded offer is gone: Launch cannot place a task without agent id on it.
	task := sdk.CommandTask("x", "x", "true", resources.MustParse("cpus:0.1"))
	if err := s.Launch(context.Background(), sdk.OfferID("o-1"), task); !errors.Is(err, sdk.ErrUnknownOffer) {
		t.Errorf("Launch on rescinded offer = %v, want ErrUnknownOffer", err)
	}
}

func TestConcurrentCalls(t *testing.T) {
	m := newMaster(t)
	h := newRecorder()
	s, _ := run(t, testConfig(m.Addr()), h)
	recv(t, h.subscribed, "SUBSCRIBED")
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 5 {
				switch (i + j) % 3 {
				case 0:
					errs <- s.Kill(ctx, sdk.TaskID("t"), nil)
				case 1:
					errs <- s.SetWantOffers(ctx, j%2 == 0)
				default:
					errs <- s.Message(ctx, sdk.AgentID("a"), sdk.ExecutorID("e"), []byte("x"))
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	// Whatever the interleaving, SUPPRESS and REVIVE alternate, starting with SUPPRESS.
	var last scheduler.Call_Type = scheduler.Call_REVIVE
	for _, c := range m.Calls() {
		if typ := c.GetType(); typ == scheduler.Call_SUPPRESS || typ == scheduler.Call_REVIVE {
			if typ == last {
				t.Fatalf("two %s in a row", typ)
			}
			last = typ
		}
	}
	if (last == scheduler.Call_REVIVE) != s.WantOffers() {
		t.Errorf("last sent %s but WantOffers() = %v", last, s.WantOffers())
	}
}

// inverseLog is a handler that takes part in maintenance: it accepts every inverse offer.
type inverseLog struct {
	eventLog
}

func (l *inverseLog) InverseOffers(ctx context.Context, s *sdk.Scheduler, ios []*mesos.InverseOffer) {
	l.events <- "inverse " + ios[0].GetId().GetValue()
	if err := s.AcceptInverseOffers(ctx, []*mesos.OfferID{ios[0].GetId()}); err != nil {
		l.events <- "accept failed: " + err.Error()
	}
}

func (l *inverseLog) RescindInverseOffer(_ context.Context, _ *sdk.Scheduler, id *mesos.OfferID) {
	l.events <- "rescind inverse " + id.GetValue()
}

func TestInverseOffersReachHandlersThatTakePart(t *testing.T) {
	inverse := &scheduler.Event{Type: scheduler.Event_INVERSE_OFFERS.Enum(), InverseOffers: &scheduler.Event_InverseOffers{
		InverseOffers: []*mesos.InverseOffer{{
			Id: sdk.OfferID("io-1"), FrameworkId: &mesos.FrameworkID{Value: proto.String("fw")}, AgentId: sdk.AgentID("a-1"),
			Unavailability: &mesos.Unavailability{Start: &mesos.TimeInfo{Nanoseconds: proto.Int64(1)}},
		}}}}
	rescind := &scheduler.Event{Type: scheduler.Event_RESCIND_INVERSE_OFFER.Enum(),
		RescindInverseOffer: &scheduler.Event_RescindInverseOffer{InverseOfferId: sdk.OfferID("io-1")}}

	m := newMaster(t)
	l := &inverseLog{eventLog{events: make(chan string, 16)}}
	run(t, testConfig(m.Addr()), l)
	recv(t, l.events, "subscribed")
	for _, ev := range []*scheduler.Event{inverse, rescind} {
		if err := m.Send(ev); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"inverse io-1", "rescind inverse io-1"} {
		if got := recv(t, l.events, want); got != want {
			t.Errorf("handler got %q, want %q", got, want)
		}
	}
	call, err := m.Next(scheduler.Call_ACCEPT_INVERSE_OFFERS, wait)
	if err != nil {
		t.Fatal(err)
	}
	if ids := call.GetAcceptInverseOffers().GetInverseOfferIds(); len(ids) != 1 || ids[0].GetValue() != "io-1" {
		t.Errorf("ACCEPT_INVERSE_OFFERS ids = %v", ids)
	}

	// A handler that does not take part never sees them, and the stream goes on.
	m2 := newMaster(t)
	plain := &eventLog{events: make(chan string, 16)}
	run(t, testConfig(m2.Addr()), plain)
	recv(t, plain.events, "subscribed")
	for _, ev := range []*scheduler.Event{inverse, rescind, {Type: scheduler.Event_FAILURE.Enum(), Failure: &scheduler.Event_Failure{AgentId: sdk.AgentID("a-1")}}} {
		if err := m2.Send(ev); err != nil {
			t.Fatal(err)
		}
	}
	if got := recv(t, plain.events, "failure"); got != "failure a-1" {
		t.Errorf("plain handler got %q, want only the failure", got)
	}
}
