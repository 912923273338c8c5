package ledger

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/master/mastertest"
	"github.com/agoracluster/agora/master/registry"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
	"github.com/agoracluster/agora/resources"
)

func TestSubscribeFramework(t *testing.T) {
	h := newHarness(t)
	sink := &fakeSink{t: t}
	id := h.s.SubscribeFramework(sink, "s1", &scheduler.Call_Subscribe{FrameworkInfo: mastertest.FrameworkInfo("fw")})
	if !regexp.MustCompile(`^M1-\d{4}$`).MatchString(id) {
		t.Errorf("framework id %q, want M1-NNNN", id)
	}
	evs := sink.schedulerEvents()
	if len(evs) != 1 {
		t.Fatalf("events = %v", evs)
	}
	sub := evs[0].GetSubscribed()
	if sub.GetFrameworkId().GetValue() != id || sub.GetHeartbeatIntervalSeconds() != 15 || sub.GetMasterInfo().GetId() != "M1" {
		t.Errorf("SUBSCRIBED = %v", sub)
	}
	if h.registry().frameworks[id] == nil {
		t.Errorf("framework not persisted")
	}
}

func TestAgentIDsAndOffer(t *testing.T) {
	h := newHarness(t)
	a0, _ := h.addAgent("host0", "cpus:4;mem:1024;ports:[31000-31009]")
	a1, _ := h.addAgent("host1", "cpus:2;mem:512")
	if a0 != "M1-S0" || a1 != "M1-S1" {
		t.Errorf("agent ids %s %s", a0, a1)
	}
	if h.registry().agents[a0] == nil {
		t.Errorf("agent not persisted")
	}
	fwID, sink := h.subscribe(mastertest.FrameworkInfo("fw"), "s1")
	offers := h.offers(sink)
	if len(offers) != 2 {
		t.Fatalf("got %d offers, want 2", len(offers))
	}
	for _, o := range offers {
		if o.GetFrameworkId().GetValue() != fwID || !strings.HasPrefix(o.GetId().GetValue(), "M1-O") {
			t.Errorf("offer %v", o)
		}
	}
	o := offers[slices.IndexFunc(offers, func(o *mesos.Offer) bool { return o.GetAgentId().GetValue() == a0 })]
	got, _ := resources.FromProto(o.GetResources())
	if !got.Equal(resources.MustParse("cpus:4;mem:1024;ports:[31000-31009]")) || o.GetHostname() != "host0" {
		t.Errorf("offer resources %s host %s", got, o.GetHostname())
	}
	if len(h.offers(sink)) != 0 {
		t.Errorf("resources offered twice")
	}
}

func TestAcceptValidation(t *testing.T) {
	tests := []struct {
		name        string
		tasks       func(agentID string) []*mesos.TaskInfo
		wantUpdates []string // TASK_ID:STATE for tasks that were refused
		wantRun     []string // task ids sent to the agent
		wantMessage string
	}{
		{
			name: "valid",
			tasks: func(a string) []*mesos.TaskInfo {
				return []*mesos.TaskInfo{mastertest.CommandTask("t1", a, "cpus:1;mem:128")}
			},
			wantRun: []string{"t1"},
		},
		{
			name: "duplicate id in one call",
			tasks: func(a string) []*mesos.TaskInfo {
				return []*mesos.TaskInfo{mastertest.CommandTask("t1", a, "cpus:1;mem:128"), mastertest.CommandTask("t1", a, "cpus:1;mem:128")}
			},
			wantRun: []string{"t1"}, wantUpdates: []string{"t1:TASK_ERROR"}, wantMessage: "duplicate ID",
		},
		{
			name: "more resources than offered",
			tasks: func(a string) []*mesos.TaskInfo {
				return []*mesos.TaskInfo{mastertest.CommandTask("big", a, "cpus:5;mem:128")}
			},
			wantUpdates: []string{"big:TASK_ERROR"}, wantMessage: "Task uses more resources than available",
		},
		{
			name: "second task does not fit in what the first left",
			tasks: func(a string) []*mesos.TaskInfo {
				return []*mesos.TaskInfo{mastertest.CommandTask("t1", a, "cpus:3;mem:128"), mastertest.CommandTask("t2", a, "cpus:3;mem:128")}
			},
			wantRun: []string{"t1"}, wantUpdates: []string{"t2:TASK_ERROR"}, wantMessage: "more resources than available",
		},
		{
			name:        "empty task id",
			tasks:       func(a string) []*mesos.TaskInfo { return []*mesos.TaskInfo{mastertest.CommandTask("", a, "cpus:1")} },
			wantUpdates: []string{":TASK_ERROR"}, wantMessage: "must not be empty",
		},
		{
			name:        "invalid character in task id",
			tasks:       func(a string) []*mesos.TaskInfo { return []*mesos.TaskInfo{mastertest.CommandTask("a/b", a, "cpus:1")} },
			wantUpdates: []string{"a/b:TASK_ERROR"}, wantMessage: "invalid character",
		},
		{
			name: "neither command nor executor",
			tasks: func(a string) []*mesos.TaskInfo {
				ti := mastertest.CommandTask("t1", a, "cpus:1")
				ti.Command = nil
				return []*mesos.TaskInfo{ti}
			},
			wantUpdates: []string{"t1:TASK_ERROR"}, wantMessage: "CommandInfo or ExecutorInfo",
		},
		{
			name: "wrong agent id",
			tasks: func(a string) []*mesos.TaskInfo {
				return []*mesos.TaskInfo{mastertest.CommandTask("t1", "other", "cpus:1")}
			},
			wantUpdates: []string{"t1:TASK_ERROR"}, wantMessage: "does not match",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			agentID, agentSink := h.addAgent("host0", "cpus:4;mem:1024")
			fwID, sink := h.subscribe(mastertest.FrameworkInfo("fw"), "s1")
			offers := h.offers(sink)
			if err := h.call(fwID, "s1", mastertest.LaunchCall(mastertest.OfferIDs(offers...), tt.tasks(agentID)...)); err != nil {
				t.Fatal(err)
			}
			evs := sink.schedulerEvents()
			if got := updates(evs); !slices.Equal(got, tt.wantUpdates) {
				t.Errorf("updates = %v, want %v", got, tt.wantUpdates)
			}
			for _, ev := range evs {
				st := ev.GetUpdate().GetStatus()
				if st.GetReason() != mesos.TaskStatus_REASON_TASK_INVALID || !strings.Contains(st.GetMessage(), tt.wantMessage) {
					t.Errorf("update reason %s message %q, want REASON_TASK_INVALID with %q", st.GetReason(), st.GetMessage(), tt.wantMessage)
				}
			}
			var run []string
			for _, ev := range agentSink.agentEvents() {
				if ev.GetType() == agorapb.AgentEvent_RUN_TASK {
					run = append(run, ev.GetRunTask().GetTask().GetTaskId().GetValue())
					if ev.GetRunTask().GetFrameworkInfo().GetId().GetValue() != fwID {
						t.Errorf("RUN_TASK framework info without id: %v", ev.GetRunTask().GetFrameworkInfo())
					}
				}
			}
			if !slices.Equal(run, tt.wantRun) {
				t.Errorf("RUN_TASK for %v, want %v", run, tt.wantRun)
			}
			for _, id := range tt.wantRun {
				if st := h.s.frameworks[fwID].tasks[id].state(); st != mesos.TaskState_TASK_STAGING {
					t.Errorf("task %s state %s, want TASK_STAGING", id, st)
				}
			}
		})
	}
}

func TestAcceptDuplicateOfExistingTask(t *testing.T) {
	h := newHarness(t)
	agentID, _ := h.addAgent("host0", "cpus:4;mem:1024")
	fwID, sink := h.subscribe(mastertest.FrameworkInfo("fw"), "s1")
	offers := h.offers(sink)
	if err := h.call(fwID, "s1", mastertest.LaunchCall(mastertest.OfferIDs(offers...), mastertest.CommandTask("t1", agentID, "cpus:1;mem:128"))); err != nil {
		t.Fatal(err)
	}
	h.clock.advance(10 * time.Second) // past the default refuse filter
	offers = h.offers(sink)
	if len(offers) != 1 {
		t.Fatalf("want the rest re-offered, got %d offers", len(offers))
	}
	got, _ := resources.FromProto(offers[0].GetResources())
	if !got.Equal(resources.MustParse("cpus:3;mem:896")) {
		t.Errorf("re-offered %s, want cpus:3;mem:896 (no double booking)", got)
	}
	if err := h.call(fwID, "s1", mastertest.LaunchCall(mastertest.OfferIDs(offers...), mastertest.CommandTask("t1", agentID, "cpus:1;mem:128"))); err != nil {
		t.Fatal(err)
	}
	if got := updates(sink.schedulerEvents()); !slices.Equal(got, []string{"t1:TASK_ERROR"}) {
		t.Errorf("updates = %v", got)
	}
}

func TestAcceptInvalidOffers(t *testing.T) {
	tests := []struct {
		name    string
		offers  func(h *harness, own []*mesos.Offer) []*mesos.OfferID
		partial bool
		want    string
		message string
	}{
		{
			name:    "offers on two agents",
			offers:  func(h *harness, own []*mesos.Offer) []*mesos.OfferID { return mastertest.OfferIDs(own...) },
			want:    "t1:TASK_LOST",
			message: "one single agent",
		},
		{
			name:    "stale offer",
			offers:  func(h *harness, own []*mesos.Offer) []*mesos.OfferID { return []*mesos.OfferID{offerIDpb("M1-O999")} },
			want:    "t1:TASK_LOST",
			message: "no longer valid",
		},
		{
			name: "same offer twice",
			offers: func(h *harness, own []*mesos.Offer) []*mesos.OfferID {
				return []*mesos.OfferID{own[0].GetId(), own[0].GetId()}
			},
			want:    "t1:TASK_LOST",
			message: "Duplicate offer",
		},
		{
			name:    "partition-aware framework gets TASK_DROPPED",
			offers:  func(h *harness, own []*mesos.Offer) []*mesos.OfferID { return mastertest.OfferIDs(own...) },
			partial: true,
			want:    "t1:TASK_DROPPED",
			message: "one single agent",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			a0, agentSink := h.addAgent("host0", "cpus:4;mem:1024")
			h.addAgent("host1", "cpus:4;mem:1024")
			info := mastertest.FrameworkInfo("fw")
			if tt.partial {
				info = mastertest.FrameworkInfo("fw", mesos.FrameworkInfo_Capability_PARTITION_AWARE)
			}
			fwID, sink := h.subscribe(info, "s1")
			own := h.offers(sink)
			if len(own) != 2 {
				t.Fatalf("want 2 offers, got %d", len(own))
			}
			if err := h.call(fwID, "s1", mastertest.LaunchCall(tt.offers(h, own), mastertest.CommandTask("t1", a0, "cpus:1"))); err != nil {
				t.Fatal(err)
			}
			evs := sink.schedulerEvents()
			if got := updates(evs); !slices.Equal(got, []string{tt.want}) {
				t.Fatalf("updates = %v, want %v", got, tt.want)
			}
			st := evs[0].GetUpdate().GetStatus()
			if st.GetReason() != mesos.TaskStatus_REASON_INVALID_OFFERS || !strings.Contains(st.GetMessage(), tt.message) {
				t.Errorf("status %v, want REASON_INVALID_OFFERS with %q", st, tt.message)
			}
			for _, ev := range agentSink.agentEvents() {
				if ev.GetType() == agorapb.AgentEvent_RUN_TASK {
					t.Errorf("task launched despite invalid offers")
				}
			}
			if len(h.s.frameworks[fwID].tasks) != 0 {
				t.Errorf("master tracks tasks after an invalid accept")
			}
		})
	}
}

func TestInvalidAcceptRecoversValidOffers(t *testing.T) {
	h := newHarness(t)
	a0, _ := h.addAgent("host0", "cpus:4;mem:1024")
	h.addAgent("host1", "cpus:4;mem:1024")
	fwID, sink := h.subscribe(mastertest.FrameworkInfo("fw"), "s1")
	own := h.offers(sink)
	if err := h.call(fwID, "s1", mastertest.LaunchCall(mastertest.OfferIDs(own...), mastertest.CommandTask("t1", a0, "cpus:1"))); err != nil {
		t.Fatal(err)
	}
	sink.take()
	if len(h.s.offers) != 0 {
		t.Errorf("%d offers still outstanding after an invalid accept", len(h.s.offers))
	}
	if got := len(h.offers(sink)); got != 2 {
		t.Errorf("re-offered %d offers, want 2 (recovered without a filter)", got)
	}
}

func TestDeclineFilters(t *testing.T) {
	h := newHarness(t)
	h.addAgent("host0", "cpus:4;mem:1024")
	fwID, sink := h.subscribe(mastertest.FrameworkInfo("fw"), "s1")
	offers := h.offers(sink)
	err := h.call(fwID, "s1", &scheduler.Call{Type: scheduler.Call_DECLINE.Enum(), Decline: &scheduler.Call_Decline{
		OfferIds: mastertest.OfferIDs(offers...), Filters: &mesos.Filters{RefuseSeconds: proto.Float64(30)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	h.clock.advance(29 * time.Second)
	if n := len(h.offers(sink)); n != 0 {
		t.Errorf("offered within the refuse filter")
	}
	h.clock.advance(2 * time.Second)
	if n := len(h.offers(sink)); n != 1 {
		t.Errorf("got %d offers after the filter expired, want 1", n)
	}
}

// launched sets up one agent, one framework and one running-able task t1.
func launched(t *testing.T, caps ...mesos.FrameworkInfo_Capability_Type) (*harness, string, *fakeSink, string, *fakeSink) {
	h := newHarness(t)
	agentID, agentSink := h.addAgent("host0", "cpus:4;mem:1024")
	fwID, sink := h.subscribe(mastertest.FrameworkInfo("fw", caps...), "s1")
	offers := h.offers(sink)
	if err := h.call(fwID, "s1", mastertest.LaunchCall(mastertest.OfferIDs(offers...), mastertest.CommandTask("t1", agentID, "cpus:4;mem:1024"))); err != nil {
		t.Fatal(err)
	}
	agentSink.take()
	sink.take()
	return h, agentID, agentSink, fwID, sink
}

func TestStatusRoutingAndAcknowledge(t *testing.T) {
	h, agentID, agentSink, fwID, sink := launched(t)
	uuid1 := []byte("0123456789abcdef")
	if err := h.s.AgentCall(mastertest.StatusUpdateCall(agentID, fwID, "t1", mesos.TaskState_TASK_RUNNING, uuid1), "stream-host0"); err != nil {
		t.Fatal(err)
	}
	evs := sink.schedulerEvents()
	if got := updates(evs); !slices.Equal(got, []string{"t1:TASK_RUNNING"}) {
		t.Fatalf("updates %v", got)
	}
	if string(evs[0].GetUpdate().GetStatus().GetUuid()) != string(uuid1) {
		t.Errorf("uuid not forwarded")
	}
	ack := &scheduler.Call{Type: scheduler.Call_ACKNOWLEDGE.Enum(), Acknowledge: &scheduler.Call_Acknowledge{
		AgentId: agentIDpb(agentID), TaskId: taskIDpb("t1"), Uuid: uuid1,
	}}
	if err := h.call(fwID, "s1", ack); err != nil {
		t.Fatal(err)
	}
	aevs := agentSink.agentEvents()
	if len(aevs) != 1 || aevs[0].GetType() != agorapb.AgentEvent_ACKNOWLEDGE || string(aevs[0].GetAcknowledge().GetUuid()) != string(uuid1) {
		t.Fatalf("agent events %v", aevs)
	}

	// A terminal update frees the resources at once; the task completes on ack.
	uuid2 := []byte("fedcba9876543210")
	if err := h.s.AgentCall(mastertest.StatusUpdateCall(agentID, fwID, "t1", mesos.TaskState_TASK_FINISHED, uuid2), "stream-host0"); err != nil {
		t.Fatal(err)
	}
	if n := len(h.offers(sink)); n != 1 {
		t.Errorf("resources of the finished task not re-offered (%d offers)", n)
	}
	fw := h.s.frameworks[fwID]
	if fw.tasks["t1"] == nil {
		t.Fatalf("terminal task removed before acknowledgement")
	}
	ack.Acknowledge.Uuid = uuid2
	if err := h.call(fwID, "s1", ack); err != nil {
		t.Fatal(err)
	}
	if fw.tasks["t1"] != nil || len(fw.completed) != 1 || fw.completed[0].state() != mesos.TaskState_TASK_FINISHED {
		t.Errorf("task not completed after ack: tasks %v completed %d", fw.tasks, len(fw.completed))
	}
}

func TestStatusUpdateWithoutUUIDCompletesTerminalTask(t *testing.T) {
	h, agentID, _, fwID, sink := launched(t)
	if err := h.s.AgentCall(mastertest.StatusUpdateCall(agentID, fwID, "t1", mesos.TaskState_TASK_FAILED, nil), "stream-host0"); err != nil {
		t.Fatal(err)
	}
	if got := updates(sink.schedulerEvents()); !slices.Equal(got, []string{"t1:TASK_FAILED"}) {
		t.Errorf("updates %v", got)
	}
	if fw := h.s.frameworks[fwID]; len(fw.tasks) != 0 || len(fw.completed) != 1 {
		t.Errorf("task not completed")
	}
}

func TestAgentCallErrors(t *testing.T) {
	h, agentID, _, fwID, _ := launched(t)
	hb := func(id string) *agorapb.AgentCall {
		return &agorapb.AgentCall{AgentId: agentIDpb(id), Type: agorapb.AgentCall_HEARTBEAT.Enum()}
	}
	tests := []struct {
		name     string
		call     *agorapb.AgentCall
		streamID string
		want     error
	}{
		{"heartbeat", hb(agentID), "stream-host0", nil},
		{"wrong stream", hb(agentID), "other", ErrInvalid},
		{"unknown agent", hb("nope"), "stream-host0", ErrInvalid},
		{"status update", mastertest.StatusUpdateCall(agentID, fwID, "t1", mesos.TaskState_TASK_RUNNING, nil), "stream-host0", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := h.s.AgentCall(tt.call, tt.streamID)
			switch {
			case tt.want == nil && err != nil:
				t.Errorf("err = %v", err)
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSchedulerCallErrors(t *testing.T) {
	h := newHarness(t)
	fwID, _ := h.subscribe(mastertest.FrameworkInfo("fw"), "s1")
	revive := func() *scheduler.Call { return &scheduler.Call{Type: scheduler.Call_REVIVE.Enum()} }
	tests := []struct {
		name     string
		fwID     string
		streamID string
		want     error
	}{
		{"ok", fwID, "s1", nil},
		{"stream id mismatch", fwID, "s2", ErrInvalid},
		{"missing stream id", fwID, "", ErrInvalid},
		{"unknown framework", "M1-9999", "s1", ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := h.call(tt.fwID, tt.streamID, revive())
			switch {
			case tt.want == nil && err != nil:
				t.Errorf("err = %v", err)
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if err := h.call(fwID, "s1", &scheduler.Call{Type: scheduler.Call_TEARDOWN.Enum()}); err != nil {
		t.Fatal(err)
	}
	if err := h.call(fwID, "s1", revive()); !errors.Is(err, ErrForbidden) {
		t.Errorf("call after teardown: %v, want ErrForbidden", err)
	}
}

func TestFrameworkFailover(t *testing.T) {
	h := newHarness(t)
	h.addAgent("host0", "cpus:4;mem:1024")
	fwID, old := h.subscribe(mastertest.FrameworkInfo("fw"), "s1")
	if len(h.offers(old)) != 1 {
		t.Fatal("no offer")
	}
	info := mastertest.FrameworkInfo("fw")
	info.Id = frameworkIDpb(fwID)
	id, sink := h.subscribe(info, "s2")
	if id != fwID {
		t.Errorf("re-subscribe got id %s, want %s", id, fwID)
	}
	evs := old.schedulerEvents()
	if len(evs) != 1 || evs[0].GetType() != scheduler.Event_ERROR || evs[0].GetError().GetMessage() != "Framework failed over" || !old.closed {
		t.Errorf("old stream got %v closed=%v", evs, old.closed)
	}
	if len(h.s.offers) != 0 {
		t.Errorf("old offers not rescinded")
	}
	if len(h.offers(sink)) != 1 {
		t.Errorf("new stream gets no offer")
	}
	if err := h.call(fwID, "s1", &scheduler.Call{Type: scheduler.Call_REVIVE.Enum()}); !errors.Is(err, ErrInvalid) {
		t.Errorf("old stream id accepted: %v", err)
	}
}

func TestFailoverTimeout(t *testing.T) {
	h, agentID, agentSink, fwID, _ := launched(t)
	fw := h.s.frameworks[fwID]
	fw.info.FailoverTimeout = proto.Float64(60)
	h.s.FrameworkDisconnected(fwID, "s1")
	if fw.connected {
		t.Fatal("still connected")
	}
	h.clock.advance(59 * time.Second)
	h.s.Tick()
	if h.s.frameworks[fwID] == nil {
		t.Fatal("removed before the failover timeout")
	}
	h.clock.advance(2 * time.Second)
	h.s.Tick()
	if h.s.frameworks[fwID] != nil {
		t.Fatal("not removed after the failover timeout")
	}
	evs := agentSink.agentEvents()
	if len(evs) != 1 || evs[0].GetType() != agorapb.AgentEvent_SHUTDOWN_FRAMEWORK {
		t.Errorf("agent events %v, want SHUTDOWN_FRAMEWORK", evs)
	}
	if h.registry().frameworks[fwID] != nil {
		t.Errorf("framework still in the registry")
	}
	// Its resources are free again for another framework.
	_, sink2 := h.subscribe(mastertest.FrameworkInfo("other"), "s9")
	offers := h.offers(sink2)
	if len(offers) != 1 || offers[0].GetAgentId().GetValue() != agentID {
		t.Errorf("resources not recovered: %v", offers)
	}
	// A re-subscription of the removed framework is refused.
	info := mastertest.FrameworkInfo("fw")
	info.Id = frameworkIDpb(fwID)
	sink3 := &fakeSink{t: t}
	h.s.SubscribeFramework(sink3, "s3", &scheduler.Call_Subscribe{FrameworkInfo: info})
	if evs := sink3.schedulerEvents(); len(evs) != 1 || evs[0].GetType() != scheduler.Event_ERROR || !sink3.closed {
		t.Errorf("removed framework re-subscribed: %v", evs)
	}
}

func TestAgentUnreachable(t *testing.T) {
	for _, pa := range []bool{false, true} {
		name := map[bool]string{false: "not partition aware", true: "partition aware"}[pa]
		t.Run(name, func(t *testing.T) {
			var caps []mesos.FrameworkInfo_Capability_Type
			want, wantBack := "t1:TASK_LOST", agorapb.AgentEvent_KILL_TASK
			if pa {
				caps = append(caps, mesos.FrameworkInfo_Capability_PARTITION_AWARE)
				want = "t1:TASK_UNREACHABLE"
			}
			h, agentID, agentSink, fwID, sink := launched(t, caps...)
			h.s.AgentDisconnected(agentID, "stream-host0")
			h.clock.advance(74 * time.Second)
			h.s.Tick()
			if got := updates(sink.schedulerEvents()); len(got) != 0 {
				t.Fatalf("updates before the ping timeout: %v", got)
			}
			h.clock.advance(2 * time.Second)
			h.s.Tick()
			evs := sink.schedulerEvents()
			if got := updates(evs); !slices.Equal(got, []string{want}) {
				t.Fatalf("updates = %v, want %v", got, want)
			}
			if r := evs[0].GetUpdate().GetStatus().GetReason(); r != mesos.TaskStatus_REASON_AGENT_REMOVED {
				t.Errorf("reason %s", r)
			}
			if h.s.agents[agentID].state != agentUnreachable || h.registry().agents[agentID].UnreachableTime.IsZero() {
				t.Errorf("agent not unreachable in state and registry")
			}

			// The agent comes back with its task.
			back := &fakeSink{t: t}
			task := &mesos.Task{
				Name: proto.String("t1"), TaskId: taskIDpb("t1"), FrameworkId: frameworkIDpb(fwID),
				AgentId: agentIDpb(agentID), State: mesos.TaskState_TASK_RUNNING.Enum(),
				Resources: resources.MustParse("cpus:4;mem:1024").ToProto(),
			}
			id, err := h.s.SubscribeAgent(back, "stream-2", &agorapb.AgentCall_Subscribe{
				AgentInfo: &mesos.AgentInfo{Id: agentIDpb(agentID), Hostname: proto.String("host0"),
					Resources: resources.MustParse("cpus:4;mem:1024").ToProto()},
				Tasks: []*mesos.Task{task},
			})
			if err != nil || id != agentID {
				t.Fatalf("re-subscribe: %s %v", id, err)
			}
			aevs := back.agentEvents()
			if pa {
				if len(aevs) != 1 {
					t.Errorf("agent events %v, want only SUBSCRIBED", aevs)
				}
				if tk := h.s.frameworks[fwID].tasks["t1"]; tk == nil || tk.state() != mesos.TaskState_TASK_RUNNING {
					t.Errorf("partition-aware task not readmitted")
				}
				if n := len(h.offers(sink)); n != 0 {
					t.Errorf("resources of the readmitted task offered again")
				}
			} else if len(aevs) != 2 || aevs[1].GetType() != wantBack {
				t.Errorf("agent events %v, want SUBSCRIBED then KILL_TASK", aevs)
			}
			_ = agentSink
		})
	}
}

func TestUnreachableAgentRemovedAfterTimeout(t *testing.T) {
	h := newHarness(t)
	agentID, _ := h.addAgent("host0", "cpus:1;mem:128")
	h.clock.advance(76 * time.Second)
	h.s.Tick()
	if h.s.agents[agentID].state != agentUnreachable {
		t.Fatal("not unreachable")
	}
	h.clock.advance(11 * time.Minute)
	h.s.Tick()
	if h.s.agents[agentID] != nil || h.registry().agents[agentID] != nil {
		t.Errorf("unreachable agent not removed")
	}
}

func TestHeartbeatKeepsAgentReachable(t *testing.T) {
	h := newHarness(t)
	agentID, _ := h.addAgent("host0", "cpus:1;mem:128")
	for range 10 {
		h.clock.advance(30 * time.Second)
		if err := h.s.AgentCall(&agorapb.AgentCall{AgentId: agentIDpb(agentID), Type: agorapb.AgentCall_HEARTBEAT.Enum()}, "stream-host0"); err != nil {
			t.Fatal(err)
		}
		h.s.Tick()
	}
	if st := h.s.agents[agentID].state; st != agentActive {
		t.Errorf("state %s", st)
	}
}

func TestAgentDisconnectRescindsOffers(t *testing.T) {
	h := newHarness(t)
	agentID, _ := h.addAgent("host0", "cpus:1;mem:128")
	_, sink := h.subscribe(mastertest.FrameworkInfo("fw"), "s1")
	offers := h.offers(sink)
	h.s.AgentDisconnected(agentID, "stream-host0")
	evs := sink.schedulerEvents()
	if len(evs) != 1 || evs[0].GetType() != scheduler.Event_RESCIND || evs[0].GetRescind().GetOfferId().GetValue() != offers[0].GetId().GetValue() {
		t.Errorf("events %v, want RESCIND", evs)
	}
	if len(h.offers(sink)) != 0 {
		t.Errorf("offers from a disconnected agent")
	}
}

func TestOfferTimeout(t *testing.T) {
	h := newHarness(t)
	h.s.cfg.OfferTimeout = 30 * time.Second
	h.addAgent("host0", "cpus:1;mem:128")
	_, sink := h.subscribe(mastertest.FrameworkInfo("fw"), "s1")
	h.offers(sink)
	h.clock.advance(31 * time.Second)
	h.s.Tick()
	evs := sink.schedulerEvents()
	if len(evs) != 1 || evs[0].GetType() != scheduler.Event_RESCIND {
		t.Errorf("events %v, want RESCIND", evs)
	}
}

func TestReconcile(t *testing.T) {
	tests := []struct {
		name  string
		pa    bool
		tasks []*scheduler.Call_Reconcile_Task
		want  []string
	}{
		{name: "implicit", want: []string{"t1:TASK_STAGING"}},
		{name: "explicit known", tasks: []*scheduler.Call_Reconcile_Task{{TaskId: taskIDpb("t1")}}, want: []string{"t1:TASK_STAGING"}},
		{name: "explicit unknown", tasks: []*scheduler.Call_Reconcile_Task{{TaskId: taskIDpb("zz")}}, want: []string{"zz:TASK_LOST"}},
		{name: "explicit unknown partition aware", pa: true, tasks: []*scheduler.Call_Reconcile_Task{{TaskId: taskIDpb("zz")}}, want: []string{"zz:TASK_UNKNOWN"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var caps []mesos.FrameworkInfo_Capability_Type
			if tt.pa {
				caps = append(caps, mesos.FrameworkInfo_Capability_PARTITION_AWARE)
			}
			h, _, _, fwID, sink := launched(t, caps...)
			err := h.call(fwID, "s1", &scheduler.Call{Type: scheduler.Call_RECONCILE.Enum(), Reconcile: &scheduler.Call_Reconcile{Tasks: tt.tasks}})
			if err != nil {
				t.Fatal(err)
			}
			evs := sink.schedulerEvents()
			if got := updates(evs); !slices.Equal(got, tt.want) {
				t.Errorf("updates %v, want %v", got, tt.want)
			}
			for _, ev := range evs {
				if st := ev.GetUpdate().GetStatus(); st.GetReason() != mesos.TaskStatus_REASON_RECONCILIATION || len(st.GetUuid()) != 0 {
					t.Errorf("reconciliation update %v", st)
				}
			}
		})
	}
}

func TestKill(t *testing.T) {
	h, _, agentSink, fwID, sink := launched(t)
	kill := func(id string) *scheduler.Call {
		return &scheduler.Call{Type: scheduler.Call_KILL.Enum(), Kill: &scheduler.Call_Kill{TaskId: taskIDpb(id)}}
	}
	if err := h.call(fwID, "s1", kill("t1")); err != nil {
		t.Fatal(err)
	}
	if evs := agentSink.agentEvents(); len(evs) != 1 || evs[0].GetType() != agorapb.AgentEvent_KILL_TASK {
		t.Errorf("agent events %v", evs)
	}
	if err := h.call(fwID, "s1", kill("nope")); err != nil {
		t.Fatal(err)
	}
	if got := updates(sink.schedulerEvents()); !slices.Equal(got, []string{"nope:TASK_LOST"}) {
		t.Errorf("kill of unknown task: %v", got)
	}
}

func TestTeardownKillsTasks(t *testing.T) {
	h, _, agentSink, fwID, sink := launched(t)
	if err := h.call(fwID, "s1", &scheduler.Call{Type: scheduler.Call_TEARDOWN.Enum()}); err != nil {
		t.Fatal(err)
	}
	if !sink.closed {
		t.Errorf("stream not closed")
	}
	if evs := agentSink.agentEvents(); len(evs) != 1 || evs[0].GetType() != agorapb.AgentEvent_SHUTDOWN_FRAMEWORK {
		t.Errorf("agent events %v", evs)
	}
	if len(h.s.completedFrameworks) != 1 || h.s.completedFrameworks[0].completed[0].state() != mesos.TaskState_TASK_KILLED {
		t.Errorf("completed framework/task not recorded")
	}
}

func TestAgentReregisterAfterMasterRestart(t *testing.T) {
	h, agentID, _, fwID, _ := launched(t)
	// A new master state recovers from the same registry.
	h2 := recoveredFrom(t, h)
	if a := h2.s.agents[agentID]; a == nil || a.state != agentRecovered {
		t.Fatalf("agent not recovered")
	}
	back := &fakeSink{t: t}
	_, err := h2.s.SubscribeAgent(back, "x", &agorapb.AgentCall_Subscribe{
		AgentInfo: &mesos.AgentInfo{Id: agentIDpb(agentID), Hostname: proto.String("host0"), Resources: resources.MustParse("cpus:4;mem:1024").ToProto()},
		Tasks: []*mesos.Task{{
			Name: proto.String("t1"), TaskId: taskIDpb("t1"), FrameworkId: frameworkIDpb(fwID), AgentId: agentIDpb(agentID),
			State: mesos.TaskState_TASK_RUNNING.Enum(), Resources: resources.MustParse("cpus:4;mem:1024").ToProto(),
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The framework re-subscribes and finds its task, with no resources to offer.
	info := mastertest.FrameworkInfo("fw")
	info.Id = frameworkIDpb(fwID)
	id, sink := h2.subscribe(info, "s2")
	if id != fwID {
		t.Fatalf("id %s", id)
	}
	if tk := h2.s.frameworks[fwID].tasks["t1"]; tk == nil || tk.state() != mesos.TaskState_TASK_RUNNING {
		t.Errorf("task not known after re-registration")
	}
	if n := len(h2.offers(sink)); n != 0 {
		t.Errorf("used resources offered (%d offers)", n)
	}
}

func TestMasterLostTaskInFlight(t *testing.T) {
	h, agentID, _, fwID, sink := launched(t)
	// The agent re-subscribes without t1 (the RUN_TASK was lost).
	back := &fakeSink{t: t}
	if _, err := h.s.SubscribeAgent(back, "x", &agorapb.AgentCall_Subscribe{
		AgentInfo: &mesos.AgentInfo{Id: agentIDpb(agentID), Hostname: proto.String("host0"), Resources: resources.MustParse("cpus:4;mem:1024").ToProto()},
	}); err != nil {
		t.Fatal(err)
	}
	if got := updates(sink.schedulerEvents()); !slices.Equal(got, []string{"t1:TASK_LOST"}) {
		t.Errorf("updates %v", got)
	}
	if n := len(h.offers(sink)); n != 1 {
		t.Errorf("resources of the lost task not offered (%d)", n)
	}
	_ = fwID
}

func TestTakeEffects(t *testing.T) {
	h := newHarness(t)
	agentID, _ := h.addAgent("host0", "cpus:1;mem:128")
	e := h.s.TakeEffects()
	if len(e.Writes.Agents) != 1 || e.Writes.Agents[0].Info.GetId().GetValue() != agentID {
		t.Errorf("writes %+v, want the new agent's record", e.Writes)
	}
	if len(e.Notes) != 1 || e.Notes[0].Message != "agent registered" {
		t.Errorf("notes %+v, want one for the registered agent", e.Notes)
	}
	if e := h.s.TakeEffects(); !e.Writes.Empty() || len(e.Notes) != 0 {
		t.Errorf("effects taken twice: %+v", e)
	}
	// A removed agent's record is deleted, not written.
	h.clock.advance(76 * time.Second)
	h.s.Tick()
	h.clock.advance(11 * time.Minute)
	h.s.Tick()
	if e := h.s.TakeEffects(); len(e.Writes.Agents) != 0 || !slices.Equal(e.Writes.DeletedAgents, []string{agentID}) {
		t.Errorf("writes %+v, want the agent's record deleted", e.Writes)
	}
}

// TestReconcileWhileAgentsRecover: after a failover, a task on an agent that may
// still re-register gets no answer (as Mesos), not TASK_LOST; once the agent's
// re-registration timeout passes it is unreachable and says so.
func TestReconcileWhileAgentsRecover(t *testing.T) {
	h, agentID, _, fwID, _ := launched(t)
	h2 := recoveredFrom(t, h)
	info := mastertest.FrameworkInfo("fw")
	info.Id = frameworkIDpb(fwID)
	_, sink := h2.subscribe(info, "s2")
	sink.schedulerEvents() // SUBSCRIBED and what followed
	reconcile := func(tasks ...*scheduler.Call_Reconcile_Task) []string {
		t.Helper()
		if err := h2.call(fwID, "s2", &scheduler.Call{Type: scheduler.Call_RECONCILE.Enum(), Reconcile: &scheduler.Call_Reconcile{Tasks: tasks}}); err != nil {
			t.Fatal(err)
		}
		return updates(sink.schedulerEvents())
	}
	onAgent := &scheduler.Call_Reconcile_Task{TaskId: taskIDpb("t1"), AgentId: agentIDpb(agentID)}
	noAgent := &scheduler.Call_Reconcile_Task{TaskId: taskIDpb("t1")}
	for _, tt := range []struct {
		name string
		task *scheduler.Call_Reconcile_Task
	}{{"on a recovered agent", onAgent}, {"agent not named, agents recovering", noAgent}} {
		if got := reconcile(tt.task); len(got) != 0 {
			t.Errorf("%s: updates %v, want none while the agent may re-register", tt.name, got)
		}
	}
	h2.clock.advance(h2.s.cfg.AgentReregisterTimeout + time.Second)
	h2.s.Tick()
	sink.schedulerEvents()
	if got := reconcile(onAgent); !slices.Equal(got, []string{"t1:TASK_LOST"}) {
		t.Errorf("after the re-registration timeout: updates %v, want t1:TASK_LOST", got)
	}
}

// recoveredFrom returns a harness whose ledger recovered from h's registry, as a
// new master does.
func recoveredFrom(t *testing.T, h *harness) *harness {
	t.Helper()
	h2 := newHarness(t)
	h2.reg = h.registry()
	var agents []*registry.AgentRecord
	var fws []*registry.FrameworkRecord
	for _, a := range h.registry().agents {
		agents = append(agents, a)
	}
	for _, f := range h.registry().frameworks {
		fws = append(fws, f)
	}
	h2.s.Recover(agents, fws)
	return h2
}
