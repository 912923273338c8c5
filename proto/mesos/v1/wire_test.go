package mesos_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/executor"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
)

// Make sure every generated package is linked into the registry.
var _ = []proto.Message{
	(*mesos.TaskInfo)(nil),
	(*scheduler.Call)(nil),
	(*executor.Call)(nil),
	(*agorapb.AgentCall)(nil),
}

func findMessage(t *testing.T, name string) protoreflect.MessageDescriptor {
	t.Helper()
	mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(name))
	if err != nil {
		t.Fatalf("message %s: %v", name, err)
	}
	return mt.Descriptor()
}

// TestFieldNumbers pins field numbers, kinds and labels that Mesos v1 clients
// depend on. Values are those of Apache Mesos include/mesos/v1/*.proto.
func TestFieldNumbers(t *testing.T) {
	const (
		req = protoreflect.Required
		opt = protoreflect.Optional
		rep = protoreflect.Repeated
	)
	tests := []struct {
		msg    string
		field  string
		number protoreflect.FieldNumber
		card   protoreflect.Cardinality
		kind   protoreflect.Kind
	}{
		{"mesos.v1.FrameworkID", "value", 1, req, protoreflect.StringKind},
		{"mesos.v1.FrameworkInfo", "user", 1, req, protoreflect.StringKind},
		{"mesos.v1.FrameworkInfo", "name", 2, req, protoreflect.StringKind},
		{"mesos.v1.FrameworkInfo", "id", 3, opt, protoreflect.MessageKind},
		{"mesos.v1.FrameworkInfo", "failover_timeout", 4, opt, protoreflect.DoubleKind},
		{"mesos.v1.FrameworkInfo", "role", 6, opt, protoreflect.StringKind},
		{"mesos.v1.FrameworkInfo", "capabilities", 10, rep, protoreflect.MessageKind},
		{"mesos.v1.FrameworkInfo", "roles", 12, rep, protoreflect.StringKind},
		{"mesos.v1.AgentInfo", "port", 8, opt, protoreflect.Int32Kind},
		{"mesos.v1.AgentInfo", "id", 6, opt, protoreflect.MessageKind},
		{"mesos.v1.MasterInfo", "ip", 2, req, protoreflect.Uint32Kind},
		{"mesos.v1.MasterInfo", "address", 7, opt, protoreflect.MessageKind},
		{"mesos.v1.Resource", "name", 1, req, protoreflect.StringKind},
		{"mesos.v1.Resource", "type", 2, req, protoreflect.EnumKind},
		{"mesos.v1.Resource", "role", 6, opt, protoreflect.StringKind},
		{"mesos.v1.Resource", "reservation", 8, opt, protoreflect.MessageKind},
		{"mesos.v1.Resource", "allocation_info", 11, opt, protoreflect.MessageKind},
		{"mesos.v1.Resource", "provider_id", 12, opt, protoreflect.MessageKind},
		{"mesos.v1.Resource", "reservations", 13, rep, protoreflect.MessageKind},
		{"mesos.v1.Attribute", "set", 6, opt, protoreflect.MessageKind},
		{"mesos.v1.Attribute", "text", 5, opt, protoreflect.MessageKind},
		{"mesos.v1.Offer", "hostname", 4, req, protoreflect.StringKind},
		{"mesos.v1.Offer", "allocation_info", 10, opt, protoreflect.MessageKind},
		{"mesos.v1.Offer.Operation", "launch", 2, opt, protoreflect.MessageKind},
		{"mesos.v1.Offer.Operation", "launch_group", 7, opt, protoreflect.MessageKind},
		{"mesos.v1.Offer.Operation", "id", 12, opt, protoreflect.MessageKind},
		{"mesos.v1.TaskInfo", "name", 1, req, protoreflect.StringKind},
		{"mesos.v1.TaskInfo", "task_id", 2, req, protoreflect.MessageKind},
		{"mesos.v1.TaskInfo", "agent_id", 3, req, protoreflect.MessageKind},
		{"mesos.v1.TaskInfo", "resources", 4, rep, protoreflect.MessageKind},
		{"mesos.v1.TaskInfo", "executor", 5, opt, protoreflect.MessageKind},
		{"mesos.v1.TaskInfo", "data", 6, opt, protoreflect.BytesKind},
		{"mesos.v1.TaskInfo", "command", 7, opt, protoreflect.MessageKind},
		{"mesos.v1.TaskInfo", "health_check", 8, opt, protoreflect.MessageKind},
		{"mesos.v1.TaskInfo", "container", 9, opt, protoreflect.MessageKind},
		{"mesos.v1.TaskInfo", "kill_policy", 12, opt, protoreflect.MessageKind},
		{"mesos.v1.TaskInfo", "check", 13, opt, protoreflect.MessageKind},
		{"mesos.v1.Task", "state", 6, req, protoreflect.EnumKind},
		{"mesos.v1.Task", "status_update_uuid", 10, opt, protoreflect.BytesKind},
		{"mesos.v1.Task", "health_check", 15, opt, protoreflect.MessageKind},
		{"mesos.v1.TaskStatus", "task_id", 1, req, protoreflect.MessageKind},
		{"mesos.v1.TaskStatus", "state", 2, req, protoreflect.EnumKind},
		{"mesos.v1.TaskStatus", "message", 4, opt, protoreflect.StringKind},
		{"mesos.v1.TaskStatus", "timestamp", 6, opt, protoreflect.DoubleKind},
		{"mesos.v1.TaskStatus", "executor_id", 7, opt, protoreflect.MessageKind},
		{"mesos.v1.TaskStatus", "healthy", 8, opt, protoreflect.BoolKind},
		{"mesos.v1.TaskStatus", "source", 9, opt, protoreflect.EnumKind},
		{"mesos.v1.TaskStatus", "reason", 10, opt, protoreflect.EnumKind},
		{"mesos.v1.TaskStatus", "uuid", 11, opt, protoreflect.BytesKind},
		{"mesos.v1.TaskStatus", "container_status", 13, opt, protoreflect.MessageKind},
		{"mesos.v1.TaskStatus", "check_status", 15, opt, protoreflect.MessageKind},
		{"mesos.v1.CommandInfo", "value", 3, opt, protoreflect.StringKind},
		{"mesos.v1.CommandInfo", "shell", 6, opt, protoreflect.BoolKind},
		{"mesos.v1.CommandInfo", "arguments", 7, rep, protoreflect.StringKind},
		{"mesos.v1.ExecutorInfo", "executor_id", 1, req, protoreflect.MessageKind},
		{"mesos.v1.ExecutorInfo", "type", 15, opt, protoreflect.EnumKind},
		{"mesos.v1.ContainerInfo", "type", 1, req, protoreflect.EnumKind},
		{"mesos.v1.ContainerInfo", "network_infos", 7, rep, protoreflect.MessageKind},
		{"mesos.v1.ContainerInfo.DockerInfo", "force_pull_image", 6, opt, protoreflect.BoolKind},
		{"mesos.v1.HealthCheck", "http", 1, opt, protoreflect.MessageKind},
		{"mesos.v1.HealthCheck", "command", 7, opt, protoreflect.MessageKind},
		{"mesos.v1.HealthCheck", "type", 8, opt, protoreflect.EnumKind},
		{"mesos.v1.HealthCheck", "tcp", 9, opt, protoreflect.MessageKind},
		{"mesos.v1.Filters", "refuse_seconds", 1, opt, protoreflect.DoubleKind},

		{"mesos.v1.scheduler.Call", "framework_id", 1, opt, protoreflect.MessageKind},
		{"mesos.v1.scheduler.Call", "type", 2, opt, protoreflect.EnumKind},
		{"mesos.v1.scheduler.Call", "subscribe", 3, opt, protoreflect.MessageKind},
		{"mesos.v1.scheduler.Call", "accept", 4, opt, protoreflect.MessageKind},
		{"mesos.v1.scheduler.Call", "decline", 5, opt, protoreflect.MessageKind},
		{"mesos.v1.scheduler.Call", "kill", 6, opt, protoreflect.MessageKind},
		{"mesos.v1.scheduler.Call", "acknowledge", 8, opt, protoreflect.MessageKind},
		{"mesos.v1.scheduler.Call", "reconcile", 9, opt, protoreflect.MessageKind},
		{"mesos.v1.scheduler.Call", "revive", 15, opt, protoreflect.MessageKind},
		{"mesos.v1.scheduler.Call", "suppress", 16, opt, protoreflect.MessageKind},
		{"mesos.v1.scheduler.Call", "acknowledge_operation_status", 17, opt, protoreflect.MessageKind},
		{"mesos.v1.scheduler.Call", "reconcile_operations", 18, opt, protoreflect.MessageKind},
		{"mesos.v1.scheduler.Call.Subscribe", "suppressed_roles", 2, rep, protoreflect.StringKind},
		{"mesos.v1.scheduler.Call.Acknowledge", "uuid", 3, req, protoreflect.BytesKind},
		{"mesos.v1.scheduler.Event", "subscribed", 2, opt, protoreflect.MessageKind},
		{"mesos.v1.scheduler.Event", "offers", 3, opt, protoreflect.MessageKind},
		{"mesos.v1.scheduler.Event", "update", 5, opt, protoreflect.MessageKind},
		{"mesos.v1.scheduler.Event", "error", 8, opt, protoreflect.MessageKind},
		{"mesos.v1.scheduler.Event", "inverse_offers", 9, opt, protoreflect.MessageKind},
		{"mesos.v1.scheduler.Event", "update_operation_status", 11, opt, protoreflect.MessageKind},
		{"mesos.v1.scheduler.Event.Subscribed", "heartbeat_interval_seconds", 2, opt, protoreflect.DoubleKind},

		{"mesos.v1.executor.Call", "executor_id", 1, req, protoreflect.MessageKind},
		{"mesos.v1.executor.Call", "framework_id", 2, req, protoreflect.MessageKind},
		{"mesos.v1.executor.Call", "type", 3, opt, protoreflect.EnumKind},
		{"mesos.v1.executor.Call", "update", 5, opt, protoreflect.MessageKind},
		{"mesos.v1.executor.Call.Message", "data", 2, req, protoreflect.BytesKind},
		{"mesos.v1.executor.Event", "acknowledged", 3, opt, protoreflect.MessageKind},
		{"mesos.v1.executor.Event", "launch", 4, opt, protoreflect.MessageKind},
		{"mesos.v1.executor.Event", "launch_group", 8, opt, protoreflect.MessageKind},
		{"mesos.v1.executor.Event.Subscribed", "container_id", 4, opt, protoreflect.MessageKind},
	}
	for _, tt := range tests {
		t.Run(tt.msg+"."+tt.field, func(t *testing.T) {
			fd := findMessage(t, tt.msg).Fields().ByName(protoreflect.Name(tt.field))
			if fd == nil {
				t.Fatalf("field %s.%s missing", tt.msg, tt.field)
			}
			if fd.Number() != tt.number {
				t.Errorf("number = %d, want %d", fd.Number(), tt.number)
			}
			if fd.Cardinality() != tt.card {
				t.Errorf("label = %v, want %v", fd.Cardinality(), tt.card)
			}
			if fd.Kind() != tt.kind {
				t.Errorf("kind = %v, want %v", fd.Kind(), tt.kind)
			}
		})
	}
}

// TestEnumValues pins enum numbers that travel on the wire.
func TestEnumValues(t *testing.T) {
	tests := []struct {
		enum  protoreflect.EnumDescriptor
		name  string
		value protoreflect.EnumNumber
	}{
		{mesos.TaskState(0).Descriptor(), "TASK_STAGING", 6},
		{mesos.TaskState(0).Descriptor(), "TASK_STARTING", 0},
		{mesos.TaskState(0).Descriptor(), "TASK_RUNNING", 1},
		{mesos.TaskState(0).Descriptor(), "TASK_FINISHED", 2},
		{mesos.TaskState(0).Descriptor(), "TASK_FAILED", 3},
		{mesos.TaskState(0).Descriptor(), "TASK_KILLED", 4},
		{mesos.TaskState(0).Descriptor(), "TASK_LOST", 5},
		{mesos.TaskState(0).Descriptor(), "TASK_ERROR", 7},
		{mesos.TaskState(0).Descriptor(), "TASK_KILLING", 8},
		{mesos.TaskState(0).Descriptor(), "TASK_DROPPED", 9},
		{mesos.TaskState(0).Descriptor(), "TASK_UNREACHABLE", 10},
		{mesos.TaskState(0).Descriptor(), "TASK_GONE", 11},
		{mesos.TaskState(0).Descriptor(), "TASK_GONE_BY_OPERATOR", 12},
		{mesos.TaskState(0).Descriptor(), "TASK_UNKNOWN", 13},
		{mesos.TaskStatus_Source(0).Descriptor(), "SOURCE_AGENT", 1},
		{mesos.TaskStatus_Source(0).Descriptor(), "SOURCE_EXECUTOR", 2},
		{mesos.TaskStatus_Reason(0).Descriptor(), "REASON_EXECUTOR_TERMINATED", 1},
		{mesos.TaskStatus_Reason(0).Descriptor(), "REASON_CONTAINER_LIMITATION_MEMORY", 8},
		{mesos.TaskStatus_Reason(0).Descriptor(), "REASON_RECONCILIATION", 9},
		{mesos.TaskStatus_Reason(0).Descriptor(), "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED", 29},
		{mesos.TaskStatus_Reason(0).Descriptor(), "REASON_AGENT_DRAINING", 34},
		{mesos.FrameworkInfo_Capability_Type(0).Descriptor(), "TASK_KILLING_STATE", 2},
		{mesos.FrameworkInfo_Capability_Type(0).Descriptor(), "PARTITION_AWARE", 5},
		{mesos.FrameworkInfo_Capability_Type(0).Descriptor(), "MULTI_ROLE", 6},
		{mesos.FrameworkInfo_Capability_Type(0).Descriptor(), "REGION_AWARE", 8},
		{mesos.Value_Type(0).Descriptor(), "SCALAR", 0},
		{mesos.Value_Type(0).Descriptor(), "RANGES", 1},
		{mesos.Value_Type(0).Descriptor(), "SET", 2},
		{mesos.Offer_Operation_Type(0).Descriptor(), "LAUNCH", 1},
		{mesos.Offer_Operation_Type(0).Descriptor(), "RESERVE", 2},
		{mesos.Offer_Operation_Type(0).Descriptor(), "LAUNCH_GROUP", 6},
		{mesos.ContainerInfo_Type(0).Descriptor(), "DOCKER", 1},
		{mesos.ContainerInfo_Type(0).Descriptor(), "MESOS", 2},
		{mesos.ContainerInfo_DockerInfo_Network(0).Descriptor(), "BRIDGE", 2},
		{mesos.ExecutorInfo_Type(0).Descriptor(), "DEFAULT", 1},

		{scheduler.Call_Type(0).Descriptor(), "SUBSCRIBE", 1},
		{scheduler.Call_Type(0).Descriptor(), "TEARDOWN", 2},
		{scheduler.Call_Type(0).Descriptor(), "ACCEPT", 3},
		{scheduler.Call_Type(0).Descriptor(), "DECLINE", 4},
		{scheduler.Call_Type(0).Descriptor(), "REVIVE", 5},
		{scheduler.Call_Type(0).Descriptor(), "KILL", 6},
		{scheduler.Call_Type(0).Descriptor(), "SHUTDOWN", 7},
		{scheduler.Call_Type(0).Descriptor(), "ACKNOWLEDGE", 8},
		{scheduler.Call_Type(0).Descriptor(), "RECONCILE", 9},
		{scheduler.Call_Type(0).Descriptor(), "MESSAGE", 10},
		{scheduler.Call_Type(0).Descriptor(), "REQUEST", 11},
		{scheduler.Call_Type(0).Descriptor(), "SUPPRESS", 12},
		{scheduler.Call_Type(0).Descriptor(), "ACCEPT_INVERSE_OFFERS", 13},
		{scheduler.Call_Type(0).Descriptor(), "DECLINE_INVERSE_OFFERS", 14},
		{scheduler.Call_Type(0).Descriptor(), "ACKNOWLEDGE_OPERATION_STATUS", 15},
		{scheduler.Call_Type(0).Descriptor(), "RECONCILE_OPERATIONS", 16},
		{scheduler.Event_Type(0).Descriptor(), "SUBSCRIBED", 1},
		{scheduler.Event_Type(0).Descriptor(), "OFFERS", 2},
		{scheduler.Event_Type(0).Descriptor(), "RESCIND", 3},
		{scheduler.Event_Type(0).Descriptor(), "UPDATE", 4},
		{scheduler.Event_Type(0).Descriptor(), "MESSAGE", 5},
		{scheduler.Event_Type(0).Descriptor(), "FAILURE", 6},
		{scheduler.Event_Type(0).Descriptor(), "ERROR", 7},
		{scheduler.Event_Type(0).Descriptor(), "HEARTBEAT", 8},
		{scheduler.Event_Type(0).Descriptor(), "INVERSE_OFFERS", 9},
		{scheduler.Event_Type(0).Descriptor(), "RESCIND_INVERSE_OFFER", 10},
		{scheduler.Event_Type(0).Descriptor(), "UPDATE_OPERATION_STATUS", 11},

		{executor.Event_Type(0).Descriptor(), "SUBSCRIBED", 1},
		{executor.Event_Type(0).Descriptor(), "LAUNCH", 2},
		{executor.Event_Type(0).Descriptor(), "KILL", 3},
		{executor.Event_Type(0).Descriptor(), "ACKNOWLEDGED", 4},
		{executor.Event_Type(0).Descriptor(), "SHUTDOWN", 7},
		{executor.Event_Type(0).Descriptor(), "LAUNCH_GROUP", 8},
		{executor.Event_Type(0).Descriptor(), "HEARTBEAT", 9},
		{executor.Call_Type(0).Descriptor(), "SUBSCRIBE", 1},
		{executor.Call_Type(0).Descriptor(), "UPDATE", 2},
		{executor.Call_Type(0).Descriptor(), "MESSAGE", 3},
		{executor.Call_Type(0).Descriptor(), "HEARTBEAT", 4},
	}
	for _, tt := range tests {
		t.Run(string(tt.enum.FullName())+"."+tt.name, func(t *testing.T) {
			v := tt.enum.Values().ByName(protoreflect.Name(tt.name))
			if v == nil {
				t.Fatalf("value %s missing", tt.name)
			}
			if v.Number() != tt.value {
				t.Errorf("%s = %d, want %d", tt.name, v.Number(), tt.value)
			}
		})
	}
}

// TestDefaults pins proto2 defaults that change behaviour when a field is unset.
func TestDefaults(t *testing.T) {
	if got := (&mesos.Resource{}).GetRole(); got != "*" {
		t.Errorf("Resource.role default = %q, want *", got)
	}
	if got := (&mesos.FrameworkInfo{}).GetRole(); got != "*" {
		t.Errorf("FrameworkInfo.role default = %q, want *", got)
	}
	if got := (&mesos.CommandInfo{}).GetShell(); !got {
		t.Error("CommandInfo.shell default = false, want true")
	}
	if got := (&mesos.Filters{}).GetRefuseSeconds(); got != 5 {
		t.Errorf("Filters.refuse_seconds default = %v, want 5", got)
	}
	if got := (&mesos.AgentInfo{}).GetPort(); got != 5051 {
		t.Errorf("AgentInfo.port default = %v, want 5051", got)
	}
	if got := (&mesos.ContainerInfo_DockerInfo{}).GetNetwork(); got != mesos.ContainerInfo_DockerInfo_HOST {
		t.Errorf("DockerInfo.network default = %v, want HOST", got)
	}
	if got := (&mesos.HealthCheck{}).GetConsecutiveFailures(); got != 3 {
		t.Errorf("HealthCheck.consecutive_failures default = %v, want 3", got)
	}
}

// TestSchedulerCallJSON decodes calls as a Mesos v1 client sends them and
// re-encodes them with the options the wire uses, expecting the same JSON back.
func TestSchedulerCallJSON(t *testing.T) {
	tests := []struct {
		name string
		json string
		want *scheduler.Call
	}{
		{
			name: "subscribe",
			json: `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"root","name":"x"}}}`,
			want: &scheduler.Call{
				Type: scheduler.Call_SUBSCRIBE.Enum(),
				Subscribe: &scheduler.Call_Subscribe{
					FrameworkInfo: &mesos.FrameworkInfo{User: proto.String("root"), Name: proto.String("x")},
				},
			},
		},
		{
			name: "subscribe multi-role failover",
			json: `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"root","name":"x",` +
				`"id":{"value":"m-0001"},"failover_timeout":604800,"roles":["web","batch"],` +
				`"capabilities":[{"type":"MULTI_ROLE"},{"type":"PARTITION_AWARE"}]},"suppressed_roles":["batch"]}}`,
			want: &scheduler.Call{
				Type: scheduler.Call_SUBSCRIBE.Enum(),
				Subscribe: &scheduler.Call_Subscribe{
					FrameworkInfo: &mesos.FrameworkInfo{
						User:            proto.String("root"),
						Name:            proto.String("x"),
						Id:              &mesos.FrameworkID{Value: proto.String("m-0001")},
						FailoverTimeout: proto.Float64(604800),
						Roles:           []string{"web", "batch"},
						Capabilities: []*mesos.FrameworkInfo_Capability{
							{Type: mesos.FrameworkInfo_Capability_MULTI_ROLE.Enum()},
							{Type: mesos.FrameworkInfo_Capability_PARTITION_AWARE.Enum()},
						},
					},
					SuppressedRoles: []string{"batch"},
				},
			},
		},
		{
			name: "accept launch",
			json: `{"framework_id":{"value":"m-0001"},"type":"ACCEPT","accept":{"offer_ids":[{"value":"m-O1"}],` +
				`"operations":[{"type":"LAUNCH","launch":{"task_infos":[{"name":"t","task_id":{"value":"t1"},` +
				`"agent_id":{"value":"m-S0"},"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":0.5}},` +
				`{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":"31000","end":"31001"}]}}],` +
				`"command":{"shell":true,"value":"sleep 10"}}]}}],"filters":{"refuse_seconds":1}}}`,
			want: &scheduler.Call{
				FrameworkId: &mesos.FrameworkID{Value: proto.String("m-0001")},
				Type:        scheduler.Call_ACCEPT.Enum(),
				Accept: &scheduler.Call_Accept{
					OfferIds: []*mesos.OfferID{{Value: proto.String("m-O1")}},
					Operations: []*mesos.Offer_Operation{{
						Type: mesos.Offer_Operation_LAUNCH.Enum(),
						Launch: &mesos.Offer_Operation_Launch{TaskInfos: []*mesos.TaskInfo{{
							Name:    proto.String("t"),
							TaskId:  &mesos.TaskID{Value: proto.String("t1")},
							AgentId: &mesos.AgentID{Value: proto.String("m-S0")},
							Resources: []*mesos.Resource{
								{Name: proto.String("cpus"), Type: mesos.Value_SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: proto.Float64(0.5)}},
								{Name: proto.String("ports"), Type: mesos.Value_RANGES.Enum(), Ranges: &mesos.Value_Ranges{
									Range: []*mesos.Value_Range{{Begin: proto.Uint64(31000), End: proto.Uint64(31001)}},
								}},
							},
							Command: &mesos.CommandInfo{Shell: proto.Bool(true), Value: proto.String("sleep 10")},
						}}},
					}},
					Filters: &mesos.Filters{RefuseSeconds: proto.Float64(1)},
				},
			},
		},
		{
			name: "acknowledge",
			json: `{"framework_id":{"value":"m-0001"},"type":"ACKNOWLEDGE","acknowledge":{"agent_id":{"value":"m-S0"},` +
				`"task_id":{"value":"t1"},"uuid":"AAECAwQFBgcICQoLDA0ODw=="}}`,
			want: &scheduler.Call{
				FrameworkId: &mesos.FrameworkID{Value: proto.String("m-0001")},
				Type:        scheduler.Call_ACKNOWLEDGE.Enum(),
				Acknowledge: &scheduler.Call_Acknowledge{
					AgentId: &mesos.AgentID{Value: proto.String("m-S0")},
					TaskId:  &mesos.TaskID{Value: proto.String("t1")},
					Uuid:    []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
				},
			},
		},
		{
			name: "revive roles",
			json: `{"framework_id":{"value":"m-0001"},"type":"REVIVE","revive":{"roles":["web"]}}`,
			want: &scheduler.Call{
				FrameworkId: &mesos.FrameworkID{Value: proto.String("m-0001")},
				Type:        scheduler.Call_REVIVE.Enum(),
				Revive:      &scheduler.Call_Revive{Roles: []string{"web"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got scheduler.Call
			if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal([]byte(tt.json), &got); err != nil {
				t.Fatalf("unmarshal: %v", err)
			}
			if !proto.Equal(&got, tt.want) {
				t.Fatalf("decoded %v, want %v", &got, tt.want)
			}
			out, err := (protojson.MarshalOptions{UseProtoNames: true}).Marshal(&got)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			assertSameJSON(t, out, []byte(tt.json))

			// Binary round trip.
			bin, err := proto.Marshal(&got)
			if err != nil {
				t.Fatalf("proto marshal: %v", err)
			}
			var back scheduler.Call
			if err := proto.Unmarshal(bin, &back); err != nil {
				t.Fatalf("proto unmarshal: %v", err)
			}
			if !proto.Equal(&back, tt.want) {
				t.Fatalf("binary round trip gave %v", &back)
			}
		})
	}
}

// TestUnknownJSONFieldsDiscarded checks that newer clients' fields do not
// break decoding when DiscardUnknown is set, as the contracts require.
func TestUnknownJSONFieldsDiscarded(t *testing.T) {
	in := `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","offer_filters":{"r":{}}},` +
		`"offer_constraints":{}}}`
	var c scheduler.Call
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal([]byte(in), &c); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	if c.GetSubscribe().GetFrameworkInfo().GetUser() != "u" {
		t.Fatalf("decoded %v", &c)
	}
}

// TestBinaryWire builds an executor UPDATE call by hand with protowire and
// checks that it decodes into the expected message: the field numbers and
// wire types are what a Mesos executor writes.
func TestBinaryWire(t *testing.T) {
	uuid := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	str := func(num protowire.Number, s string) []byte {
		b := protowire.AppendTag(nil, num, protowire.BytesType)
		return protowire.AppendString(b, s)
	}
	msg := func(num protowire.Number, inner []byte) []byte {
		b := protowire.AppendTag(nil, num, protowire.BytesType)
		return protowire.AppendBytes(b, inner)
	}
	varint := func(num protowire.Number, v uint64) []byte {
		b := protowire.AppendTag(nil, num, protowire.VarintType)
		return protowire.AppendVarint(b, v)
	}
	cat := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	status := cat(
		msg(1, str(1, "t1")), // task_id
		varint(2, 1),         // state TASK_RUNNING
		varint(9, 2),         // source SOURCE_EXECUTOR
		msg(11, uuid),        // uuid
	)
	wire := cat(
		msg(1, str(1, "e1")), // executor_id
		msg(2, str(1, "f1")), // framework_id
		varint(3, 2),         // type UPDATE
		msg(5, msg(1, status)),
	)
	var got executor.Call
	if err := proto.Unmarshal(wire, &got); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	want := &executor.Call{
		ExecutorId:  &mesos.ExecutorID{Value: proto.String("e1")},
		FrameworkId: &mesos.FrameworkID{Value: proto.String("f1")},
		Type:        executor.Call_UPDATE.Enum(),
		Update: &executor.Call_Update{Status: &mesos.TaskStatus{
			TaskId: &mesos.TaskID{Value: proto.String("t1")},
			State:  mesos.TaskState_TASK_RUNNING.Enum(),
			Source: mesos.TaskStatus_SOURCE_EXECUTOR.Enum(),
			Uuid:   uuid,
		}},
	}
	if !proto.Equal(&got, want) {
		t.Fatalf("decoded %v, want %v", &got, want)
	}
	// Deterministic marshalling reproduces the bytes (fields in number order).
	out, err := (proto.MarshalOptions{Deterministic: true}).Marshal(want)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	if string(out) != string(wire) {
		t.Fatalf("marshal = %x, want %x", out, wire)
	}
}

func assertSameJSON(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("want invalid JSON %s: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("JSON mismatch:\n got %s\nwant %s", got, want)
	}
}
