package ledger

import (
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/master/mastertest"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
	"github.com/agoracluster/agora/resources"
)

func customExecutor(id, res string) *mesos.ExecutorInfo {
	return &mesos.ExecutorInfo{
		ExecutorId: executorIDpb(id),
		Command:    &mesos.CommandInfo{Value: proto.String("./my-executor")},
		Resources:  resources.MustParse(res).ToProto(),
	}
}

func TestCustomExecutorLifecycle(t *testing.T) {
	h := newHarness(t)
	agentID, agentSink := h.addAgent("host0", "cpus:4;mem:1024")
	fwID, sink := h.subscribe(mastertest.FrameworkInfo("fw"), "s1")
	offers := h.offers(sink)
	t1 := mastertest.CommandTask("t1", agentID, "cpus:1;mem:128")
	t1.Command, t1.Executor = nil, customExecutor("e1", "cpus:1;mem:128")
	t2 := mastertest.CommandTask("t2", agentID, "cpus:1;mem:128")
	t2.Command, t2.Executor = nil, customExecutor("e1", "cpus:1;mem:128")
	t3 := mastertest.CommandTask("t3", agentID, "cpus:1;mem:128")
	t3.Command, t3.Executor = nil, customExecutor("e1", "cpus:2;mem:128") // differs from the running e1
	if err := h.call(fwID, "s1", mastertest.LaunchCall(mastertest.OfferIDs(offers...), t1, t2, t3)); err != nil {
		t.Fatal(err)
	}
	if got := updates(sink.schedulerEvents()); !slices.Equal(got, []string{"t3:TASK_ERROR"}) {
		t.Errorf("updates %v", got)
	}
	var runs int
	for _, ev := range agentSink.agentEvents() {
		if ev.GetType() == agorapb.AgentEvent_RUN_TASK {
			runs++
			if ev.GetRunTask().GetTask().GetExecutor().GetFrameworkId().GetValue() != fwID {
				t.Errorf("executor framework id not filled in")
			}
		}
	}
	if runs != 2 {
		t.Errorf("%d RUN_TASK, want 2", runs)
	}
	// t1 + t2 + the executor once: cpus:3;mem:384 used, the rest is offered again.
	h.clock.advance(6 * time.Second)
	offers = h.offers(sink)
	if len(offers) != 1 {
		t.Fatalf("offers %v", offers)
	}
	if got, _ := resources.FromProto(offers[0].GetResources()); !got.Equal(resources.MustParse("cpus:1;mem:640")) {
		t.Errorf("offered %s, want cpus:1;mem:640", got)
	}
	if !slices.ContainsFunc(offers[0].GetExecutorIds(), func(id *mesos.ExecutorID) bool { return id.GetValue() == "e1" }) {
		t.Errorf("offer does not list the running executor")
	}

	// The executor exits: the framework hears of it and its resources come back.
	err := h.s.AgentCall(&agorapb.AgentCall{AgentId: agentIDpb(agentID), Type: agorapb.AgentCall_EXECUTOR_EXITED.Enum(),
		ExecutorExited: &agorapb.AgentCall_ExecutorExited{FrameworkId: frameworkIDpb(fwID), ExecutorId: executorIDpb("e1"), Status: proto.Int32(9)}},
		"stream-host0")
	if err != nil {
		t.Fatal(err)
	}
	evs := sink.schedulerEvents()
	if len(evs) != 1 || evs[0].GetType() != scheduler.Event_FAILURE || evs[0].GetFailure().GetExecutorId().GetValue() != "e1" {
		t.Errorf("events %v, want FAILURE for e1", evs)
	}
}

func TestLaunchGroup(t *testing.T) {
	tests := []struct {
		name    string
		tasks   []string // task ids
		res     string   // per task
		wantRun bool
		want    []string
	}{
		{name: "valid", tasks: []string{"a", "b"}, res: "cpus:1;mem:64", wantRun: true},
		{name: "too big", tasks: []string{"a", "b"}, res: "cpus:2;mem:64", want: []string{"a:TASK_ERROR", "b:TASK_ERROR"}},
		{name: "duplicate ids", tasks: []string{"a", "a"}, res: "cpus:1", want: []string{"a:TASK_ERROR", "a:TASK_ERROR"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			agentID, agentSink := h.addAgent("host0", "cpus:3;mem:1024")
			fwID, sink := h.subscribe(mastertest.FrameworkInfo("fw"), "s1")
			offers := h.offers(sink)
			group := &mesos.TaskGroupInfo{}
			for _, id := range tt.tasks {
				ti := mastertest.CommandTask(id, agentID, tt.res)
				group.Tasks = append(group.Tasks, ti)
			}
			exec := customExecutor("default", "cpus:0.5;mem:32")
			exec.Type = mesos.ExecutorInfo_DEFAULT.Enum()
			exec.Command = nil
			call := &scheduler.Call{Type: scheduler.Call_ACCEPT.Enum(), Accept: &scheduler.Call_Accept{
				OfferIds: mastertest.OfferIDs(offers...),
				Operations: []*mesos.Offer_Operation{{
					Type:        mesos.Offer_Operation_LAUNCH_GROUP.Enum(),
					LaunchGroup: &mesos.Offer_Operation_LaunchGroup{Executor: exec, TaskGroup: group},
				}},
			}}
			if err := h.call(fwID, "s1", call); err != nil {
				t.Fatal(err)
			}
			if got := updates(sink.schedulerEvents()); !slices.Equal(got, tt.want) {
				t.Errorf("updates %v, want %v", got, tt.want)
			}
			evs := agentSink.agentEvents()
			gotRun := len(evs) == 1 && evs[0].GetType() == agorapb.AgentEvent_RUN_TASK_GROUP
			if gotRun != tt.wantRun {
				t.Errorf("RUN_TASK_GROUP sent = %v, want %v (%v)", gotRun, tt.wantRun, evs)
			}
		})
	}
}

func TestUnsupportedOperationIsDropped(t *testing.T) {
	h := newHarness(t)
	h.addAgent("host0", "cpus:2;mem:256")
	fwID, sink := h.subscribe(mastertest.FrameworkInfo("fw"), "s1")
	offers := h.offers(sink)
	call := &scheduler.Call{Type: scheduler.Call_ACCEPT.Enum(), Accept: &scheduler.Call_Accept{
		OfferIds: mastertest.OfferIDs(offers...),
		Operations: []*mesos.Offer_Operation{{
			Type: mesos.Offer_Operation_GROW_VOLUME.Enum(),
			Id:   &mesos.OperationID{Value: proto.String("op1")},
			GrowVolume: &mesos.Offer_Operation_GrowVolume{
				Volume: resources.MustParse("disk:1").ToProto()[0], Addition: resources.MustParse("disk:1").ToProto()[0],
			},
		}},
		Filters: &mesos.Filters{RefuseSeconds: proto.Float64(0)},
	}}
	if err := h.call(fwID, "s1", call); err != nil {
		t.Fatal(err)
	}
	evs := sink.schedulerEvents()
	if len(evs) != 1 || evs[0].GetUpdateOperationStatus().GetStatus().GetState() != mesos.OperationState_OPERATION_ERROR ||
		!strings.Contains(evs[0].GetUpdateOperationStatus().GetStatus().GetMessage(), "not supported") {
		t.Errorf("events %v", evs)
	}
	if n := len(h.offers(sink)); n != 1 {
		t.Errorf("resources not recovered: %d offers", n)
	}
}

func TestMultiRoleOffers(t *testing.T) {
	h := newHarness(t)
	h.addAgent("host0", "cpus:2;mem:256;cpus(web):1")
	info := mastertest.FrameworkInfo("fw", mesos.FrameworkInfo_Capability_MULTI_ROLE)
	info.Role = nil
	info.Roles = []string{"web"}
	_, sink := h.subscribe(info, "s1")
	offers := h.offers(sink)
	if len(offers) != 1 {
		t.Fatalf("offers %v", offers)
	}
	o := offers[0]
	if o.GetAllocationInfo().GetRole() != "web" {
		t.Errorf("allocation_info %v", o.GetAllocationInfo())
	}
	for _, r := range o.GetResources() {
		if r.GetAllocationInfo().GetRole() != "web" {
			t.Errorf("resource %v without allocation_info", r)
		}
	}
}

func TestSuppressRevive(t *testing.T) {
	h := newHarness(t)
	h.addAgent("host0", "cpus:2;mem:256")
	fwID, sink := h.subscribe(mastertest.FrameworkInfo("fw"), "s1")
	if err := h.call(fwID, "s1", &scheduler.Call{Type: scheduler.Call_SUPPRESS.Enum()}); err != nil {
		t.Fatal(err)
	}
	if n := len(h.offers(sink)); n != 0 {
		t.Errorf("offers while suppressed")
	}
	if err := h.call(fwID, "s1", &scheduler.Call{Type: scheduler.Call_REVIVE.Enum()}); err != nil {
		t.Fatal(err)
	}
	if n := len(h.offers(sink)); n != 1 {
		t.Errorf("no offers after revive")
	}
}

func TestMessagesAndShutdown(t *testing.T) {
	h, agentID, agentSink, fwID, sink := launched(t)
	err := h.call(fwID, "s1", &scheduler.Call{Type: scheduler.Call_MESSAGE.Enum(), Message: &scheduler.Call_Message{
		AgentId: agentIDpb(agentID), ExecutorId: executorIDpb("t1"), Data: []byte("hi"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	err = h.call(fwID, "s1", &scheduler.Call{Type: scheduler.Call_SHUTDOWN.Enum(), Shutdown: &scheduler.Call_Shutdown{
		AgentId: agentIDpb(agentID), ExecutorId: executorIDpb("t1"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	var types []agorapb.AgentEvent_Type
	evs0 := agentSink.agentEvents()
	for _, ev := range evs0 {
		types = append(types, ev.GetType())
	}
	if !slices.Equal(types, []agorapb.AgentEvent_Type{agorapb.AgentEvent_FRAMEWORK_MESSAGE, agorapb.AgentEvent_SHUTDOWN_EXECUTOR}) {
		t.Fatalf("agent events %v", types)
	}
	if sh := evs0[1].GetShutdownExecutor(); sh.GetFrameworkId().GetValue() != fwID || sh.GetExecutorId().GetValue() != "t1" {
		t.Errorf("SHUTDOWN_EXECUTOR %v", sh)
	}
	err = h.s.AgentCall(&agorapb.AgentCall{AgentId: agentIDpb(agentID), Type: agorapb.AgentCall_FRAMEWORK_MESSAGE.Enum(),
		FrameworkMessage: &agorapb.AgentCall_FrameworkMessage{FrameworkId: frameworkIDpb(fwID), ExecutorId: executorIDpb("t1"), Data: []byte("yo")}},
		"stream-host0")
	if err != nil {
		t.Fatal(err)
	}
	evs := sink.schedulerEvents()
	if len(evs) != 1 || string(evs[0].GetMessage().GetData()) != "yo" {
		t.Errorf("events %v", evs)
	}
}

func TestShutdownExecutorForwarding(t *testing.T) {
	tests := []struct {
		name     string
		agentID  func(agentID string) string
		execID   string
		wantSent bool
	}{
		{"known executor", func(id string) string { return id }, "t1", true},
		{"executor unknown to the master is forwarded", func(id string) string { return id }, "nope", true},
		{"unknown agent", func(string) string { return "no-such-agent" }, "t1", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, agentID, agentSink, fwID, _ := launched(t)
			err := h.call(fwID, "s1", &scheduler.Call{Type: scheduler.Call_SHUTDOWN.Enum(), Shutdown: &scheduler.Call_Shutdown{
				AgentId: agentIDpb(tc.agentID(agentID)), ExecutorId: executorIDpb(tc.execID),
			}})
			if err != nil {
				t.Fatal(err)
			}
			evs := agentSink.agentEvents()
			if !tc.wantSent {
				if len(evs) != 0 {
					t.Errorf("agent events %v, want none", evs)
				}
				return
			}
			if len(evs) != 1 || evs[0].GetType() != agorapb.AgentEvent_SHUTDOWN_EXECUTOR {
				t.Fatalf("agent events %v, want SHUTDOWN_EXECUTOR", evs)
			}
			if got := evs[0].GetShutdownExecutor().GetExecutorId().GetValue(); got != tc.execID {
				t.Errorf("executor id %q, want %q", got, tc.execID)
			}
			// The master does not kill the tasks itself: the agent reports their end.
			if st := h.s.agents[agentID].tasks; len(st) == 0 {
				t.Errorf("task vanished from the master")
			}
		})
	}
}

func TestUpdateResources(t *testing.T) {
	h := newHarness(t)
	agentID, _ := h.addAgent("host0", "cpus:2;mem:256")
	_, sink := h.subscribe(mastertest.FrameworkInfo("fw"), "s1")
	h.offers(sink)
	err := h.s.AgentCall(&agorapb.AgentCall{AgentId: agentIDpb(agentID), Type: agorapb.AgentCall_UPDATE_RESOURCES.Enum(),
		UpdateResources: &agorapb.AgentCall_UpdateResources{Total: resources.MustParse("cpus:8;mem:256").ToProto()}}, "stream-host0")
	if err != nil {
		t.Fatal(err)
	}
	evs := sink.schedulerEvents()
	if len(evs) != 1 || evs[0].GetType() != scheduler.Event_RESCIND {
		t.Errorf("events %v, want RESCIND", evs)
	}
	offers := h.offers(sink)
	if len(offers) != 1 {
		t.Fatalf("offers %v", offers)
	}
	if got, _ := resources.FromProto(offers[0].GetResources()); got.Scalar("cpus") != 8 {
		t.Errorf("offered %s", got)
	}
}

func TestPartitionAwareTaskGoneAfterRestartOfAgent(t *testing.T) {
	h, agentID, _, fwID, sink := launched(t, mesos.FrameworkInfo_Capability_PARTITION_AWARE)
	h.clock.advance(76 * time.Second)
	h.s.Tick()
	if got := updates(sink.schedulerEvents()); !slices.Equal(got, []string{"t1:TASK_UNREACHABLE"}) {
		t.Fatalf("updates %v", got)
	}
	back := &fakeSink{t: t}
	if _, err := h.s.SubscribeAgent(back, "x", &agorapb.AgentCall_Subscribe{
		AgentInfo: &mesos.AgentInfo{Id: agentIDpb(agentID), Hostname: proto.String("host0"), Resources: resources.MustParse("cpus:4;mem:1024").ToProto()},
	}); err != nil {
		t.Fatal(err)
	}
	if got := updates(sink.schedulerEvents()); !slices.Equal(got, []string{"t1:TASK_GONE"}) {
		t.Errorf("updates %v, want t1:TASK_GONE", got)
	}
	if len(h.s.frameworks[fwID].unreachable) != 0 {
		t.Errorf("task still unreachable")
	}
}
