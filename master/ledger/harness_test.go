package ledger

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/master/registry"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
	"github.com/agoracluster/agora/resources"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// fakeSink records events; every event must be a fully initialized proto2 message.
type fakeSink struct {
	t interface {
		Helper()
		Errorf(format string, args ...any)
	}
	events []proto.Message
	closed bool
}

func (f *fakeSink) Send(m proto.Message) {
	f.t.Helper()
	if err := proto.CheckInitialized(m); err != nil {
		f.t.Errorf("sent an uninitialized message %T: %v", m, err)
	}
	if f.closed {
		f.t.Errorf("sent %T on a closed stream", m)
	}
	f.events = append(f.events, proto.Clone(m))
}

func (f *fakeSink) Close() { f.closed = true }

// take returns and forgets the recorded events.
func (f *fakeSink) take() []proto.Message {
	ev := f.events
	f.events = nil
	return ev
}

func (f *fakeSink) schedulerEvents() []*scheduler.Event {
	var out []*scheduler.Event
	for _, m := range f.take() {
		out = append(out, m.(*scheduler.Event))
	}
	return out
}

func (f *fakeSink) agentEvents() []*agorapb.AgentEvent {
	var out []*agorapb.AgentEvent
	for _, m := range f.take() {
		out = append(out, m.(*agorapb.AgentEvent))
	}
	return out
}

type harness struct {
	t     *testing.T
	s     *Ledger
	clock *fakeClock
	reg   *memRegistry
}

// memRegistry holds the records of the batches a ledger hands out, as the registry
// would store them.
type memRegistry struct {
	agents     map[string]*registry.AgentRecord
	frameworks map[string]*registry.FrameworkRecord
	// maintenance is the latest maintenance record written.
	maintenance *registry.MaintenanceRecord
}

func newMemRegistry() *memRegistry {
	return &memRegistry{agents: map[string]*registry.AgentRecord{}, frameworks: map[string]*registry.FrameworkRecord{}}
}

func (m *memRegistry) apply(b registry.Batch) {
	for _, rec := range b.Agents {
		m.agents[rec.Info.GetId().GetValue()] = rec
	}
	for _, rec := range b.Frameworks {
		m.frameworks[rec.Info.GetId().GetValue()] = rec
	}
	for _, id := range b.DeletedAgents {
		delete(m.agents, id)
	}
	for _, id := range b.DeletedFrameworks {
		delete(m.frameworks, id)
	}
	if b.Maintenance != nil {
		m.maintenance = b.Maintenance
	}
}

// registry applies the ledger's pending registry writes and returns the records.
func (h *harness) registry() *memRegistry {
	h.reg.apply(h.s.TakeEffects().Writes)
	return h.reg
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	cfg := DefaultConfig()
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	reg := newMemRegistry()
	info := &mesos.MasterInfo{
		Id: proto.String("M1"), Ip: proto.Uint32(16777343), Port: proto.Uint32(5050),
		Hostname: proto.String("master"), Pid: proto.String("master@127.0.0.1:5050"),
	}
	return &harness{t: t, s: New(cfg, clock, info, nil), clock: clock, reg: reg}
}

func (h *harness) addAgent(hostname, res string) (string, *fakeSink) {
	h.t.Helper()
	sink := &fakeSink{t: h.t}
	id, err := h.s.SubscribeAgent(sink, "stream-"+hostname, &agorapb.AgentCall_Subscribe{
		AgentInfo: &mesos.AgentInfo{Hostname: proto.String(hostname), Resources: resources.MustParse(res).ToProto()},
	})
	if err != nil {
		h.t.Fatalf("subscribe agent: %v", err)
	}
	evs := sink.agentEvents()
	if len(evs) != 1 || evs[0].GetType() != agorapb.AgentEvent_SUBSCRIBED || evs[0].GetSubscribed().GetAgentId().GetValue() != id {
		h.t.Fatalf("agent events after subscribe = %v", evs)
	}
	return id, sink
}

func (h *harness) subscribe(info *mesos.FrameworkInfo, streamID string) (string, *fakeSink) {
	h.t.Helper()
	sink := &fakeSink{t: h.t}
	id := h.s.SubscribeFramework(sink, streamID, &scheduler.Call_Subscribe{FrameworkInfo: info})
	evs := sink.schedulerEvents()
	if len(evs) == 0 || evs[0].GetType() != scheduler.Event_SUBSCRIBED {
		h.t.Fatalf("first event = %v, want SUBSCRIBED", evs)
	}
	return id, sink
}

// offers runs an allocation cycle and returns the offers the framework got.
func (h *harness) offers(sink *fakeSink) []*mesos.Offer {
	h.t.Helper()
	h.s.Allocate()
	var out []*mesos.Offer
	for _, ev := range sink.schedulerEvents() {
		if ev.GetType() == scheduler.Event_OFFERS {
			out = append(out, ev.GetOffers().GetOffers()...)
		}
	}
	return out
}

func (h *harness) call(fwID, streamID string, c *scheduler.Call) error {
	c.FrameworkId = frameworkIDpb(fwID)
	if err := ValidateSchedulerCall(c); err != nil {
		h.t.Fatalf("invalid call in test: %v", err)
	}
	return h.s.SchedulerCall(c, streamID)
}

// updates returns the states of the UPDATE events, as "TASK_ID:STATE".
func updates(evs []*scheduler.Event) []string {
	var out []string
	for _, ev := range evs {
		if ev.GetType() == scheduler.Event_UPDATE {
			st := ev.GetUpdate().GetStatus()
			out = append(out, fmt.Sprintf("%s:%s", st.GetTaskId().GetValue(), st.GetState()))
		}
	}
	return out
}
