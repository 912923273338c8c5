package events

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/groups"
	"github.com/agoracluster/agora/frameworks/marathon/planner"
)

var t0 = time.Date(2024, 3, 1, 23, 29, 30, 158_000_000, time.FixedZone("CET", 3600))

const ts = `"2024-03-01T22:29:30.158Z"`

func TestEventJSON(t *testing.T) {
	yes := true
	port := 0
	hc := app.HealthCheck{Protocol: "HTTP", Path: "/health", PortIndex: &port, GracePeriodSeconds: 5,
		IntervalSeconds: 10, TimeoutSeconds: 10, MaxConsecutiveFailures: 3, DelaySeconds: 15}
	hcJSON := `{"protocol":"HTTP","path":"/health","portIndex":0,"gracePeriodSeconds":5,"intervalSeconds":10,"timeoutSeconds":10,"maxConsecutiveFailures":3,"delaySeconds":15}`

	pl, err := planner.NewPlan("dep-1", "2024-03-01T23:24:14.846Z", nil,
		map[string]planner.AppSpec{"/my-app": {ID: "/my-app", Version: "v", Instances: 2}})
	if err != nil {
		t.Fatal(err)
	}
	plan := NewPlan(pl, &groups.Group{ID: "/", Version: "2024-01-01T00:00:00.000Z"}, nil)
	planJSON := `{"id":"dep-1","original":{"id":"/","apps":[],"groups":[],"pods":[],"dependencies":[],"version":"2024-01-01T00:00:00.000Z","enforceRole":false},` +
		`"target":{"id":"/","apps":[],"groups":[],"pods":[],"dependencies":[],"enforceRole":false},` +
		`"steps":[{"actions":[{"action":"StartApplication","app":"/my-app"}]},{"actions":[{"action":"ScaleApplication","app":"/my-app"}]}],` +
		`"version":"2024-03-01T23:24:14.846Z"}`

	tests := []struct {
		name string
		ev   Event
		want string
	}{
		{"status update", NewStatusUpdate("S1", "my-app.t1", "TASK_RUNNING", "", "/my-app", "h1",
			[]IPAddress{{IPAddress: "10.0.0.1", Protocol: "IPv4"}}, []int{31372}, "2014-04-04T06:26:23.051Z", t0),
			`{"slaveId":"S1","taskId":"my-app.t1","taskStatus":"TASK_RUNNING","message":"","appId":"/my-app","host":"h1",` +
				`"ipAddresses":[{"ipAddress":"10.0.0.1","protocol":"IPv4"}],"ports":[31372],"version":"2014-04-04T06:26:23.051Z",` +
				`"eventType":"status_update_event","timestamp":` + ts + `}`},
		{"status update without ports", NewStatusUpdate("S1", "t", "TASK_STAGING", "m", "/a", "h", nil, nil, "v", t0),
			`{"slaveId":"S1","taskId":"t","taskStatus":"TASK_STAGING","message":"m","appId":"/a","host":"h","ipAddresses":[],"ports":[],"version":"v","eventType":"status_update_event","timestamp":` + ts + `}`},
		{"instance changed", NewInstanceChanged("a.instance-1", Condition("TASK_RUNNING"), "/a", "S1", "h1", "v1", t0),
			`{"instanceId":"a.instance-1","condition":"Running","runSpecId":"/a","agentId":"S1","host":"h1","runSpecVersion":"v1","timestamp":` + ts + `,"eventType":"instance_changed_event"}`},
		{"instance health changed", NewInstanceHealthChanged("i", "/a", "v1", &yes, t0),
			`{"instanceId":"i","runSpecId":"/a","healthy":true,"runSpecVersion":"v1","timestamp":` + ts + `,"eventType":"instance_health_changed_event"}`},
		{"instance health unknown", NewInstanceHealthChanged("i", "/a", "v1", nil, t0),
			`{"instanceId":"i","runSpecId":"/a","healthy":null,"runSpecVersion":"v1","timestamp":` + ts + `,"eventType":"instance_health_changed_event"}`},
		{"unknown instance terminated", NewUnknownInstanceTerminated("i", "/a", "Failed", t0),
			`{"instanceId":"i","runSpecId":"/a","condition":"Failed","timestamp":` + ts + `,"eventType":"unknown_instance_terminated_event"}`},
		{"health status changed", NewHealthStatusChanged("/a", "i", "v1", true, t0),
			`{"appId":"/a","instanceId":"i","version":"v1","alive":true,"eventType":"health_status_changed_event","timestamp":` + ts + `}`},
		{"failed health check", NewFailedHealthCheck("/a", "i", hc, t0),
			`{"appId":"/a","instanceId":"i","healthCheck":` + hcJSON + `,"eventType":"failed_health_check_event","timestamp":` + ts + `}`},
		{"unhealthy instance kill", NewUnhealthyInstanceKill("/a", "t", "i", "v1", "500 Internal Server Error", "h", "S1", t0),
			`{"appId":"/a","taskId":"t","instanceId":"i","version":"v1","reason":"500 Internal Server Error","host":"h","slaveId":"S1","eventType":"unhealthy_instance_kill_event","timestamp":` + ts + `}`},
		{"unhealthy instance kill without agent", NewUnhealthyInstanceKill("/a", "t", "i", "v1", "r", "h", "", t0),
			`{"appId":"/a","taskId":"t","instanceId":"i","version":"v1","reason":"r","host":"h","eventType":"unhealthy_instance_kill_event","timestamp":` + ts + `}`},
		{"add health check", NewAddHealthCheck("/a", "v1", hc, t0),
			`{"appId":"/a","version":"v1","healthCheck":` + hcJSON + `,"eventType":"add_health_check_event","timestamp":` + ts + `}`},
		{"remove health check", NewRemoveHealthCheck("/a", t0),
			`{"appId":"/a","eventType":"remove_health_check_event","timestamp":` + ts + `}`},
		{"group change success", NewGroupChangeSuccess("/product-a/backend", "v1", t0),
			`{"groupId":"/product-a/backend","version":"v1","eventType":"group_change_success","timestamp":` + ts + `}`},
		{"group change failed", NewGroupChangeFailed("/g", "v1", "", t0),
			`{"groupId":"/g","version":"v1","reason":"","eventType":"group_change_failed","timestamp":` + ts + `}`},
		{"deployment success", NewDeploymentSuccess(plan, t0),
			`{"id":"dep-1","plan":` + planJSON + `,"eventType":"deployment_success","timestamp":` + ts + `}`},
		{"deployment failed", NewDeploymentFailed(plan, t0),
			`{"id":"dep-1","plan":` + planJSON + `,"eventType":"deployment_failed","timestamp":` + ts + `}`},
		{"deployment info", NewDeploymentInfo(plan, 1, t0),
			`{"plan":` + planJSON + `,"currentStep":{"actions":[{"action":"ScaleApplication","app":"/my-app"}]},"eventType":"deployment_info","timestamp":` + ts + `}`},
		{"deployment step success", NewDeploymentStepSuccess(plan, 0, t0),
			`{"plan":` + planJSON + `,"currentStep":{"actions":[{"action":"StartApplication","app":"/my-app"}]},"eventType":"deployment_step_success","timestamp":` + ts + `}`},
		{"deployment step failure out of range", NewDeploymentStepFailure(plan, 7, t0),
			`{"plan":` + planJSON + `,"currentStep":{"actions":[]},"eventType":"deployment_step_failure","timestamp":` + ts + `}`},
		{"app terminated", NewAppTerminated("/a", t0),
			`{"appId":"/a","eventType":"app_terminated_event","timestamp":` + ts + `}`},
		{"framework message", NewFrameworkMessage("e1", "S1", []byte{'h', 'i', 0xff}, t0),
			`{"executorId":"e1","slaveId":"S1","message":[104,105,-1],"eventType":"framework_message_event","timestamp":` + ts + `}`},
		{"stream attached", NewEventStreamAttached("127.0.0.1", t0),
			`{"remoteAddress":"127.0.0.1","eventType":"event_stream_attached","timestamp":` + ts + `}`},
		{"stream detached", NewEventStreamDetached("127.0.0.1", t0),
			`{"remoteAddress":"127.0.0.1","eventType":"event_stream_detached","timestamp":` + ts + `}`},
		{"scheduler registered", NewSchedulerRegistered("fw-1", "10.0.0.1:5050", t0),
			`{"frameworkId":"fw-1","master":"10.0.0.1:5050","eventType":"scheduler_registered_event","timestamp":` + ts + `}`},
		{"scheduler reregistered", NewSchedulerReregistered("10.0.0.1:5050", t0),
			`{"master":"10.0.0.1:5050","eventType":"scheduler_reregistered_event","timestamp":` + ts + `}`},
		{"scheduler disconnected", NewSchedulerDisconnected(t0),
			`{"eventType":"scheduler_disconnected_event","timestamp":` + ts + `}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Fatalf("JSON\n got %s\nwant %s", b, tt.want)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			if m["eventType"] != tt.ev.Type() {
				t.Fatalf("eventType %v != Type() %q", m["eventType"], tt.ev.Type())
			}
		})
	}
}

func TestAPIPostEventCarriesApp(t *testing.T) {
	a, err := app.Parse([]byte(`{"id":"my-app","cmd":"sleep 30","instances":2}`), "/")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(NewAPIPost("0:0:0:0:0:0:0:1", "/v2/apps/my-app", a, t0))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		ClientIP      string         `json:"clientIp"`
		URI           string         `json:"uri"`
		AppDefinition map[string]any `json:"appDefinition"`
		EventType     string         `json:"eventType"`
		Timestamp     string         `json:"timestamp"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.ClientIP != "0:0:0:0:0:0:0:1" || m.URI != "/v2/apps/my-app" || m.EventType != TypeAPIPost ||
		m.Timestamp != "2024-03-01T22:29:30.158Z" || m.AppDefinition["id"] != "/my-app" || m.AppDefinition["instances"] != 2.0 {
		t.Fatalf("api_post_event = %s", b)
	}
}

func TestCondition(t *testing.T) {
	tests := map[string]string{
		"TASK_STAGING": "Staging", "TASK_STARTING": "Starting", "TASK_RUNNING": "Running",
		"TASK_KILLING": "Killing", "TASK_FINISHED": "Finished", "TASK_FAILED": "Failed",
		"TASK_KILLED": "Killed", "TASK_ERROR": "Error", "TASK_LOST": "Unreachable",
		"TASK_UNREACHABLE": "Unreachable", "TASK_GONE": "Gone", "TASK_DROPPED": "Dropped",
		"TASK_UNKNOWN": "Unknown", "bogus": "Unknown",
	}
	for in, want := range tests {
		if got := Condition(in); got != want {
			t.Errorf("Condition(%s) = %s, want %s", in, got, want)
		}
	}
}
