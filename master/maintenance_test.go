package master

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/apicodec"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	maintpb "github.com/agoracluster/agora/proto/mesos/v1/maintenance"
	masterpb "github.com/agoracluster/agora/proto/mesos/v1/master"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
)

// TestMaintenanceEndpoints drives a machine through a maintenance window with
// Mesos's endpoints and the v1 calls: scheduled (DRAINING, the framework gets an
// inverse offer), DOWN (the agent is shut down), UP; bad input is a 400 naming the
// field and changes nothing.
func TestMaintenanceEndpoints(t *testing.T) {
	tm := startMaster(t, nil)
	rt := launchRunningTask(t, tm)
	js := map[string]string{"Content-Type": apicodec.MediaJSON}

	if s := tm.mustOperator(apicodec.JSON, opCall(masterpb.Call_GET_MAINTENANCE_SCHEDULE)).GetGetMaintenanceSchedule().GetSchedule(); len(s.GetWindows()) != 0 {
		t.Fatalf("initial schedule = %v", s)
	}
	start := time.Now().Add(time.Hour).UnixNano()
	sched := `{"windows":[{"machine_ids":[{"hostname":"agent1"}],"unavailability":{"start":{"nanoseconds":` +
		jsonNumber(start) + `},"duration":{"nanoseconds":3600000000000}}}]}`
	if code, body := tm.do(http.MethodPost, "/maintenance/schedule", js, sched); code != http.StatusOK {
		t.Fatalf("POST /maintenance/schedule: %d %s", code, body)
	}
	code, body := tm.do(http.MethodGet, "/maintenance/schedule", nil, "")
	var got struct {
		Windows []struct {
			MachineIDs     []map[string]string `json:"machine_ids"`
			Unavailability struct {
				Start struct {
					Nanoseconds int64 `json:"nanoseconds"`
				} `json:"start"`
			} `json:"unavailability"`
		} `json:"windows"`
	}
	if err := json.Unmarshal([]byte(body), &got); code != 200 || err != nil || len(got.Windows) != 1 ||
		got.Windows[0].MachineIDs[0]["hostname"] != "agent1" || got.Windows[0].Unavailability.Start.Nanoseconds != start {
		t.Fatalf("GET /maintenance/schedule: %d %s (%v)", code, body, err)
	}

	// The framework running on the draining machine is asked for its resources back.
	ev := &scheduler.Event{}
	rt.fw.next(ev, func() bool { return ev.GetType() == scheduler.Event_INVERSE_OFFERS })
	if ios := ev.GetInverseOffers().GetInverseOffers(); len(ios) != 1 || ios[0].GetAgentId().GetValue() != rt.agentID ||
		ios[0].GetUnavailability().GetStart().GetNanoseconds() != start {
		t.Fatalf("inverse offers = %v", ios)
	}
	code, body = tm.do(http.MethodGet, "/maintenance/status", nil, "")
	if code != 200 || !strings.Contains(body, `"draining_machines":[{"id":{"hostname":"agent1"}}]`) {
		t.Fatalf("GET /maintenance/status: %d %s", code, body)
	}

	for _, tc := range []struct {
		name, path, body, want string
	}{
		{"machine in two windows", "/maintenance/schedule", `{"windows":[` +
			`{"machine_ids":[{"hostname":"agent1"}],"unavailability":{"start":{"nanoseconds":1}}},` +
			`{"machine_ids":[{"hostname":"AGENT1"}],"unavailability":{"start":{"nanoseconds":2}}}]}`, "windows[1].machine_ids[0]"},
		{"window without machines", "/maintenance/schedule", `{"windows":[{"unavailability":{"start":{"nanoseconds":1}}}]}`, "windows[0].machine_ids"},
		{"bad ip", "/maintenance/schedule", `{"windows":[{"machine_ids":[{"ip":"x"}],"unavailability":{"start":{"nanoseconds":1}}}]}`, "windows[0].machine_ids[0].ip"},
		{"malformed schedule", "/maintenance/schedule", `{"windows":`, "Failed to parse"},
		{"down an unscheduled machine", "/machine/down", `[{"hostname":"elsewhere"}]`, "machines[0]: machine elsewhere is not part of a maintenance schedule"},
		{"up a draining machine", "/machine/up", `[{"hostname":"agent1"}]`, "machines[0]: machine agent1 is DRAINING"},
		{"machines not an array", "/machine/down", `{"hostname":"agent1"}`, "Failed to parse"},
	} {
		if code, body := tm.do(http.MethodPost, tc.path, js, tc.body); code != http.StatusBadRequest || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %q, want 400 naming %q", tc.name, code, body, tc.want)
		}
	}
	status := tm.mustOperator(apicodec.JSON, opCall(masterpb.Call_GET_MAINTENANCE_STATUS)).GetGetMaintenanceStatus().GetStatus()
	if len(status.GetDrainingMachines()) != 1 || len(status.GetDownMachines()) != 0 {
		t.Fatalf("status after refused calls = %v", status)
	}

	// DOWN with the v1 call: the agent is told to shut down and removed.
	down := &masterpb.Call{Type: masterpb.Call_START_MAINTENANCE.Enum(), StartMaintenance: &masterpb.Call_StartMaintenance{
		Machines: []*mesos.MachineID{{Hostname: proto.String("agent1")}}}}
	tm.mustOperator(apicodec.JSON, down)
	aev := &agorapb.AgentEvent{}
	rt.agent.next(aev, func() bool { return aev.GetType() == agorapb.AgentEvent_SHUTDOWN })
	if as := tm.mustOperator(apicodec.JSON, opCall(masterpb.Call_GET_AGENTS)).GetGetAgents().GetAgents(); len(as) != 0 {
		t.Errorf("agents of a DOWN machine = %v", as)
	}
	code, body = tm.do(http.MethodGet, "/maintenance/status", nil, "")
	if code != 200 || !strings.Contains(body, `"down_machines":[{"hostname":"agent1"}]`) {
		t.Errorf("GET /maintenance/status after down: %d %s", code, body)
	}
	// STOP_MAINTENANCE of a machine that is not DOWN names it.
	up := &masterpb.Call{Type: masterpb.Call_STOP_MAINTENANCE.Enum(), StopMaintenance: &masterpb.Call_StopMaintenance{
		Machines: []*mesos.MachineID{{Hostname: proto.String("agent1")}, {Hostname: proto.String("agent2")}}}}
	if code, _, body := tm.operator(apicodec.JSON, up); code != 400 || !strings.Contains(body, "stop_maintenance.machines[1]") {
		t.Errorf("STOP_MAINTENANCE with an unknown machine: %d %s", code, body)
	}
	if code, body := tm.do(http.MethodPost, "/machine/up", js, `[{"hostname":"agent1"}]`); code != http.StatusOK {
		t.Fatalf("POST /machine/up: %d %s", code, body)
	}
	sched2 := tm.mustOperator(apicodec.JSON, opCall(masterpb.Call_GET_MAINTENANCE_SCHEDULE)).GetGetMaintenanceSchedule().GetSchedule()
	if !proto.Equal(sched2, &maintpb.Schedule{}) {
		t.Errorf("schedule after up = %v, want empty", sched2)
	}
}

func jsonNumber(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestDrainAndReactivateAgent: DRAIN_AGENT kills the agent's tasks with the drain's
// grace period and keeps offers away; REACTIVATE_AGENT brings the agent back.
func TestDrainAndReactivateAgent(t *testing.T) {
	tm := startMaster(t, nil)
	rt := launchRunningTask(t, tm)
	agentID := &mesos.AgentID{Value: proto.String(rt.agentID)}
	reactivate := &masterpb.Call{Type: masterpb.Call_REACTIVATE_AGENT.Enum(), ReactivateAgent: &masterpb.Call_ReactivateAgent{AgentId: agentID}}
	if code, _, body := tm.operator(apicodec.JSON, reactivate); code != 400 || !strings.Contains(body, "not deactivated") {
		t.Errorf("REACTIVATE_AGENT of an active agent: %d %s", code, body)
	}
	drain := &masterpb.Call{Type: masterpb.Call_DRAIN_AGENT.Enum(), DrainAgent: &masterpb.Call_DrainAgent{
		AgentId: agentID, MaxGracePeriod: &mesos.DurationInfo{Nanoseconds: proto.Int64(int64(3 * time.Second))}}}
	tm.mustOperator(apicodec.Protobuf, drain)
	aev := &agorapb.AgentEvent{}
	rt.agent.next(aev, func() bool { return aev.GetType() == agorapb.AgentEvent_KILL_TASK })
	if k := aev.GetKillTask(); k.GetTaskId().GetValue() != "t1" || k.GetKillPolicy().GetGracePeriod().GetNanoseconds() != int64(3*time.Second) {
		t.Errorf("kill = %v, want t1 with a 3s grace", k)
	}
	as := tm.mustOperator(apicodec.JSON, opCall(masterpb.Call_GET_AGENTS)).GetGetAgents().GetAgents()
	if len(as) != 1 || !as[0].GetDeactivated() || as[0].GetActive() || as[0].GetDrainInfo().GetState() != mesos.DrainState_DRAINING ||
		as[0].GetDrainInfo().GetConfig().GetMaxGracePeriod().GetNanoseconds() != int64(3*time.Second) {
		t.Fatalf("agents while draining = %v", as)
	}
	if code, body := tm.do(http.MethodGet, "/state", nil, ""); code != 200 ||
		!strings.Contains(body, `"deactivated":true,"drain_info":{"config":{"max_grace_period":{"nanoseconds":3000000000}},"state":"DRAINING"}`) {
		t.Errorf("/state while draining: %d %s", code, body)
	}
	tm.mustOperator(apicodec.JSON, reactivate)
	as = tm.mustOperator(apicodec.JSON, opCall(masterpb.Call_GET_AGENTS)).GetGetAgents().GetAgents()
	if len(as) != 1 || as[0].GetDeactivated() || !as[0].GetActive() || as[0].DrainInfo != nil {
		t.Errorf("agents after reactivation = %v", as)
	}
	// The agent is offered again.
	ev := &scheduler.Event{}
	rt.fw.next(ev, func() bool {
		return ev.GetType() == scheduler.Event_OFFERS && ev.GetOffers().GetOffers()[0].GetAgentId().GetValue() == rt.agentID
	})

	// MARK_AGENT_GONE removes it for good.
	gone := &masterpb.Call{Type: masterpb.Call_MARK_AGENT_GONE.Enum(), MarkAgentGone: &masterpb.Call_MarkAgentGone{AgentId: agentID}}
	tm.mustOperator(apicodec.JSON, gone)
	rt.agent.next(aev, func() bool { return aev.GetType() == agorapb.AgentEvent_SHUTDOWN })
	if as := tm.mustOperator(apicodec.JSON, opCall(masterpb.Call_GET_AGENTS)).GetGetAgents().GetAgents(); len(as) != 0 {
		t.Errorf("agents after MARK_AGENT_GONE = %v", as)
	}
	unknown := &masterpb.Call{Type: masterpb.Call_MARK_AGENT_GONE.Enum(), MarkAgentGone: &masterpb.Call_MarkAgentGone{
		AgentId: &mesos.AgentID{Value: proto.String("nope")}}}
	if code, _, body := tm.operator(apicodec.JSON, unknown); code != 400 || !strings.Contains(body, "mark_agent_gone.agent_id: unknown agent nope") {
		t.Errorf("MARK_AGENT_GONE of an unknown agent: %d %s", code, body)
	}
}
