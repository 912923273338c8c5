package master

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/apicodec"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	masterpb "github.com/agoracluster/agora/proto/mesos/v1/master"
	"github.com/agoracluster/agora/resources"
)

// subscribeFakeAgent opens a fake agent's stream with res and returns its id and stream.
func subscribeFakeAgent(t *testing.T, tm *testMaster, res string) (string, *eventStream) {
	t.Helper()
	pb := map[string]string{"Content-Type": apicodec.MediaProtobuf, "Accept": apicodec.MediaProtobuf}
	call := &agorapb.AgentCall{Type: agorapb.AgentCall_SUBSCRIBE.Enum(), Subscribe: &agorapb.AgentCall_Subscribe{
		AgentInfo: &mesos.AgentInfo{Hostname: proto.String("agent1"), Port: proto.Int32(5051), Resources: resources.MustParse(res).ToProto()},
		Version:   proto.String("test"),
	}}
	agent := openStream(t, tm.post("/api/v1/agent", pb, mustMarshal(t, apicodec.Protobuf, call)))
	ev := &agorapb.AgentEvent{}
	agent.next(ev, func() bool { return ev.GetType() == agorapb.AgentEvent_SUBSCRIBED })
	return ev.GetSubscribed().GetAgentId().GetValue(), agent
}

// postForm posts a form to a legacy endpoint and returns the status and body.
func (tm *testMaster) postForm(path string, form url.Values) (int, string) {
	tm.t.Helper()
	resp := tm.post(path, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, []byte(form.Encode()))
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(b)
}

func resourcesJSON(t *testing.T, r resources.Resources) string {
	t.Helper()
	var parts []string
	for _, pb := range r.ToProto() {
		b, err := apicodec.JSON.Marshal(pb)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, string(b))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func agentTotal(t *testing.T, tm *testMaster) resources.Resources {
	t.Helper()
	agents := tm.mustOperator(apicodec.JSON, opCall(masterpb.Call_GET_AGENTS)).GetGetAgents().GetAgents()
	if len(agents) != 1 {
		t.Fatalf("%d agents", len(agents))
	}
	r, err := resources.FromProto(agents[0].GetTotalResources())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestOperatorReservationsAndVolumes(t *testing.T) {
	tm := startMaster(t, nil)
	agentID, agent := subscribeFakeAgent(t, tm, "cpus:2;mem:256;disk:1000")
	reserved := resources.MustParse("cpus:1;disk:100").PushReservation(resources.Dynamic("web", "ops"))
	volR := resources.ScalarResource("disk", "", 60).PushReservation(resources.Dynamic("web", "ops"))
	volR.Volume = &resources.Volume{ID: "v1", Principal: "ops", ContainerPath: "data"}
	vol := resources.Of(volR)

	checkpointed := func() resources.Resources {
		t.Helper()
		ev := &agorapb.AgentEvent{}
		agent.next(ev, func() bool { return ev.GetType() == agorapb.AgentEvent_CHECKPOINT_RESOURCES })
		r, err := resources.FromProto(ev.GetCheckpointResources().GetResources())
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	// v1 RESERVE_RESOURCES.
	reserve := opCall(masterpb.Call_RESERVE_RESOURCES)
	reserve.ReserveResources = &masterpb.Call_ReserveResources{AgentId: &mesos.AgentID{Value: proto.String(agentID)}, Resources: reserved.ToProto()}
	if code, _, body := tm.operator(apicodec.JSON, reserve); code != http.StatusAccepted {
		t.Fatalf("RESERVE_RESOURCES: %d %s", code, body)
	}
	if got := checkpointed(); !got.Equal(reserved) {
		t.Fatalf("agent checkpoint = %q, want %q", got, reserved)
	}

	// Legacy /create-volumes.
	if code, body := tm.postForm("/master/create-volumes", url.Values{"slaveId": {agentID}, "volumes": {resourcesJSON(t, vol)}}); code != http.StatusAccepted {
		t.Fatalf("/create-volumes: %d %s", code, body)
	}
	want := resources.MustParse("cpus:1;mem:256;disk:900").Plus(resources.MustParse("cpus:1;disk:40").PushReservation(resources.Dynamic("web", "ops"))).Plus(vol)
	if got := checkpointed(); !got.Equal(want.Checkpointed()) {
		t.Fatalf("agent checkpoint = %q, want %q", got, want.Checkpointed())
	}
	if got := agentTotal(t, tm); !got.Equal(want) {
		t.Fatalf("agent total = %q, want %q", got, want)
	}

	// /state shows the reservation and the volume under the role.
	resp, err := tm.client.Get(tm.url + "/state")
	if err != nil {
		t.Fatal(err)
	}
	var state struct {
		Slaves []struct {
			Reserved     map[string]map[string]any `json:"reserved_resources"`
			ReservedFull map[string][]struct {
				Name string `json:"name"`
				Disk *struct {
					Persistence struct {
						ID string `json:"id"`
					} `json:"persistence"`
				} `json:"disk"`
			} `json:"reserved_resources_full"`
		} `json:"slaves"`
	}
	err = json.NewDecoder(resp.Body).Decode(&state)
	resp.Body.Close()
	if err != nil || len(state.Slaves) != 1 {
		t.Fatalf("/state: %v, %+v", err, state)
	}
	if got := state.Slaves[0].Reserved["web"]["disk"]; got != 100.0 {
		t.Errorf("reserved_resources[web][disk] = %v, want 100", got)
	}
	volumes := 0
	for _, r := range state.Slaves[0].ReservedFull["web"] {
		if r.Disk != nil && r.Disk.Persistence.ID == "v1" {
			volumes++
		}
	}
	if volumes != 1 {
		t.Errorf("reserved_resources_full[web] = %+v, want volume v1 in it", state.Slaves[0].ReservedFull["web"])
	}

	unreservedVol := resources.ScalarResource("disk", "", 10)
	unreservedVol.Volume = &resources.Volume{ID: "v2", ContainerPath: "x"}
	tests := []struct {
		name    string
		path    string
		form    url.Values
		code    int
		message string
	}{
		{"no slaveId", "/reserve", url.Values{"resources": {"[]"}}, 400, "Missing 'slaveId'"},
		{"no resources", "/reserve", url.Values{"slaveId": {agentID}}, 400, "Missing 'resources'"},
		{"no volumes", "/create-volumes", url.Values{"slaveId": {agentID}, "resources": {"[]"}}, 400, "Missing 'volumes'"},
		{"malformed resources", "/reserve", url.Values{"slaveId": {agentID}, "resources": {"[{"}}, 400, "Error in parsing 'resources'"},
		{"unknown agent", "/reserve", url.Values{"slaveId": {"nope"}, "resources": {resourcesJSON(t, reserved)}}, 400, "slaveId: no agent found with ID nope"},
		{"malformed role", "/reserve", url.Values{"slaveId": {agentID}, "resources": {`[{"name":"cpus","type":"SCALAR","scalar":{"value":1},"reservations":[{"type":"DYNAMIC","role":"a//b"}]}]`}},
			400, `reservation 0: role "a//b" has an empty segment`},
		{"not available", "/master/reserve", url.Values{"slaveId": {agentID}, "resources": {resourcesJSON(t, resources.MustParse("cpus:5").PushReservation(resources.Dynamic("web", "ops")))}},
			409, "RESERVE: resources: needs cpus:5, which is not available"},
		{"not dynamically reserved", "/reserve", url.Values{"slaveId": {agentID}, "resources": {resourcesJSON(t, resources.MustParse("cpus:1"))}},
			400, "cpus:1 is not dynamically reserved"},
		{"volume on unreserved disk", "/create-volumes", url.Values{"slaveId": {agentID}, "volumes": {resourcesJSON(t, resources.Of(unreservedVol))}},
			400, "persistent volumes cannot be created from unreserved disk"},
		{"volume id taken", "/create-volumes", url.Values{"slaveId": {agentID}, "volumes": {resourcesJSON(t, vol)}},
			409, `persistence id "v1" is already in use for role "web"`},
		{"unreserve a volume", "/unreserve", url.Values{"slaveId": {agentID}, "resources": {resourcesJSON(t, vol)}},
			400, "is a persistent volume: DESTROY it before unreserving its disk"},
		{"destroy unknown volume", "/destroy-volumes", url.Values{"slaveId": {agentID}, "volumes": {resourcesJSON(t, resources.Of(unreservedVol))}},
			400, `persistent volume "v2" (role "*") does not exist`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := tm.postForm(tt.path, tt.form)
			if code != tt.code || !strings.Contains(body, tt.message) {
				t.Fatalf("got %d %q, want %d containing %q", code, body, tt.code, tt.message)
			}
		})
	}
	if got := agentTotal(t, tm); !got.Equal(want) {
		t.Fatalf("after refused calls the agent total = %q, want %q", got, want)
	}
	if resp, err := tm.client.Get(tm.url + "/reserve"); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET /reserve: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// DESTROY and UNRESERVE give everything back.
	destroy := opCall(masterpb.Call_DESTROY_VOLUMES)
	destroy.DestroyVolumes = &masterpb.Call_DestroyVolumes{AgentId: &mesos.AgentID{Value: proto.String(agentID)}, Volumes: vol.ToProto()}
	if code, _, body := tm.operator(apicodec.Protobuf, destroy); code != http.StatusAccepted {
		t.Fatalf("DESTROY_VOLUMES: %d %s", code, body)
	}
	if got := checkpointed(); !got.Equal(reserved) {
		t.Fatalf("agent checkpoint after destroy = %q, want %q", got, reserved)
	}
	if code, body := tm.postForm("/unreserve", url.Values{"slaveId": {agentID}, "resources": {resourcesJSON(t, reserved)}}); code != http.StatusAccepted {
		t.Fatalf("/unreserve: %d %s", code, body)
	}
	if got := checkpointed(); !got.IsEmpty() {
		t.Fatalf("agent checkpoint after unreserve = %q, want nothing", got)
	}
	if got, want := agentTotal(t, tm), resources.MustParse("cpus:2;mem:256;disk:1000"); !got.Equal(want) {
		t.Fatalf("agent total = %q, want %q", got, want)
	}
}
