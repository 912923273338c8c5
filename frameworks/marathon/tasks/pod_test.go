package tasks

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/frameworks/sdk/sdktest"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// TestPodInstanceAggregate pins how an instance's state and health follow its containers'.
func TestPodInstanceAggregate(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	type update struct {
		name    string
		state   mesos.TaskState
		healthy *bool
	}
	tests := []struct {
		name    string
		updates []update
		state   mesos.TaskState
		healthy *bool // nil: no health in the status
	}{
		{"launched", nil, mesos.TaskState_TASK_STAGING, nil},
		{"one running", []update{{"web", mesos.TaskState_TASK_RUNNING, proto.Bool(true)}}, mesos.TaskState_TASK_STAGING, proto.Bool(true)},
		{"both running, unchecked", []update{{"web", mesos.TaskState_TASK_RUNNING, nil}, {"side", mesos.TaskState_TASK_RUNNING, nil}}, mesos.TaskState_TASK_RUNNING, nil},
		{"both running, healthy", []update{{"web", mesos.TaskState_TASK_RUNNING, proto.Bool(true)}, {"side", mesos.TaskState_TASK_RUNNING, nil}}, mesos.TaskState_TASK_RUNNING, proto.Bool(true)},
		{"unhealthy", []update{{"web", mesos.TaskState_TASK_RUNNING, proto.Bool(false)}, {"side", mesos.TaskState_TASK_RUNNING, nil}}, mesos.TaskState_TASK_RUNNING, proto.Bool(false)},
		{"sidecar finished", []update{{"web", mesos.TaskState_TASK_RUNNING, proto.Bool(true)}, {"side", mesos.TaskState_TASK_FINISHED, nil}}, mesos.TaskState_TASK_RUNNING, proto.Bool(true)},
		{"all finished", []update{{"web", mesos.TaskState_TASK_FINISHED, nil}, {"side", mesos.TaskState_TASK_FINISHED, nil}}, mesos.TaskState_TASK_FINISHED, nil},
		{"one failed", []update{{"web", mesos.TaskState_TASK_RUNNING, nil}, {"side", mesos.TaskState_TASK_FAILED, nil}}, mesos.TaskState_TASK_FAILED, nil},
		{"one gone", []update{{"web", mesos.TaskState_TASK_GONE, nil}}, mesos.TaskState_TASK_GONE, nil},
		{"killing", []update{{"web", mesos.TaskState_TASK_KILLING, nil}, {"side", mesos.TaskState_TASK_RUNNING, nil}}, mesos.TaskState_TASK_KILLING, nil},
		{"unreachable", []update{{"web", mesos.TaskState_TASK_RUNNING, nil}, {"side", mesos.TaskState_TASK_UNREACHABLE, nil}}, mesos.TaskState_TASK_UNREACHABLE, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPodInstance("p.instance-1", []string{"web", "side"}, []bool{true, false}, now)
			last := sdktest.NewStatus("p.instance-1.web", "a1", mesos.TaskState_TASK_STAGING, nil)
			for _, u := range tc.updates {
				st := sdktest.NewStatus("p.instance-1."+u.name, "a1", u.state, nil)
				st.Healthy = u.healthy
				p.Container(u.name).Record(st, now)
				last = st
			}
			got := p.Aggregate("p.instance-1", last)
			if got.GetTaskId().GetValue() != "p.instance-1" || got.GetState() != tc.state {
				t.Fatalf("aggregate = %v %v, want %v", got.GetTaskId().GetValue(), got.GetState(), tc.state)
			}
			if (got.Healthy == nil) != (tc.healthy == nil) || tc.healthy != nil && got.GetHealthy() != *tc.healthy {
				t.Fatalf("healthy = %v, want %v", got.Healthy, tc.healthy)
			}
		})
	}
}
