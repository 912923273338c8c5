package recovery

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/checkpoint"
	"github.com/agoracluster/agora/agent/containerizer"
	"github.com/agoracluster/agora/agent/statusupdate"
	"github.com/agoracluster/agora/agent/workload"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

func TestDecide(t *testing.T) {
	tests := []struct {
		name           string
		cpBoot, bootID string
		cleanup        bool
		want           Action
	}{
		{"same boot", "b1", "b1", false, Reconnect},
		{"same boot, recover=cleanup", "b1", "b1", true, Cleanup},
		{"another boot", "b1", "b2", false, Rebooted},
		{"another boot wins over cleanup", "b1", "b2", true, Rebooted},
		{"no boot id recorded", "", "b2", false, Reconnect},
		{"this host's boot id unknown", "b1", "", false, Reconnect},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Decide(&checkpoint.State{BootID: tt.cpBoot}, tt.bootID, tt.cleanup); got != tt.want {
				t.Fatalf("Decide = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRebuildAdoptsExecutorsWithTasksAndDropsDeadIdleOnes(t *testing.T) {
	execInfo := func(id string) *mesos.ExecutorInfo {
		return &mesos.ExecutorInfo{ExecutorId: &mesos.ExecutorID{Value: proto.String(id)}}
	}
	task := &mesos.Task{TaskId: &mesos.TaskID{Value: proto.String("T")}, State: mesos.TaskState_TASK_RUNNING.Enum()}
	cp := &checkpoint.State{
		Agent: &mesos.AgentInfo{Id: &mesos.AgentID{Value: proto.String("A")}},
		Frameworks: []*checkpoint.Framework{{
			Info: &mesos.FrameworkInfo{Id: &mesos.FrameworkID{Value: proto.String("F")}},
			Executors: []*checkpoint.Executor{
				{Info: execInfo("with-task"), ContainerID: "c1", PID: 1, Tasks: []*checkpoint.Task{{Task: task}}},
				{Info: execInfo("idle-dead"), ContainerID: "c2", PID: 2},
				{Info: execInfo("idle-alive"), ContainerID: "c3", PID: 3},
			},
		}},
	}
	w := workload.NewState(statusupdate.Config{})
	rb := Rebuild(&w, cp, func(c containerizer.RecoveredContainer) bool { return c.ContainerID != "c2" })
	if w.AgentID != "A" {
		t.Fatalf("agent id %q, want A", w.AgentID)
	}
	var adopted []string
	for _, ex := range rb.Adopted {
		adopted = append(adopted, ex.ID)
	}
	if len(adopted) != 2 || adopted[0] != "with-task" || adopted[1] != "idle-alive" {
		t.Fatalf("adopted %v, want [with-task idle-alive]", adopted)
	}
	if len(rb.Containers) != 2 || rb.Containers[0].ContainerID != "c1" || rb.Containers[1].ContainerID != "c3" {
		t.Fatalf("containers %v, want c1 and c3", rb.Containers)
	}
	if len(rb.Gone) != 1 || rb.Gone[0] != "c2" {
		t.Fatalf("gone %v, want [c2]", rb.Gone)
	}
	ex := w.ExecutorOf("F", "with-task")
	if ex == nil || !ex.Recovered || ex.State != workload.ExecutorRegistering || w.Tasks[ex.Key("T")] == nil {
		t.Fatalf("executor with-task = %+v, want it recovered, registering, with task T tracked", ex)
	}
	if fw := w.Frameworks["F"]; len(fw.CompletedExecutors) != 1 || fw.CompletedExecutors[0].ID != "idle-dead" {
		t.Fatalf("completed executors %v, want idle-dead", fw.CompletedExecutors)
	}
}

func TestUndelivered(t *testing.T) {
	fw := &workload.Framework{ID: "F", Info: &mesos.FrameworkInfo{}}
	ex := &workload.Executor{Framework: fw, ID: "E", Tasks: map[string]*workload.Task{}}
	for id, state := range map[string]mesos.TaskState{
		"staging-known": mesos.TaskState_TASK_STAGING, "staging-unknown": mesos.TaskState_TASK_STAGING,
		"running": mesos.TaskState_TASK_RUNNING,
	} {
		ex.Tasks[id] = &workload.Task{Executor: ex, Info: &mesos.TaskInfo{TaskId: &mesos.TaskID{Value: proto.String(id)}}, State: state}
	}
	known := map[string]bool{"staging-known": true}
	tasks, state := Undelivered(ex, known)
	if len(tasks) != 1 || tasks[0].Info.GetTaskId().GetValue() != "staging-unknown" || state != mesos.TaskState_TASK_LOST {
		t.Fatalf("Undelivered = %v, %v; want staging-unknown, TASK_LOST", tasks, state)
	}
	fw.Info.Capabilities = []*mesos.FrameworkInfo_Capability{{Type: mesos.FrameworkInfo_Capability_PARTITION_AWARE.Enum()}}
	if _, state := Undelivered(ex, known); state != mesos.TaskState_TASK_DROPPED {
		t.Fatalf("a partition-aware framework's undelivered tasks end %v, want TASK_DROPPED", state)
	}
}
