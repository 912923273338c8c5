package ledger

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/master/mastertest"
	"github.com/agoracluster/agora/master/registry"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
	"github.com/agoracluster/agora/resources"
)

// reservedFor is text (unreserved) dynamically reserved for role by principal.
func reservedFor(text, role, principal string) resources.Resources {
	return resources.MustParse(text).PushReservation(resources.Dynamic(role, principal))
}

// volumeOf is a persistent volume of size MB on disk reserved for role.
func volumeOf(size float64, role, principal, id, path string) resources.Resources {
	r := resources.ScalarResource("disk", "", size).PushReservation(resources.Dynamic(role, principal))
	r.Volume = &resources.Volume{ID: id, ContainerPath: path}
	return resources.Of(r)
}

func reserveOp(id string, r resources.Resources) *mesos.Offer_Operation {
	return &mesos.Offer_Operation{Type: mesos.Offer_Operation_RESERVE.Enum(), Id: opID(id),
		Reserve: &mesos.Offer_Operation_Reserve{Resources: r.ToProto()}}
}

func unreserveOp(id string, r resources.Resources) *mesos.Offer_Operation {
	return &mesos.Offer_Operation{Type: mesos.Offer_Operation_UNRESERVE.Enum(), Id: opID(id),
		Unreserve: &mesos.Offer_Operation_Unreserve{Resources: r.ToProto()}}
}

func createOp(id string, v resources.Resources) *mesos.Offer_Operation {
	return &mesos.Offer_Operation{Type: mesos.Offer_Operation_CREATE.Enum(), Id: opID(id),
		Create: &mesos.Offer_Operation_Create{Volumes: v.ToProto()}}
}

func destroyOp(id string, v resources.Resources) *mesos.Offer_Operation {
	return &mesos.Offer_Operation{Type: mesos.Offer_Operation_DESTROY.Enum(), Id: opID(id),
		Destroy: &mesos.Offer_Operation_Destroy{Volumes: v.ToProto()}}
}

func launchOp(tasks ...*mesos.TaskInfo) *mesos.Offer_Operation {
	return &mesos.Offer_Operation{Type: mesos.Offer_Operation_LAUNCH.Enum(), Launch: &mesos.Offer_Operation_Launch{TaskInfos: tasks}}
}

func opID(id string) *mesos.OperationID {
	if id == "" {
		return nil
	}
	return &mesos.OperationID{Value: proto.String(id)}
}

func taskWith(id, agentID string, r resources.Resources) *mesos.TaskInfo {
	ti := mastertest.CommandTask(id, agentID, "cpus:1")
	ti.Resources = r.ToProto()
	return ti
}

// accept sends an ACCEPT of the framework's offers with refuse_seconds 0 and
// returns the framework's events.
func (h *harness) accept(fwID, streamID string, sink *fakeSink, offers []*mesos.Offer, ops ...*mesos.Offer_Operation) []*scheduler.Event {
	h.t.Helper()
	call := &scheduler.Call{Type: scheduler.Call_ACCEPT.Enum(), Accept: &scheduler.Call_Accept{
		OfferIds: mastertest.OfferIDs(offers...), Operations: ops, Filters: &mesos.Filters{RefuseSeconds: proto.Float64(0)},
	}}
	if err := h.call(fwID, streamID, call); err != nil {
		h.t.Fatal(err)
	}
	return sink.schedulerEvents()
}

func operationStates(evs []*scheduler.Event) []string {
	var out []string
	for _, ev := range evs {
		if st := ev.GetUpdateOperationStatus().GetStatus(); st != nil {
			s := st.GetOperationId().GetValue() + ":" + st.GetState().String()
			if st.Message != nil {
				s += ":" + st.GetMessage()
			}
			out = append(out, s)
		}
	}
	return out
}

func offeredResources(t *testing.T, offers []*mesos.Offer) resources.Resources {
	t.Helper()
	var out resources.Resources
	for _, o := range offers {
		r, err := parseResources(o.GetResources())
		if err != nil {
			t.Fatal(err)
		}
		out = out.Plus(r)
	}
	return out
}

func webFramework() *mesos.FrameworkInfo {
	info := mastertest.FrameworkInfo("fw")
	info.Role, info.Principal = proto.String("web"), proto.String("alice")
	return info
}

func TestReserveCreateLaunchDestroy(t *testing.T) {
	h := newHarness(t)
	agentID, agentSink := h.addAgent("host0", "cpus:4;mem:1024;disk:1000")
	fwID, sink := h.subscribe(webFramework(), "s1")

	resv := reservedFor("cpus:1;mem:128;disk:100", "web", "alice")
	vol := volumeOf(64, "web", "alice", "v1", "data")
	taskRes := reservedFor("cpus:1;mem:128", "web", "alice").Plus(vol)
	evs := h.accept(fwID, "s1", sink, h.offers(sink),
		reserveOp("r1", resv), createOp("c1", vol), launchOp(taskWith("t1", agentID, taskRes)))
	if got, want := strings.Join(operationStates(evs), " "), "r1:OPERATION_FINISHED c1:OPERATION_FINISHED"; got != want {
		t.Fatalf("operation statuses = %q, want %q", got, want)
	}

	wantTotal := resources.MustParse("cpus:3;mem:896;disk:900").Plus(reservedFor("cpus:1;mem:128;disk:36", "web", "alice")).Plus(vol)
	if got := h.s.agents[agentID].total; !got.Equal(wantTotal) {
		t.Fatalf("agent total = %q, want %q", got, wantTotal)
	}
	var checkpoints []resources.Resources
	var runs int
	for _, ev := range agentSink.agentEvents() {
		switch ev.GetType() {
		case agorapb.AgentEvent_CHECKPOINT_RESOURCES:
			r, err := resources.FromProto(ev.GetCheckpointResources().GetResources())
			if err != nil {
				t.Fatal(err)
			}
			checkpoints = append(checkpoints, r)
		case agorapb.AgentEvent_RUN_TASK:
			runs++
		}
	}
	if len(checkpoints) != 2 || !checkpoints[1].Equal(wantTotal.Checkpointed()) || runs != 1 {
		t.Fatalf("agent got checkpoints %v and %d RUN_TASK, want 2 (last %s) and 1", checkpoints, runs, wantTotal.Checkpointed())
	}
	rec := h.registry().agents[agentID]
	if got, err := resources.FromProto(rec.Info.GetResources()); err != nil || !got.Equal(wantTotal) {
		t.Fatalf("registry resources = %q (%v), want %q", got, err, wantTotal)
	}

	// The reservation is offered to the framework again; the volume is in use.
	offers := h.offers(sink)
	if got, want := offeredResources(t, offers), resources.MustParse("cpus:3;mem:896;disk:900").Plus(reservedFor("disk:36", "web", "alice")); !got.Equal(want) {
		t.Fatalf("offered %q, want %q", got, want)
	}
	evs = h.accept(fwID, "s1", sink, offers, destroyOp("d1", vol))
	if got, want := operationStates(evs), `d1:OPERATION_ERROR:DESTROY: volumes: persistent volume "v1" is in use by task t1 of framework `+fwID; len(got) != 1 || got[0] != want {
		t.Fatalf("destroy of a volume in use = %v, want %s", got, want)
	}
}

func TestDestroyVolumeInUse(t *testing.T) {
	h := newHarness(t)
	agentID, _ := h.addAgent("host0", "cpus:4;mem:1024;disk:1000")
	fwID, sink := h.subscribe(webFramework(), "s1")
	vol := volumeOf(64, "web", "alice", "v1", "data")
	h.accept(fwID, "s1", sink, h.offers(sink), reserveOp("", reservedFor("disk:64;cpus:1", "web", "alice")), createOp("", vol))
	h.accept(fwID, "s1", sink, h.offers(sink), launchOp(taskWith("t1", agentID, reservedFor("cpus:0.5", "web", "alice"))))
	// The volume is offered while a task without it runs; a second framework
	// task takes it, then DESTROY is refused.
	h.accept(fwID, "s1", sink, h.offers(sink), launchOp(taskWith("t2", agentID, vol.Plus(reservedFor("cpus:0.5", "web", "alice")))))
	if got := h.s.agents[agentID].volumeUser("web", "v1"); got != "task t2 of framework "+fwID {
		t.Fatalf("volume user = %q", got)
	}
	_, err := h.s.agents[agentID].destroy(vol)
	if err == nil || err.Error() != `persistent volume "v1" is in use by task t2 of framework `+fwID {
		t.Fatalf("destroy in use: %v", err)
	}
}

func TestReservedResourcesOfferedOnlyToRole(t *testing.T) {
	h := newHarness(t)
	h.addAgent("host0", "cpus:2;mem:256")
	fwID, sink := h.subscribe(webFramework(), "s1")
	h.accept(fwID, "s1", sink, h.offers(sink), reserveOp("", reservedFor("cpus:1;mem:128", "web", "alice")))
	if err := h.call(fwID, "s1", &scheduler.Call{Type: scheduler.Call_TEARDOWN.Enum()}); err != nil {
		t.Fatal(err)
	}

	other := mastertest.FrameworkInfo("other")
	other.Role = proto.String("ops")
	_, otherSink := h.subscribe(other, "s2")
	if got, want := offeredResources(t, h.offers(otherSink)), resources.MustParse("cpus:1;mem:128"); !got.Equal(want) {
		t.Fatalf("role ops offered %q, want only the unreserved %q", got, want)
	}
}

func TestOfferOperationErrors(t *testing.T) {
	vol := volumeOf(64, "web", "alice", "v1", "data")
	disk := reservedFor("disk:200", "web", "alice")
	badRole := &mesos.Offer_Operation{Type: mesos.Offer_Operation_RESERVE.Enum(), Id: opID("x"),
		Reserve: &mesos.Offer_Operation_Reserve{Resources: []*mesos.Resource{{
			Name: proto.String("cpus"), Type: mesos.Value_SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: proto.Float64(1)},
			Reservations: []*mesos.Resource_ReservationInfo{{Type: mesos.Resource_ReservationInfo_DYNAMIC.Enum(), Role: proto.String("a//b")}},
		}}}}
	volume := func(id string, principal string) resources.Resources {
		r := volumeOf(10, "web", "alice", id, "d").All()[0]
		r.Volume.Principal = principal
		return resources.Of(r)
	}
	tests := []struct {
		name  string
		agent string
		setup []*mesos.Offer_Operation
		op    *mesos.Offer_Operation
		want  string
	}{
		{name: "reserve unreserved", op: reserveOp("x", resources.MustParse("cpus:1")),
			want: "RESERVE: resources: cpus:1 is not dynamically reserved: its last reservation must be DYNAMIC"},
		{name: "reserve with another principal", op: reserveOp("x", reservedFor("cpus:1", "web", "bob")),
			want: `RESERVE: resources: cpus(reservations: [(DYNAMIC,web,bob)]):1: reservation principal "bob" does not match the requester's principal "alice"`},
		{name: "reserve for another role", op: reserveOp("x", reservedFor("cpus:1", "ops", "alice")),
			want: `RESERVE: resources: cpus(reservations: [(DYNAMIC,ops,alice)]):1: role "ops" is not a role of the framework`},
		{name: "reserve more than offered", op: reserveOp("x", reservedFor("cpus:9", "web", "alice")),
			want: "RESERVE: resources: needs cpus:9, which is not available (available: cpus:4;disk:1000;mem:1024)"},
		{name: "reserve malformed role", op: badRole,
			want: `RESERVE: resources: resources: resource 0 ("cpus"): reservations: reservation 0: role "a//b" has an empty segment`},
		{name: "reserve nothing", op: reserveOp("x", resources.Resources{}), want: "RESERVE: no resources given"},
		{name: "reserve a volume", setup: []*mesos.Offer_Operation{reserveOp("", disk), createOp("", vol)},
			op:   reserveOp("x", vol.PushReservation(resources.Dynamic("web/x", "alice"))),
			want: `RESERVE: resources: disk(reservations: [(DYNAMIC,web,alice),(DYNAMIC,web/x,alice)])[v1:data:RW]:64 is a persistent volume and cannot be reserved`},
		{name: "unreserve static", agent: "cpus:4;mem:1024;disk:1000;cpus(web):1", op: unreserveOp("x", resources.MustParse("cpus(web):1")),
			want: "UNRESERVE: resources: cpus(web):1 is not dynamically reserved: only dynamic reservations can be unreserved"},
		{name: "unreserve a volume", setup: []*mesos.Offer_Operation{reserveOp("", disk), createOp("", vol)}, op: unreserveOp("x", vol),
			want: "UNRESERVE: resources: disk(reservations: [(DYNAMIC,web,alice)])[v1:data:RW]:64 is a persistent volume: DESTROY it before unreserving its disk"},
		{name: "unreserve what is not reserved", op: unreserveOp("x", reservedFor("cpus:1", "web", "alice")),
			want: "UNRESERVE: resources: needs cpus(reservations: [(DYNAMIC,web,alice)]):1, which is not available (available: cpus:4;disk:1000;mem:1024)"},
		{name: "create on unreserved disk", op: createOp("x", unreservedVolume()),
			want: "CREATE: volumes: disk[v1:data:RW]:64: persistent volumes cannot be created from unreserved disk; RESERVE it first"},
		{name: "create without persistence", setup: []*mesos.Offer_Operation{reserveOp("", disk)}, op: createOp("x", disk),
			want: "CREATE: volumes: disk(reservations: [(DYNAMIC,web,alice)]):200 is not a persistent volume: disk.persistence and disk.volume must be set"},
		{name: "create beyond the reservation", setup: []*mesos.Offer_Operation{reserveOp("", reservedFor("disk:5", "web", "alice"))}, op: createOp("x", vol),
			want: "CREATE: volumes: needs disk(reservations: [(DYNAMIC,web,alice)]):64, which is not available (available: cpus:4;disk:995;disk(reservations: [(DYNAMIC,web,alice)]):5;mem:1024)"},
		{name: "create duplicate id in one operation", setup: []*mesos.Offer_Operation{reserveOp("", disk)},
			op:   createOp("x", volume("v2", "alice").Plus(volumeOf(20, "web", "alice", "v2", "e"))),
			want: `CREATE: volumes: persistence id "v2" is given twice for role "web"`},
		{name: "create id in use", setup: []*mesos.Offer_Operation{reserveOp("", disk), createOp("", vol)}, op: createOp("x", volume("v1", "alice")),
			want: `CREATE: volumes: persistence id "v1" is already in use for role "web" on agent M1-S0`},
		{name: "create with another principal", setup: []*mesos.Offer_Operation{reserveOp("", disk)}, op: createOp("x", volume("v3", "bob")),
			want: `CREATE: volumes: disk(reservations: [(DYNAMIC,web,alice)])[v3:d:RW]:10: disk.persistence.principal "bob" does not match the requester's principal "alice"`},
		{name: "destroy unknown volume", setup: []*mesos.Offer_Operation{reserveOp("", disk)}, op: destroyOp("x", vol),
			want: `DESTROY: volumes: persistent volume "v1" (role "web") does not exist on agent M1-S0`},
		{name: "destroy plain disk", setup: []*mesos.Offer_Operation{reserveOp("", disk)}, op: destroyOp("x", disk),
			want: "DESTROY: volumes: disk(reservations: [(DYNAMIC,web,alice)]):200 is not a persistent volume"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			agentRes := tt.agent
			if agentRes == "" {
				agentRes = "cpus:4;mem:1024;disk:1000"
			}
			agentID, _ := h.addAgent("host0", agentRes)
			fwID, sink := h.subscribe(webFramework(), "s1")
			if len(tt.setup) > 0 {
				if got := operationStates(h.accept(fwID, "s1", sink, h.offers(sink), tt.setup...)); len(got) != 0 {
					t.Fatalf("setup: %v", got)
				}
			}
			before := h.s.agents[agentID].total
			h.registry()
			got := operationStates(h.accept(fwID, "s1", sink, h.offers(sink), tt.op))
			if want := "x:OPERATION_ERROR:" + tt.want; len(got) != 1 || got[0] != want {
				t.Fatalf("statuses = %q\nwant        %q", got, want)
			}
			if after := h.s.agents[agentID].total; !after.Equal(before) {
				t.Fatalf("agent total changed from %q to %q", before, after)
			}
			if w := h.s.TakeEffects().Writes; len(w.Agents) != 0 {
				t.Fatalf("registry writes after a failed operation: %v", w.Agents)
			}
			if offered := offeredResources(t, h.offers(sink)); !offered.Equal(before) {
				t.Fatalf("after the failed operation %q is offered, want all of %q", offered, before)
			}
		})
	}
}

func unreservedVolume() resources.Resources {
	r := resources.ScalarResource("disk", "", 64)
	r.Volume = &resources.Volume{ID: "v1", ContainerPath: "data"}
	return resources.Of(r)
}

func TestReservationsSurviveFailoverAndAgentRestart(t *testing.T) {
	h := newHarness(t)
	agentID, _ := h.addAgent("host0", "cpus:4;mem:1024;disk:1000")
	fwID, sink := h.subscribe(webFramework(), "s1")
	vol := volumeOf(64, "web", "alice", "v1", "data")
	h.accept(fwID, "s1", sink, h.offers(sink), reserveOp("", reservedFor("cpus:1;disk:64", "web", "alice")), createOp("", vol))
	want := h.s.agents[agentID].total

	// A new master recovers the agent from the registry; the agent comes back
	// with only its flags' resources (it lost the checkpoint event).
	h2 := newHarness(t)
	var recs []*registry.AgentRecord
	for _, rec := range h.registry().agents {
		recs = append(recs, rec)
	}
	h2.s.Recover(recs, nil)
	agentSink := &fakeSink{t: t}
	_, err := h2.s.SubscribeAgent(agentSink, "stream-2", &agorapb.AgentCall_Subscribe{AgentInfo: &mesos.AgentInfo{
		Id: agentIDpb(agentID), Hostname: proto.String("host0"), Resources: resources.MustParse("cpus:4;mem:1024;disk:1000").ToProto(),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := h2.s.agents[agentID].total; !got.Equal(want) {
		t.Fatalf("total after failover = %q, want %q", got, want)
	}
	evs := agentSink.agentEvents()
	if len(evs) != 2 || evs[0].GetType() != agorapb.AgentEvent_SUBSCRIBED || evs[1].GetType() != agorapb.AgentEvent_CHECKPOINT_RESOURCES {
		t.Fatalf("agent events = %v, want SUBSCRIBED then CHECKPOINT_RESOURCES", evs)
	}
	if got, _ := resources.FromProto(evs[1].GetCheckpointResources().GetResources()); !got.Equal(want.Checkpointed()) {
		t.Fatalf("checkpoint = %q, want %q", got, want.Checkpointed())
	}
	_, sink2 := h2.subscribe(webFramework(), "s1")
	if got := offeredResources(t, h2.offers(sink2)); !got.Equal(want) {
		t.Fatalf("offered after failover %q, want %q", got, want)
	}

	// An agent whose flags can no longer hold the volume keeps its own view.
	agentSink = &fakeSink{t: t}
	if _, err := h2.s.SubscribeAgent(agentSink, "stream-3", &agorapb.AgentCall_Subscribe{AgentInfo: &mesos.AgentInfo{
		Id: agentIDpb(agentID), Hostname: proto.String("host0"), Resources: resources.MustParse("cpus:4;mem:1024;disk:10").ToProto(),
	}}); err != nil {
		t.Fatal(err)
	}
	if got, want := h2.s.agents[agentID].total, resources.MustParse("cpus:4;mem:1024;disk:10"); !got.Equal(want) {
		t.Fatalf("total with shrunk flags = %q, want %q", got, want)
	}
}

func TestOperatorReserveRescindsOffers(t *testing.T) {
	h := newHarness(t)
	agentID, agentSink := h.addAgent("host0", "cpus:2;mem:256")
	_, sink := h.subscribe(webFramework(), "s1")
	if n := len(h.offers(sink)); n != 1 {
		t.Fatalf("%d offers", n)
	}
	resv := reservedFor("cpus:1", "web", "ops")
	if err := h.s.OperatorOperation("RESERVE", agentID, resv.ToProto(), ""); err != nil {
		t.Fatal(err)
	}
	evs := sink.schedulerEvents()
	if len(evs) != 1 || evs[0].GetType() != scheduler.Event_RESCIND {
		t.Fatalf("framework events = %v, want RESCIND", evs)
	}
	if got := agentSink.agentEvents(); len(got) != 1 || got[0].GetType() != agorapb.AgentEvent_CHECKPOINT_RESOURCES {
		t.Fatalf("agent events = %v", got)
	}
	if got, want := offeredResources(t, h.offers(sink)), resources.MustParse("cpus:1;mem:256").Plus(resv); !got.Equal(want) {
		t.Fatalf("offered %q, want %q", got, want)
	}
	// Unreserving rescinds the offer that holds the reservation.
	if err := h.s.OperatorOperation("UNRESERVE", agentID, resv.ToProto(), ""); err != nil {
		t.Fatal(err)
	}
	if evs := sink.schedulerEvents(); len(evs) != 1 || evs[0].GetType() != scheduler.Event_RESCIND {
		t.Fatalf("framework events = %v, want RESCIND", evs)
	}
	// An authenticated operator must name itself as the reservation's principal.
	err := h.s.OperatorOperation("RESERVE", agentID, resv.ToProto(), "alice")
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `reservation principal "ops" does not match the requester's principal "alice"`) {
		t.Fatalf("reserve as another principal: %v", err)
	}
	if err := h.s.OperatorOperation("RESERVE", "nope", resv.ToProto(), ""); !errors.Is(err, ErrInvalid) || err.Error() != "agent_id: no agent found with ID nope" {
		t.Fatalf("unknown agent: %v", err)
	}
	if err := h.s.OperatorOperation("RESERVE", agentID, reservedFor("cpus:3", "web", "ops").ToProto(), ""); !errors.Is(err, ErrConflict) {
		t.Fatalf("reserve beyond the agent: %v, want a conflict", err)
	}
}

// A failed operation is dropped; the ACCEPT's other operations proceed, as in
// Mesos, and a LAUNCH that needed the dropped conversion fails on its own.
func TestFailedOperationLeavesTheRest(t *testing.T) {
	h := newHarness(t)
	agentID, _ := h.addAgent("host0", "cpus:4;mem:1024;disk:1000")
	fwID, sink := h.subscribe(webFramework(), "s1")
	evs := h.accept(fwID, "s1", sink, h.offers(sink),
		reserveOp("bad", reservedFor("cpus:1", "ops", "alice")),
		reserveOp("good", reservedFor("cpus:1", "web", "alice")),
		launchOp(taskWith("plain", agentID, resources.MustParse("cpus:1;mem:64")),
			taskWith("needs-bad", agentID, reservedFor("cpus:1", "ops", "alice")),
			taskWith("uses-good", agentID, reservedFor("cpus:1", "web", "alice"))))
	states := operationStates(evs)
	if len(states) != 2 || !strings.HasPrefix(states[0], "bad:OPERATION_ERROR:") || states[1] != "good:OPERATION_FINISHED" {
		t.Fatalf("operation statuses = %q", states)
	}
	if got, want := strings.Join(updates(evs), " "), "needs-bad:TASK_ERROR"; got != want {
		t.Fatalf("task updates = %q, want %q", got, want)
	}
	a := h.s.agents[agentID]
	if len(a.tasks) != 2 {
		t.Fatalf("%d tasks on the agent, want plain and uses-good", len(a.tasks))
	}
}
