package ledger

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/master/mastertest"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	maintpb "github.com/agoracluster/agora/proto/mesos/v1/maintenance"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
)

func host(name string) *mesos.MachineID { return &mesos.MachineID{Hostname: proto.String(name)} }

func window(start time.Time, d time.Duration, ids ...*mesos.MachineID) *maintpb.Window {
	return &maintpb.Window{MachineIds: ids, Unavailability: &mesos.Unavailability{
		Start:    &mesos.TimeInfo{Nanoseconds: proto.Int64(start.UnixNano())},
		Duration: &mesos.DurationInfo{Nanoseconds: proto.Int64(int64(d))},
	}}
}

func schedule(ws ...*maintpb.Window) *maintpb.Schedule { return &maintpb.Schedule{Windows: ws} }

// maintained is a harness with agent host0 (cpus:4;mem:1024) running task t1
// (cpus:1;mem:128) of framework fw, and an idle agent host1.
func maintained(t *testing.T) (h *harness, a0 string, sink0 *fakeSink, a1 string, fwID string, sink *fakeSink) {
	h = newHarness(t)
	a0, sink0 = h.addAgent("host0", "cpus:4;mem:1024")
	a1, _ = h.addAgent("host1", "cpus:4;mem:1024")
	fwID, sink = h.subscribe(mastertest.FrameworkInfo("fw"), "s1")
	var on0 []*mesos.Offer
	for _, o := range h.offers(sink) {
		if o.GetAgentId().GetValue() == a0 {
			on0 = append(on0, o)
		}
	}
	call := mastertest.LaunchCall(mastertest.OfferIDs(on0...), mastertest.CommandTask("t1", a0, "cpus:1;mem:128"))
	call.Accept.Filters = &mesos.Filters{RefuseSeconds: proto.Float64(0)}
	if err := h.call(fwID, "s1", call); err != nil {
		t.Fatal(err)
	}
	sink0.take()
	sink.take()
	return h, a0, sink0, a1, fwID, sink
}

func TestUpdateScheduleRejectsBadSchedules(t *testing.T) {
	start := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	good := window(start, time.Hour, host("host0"))
	noStart := window(start, time.Hour, host("host1"))
	noStart.Unavailability.Start = nil
	negative := window(start, -time.Hour, host("host1"))
	tests := []struct {
		name     string
		schedule *maintpb.Schedule
		field    string
	}{
		{"empty window", schedule(window(start, time.Hour)), "windows[0].machine_ids"},
		{"machine without hostname or ip", schedule(window(start, time.Hour, &mesos.MachineID{})), "windows[0].machine_ids[0]"},
		{"bad ip", schedule(window(start, time.Hour, &mesos.MachineID{Ip: proto.String("10.0.0.300")})), "windows[0].machine_ids[0].ip"},
		{"machine in two windows", schedule(good, window(start.Add(time.Hour), time.Hour, host("HOST0"))), "windows[1].machine_ids[0]"},
		{"machine twice in a window", schedule(window(start, time.Hour, host("host1"), host("host1"))), "windows[0].machine_ids[1]"},
		{"no unavailability start", schedule(good, noStart), "windows[1].unavailability.start"},
		{"negative duration", schedule(negative), "windows[0].unavailability.duration"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			if err := h.s.UpdateSchedule(schedule(good)); err != nil {
				t.Fatal(err)
			}
			h.s.TakeEffects()
			err := h.s.UpdateSchedule(tc.schedule)
			if !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), tc.field+":") {
				t.Fatalf("UpdateSchedule = %v, want a bad request naming %s", err, tc.field)
			}
			if got := h.s.Schedule(); !proto.Equal(got, schedule(good)) {
				t.Errorf("schedule changed by a rejected update: %v", got)
			}
			if w := h.s.TakeEffects().Writes; w.Maintenance != nil {
				t.Errorf("a rejected update wrote the registry: %v", w.Maintenance)
			}
		})
	}
}

func TestMaintenanceLifecycle(t *testing.T) {
	h, a0, sink0, a1, fwID, sink := maintained(t)
	start := h.clock.t.Add(time.Hour)
	if err := h.s.UpdateSchedule(schedule(window(start, 2*time.Hour, host("HOST0")))); err != nil {
		t.Fatal(err)
	}
	st := h.s.MaintenanceStatus()
	if len(st.GetDrainingMachines()) != 1 || st.GetDrainingMachines()[0].GetId().GetHostname() != "HOST0" || len(st.GetDownMachines()) != 0 {
		t.Fatalf("status = %v, want HOST0 draining", st)
	}

	// Offers of the draining agent carry the unavailability; the framework with a
	// task there gets one inverse offer, once.
	h.s.Allocate()
	var inverse []*mesos.InverseOffer
	for _, ev := range sink.schedulerEvents() {
		switch ev.GetType() {
		case scheduler.Event_OFFERS:
			for _, o := range ev.GetOffers().GetOffers() {
				got := o.GetUnavailability().GetStart().GetNanoseconds()
				if o.GetAgentId().GetValue() == a0 && got != start.UnixNano() {
					t.Errorf("offer of the draining agent has unavailability %v", o.GetUnavailability())
				}
				if o.GetAgentId().GetValue() == a1 && o.Unavailability != nil {
					t.Errorf("offer of an agent not in maintenance has unavailability %v", o.GetUnavailability())
				}
			}
		case scheduler.Event_INVERSE_OFFERS:
			inverse = append(inverse, ev.GetInverseOffers().GetInverseOffers()...)
		}
	}
	if len(inverse) != 1 || inverse[0].GetAgentId().GetValue() != a0 {
		t.Fatalf("inverse offers = %v, want one for %s", inverse, a0)
	}
	listed := 0
	for _, fv := range h.s.Snapshot().Frameworks {
		for _, ov := range fv.Offers {
			if ov.AgentID != a0 {
				continue
			}
			listed++
			if ov.Offer.GetUnavailability().GetStart().GetNanoseconds() != start.UnixNano() {
				t.Errorf("GET_FRAMEWORKS offer of the draining agent lacks the unavailability: %v", ov.Offer)
			}
		}
	}
	if listed == 0 {
		t.Errorf("no outstanding offer of the draining agent listed")
	}
	h.s.Allocate()
	for _, ev := range sink.schedulerEvents() {
		if ev.GetType() == scheduler.Event_INVERSE_OFFERS {
			t.Errorf("inverse offer made twice: %v", ev)
		}
	}
	decline := &scheduler.Call{Type: scheduler.Call_DECLINE_INVERSE_OFFERS.Enum(),
		DeclineInverseOffers: &scheduler.Call_DeclineInverseOffers{InverseOfferIds: []*mesos.OfferID{inverse[0].GetId()}}}
	if err := h.call(fwID, "s1", decline); err != nil {
		t.Fatal(err)
	}
	sts := h.s.MaintenanceStatus().GetDrainingMachines()[0].GetStatuses()
	if len(sts) != 1 || sts[0].GetStatus() != mesos.InverseOfferStatus_DECLINE || sts[0].GetFrameworkId().GetValue() != fwID {
		t.Errorf("statuses = %v, want the framework's DECLINE", sts)
	}

	// Bad transitions change nothing.
	for _, tc := range []struct {
		name  string
		err   error
		field string
	}{
		{"up a DRAINING machine", h.s.StopMaintenance([]*mesos.MachineID{host("host0")}), "machines[0]"},
		{"down a machine not scheduled", h.s.StartMaintenance([]*mesos.MachineID{host("host0"), host("host1")}), "machines[1]"},
		{"down nothing", h.s.StartMaintenance(nil), "machines"},
	} {
		if !errors.Is(tc.err, ErrInvalid) || !strings.HasPrefix(tc.err.Error(), tc.field+":") {
			t.Errorf("%s: %v, want a bad request naming %s", tc.name, tc.err, tc.field)
		}
	}
	if h.s.agents[a0] == nil || len(h.s.MaintenanceStatus().GetDownMachines()) != 0 {
		t.Fatalf("a rejected call changed the books")
	}

	// DOWN: the agent is shut down and removed, its task lost; it may not register.
	if err := h.s.StartMaintenance([]*mesos.MachineID{host("host0")}); err != nil {
		t.Fatal(err)
	}
	if evs := sink0.agentEvents(); len(evs) == 0 || evs[0].GetType() != agorapb.AgentEvent_SHUTDOWN || !sink0.closed {
		t.Errorf("agent events = %v (closed %v), want SHUTDOWN and the stream closed", evs, sink0.closed)
	}
	if h.s.agents[a0] != nil {
		t.Errorf("agent of a DOWN machine still known")
	}
	if got := updates(sink.schedulerEvents()); !slices.Contains(got, "t1:TASK_LOST") {
		t.Errorf("updates = %v, want t1 lost", got)
	}
	regs := h.registry()
	if regs.agents[a0] != nil {
		t.Errorf("agent of a DOWN machine kept in the registry")
	}
	if m := regs.maintenance; m == nil || len(m.Machines) != 1 || m.Machines[0].GetMode() != mesos.MachineInfo_DOWN {
		t.Errorf("registry maintenance = %v, want host0 DOWN", m)
	}
	_, err := h.s.SubscribeAgent(&fakeSink{t: t}, "again", &agorapb.AgentCall_Subscribe{AgentInfo: &mesos.AgentInfo{Hostname: proto.String("host0")}})
	if !errors.Is(err, ErrForbidden) {
		t.Errorf("agent of a DOWN machine registered: %v", err)
	}
	if err := h.s.UpdateSchedule(schedule()); !errors.Is(err, ErrInvalid) {
		t.Errorf("a DOWN machine was taken off the schedule: %v", err)
	}

	// A new master keeps the schedule and the machine's mode.
	h2 := newHarness(t)
	h2.s.RecoverMaintenance(regs.maintenance.Schedule, regs.maintenance.Machines)
	if got := h2.s.MaintenanceStatus(); len(got.GetDownMachines()) != 1 || !proto.Equal(h2.s.Schedule(), h.s.Schedule()) {
		t.Errorf("after failover: status %v schedule %v", got, h2.s.Schedule())
	}

	// UP: off the schedule; the agent registers again.
	if err := h.s.StopMaintenance([]*mesos.MachineID{host("host0")}); err != nil {
		t.Fatal(err)
	}
	if got := h.s.Schedule(); len(got.GetWindows()) != 0 {
		t.Errorf("schedule after up = %v, want empty", got)
	}
	if st := h.s.MaintenanceStatus(); len(st.GetDrainingMachines())+len(st.GetDownMachines()) != 0 {
		t.Errorf("status after up = %v", st)
	}
	h.addAgent("host0", "cpus:4;mem:1024")
}

func TestRemovingAMachineFromTheScheduleRescindsItsInverseOffers(t *testing.T) {
	h, _, _, _, _, sink := maintained(t)
	if err := h.s.UpdateSchedule(schedule(window(h.clock.t, time.Hour, host("host0")))); err != nil {
		t.Fatal(err)
	}
	h.s.Allocate()
	sink.take()
	if err := h.s.UpdateSchedule(schedule()); err != nil {
		t.Fatal(err)
	}
	var types []scheduler.Event_Type
	for _, ev := range sink.schedulerEvents() {
		types = append(types, ev.GetType())
	}
	if !slices.Contains(types, scheduler.Event_RESCIND_INVERSE_OFFER) {
		t.Errorf("events %v, want the inverse offer rescinded", types)
	}
	h.s.Allocate()
	for _, o := range offersOf(sink) {
		if o.Unavailability != nil {
			t.Errorf("offer still carries unavailability: %v", o)
		}
	}
}

func offersOf(sink *fakeSink) []*mesos.Offer {
	var out []*mesos.Offer
	for _, ev := range sink.schedulerEvents() {
		out = append(out, ev.GetOffers().GetOffers()...)
	}
	return out
}

func TestDrainAgent(t *testing.T) {
	h, a0, sink0, a1, fwID, sink := maintained(t)
	grace := &mesos.DurationInfo{Nanoseconds: proto.Int64(int64(2 * time.Second))}
	for _, tc := range []struct {
		name  string
		err   error
		field string
	}{
		{"unknown agent", h.s.DrainAgent("nope", nil, false), "drain_agent.agent_id"},
		{"mark unknown gone", h.s.MarkAgentGone("nope"), "mark_agent_gone.agent_id"},
		{"negative grace", h.s.DrainAgent(a0, &mesos.DurationInfo{Nanoseconds: proto.Int64(-1)}, false), "drain_agent.max_grace_period"},
		{"reactivate an active agent", h.s.ReactivateAgent(a0), "reactivate_agent.agent_id"},
		{"deactivate unknown", h.s.DeactivateAgent(""), "deactivate_agent.agent_id"},
	} {
		if !errors.Is(tc.err, ErrInvalid) || !strings.HasPrefix(tc.err.Error(), tc.field+":") {
			t.Errorf("%s: %v, want a bad request naming %s", tc.name, tc.err, tc.field)
		}
	}
	if h.s.agents[a0].deactivated || len(sink0.events) != 0 {
		t.Fatalf("a rejected drain changed the agent")
	}

	if err := h.s.DrainAgent(a0, grace, false); err != nil {
		t.Fatal(err)
	}
	evs := sink0.agentEvents()
	if len(evs) != 1 || evs[0].GetType() != agorapb.AgentEvent_KILL_TASK || evs[0].GetKillTask().GetTaskId().GetValue() != "t1" ||
		evs[0].GetKillTask().GetKillPolicy().GetGracePeriod().GetNanoseconds() != int64(2*time.Second) {
		t.Fatalf("agent events = %v, want t1 killed with a 2s grace", evs)
	}
	for _, o := range h.offers(sink) {
		if o.GetAgentId().GetValue() == a0 {
			t.Errorf("the draining agent was offered: %v", o)
		}
	}
	agentState := func() *mesos.DrainInfo { return GetAgents(h.s.Snapshot()).GetAgents()[0].GetDrainInfo() }
	if got := agentState().GetState(); got != mesos.DrainState_DRAINING {
		t.Errorf("drain state = %v, want DRAINING", got)
	}
	uuid := []byte("0123456789abcdef")
	if err := h.s.AgentCall(mastertest.StatusUpdateCall(a0, fwID, "t1", mesos.TaskState_TASK_KILLED, uuid), "stream-host0"); err != nil {
		t.Fatal(err)
	}
	ack := &scheduler.Call{Type: scheduler.Call_ACKNOWLEDGE.Enum(), Acknowledge: &scheduler.Call_Acknowledge{
		AgentId: agentIDpb(a0), TaskId: taskIDpb("t1"), Uuid: uuid,
	}}
	if err := h.call(fwID, "s1", ack); err != nil {
		t.Fatal(err)
	}
	if got := agentState().GetState(); got != mesos.DrainState_DRAINED {
		t.Errorf("drain state after the task ended = %v, want DRAINED", got)
	}
	if !GetAgents(h.s.Snapshot()).GetAgents()[0].GetDeactivated() {
		t.Errorf("a drained agent is not deactivated")
	}
	for _, o := range h.offers(sink) {
		if o.GetAgentId().GetValue() == a0 {
			t.Errorf("the drained agent was offered: %v", o)
		}
	}

	// The drain survives a failover and the agent's re-registration.
	regs := h.registry()
	if rec := regs.agents[a0]; !rec.Deactivated || rec.Drain.GetState() != mesos.DrainState_DRAINED {
		t.Fatalf("registry record = %+v, want deactivated and drained", rec)
	}
	h2 := recoveredFrom(t, h)
	fw2, sink2 := h2.subscribe(&mesos.FrameworkInfo{User: proto.String("root"), Name: proto.String("fw"), Id: frameworkIDpb(fwID)}, "s2")
	_, err := h2.s.SubscribeAgent(&fakeSink{t: t}, "stream-host0", &agorapb.AgentCall_Subscribe{AgentInfo: h.s.agents[a0].info})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range h2.offers(sink2) {
		if o.GetAgentId().GetValue() == a0 {
			t.Errorf("the drained agent was offered after failover: %v", o)
		}
	}
	if err := h2.s.ReactivateAgent(a0); err != nil {
		t.Fatal(err)
	}
	offered := false
	for _, o := range h2.offers(sink2) {
		offered = offered || o.GetAgentId().GetValue() == a0
	}
	if !offered {
		t.Errorf("the reactivated agent was not offered to %s", fw2)
	}
	if rec := h2.registry().agents[a0]; rec.Deactivated || rec.Drain != nil {
		t.Errorf("registry record after reactivation = %+v", rec)
	}
	_ = a1
}

func TestDeactivateAgentKeepsTasks(t *testing.T) {
	h, a0, sink0, _, _, sink := maintained(t)
	h.s.Allocate()
	sink.take()
	if err := h.s.DeactivateAgent(a0); err != nil {
		t.Fatal(err)
	}
	if evs := sink0.agentEvents(); len(evs) != 0 {
		t.Errorf("deactivation sent the agent %v", evs)
	}
	var rescinded int
	for _, ev := range sink.schedulerEvents() {
		if ev.GetType() == scheduler.Event_RESCIND {
			rescinded++
		}
	}
	if rescinded != 1 {
		t.Errorf("%d offers rescinded, want the agent's one", rescinded)
	}
	for _, o := range h.offers(sink) {
		if o.GetAgentId().GetValue() == a0 {
			t.Errorf("the deactivated agent was offered: %v", o)
		}
	}
	if len(h.s.agents[a0].tasks) != 1 {
		t.Errorf("deactivation ended the agent's tasks")
	}
}

func TestInverseOffersOfARemovedFrameworkAreForgotten(t *testing.T) {
	h, _, _, _, fwID, _ := maintained(t)
	if err := h.s.UpdateSchedule(schedule(window(h.clock.t, time.Hour, host("host0")))); err != nil {
		t.Fatal(err)
	}
	h.s.Allocate()
	if len(h.s.inverseOffers) != 1 {
		t.Fatalf("outstanding inverse offers = %d, want 1", len(h.s.inverseOffers))
	}
	if err := h.s.TeardownFramework(fwID); err != nil {
		t.Fatal(err)
	}
	h.s.Allocate()
	if len(h.s.inverseOffers) != 0 {
		t.Errorf("inverse offers of a removed framework kept: %v", h.s.inverseOffers)
	}
}

func TestInverseOffersAreMadeAgainOnANewStream(t *testing.T) {
	h, _, _, _, fwID, sink := maintained(t)
	if err := h.s.UpdateSchedule(schedule(window(h.clock.t, time.Hour, host("host0")))); err != nil {
		t.Fatal(err)
	}
	h.s.Allocate()
	sink.take()
	info := mastertest.FrameworkInfo("fw")
	info.Id = frameworkIDpb(fwID)
	sink2 := &fakeSink{t: t}
	h.s.SubscribeFramework(sink2, "s2", &scheduler.Call_Subscribe{FrameworkInfo: info})
	h.s.Allocate()
	n := 0
	for _, ev := range sink2.schedulerEvents() {
		if ev.GetType() == scheduler.Event_INVERSE_OFFERS {
			n += len(ev.GetInverseOffers().GetInverseOffers())
		}
	}
	if n != 1 || len(h.s.inverseOffers) != 1 {
		t.Errorf("inverse offers on the new stream = %d (outstanding %d), want 1", n, len(h.s.inverseOffers))
	}
}

func TestMarkAgentGone(t *testing.T) {
	h, a0, sink0, _, fwID, sink := maintained(t)
	if err := h.s.MarkAgentGone(a0); err != nil {
		t.Fatal(err)
	}
	if evs := sink0.agentEvents(); len(evs) != 1 || evs[0].GetType() != agorapb.AgentEvent_SHUTDOWN || !sink0.closed {
		t.Errorf("agent events = %v (closed %v), want SHUTDOWN", evs, sink0.closed)
	}
	if got := updates(sink.schedulerEvents()); !slices.Equal(got, []string{"t1:TASK_LOST"}) {
		t.Errorf("updates = %v, want t1 lost", got)
	}
	if h.s.agents[a0] != nil || len(h.s.frameworks[fwID].tasks) != 0 {
		t.Errorf("a gone agent or its task is still known")
	}
	if err := h.s.MarkAgentGone(a0); err != nil {
		t.Errorf("marking a gone agent again: %v", err)
	}
	w := h.s.TakeEffects().Writes
	if !slices.Equal(w.GoneAgents, []string{a0}) || !slices.Contains(w.DeletedAgents, a0) {
		t.Errorf("registry writes: gone %v deleted %v", w.GoneAgents, w.DeletedAgents)
	}
	info := &mesos.AgentInfo{Id: agentIDpb(a0), Hostname: proto.String("host0")}
	if _, err := h.s.SubscribeAgent(&fakeSink{t: t}, "again", &agorapb.AgentCall_Subscribe{AgentInfo: info}); !errors.Is(err, ErrForbidden) {
		t.Errorf("a gone agent registered again: %v", err)
	}
	// A new master remembers.
	h2 := newHarness(t)
	h2.s.RecoverGoneAgents(w.GoneAgents)
	if _, err := h2.s.SubscribeAgent(&fakeSink{t: t}, "again", &agorapb.AgentCall_Subscribe{AgentInfo: info}); !errors.Is(err, ErrForbidden) {
		t.Errorf("a gone agent registered with a new master: %v", err)
	}
}

func TestDrainWithMarkGone(t *testing.T) {
	h, a0, sink0, _, fwID, _ := maintained(t)
	if err := h.s.DrainAgent(a0, nil, true); err != nil {
		t.Fatal(err)
	}
	sink0.take()
	uuid := []byte("0123456789abcdef")
	if err := h.s.AgentCall(mastertest.StatusUpdateCall(a0, fwID, "t1", mesos.TaskState_TASK_KILLED, uuid), "stream-host0"); err != nil {
		t.Fatal(err)
	}
	ack := &scheduler.Call{Type: scheduler.Call_ACKNOWLEDGE.Enum(), Acknowledge: &scheduler.Call_Acknowledge{
		AgentId: agentIDpb(a0), TaskId: taskIDpb("t1"), Uuid: uuid,
	}}
	if err := h.call(fwID, "s1", ack); err != nil {
		t.Fatal(err)
	}
	if h.s.agents[a0] == nil {
		t.Fatalf("agent marked gone inside the acknowledgement")
	}
	h.s.Allocate()
	if h.s.agents[a0] != nil || !slices.Contains(h.s.GoneAgents(), a0) {
		t.Errorf("a drained agent with mark_gone was not marked gone")
	}
}

func TestChangedUnavailabilityAsksAgain(t *testing.T) {
	h, _, _, _, fwID, sink := maintained(t)
	inverse := func() []*mesos.InverseOffer {
		h.s.Allocate()
		var out []*mesos.InverseOffer
		for _, ev := range sink.schedulerEvents() {
			out = append(out, ev.GetInverseOffers().GetInverseOffers()...)
		}
		return out
	}
	if err := h.s.UpdateSchedule(schedule(window(h.clock.t, time.Hour, host("host0")))); err != nil {
		t.Fatal(err)
	}
	first := inverse()
	accept := &scheduler.Call{Type: scheduler.Call_ACCEPT_INVERSE_OFFERS.Enum(),
		AcceptInverseOffers: &scheduler.Call_AcceptInverseOffers{InverseOfferIds: []*mesos.OfferID{first[0].GetId()}}}
	if err := h.call(fwID, "s1", accept); err != nil {
		t.Fatal(err)
	}
	if got := inverse(); len(got) != 0 {
		t.Fatalf("asked again after an answer: %v", got)
	}
	// Same schedule: nothing changes. A new window: the framework is asked again.
	if err := h.s.UpdateSchedule(schedule(window(h.clock.t, time.Hour, host("host0")))); err != nil {
		t.Fatal(err)
	}
	if got := inverse(); len(got) != 0 {
		t.Fatalf("asked again for an unchanged schedule: %v", got)
	}
	if err := h.s.UpdateSchedule(schedule(window(h.clock.t.Add(time.Hour), time.Hour, host("host0")))); err != nil {
		t.Fatal(err)
	}
	if got := inverse(); len(got) != 1 || got[0].GetUnavailability().GetStart().GetNanoseconds() != h.clock.t.Add(time.Hour).UnixNano() {
		t.Errorf("inverse offers after the window moved = %v, want one with the new start", got)
	}
	if sts := h.s.MaintenanceStatus().GetDrainingMachines()[0].GetStatuses(); len(sts) != 0 {
		t.Errorf("old answers kept: %v", sts)
	}
}
