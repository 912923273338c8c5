package mesos_test

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
)

func TestMarshalJSONMesosForm(t *testing.T) {
	tests := []struct {
		name string
		msg  proto.Message
		want string
	}{
		{
			name: "ranges as numbers",
			msg: &mesos.Resource{
				Name: proto.String("ports"),
				Type: mesos.Value_RANGES.Enum(),
				Ranges: &mesos.Value_Ranges{Range: []*mesos.Value_Range{
					{Begin: proto.Uint64(31000), End: proto.Uint64(32000)},
				}},
			},
			want: `{"name":"ports","ranges":{"range":[{"begin":31000,"end":32000}]},"type":"RANGES"}`,
		},
		{
			name: "int64 beyond float precision stays exact",
			msg:  &mesos.TimeInfo{Nanoseconds: proto.Int64(1700000000123456789)},
			want: `{"nanoseconds":1700000000123456789}`,
		},
		{
			name: "kill policy duration in a list and nested message",
			msg: &scheduler.Call{
				Type: scheduler.Call_KILL.Enum(),
				Kill: &scheduler.Call_Kill{
					TaskId:     &mesos.TaskID{Value: proto.String("t&1")},
					KillPolicy: &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: proto.Int64(3000000000)}},
				},
			},
			want: `{"kill":{"kill_policy":{"grace_period":{"nanoseconds":3000000000}},"task_id":{"value":"t&1"}},"type":"KILL"}`,
		},
		{
			name: "map values and bytes",
			msg: &mesos.TaskStatus{
				TaskId:    &mesos.TaskID{Value: proto.String("t")},
				State:     mesos.TaskState_TASK_STARTING.Enum(),
				Uuid:      []byte{0xff, 0x00},
				Timestamp: proto.Float64(1.5),
			},
			want: `{"state":"TASK_STARTING","task_id":{"value":"t"},"timestamp":1.5,"uuid":"/wA="}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mesos.MarshalJSON(tt.msg)
			if err != nil {
				t.Fatalf("MarshalJSON: %v", err)
			}
			if string(got) != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
			back := tt.msg.ProtoReflect().New().Interface()
			if err := mesos.UnmarshalJSON(got, back); err != nil {
				t.Fatalf("UnmarshalJSON: %v", err)
			}
			if !proto.Equal(back, tt.msg) {
				t.Fatalf("round trip gave %v, want %v", back, tt.msg)
			}
		})
	}
}

func TestMarshalJSONMapOfScalars(t *testing.T) {
	ti := &mesos.TaskInfo{
		Name:    proto.String("t"),
		TaskId:  &mesos.TaskID{Value: proto.String("t")},
		AgentId: &mesos.AgentID{Value: proto.String("a")},
		Limits:  map[string]*mesos.Value_Scalar{"cpus": {Value: proto.Float64(2)}},
	}
	got, err := mesos.MarshalJSON(ti)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), `"limits":{"cpus":{"value":2}}`) {
		t.Fatalf("got %s", got)
	}
}

func TestJSONRequiredFields(t *testing.T) {
	if _, err := mesos.MarshalJSON(&mesos.TaskID{}); err == nil {
		t.Error("MarshalJSON accepted a TaskID without value")
	}
	var id mesos.TaskID
	if err := mesos.UnmarshalJSON([]byte(`{}`), &id); err == nil {
		t.Error("UnmarshalJSON accepted a TaskID without value")
	}
	var r mesos.Value_Range
	if err := mesos.UnmarshalJSON([]byte(`{"begin":"1","end":2,"future_field":true}`), &r); err != nil {
		t.Errorf("UnmarshalJSON with string int64 and unknown field: %v", err)
	}
}

// FuzzSchedulerCallJSON: whatever decodes as a scheduler Call must encode in
// Mesos form and decode back to the same message.
func FuzzSchedulerCallJSON(f *testing.F) {
	for _, seed := range []string{
		`{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"root","name":"x"}}}`,
		`{"framework_id":{"value":"f"},"type":"DECLINE","decline":{"offer_ids":[{"value":"o"}],"filters":{"refuse_seconds":5}}}`,
		`{"framework_id":{"value":"f"},"type":"KILL","kill":{"task_id":{"value":"t"},"kill_policy":{"grace_period":{"nanoseconds":"5"}}}}`,
		`{"type":"ACCEPT","accept":{"operations":[{"type":"LAUNCH","launch":{"task_infos":[{"name":"n","task_id":{"value":"t"},"agent_id":{"value":"a"},"limits":{"mem":{"value":1}}}]}}]}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var c scheduler.Call
		if err := mesos.UnmarshalJSON(in, &c); err != nil {
			return
		}
		out, err := mesos.MarshalJSON(&c)
		if err != nil {
			t.Fatalf("MarshalJSON of decoded call: %v", err)
		}
		var back scheduler.Call
		if err := mesos.UnmarshalJSON(out, &back); err != nil {
			t.Fatalf("UnmarshalJSON of %s: %v", out, err)
		}
		opts := proto.MarshalOptions{Deterministic: true}
		a, err := opts.Marshal(&c)
		if err != nil {
			t.Fatal(err)
		}
		b, err := opts.Marshal(&back)
		if err != nil {
			t.Fatal(err)
		}
		if string(a) != string(b) {
			t.Fatalf("round trip changed the call:\n in  %v\n out %v", &c, &back)
		}
	})
}
