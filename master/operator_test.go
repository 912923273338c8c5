package master

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/apicodec"
	"github.com/agoracluster/agora/master/httpapi"
	"github.com/agoracluster/agora/master/mastertest"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	masterpb "github.com/agoracluster/agora/proto/mesos/v1/master"
	quotapb "github.com/agoracluster/agora/proto/mesos/v1/quota"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
	"github.com/agoracluster/agora/resources"
)

// operator posts an operator call in codec c (asking for c back) and decodes
// the answer; it returns the status and the body for errors.
func (tm *testMaster) operator(c apicodec.Codec, call *masterpb.Call) (int, *masterpb.Response, string) {
	tm.t.Helper()
	resp := tm.post("/api/v1", map[string]string{"Content-Type": c.ContentType(), "Accept": c.ContentType()}, mustMarshal(tm.t, c, call))
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(b) == 0 {
		return resp.StatusCode, nil, string(b)
	}
	if got := resp.Header.Get("Content-Type"); got != c.ContentType() {
		tm.t.Errorf("%s answered in %q, want %q", call.GetType(), got, c.ContentType())
	}
	out := &masterpb.Response{}
	if err := c.Unmarshal(b, out); err != nil {
		tm.t.Fatalf("%s: decode response: %v: %s", call.GetType(), err, b)
	}
	if err := proto.CheckInitialized(out); err != nil {
		tm.t.Errorf("%s: response lacks required fields: %v", call.GetType(), err)
	}
	return resp.StatusCode, out, string(b)
}

// mustOperator is operator that fails the test on a status other than 200.
func (tm *testMaster) mustOperator(c apicodec.Codec, call *masterpb.Call) *masterpb.Response {
	tm.t.Helper()
	code, resp, body := tm.operator(c, call)
	if code != http.StatusOK {
		tm.t.Fatalf("%s: %d %s", call.GetType(), code, body)
	}
	return resp
}

func allocatedCPUs(rs []*mesos.Resource) float64 {
	r, err := resources.FromProto(rs)
	if err != nil {
		return -1
	}
	return r.Scalar("cpus")
}

func opCall(t masterpb.Call_Type) *masterpb.Call { return &masterpb.Call{Type: t.Enum()} }

// runningTask is a cluster of one fake agent and one framework with task t1
// running on it.
type runningTask struct {
	agentID, fwID string
	agent, fw     *eventStream
}

func launchRunningTask(t *testing.T, tm *testMaster) runningTask {
	t.Helper()
	pb := map[string]string{"Content-Type": apicodec.MediaProtobuf, "Accept": apicodec.MediaProtobuf}
	agentCall := &agorapb.AgentCall{Type: agorapb.AgentCall_SUBSCRIBE.Enum(), Subscribe: &agorapb.AgentCall_Subscribe{
		AgentInfo: &mesos.AgentInfo{Hostname: proto.String("agent1"), Port: proto.Int32(5051), Resources: resources.MustParse("cpus:2;mem:256").ToProto()},
		Version:   proto.String("test"),
	}}
	agent := openStream(t, tm.post("/api/v1/agent", pb, mustMarshal(t, apicodec.Protobuf, agentCall)))
	aev := &agorapb.AgentEvent{}
	agent.next(aev, func() bool { return aev.GetType() == agorapb.AgentEvent_SUBSCRIBED })
	agentID := aev.GetSubscribed().GetAgentId().GetValue()

	js := map[string]string{"Content-Type": apicodec.MediaJSON}
	fw := openStream(t, tm.post("/api/v1/scheduler", js, mustMarshal(t, apicodec.JSON, subscribeCall(mastertest.FrameworkInfo("fw")))))
	ev := &scheduler.Event{}
	fw.next(ev, func() bool { return ev.GetType() == scheduler.Event_SUBSCRIBED })
	fwID := ev.GetSubscribed().GetFrameworkId().GetValue()
	fw.next(ev, func() bool { return ev.GetType() == scheduler.Event_OFFERS })
	launch := mastertest.LaunchCall(mastertest.OfferIDs(ev.GetOffers().GetOffers()[0]), mastertest.CommandTask("t1", agentID, "cpus:1;mem:128"))
	launch.FrameworkId = mastertest.FrameworkID(fwID)
	resp := tm.post("/api/v1/scheduler", map[string]string{"Content-Type": apicodec.MediaJSON, httpapi.StreamIDHeader: fw.streamID}, mustMarshal(t, apicodec.JSON, launch))
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("ACCEPT: %s", resp.Status)
	}
	agent.next(aev, func() bool { return aev.GetType() == agorapb.AgentEvent_RUN_TASK })
	resp = tm.post("/api/v1/agent", map[string]string{"Content-Type": apicodec.MediaProtobuf, httpapi.StreamIDHeader: agent.streamID},
		mustMarshal(t, apicodec.Protobuf, mastertest.StatusUpdateCall(agentID, fwID, "t1", mesos.TaskState_TASK_RUNNING, []byte("0123456789abcdef"))))
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("STATUS_UPDATE: %s", resp.Status)
	}
	fw.next(ev, func() bool { return ev.GetType() == scheduler.Event_UPDATE })
	return runningTask{agentID: agentID, fwID: fwID, agent: agent, fw: fw}
}

// TestOperatorReadCalls answers every read call in JSON and in protobuf, with
// the cluster's agent, framework and task in it.
func TestOperatorReadCalls(t *testing.T) {
	tm := startMaster(t, func(c *Config) {
		c.Flags = map[string]string{"port": "5050", "work_dir": "/var/lib/agora"}
		c.Version = "1.2.3"
	})
	rt := launchRunningTask(t, tm)
	for _, c := range []apicodec.Codec{apicodec.JSON, apicodec.Protobuf} {
		t.Run(c.String(), func(t *testing.T) {
			tests := []struct {
				call  masterpb.Call_Type
				check func(*masterpb.Response) bool
			}{
				{masterpb.Call_GET_HEALTH, func(r *masterpb.Response) bool { return r.GetGetHealth().GetHealthy() }},
				{masterpb.Call_GET_FLAGS, func(r *masterpb.Response) bool {
					f := r.GetGetFlags().GetFlags()
					return len(f) == 2 && f[0].GetName() == "port" && f[0].GetValue() == "5050"
				}},
				{masterpb.Call_GET_VERSION, func(r *masterpb.Response) bool { return r.GetGetVersion().GetVersionInfo().GetVersion() == "1.2.3" }},
				{masterpb.Call_GET_LOGGING_LEVEL, func(r *masterpb.Response) bool { return r.GetLoggingLevel != nil }},
				{masterpb.Call_GET_METRICS, func(r *masterpb.Response) bool {
					got := map[string]float64{}
					for _, m := range r.GetGetMetrics().GetMetrics() {
						got[m.GetName()] = m.GetValue()
					}
					return got["master/tasks_running"] == 1 && got["master/slaves_active"] == 1 &&
						got["master/frameworks_active"] == 1 && got["master/cpus_percent"] == 0.5 && got["master/elected"] == 1
				}},
				{masterpb.Call_GET_STATE, func(r *masterpb.Response) bool {
					st := r.GetGetState()
					return len(st.GetGetTasks().GetTasks()) == 1 && len(st.GetGetAgents().GetAgents()) == 1 &&
						len(st.GetGetFrameworks().GetFrameworks()) == 1
				}},
				{masterpb.Call_GET_AGENTS, func(r *masterpb.Response) bool {
					as := r.GetGetAgents().GetAgents()
					return len(as) == 1 && as[0].GetAgentInfo().GetId().GetValue() == rt.agentID && as[0].GetActive() &&
						as[0].GetPid() == "slave(1)@agent1:5051" && as[0].GetVersion() == "test" &&
						allocatedCPUs(as[0].GetAllocatedResources()) == 1
				}},
				{masterpb.Call_GET_FRAMEWORKS, func(r *masterpb.Response) bool {
					fws := r.GetGetFrameworks().GetFrameworks()
					return len(fws) == 1 && fws[0].GetFrameworkInfo().GetId().GetValue() == rt.fwID && fws[0].GetActive() && fws[0].GetConnected()
				}},
				{masterpb.Call_GET_EXECUTORS, func(r *masterpb.Response) bool { return r.GetExecutors != nil }},
				{masterpb.Call_GET_TASKS, func(r *masterpb.Response) bool {
					ts := r.GetGetTasks().GetTasks()
					return len(ts) == 1 && ts[0].GetTaskId().GetValue() == "t1" && ts[0].GetState() == mesos.TaskState_TASK_RUNNING
				}},
				{masterpb.Call_GET_ROLES, func(r *masterpb.Response) bool {
					rs := r.GetGetRoles().GetRoles()
					return len(rs) == 1 && rs[0].GetName() == "*" && len(rs[0].GetFrameworks()) == 1
				}},
				{masterpb.Call_GET_WEIGHTS, func(r *masterpb.Response) bool { return r.GetWeights != nil }},
				{masterpb.Call_GET_QUOTA, func(r *masterpb.Response) bool { return r.GetGetQuota().GetStatus() != nil }},
				{masterpb.Call_GET_MASTER, func(r *masterpb.Response) bool {
					gm := r.GetGetMaster()
					return gm.GetMasterInfo().GetHostname() == "localhost" && gm.GetStartTime() > 0
				}},
			}
			for _, tt := range tests {
				resp := tm.mustOperator(c, opCall(tt.call))
				if !tt.check(resp) {
					t.Errorf("%s: unexpected answer %v", tt.call, resp)
				}
				if want := tt.call.String(); resp.GetType().String() != want {
					t.Errorf("%s: response type %s", tt.call, resp.GetType())
				}
			}
		})
	}
}

// TestOperatorWeightsAndQuota changes weights and quotas through the operator
// API and the legacy endpoints, and finds them again after a restart.
func TestOperatorWeightsAndQuota(t *testing.T) {
	dir := t.TempDir()
	t.Run("set", func(t *testing.T) {
		tm := startMaster(t, func(c *Config) { c.WorkDir = dir })
		tm.mustOperator(apicodec.JSON, &masterpb.Call{Type: masterpb.Call_UPDATE_WEIGHTS.Enum(), UpdateWeights: &masterpb.Call_UpdateWeights{
			WeightInfos: []*mesos.WeightInfo{{Role: proto.String("eng"), Weight: proto.Float64(2.5)}},
		}})
		tm.mustOperator(apicodec.Protobuf, &masterpb.Call{Type: masterpb.Call_UPDATE_QUOTA.Enum(), UpdateQuota: &masterpb.Call_UpdateQuota{
			Force: proto.Bool(true),
			QuotaConfigs: []*quotapb.QuotaConfig{{
				Role:       proto.String("eng"),
				Guarantees: map[string]*mesos.Value_Scalar{"cpus": {Value: proto.Float64(1)}},
				Limits:     map[string]*mesos.Value_Scalar{"cpus": {Value: proto.Float64(4)}},
			}},
		}})
		// The legacy endpoints work on the same books.
		put, _ := http.NewRequest(http.MethodPut, tm.url+"/weights", strings.NewReader(`[{"role":"ops","weight":3}]`))
		resp, err := tm.client.Do(put)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("PUT /weights: %s", resp.Status)
		}
		resp = tm.post("/quota", nil, []byte(`{"role":"ops","force":true,"guarantee":[{"name":"mem","type":"SCALAR","scalar":{"value":512}}]}`))
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /quota: %s %s", resp.Status, b)
		}
		resp = tm.post("/quota", nil, []byte(`{"role":"ops","force":true,"guarantee":[{"name":"mem","type":"SCALAR","scalar":{"value":512}}]}`))
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusConflict || !strings.Contains(string(b), "already has quota") {
			t.Errorf("POST /quota twice: %s %s, want 409 naming the existing quota", resp.Status, b)
		}
	})
	t.Run("after restart", func(t *testing.T) {
		tm := startMaster(t, func(c *Config) { c.WorkDir = dir })
		ws := tm.mustOperator(apicodec.JSON, opCall(masterpb.Call_GET_WEIGHTS)).GetGetWeights().GetWeightInfos()
		got := map[string]float64{}
		for _, w := range ws {
			got[w.GetRole()] = w.GetWeight()
		}
		if got["eng"] != 2.5 || got["ops"] != 3 {
			t.Errorf("weights after restart = %v", got)
		}
		st := tm.mustOperator(apicodec.JSON, opCall(masterpb.Call_GET_QUOTA)).GetGetQuota().GetStatus()
		quotas := map[string]*quotapb.QuotaConfig{}
		for _, qc := range st.GetConfigs() {
			quotas[qc.GetRole()] = qc
		}
		if q := quotas["eng"]; q.GetGuarantees()["cpus"].GetValue() != 1 || q.GetLimits()["cpus"].GetValue() != 4 {
			t.Errorf("eng quota after restart = %v", q)
		}
		if q := quotas["ops"]; q.GetGuarantees()["mem"].GetValue() != 512 || q.GetLimits()["mem"].GetValue() != 512 {
			t.Errorf("ops quota after restart = %v", q)
		}
		if len(st.GetInfos()) != 2 {
			t.Errorf("legacy infos = %v", st.GetInfos())
		}
		// Removing a quota is remembered too.
		req, _ := http.NewRequest(http.MethodDelete, tm.url+"/quota/ops", nil)
		resp, err := tm.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("DELETE /quota/ops: %s", resp.Status)
		}
	})
	t.Run("after second restart", func(t *testing.T) {
		tm := startMaster(t, func(c *Config) { c.WorkDir = dir })
		resp, err := tm.client.Get(tm.url + "/quota")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), `"role":"eng"`) || strings.Contains(string(b), `"role":"ops"`) {
			t.Errorf("GET /quota = %s, want eng's quota only", b)
		}
	})
}

// TestOperatorBadInput: each malformed or impossible call gets a 4xx (or 501
// for calls not built) that says what is wrong.
func TestOperatorBadInput(t *testing.T) {
	tm := startMaster(t, func(c *Config) { c.MaxBodySize = 1 << 20 })
	js := map[string]string{"Content-Type": apicodec.MediaJSON}
	tests := []struct {
		name    string
		method  string
		headers map[string]string
		body    string
		code    int
		message string
	}{
		{"GET", http.MethodGet, nil, "", 405, "POST"},
		{"no content type", "", map[string]string{}, `{"type":"GET_HEALTH"}`, 415, "Content-Type"},
		{"malformed json", "", js, `{"type":`, 400, "Failed to parse"},
		{"malformed protobuf", "", map[string]string{"Content-Type": apicodec.MediaProtobuf}, "\xff\xff\xff", 400, "Failed to parse"},
		{"no type", "", js, `{}`, 400, "'type'"},
		{"unknown type name", "", js, `{"type":"GET_EVERYTHING"}`, 400, "Unknown call type 'GET_EVERYTHING'"},
		{"unknown type number", "", js, `{"type":999}`, 400, "Unknown call type"},
		{"type UNKNOWN", "", js, `{"type":"UNKNOWN"}`, 400, "Unknown call type"},
		{"not acceptable", "", map[string]string{"Content-Type": apicodec.MediaJSON, "Accept": "text/html"}, `{"type":"GET_HEALTH"}`, 406, "Accept"},
		{"too large", "", js, strings.Repeat(" ", 2<<20), 413, "limit"},
		{"update weights without body", "", js, `{"type":"UPDATE_WEIGHTS"}`, 400, "update_weights"},
		{"update weights empty", "", js, `{"type":"UPDATE_WEIGHTS","update_weights":{}}`, 400, "at least one"},
		{"bad weight", "", js, `{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"a","weight":-1}]}}`, 400, `role "a"`},
		{"bad role", "", js, `{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"../x","weight":1}]}}`, 400, "invalid role"},
		{"bad quota", "", js, `{"type":"UPDATE_QUOTA","update_quota":{"quota_configs":[{"role":"a","guarantees":{"cpus":{"value":4}},"limits":{"cpus":{"value":1}}}]}}`, 400, "above the limit"},
		{"quota beyond capacity", "", js, `{"type":"UPDATE_QUOTA","update_quota":{"quota_configs":[{"role":"a","guarantees":{"cpus":{"value":4}}}]}}`, 409, "force"},
		{"quota on *", "", js, `{"type":"UPDATE_QUOTA","update_quota":{"quota_configs":[{"role":"*","limits":{"cpus":{"value":4}}}]}}`, 400, "default role"},
		{"remove missing quota", "", js, `{"type":"REMOVE_QUOTA","remove_quota":{"role":"nobody"}}`, 404, "nobody"},
		{"teardown unknown framework", "", js, `{"type":"TEARDOWN","teardown":{"framework_id":{"value":"nope"}}}`, 404, "nope"},
		{"teardown without id", "", js, `{"type":"TEARDOWN"}`, 400, "teardown.framework_id"},
		{"reserve on unknown agent", "", js, `{"type":"RESERVE_RESOURCES","reserve_resources":{"agent_id":{"value":"a"}}}`, 400, "agent_id: no agent found with ID a"},
		{"reserve without agent", "", js, `{"type":"RESERVE_RESOURCES","reserve_resources":{}}`, 400, "ReserveResources.agent_id not set"},
		{"grow volume not built", "", js, `{"type":"GROW_VOLUME"}`, 501, "GROW_VOLUME"},
		{"drain unknown agent", "", js, `{"type":"DRAIN_AGENT","drain_agent":{"agent_id":{"value":"nope"}}}`, 400, "drain_agent.agent_id: unknown agent nope"},
		{"drain without agent", "", js, `{"type":"DRAIN_AGENT"}`, 400, "drain_agent.agent_id"},
		{"schedule without schedule", "", js, `{"type":"UPDATE_MAINTENANCE_SCHEDULE"}`, 400, "update_maintenance_schedule.schedule"},
		{"master files", "", js, `{"type":"READ_FILE","read_file":{"path":"/etc/passwd","offset":0}}`, 501, "READ_FILE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			req, _ := http.NewRequest(method, tm.url+"/api/v1", strings.NewReader(tt.body))
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			resp, err := tm.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.code || !strings.Contains(string(b), tt.message) {
				t.Errorf("got %d %q, want %d containing %q", resp.StatusCode, b, tt.code, tt.message)
			}
		})
	}
	// Nothing of the refused calls was kept.
	ws := tm.mustOperator(apicodec.JSON, opCall(masterpb.Call_GET_WEIGHTS)).GetGetWeights().GetWeightInfos()
	qs := tm.mustOperator(apicodec.JSON, opCall(masterpb.Call_GET_QUOTA)).GetGetQuota().GetStatus().GetConfigs()
	if len(ws)+len(qs) != 0 {
		t.Errorf("refused calls left weights %v quotas %v", ws, qs)
	}
}

// TestOperatorSubscribeEventOrder: SUBSCRIBED carries the state, then the
// cluster's changes arrive as events in the order they happened.
func TestOperatorSubscribeEventOrder(t *testing.T) {
	for _, c := range []apicodec.Codec{apicodec.JSON, apicodec.Protobuf} {
		t.Run(c.String(), func(t *testing.T) {
			tm := startMaster(t, nil)
			op := openStream(t, tm.post("/api/v1", map[string]string{"Content-Type": c.ContentType(), "Accept": c.ContentType()},
				mustMarshal(t, c, opCall(masterpb.Call_SUBSCRIBE))))
			if op.codec != c {
				t.Fatalf("stream in %v, want %v", op.codec, c)
			}
			ev := &masterpb.Event{}
			op.next(ev, func() bool { return true })
			if ev.GetType() != masterpb.Event_SUBSCRIBED || ev.GetSubscribed().GetGetState() == nil || ev.GetSubscribed().GetHeartbeatIntervalSeconds() != 15 {
				t.Fatalf("first event %v, want SUBSCRIBED with the state", ev)
			}

			rt := launchRunningTask(t, tm)
			tm.mustOperator(apicodec.JSON, &masterpb.Call{Type: masterpb.Call_TEARDOWN.Enum(),
				Teardown: &masterpb.Call_Teardown{FrameworkId: mastertest.FrameworkID(rt.fwID)}})

			var got []string
			want := []string{"AGENT_ADDED", "FRAMEWORK_ADDED", "TASK_ADDED", "TASK_UPDATED TASK_RUNNING", "TASK_UPDATED TASK_KILLED", "FRAMEWORK_REMOVED"}
			for len(got) < len(want) {
				op.next(ev, func() bool { return ev.GetType() != masterpb.Event_HEARTBEAT })
				entry := ev.GetType().String()
				switch ev.GetType() {
				case masterpb.Event_TASK_UPDATED:
					entry += " " + ev.GetTaskUpdated().GetState().String()
					if ev.GetTaskUpdated().GetFrameworkId().GetValue() != rt.fwID || ev.GetTaskUpdated().GetStatus().GetTaskId().GetValue() != "t1" {
						t.Errorf("TASK_UPDATED %v", ev)
					}
				case masterpb.Event_TASK_ADDED:
					if tk := ev.GetTaskAdded().GetTask(); tk.GetTaskId().GetValue() != "t1" || tk.GetAgentId().GetValue() != rt.agentID {
						t.Errorf("TASK_ADDED %v", ev)
					}
				case masterpb.Event_AGENT_ADDED:
					if ev.GetAgentAdded().GetAgent().GetAgentInfo().GetHostname() != "agent1" {
						t.Errorf("AGENT_ADDED %v", ev)
					}
				case masterpb.Event_FRAMEWORK_REMOVED:
					if ev.GetFrameworkRemoved().GetFrameworkInfo().GetId().GetValue() != rt.fwID {
						t.Errorf("FRAMEWORK_REMOVED %v", ev)
					}
				}
				got = append(got, entry)
			}
			if !slices.Equal(got, want) {
				t.Errorf("events %q, want %q", got, want)
			}
		})
	}
}

// TestLegacyEndpoints reads the Mesos JSON endpoints of a cluster with a task.
func TestLegacyEndpoints(t *testing.T) {
	tm := startMaster(t, nil)
	rt := launchRunningTask(t, tm)
	get := func(path string) map[string]any {
		t.Helper()
		resp, err := tm.client.Get(tm.url + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s %s", path, resp.Status, b)
		}
		var out map[string]any
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s: %v: %s", path, err, b)
		}
		return out
	}
	list := func(doc map[string]any, key string) []any {
		l, _ := doc[key].([]any)
		return l
	}
	field := func(v any, key string) any { m, _ := v.(map[string]any); return m[key] }

	sum := get("/state-summary")
	if s := list(sum, "slaves"); len(s) != 1 || field(s[0], "TASK_RUNNING") != 1.0 || field(s[0], "id") != rt.agentID {
		t.Errorf("/state-summary slaves = %v", s)
	}
	if f := list(sum, "frameworks"); len(f) != 1 || field(f[0], "TASK_RUNNING") != 1.0 {
		t.Errorf("/state-summary frameworks = %v", f)
	}
	if ts := list(get("/tasks"), "tasks"); len(ts) != 1 || field(ts[0], "id") != "t1" || field(ts[0], "state") != "TASK_RUNNING" {
		t.Errorf("/tasks = %v", ts)
	}
	if ts := list(get("/master/tasks.json?framework_id=other"), "tasks"); len(ts) != 0 {
		t.Errorf("/tasks?framework_id=other = %v", ts)
	}
	if fs := list(get("/frameworks"), "frameworks"); len(fs) != 1 || field(fs[0], "id") != rt.fwID {
		t.Errorf("/frameworks = %v", fs)
	}
	if ss := list(get("/slaves"), "slaves"); len(ss) != 1 || field(ss[0], "hostname") != "agent1" {
		t.Errorf("/slaves = %v", ss)
	}
	if rs := list(get("/roles"), "roles"); len(rs) != 1 || field(rs[0], "name") != "*" {
		t.Errorf("/roles = %v", rs)
	}
	m := get("/metrics/snapshot")
	for name, want := range map[string]float64{
		"master/tasks_running": 1, "master/slaves_active": 1, "master/frameworks_active": 1,
		"master/cpus_total": 2, "master/cpus_used": 1, "master/cpus_percent": 0.5, "master/mem_used": 128,
	} {
		if m[name] != want {
			t.Errorf("/metrics/snapshot %s = %v, want %v", name, m[name], want)
		}
	}
	// /teardown, as Mesos's: the framework goes, and a second time it is not found.
	for _, want := range []int{http.StatusOK, http.StatusNotFound} {
		resp, err := tm.client.PostForm(tm.url+"/teardown", map[string][]string{"frameworkId": {rt.fwID}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("POST /teardown: %s, want %d", resp.Status, want)
		}
	}
	if fs := list(get("/frameworks"), "completed_frameworks"); len(fs) != 1 {
		t.Errorf("completed frameworks after /teardown = %v", fs)
	}

	resp, err := tm.client.Get(tm.url + "/tasks?limit=x")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !bytes.Contains(b, []byte("limit")) {
		t.Errorf("/tasks?limit=x: %s %s", resp.Status, b)
	}
}

// TestOperatorDefaultsToJSON: a call without an Accept header is answered in
// JSON, as Mesos does.
func TestOperatorDefaultsToJSON(t *testing.T) {
	tm := startMaster(t, nil)
	resp := tm.post("/api/v1", map[string]string{"Content-Type": apicodec.MediaJSON}, []byte(`{"type":"GET_HEALTH"}`))
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != apicodec.MediaJSON ||
		string(b) != `{"get_health":{"healthy":true},"type":"GET_HEALTH"}` {
		t.Errorf("GET_HEALTH: %s %q %s", resp.Status, resp.Header.Get("Content-Type"), b)
	}
}
