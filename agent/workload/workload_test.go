package workload

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/statusupdate"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// oneTask is a State with framework F, executor E and its task T in state.
func oneTask(state mesos.TaskState, exState ExecutorState) (State, *Executor) {
	st := NewState(statusupdate.Config{})
	fw := st.FrameworkFor(&mesos.FrameworkInfo{Id: &mesos.FrameworkID{Value: proto.String("F")}})
	ex := &Executor{Framework: fw, ID: "E", State: exState, Tasks: map[string]*Task{}}
	fw.Executors["E"] = ex
	t := &Task{Executor: ex, Info: &mesos.TaskInfo{TaskId: &mesos.TaskID{Value: proto.String("T")}}, State: state}
	ex.Tasks["T"] = t
	st.Tasks[ex.Key("T")] = t
	return st, ex
}

func TestRemoveExecutor(t *testing.T) {
	t.Run("a running executor stays", func(t *testing.T) {
		st, ex := oneTask(mesos.TaskState_TASK_RUNNING, ExecutorRunning)
		if removed, _ := st.RemoveExecutor(ex); removed || st.ExecutorOf("F", "E") == nil {
			t.Fatal("removed a running executor")
		}
	})
	t.Run("a terminated executor with a task not yet acknowledged stays", func(t *testing.T) {
		st, ex := oneTask(mesos.TaskState_TASK_FAILED, ExecutorTerminated)
		if removed, _ := st.RemoveExecutor(ex); removed {
			t.Fatal("removed an executor whose task's update is pending")
		}
	})
	t.Run("completing its last task removes a terminated executor and its framework", func(t *testing.T) {
		st, ex := oneTask(mesos.TaskState_TASK_FAILED, ExecutorTerminated)
		if got := st.CompleteTask(ex.Key("T")); got != ex {
			t.Fatalf("CompleteTask returned %v, want the task's executor", got)
		}
		if len(ex.Completed) != 1 || len(st.Tasks) != 0 {
			t.Fatalf("completed %d tasks, %d live, want 1 and 0", len(ex.Completed), len(st.Tasks))
		}
		removed, fw := st.RemoveExecutor(ex)
		if !removed || fw == nil || fw.ID != "F" {
			t.Fatalf("RemoveExecutor = %v, %v; want the executor and framework F removed", removed, fw)
		}
		if len(st.Frameworks) != 0 || len(st.CompletedFrameworks) != 1 || len(fw.CompletedExecutors) != 1 {
			t.Fatalf("frameworks %d, completed %d, completed executors %d; want 0, 1, 1",
				len(st.Frameworks), len(st.CompletedFrameworks), len(fw.CompletedExecutors))
		}
	})
	t.Run("a framework shutting down loses a terminated executor with live tasks", func(t *testing.T) {
		st, ex := oneTask(mesos.TaskState_TASK_RUNNING, ExecutorTerminated)
		ex.Framework.ShuttingDown = true
		removed, fw := st.RemoveExecutor(ex)
		if !removed || fw == nil || len(st.Tasks) != 0 {
			t.Fatalf("RemoveExecutor = %v, %v with %d live tasks; want both removed, none left", removed, fw, len(st.Tasks))
		}
	})
}

func TestUnqueueDropsATaskFromItsGroup(t *testing.T) {
	_, ex := oneTask(mesos.TaskState_TASK_STAGING, ExecutorLaunching)
	info := func(id string) *mesos.TaskInfo {
		return &mesos.TaskInfo{TaskId: &mesos.TaskID{Value: proto.String(id)}}
	}
	ex.Queue = []LaunchItem{{Task: info("T")}, {Group: &mesos.TaskGroupInfo{Tasks: []*mesos.TaskInfo{info("A"), info("T")}}}}
	ex.Unqueue(ex.Tasks["T"])
	if len(ex.Queue) != 1 || len(ex.Queue[0].Group.GetTasks()) != 1 || ex.Queue[0].Group.GetTasks()[0].GetTaskId().GetValue() != "A" {
		t.Fatalf("queue after Unqueue(T) = %v, want the group with A alone", ex.Queue)
	}
}
