package agent

import (
	"os"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/agenttest"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

func shutdownExecutorEvent(fid, eid string) *agorapb.AgentEvent {
	return &agorapb.AgentEvent{Type: agorapb.AgentEvent_SHUTDOWN_EXECUTOR.Enum(), ShutdownExecutor: &agorapb.AgentEvent_ShutdownExecutor{
		FrameworkId: &mesos.FrameworkID{Value: proto.String(fid)}, ExecutorId: &mesos.ExecutorID{Value: proto.String(eid)}}}
}

func testExecutorInfo(id string, env ...*mesos.Environment_Variable) *mesos.ExecutorInfo {
	vars := append([]*mesos.Environment_Variable{{Name: proto.String("AGENT_TEST_EXECUTOR"), Value: proto.String("1")}}, env...)
	return &mesos.ExecutorInfo{
		ExecutorId: &mesos.ExecutorID{Value: proto.String(id)},
		Command:    &mesos.CommandInfo{Value: proto.String(os.Args[0]), Environment: &mesos.Environment{Variables: vars}},
	}
}

func customTask(id string, ex *mesos.ExecutorInfo) *mesos.TaskInfo {
	return &mesos.TaskInfo{Name: proto.String(id), TaskId: &mesos.TaskID{Value: proto.String(id)},
		AgentId: &mesos.AgentID{Value: proto.String(testAgentID)}, Executor: ex, Data: []byte("run")}
}

func hasTerminal(us []*mesos.TaskStatus) bool {
	for _, u := range us {
		if u.GetState().IsTerminal() {
			return true
		}
	}
	return false
}

// SHUTDOWN_EXECUTOR stops one executor (its tasks end TASK_KILLED) and leaves the
// framework's other executors running; unknown executors are ignored.
func TestShutdownExecutor(t *testing.T) {
	fm := newFakeMaster(t)
	startAgent(t, fm.addr(), nil)
	waitSubscribed(t, fm, 1)
	ex := testExecutorInfo("custom")
	fm.send(runTask("fw-2", customTask("a", ex)))
	fm.send(runTask("fw-2", customTask("b", ex)))
	fm.send(runTask("fw-2", commandTask("c1", "run")))
	fm.waitState(t, "a", mesos.TaskState_TASK_RUNNING)
	fm.waitState(t, "b", mesos.TaskState_TASK_RUNNING)
	fm.waitState(t, "c1", mesos.TaskState_TASK_RUNNING)

	fm.send(shutdownExecutorEvent("fw-2", "nope"))
	fm.send(shutdownExecutorEvent("no-such-framework", "custom"))
	fm.send(shutdownExecutorEvent("fw-2", "custom"))
	fm.waitState(t, "a", mesos.TaskState_TASK_KILLED)
	fm.waitState(t, "b", mesos.TaskState_TASK_KILLED)
	agenttest.Eventually(t, 10*time.Second, func() bool { return len(fm.callsOf(agorapb.AgentCall_EXECUTOR_EXITED)) == 1 }, "no EXECUTOR_EXITED")
	if got := fm.callsOf(agorapb.AgentCall_EXECUTOR_EXITED)[0].GetExecutorExited().GetExecutorId().GetValue(); got != "custom" {
		t.Fatalf("EXECUTOR_EXITED for %q, want custom", got)
	}
	if us := fm.updates("c1"); hasTerminal(us) {
		t.Fatalf("the other executor's task ended: %v", states(us))
	}

	// The command executor's executor id is its task id.
	fm.send(shutdownExecutorEvent("fw-2", "c1"))
	fm.waitState(t, "c1", mesos.TaskState_TASK_KILLED)
	agenttest.Eventually(t, 10*time.Second, func() bool { return len(fm.callsOf(agorapb.AgentCall_EXECUTOR_EXITED)) == 2 }, "no second EXECUTOR_EXITED")
}

// An executor that has not subscribed is killed at once; the agent itself ends its tasks
// TASK_KILLED.
func TestShutdownExecutorNotSubscribed(t *testing.T) {
	fm := newFakeMaster(t)
	startAgent(t, fm.addr(), func(c *Config) { c.ExecutorRegistrationTimeout = time.Minute })
	waitSubscribed(t, fm, 1)
	ex := testExecutorInfo("silent", &mesos.Environment_Variable{Name: proto.String("TEST_MODE"), Value: proto.String("noregister")})
	fm.send(runTask("fw-1", customTask("t", ex)))
	fm.send(shutdownExecutorEvent("fw-1", "silent"))
	killed := fm.waitState(t, "t", mesos.TaskState_TASK_KILLED)
	if killed.GetSource() != mesos.TaskStatus_SOURCE_AGENT || killed.GetReason() != mesos.TaskStatus_REASON_EXECUTOR_TERMINATED {
		t.Fatalf("status = %v", killed)
	}
	agenttest.Eventually(t, 10*time.Second, func() bool { return len(fm.callsOf(agorapb.AgentCall_EXECUTOR_EXITED)) == 1 }, "no EXECUTOR_EXITED")
}

// An executor that ignores SHUTDOWN is killed after its shutdown grace period; its tasks
// end TASK_KILLED.
func TestShutdownExecutorGracePeriod(t *testing.T) {
	fm := newFakeMaster(t)
	startAgent(t, fm.addr(), nil)
	waitSubscribed(t, fm, 1)
	ex := testExecutorInfo("stubborn", &mesos.Environment_Variable{Name: proto.String("TEST_MODE"), Value: proto.String("ignoreshutdown")})
	ex.ShutdownGracePeriod = &mesos.DurationInfo{Nanoseconds: proto.Int64(int64(200 * time.Millisecond))}
	fm.send(runTask("fw-1", customTask("t", ex)))
	fm.waitState(t, "t", mesos.TaskState_TASK_RUNNING)
	fm.send(shutdownExecutorEvent("fw-1", "stubborn"))
	killed := fm.waitState(t, "t", mesos.TaskState_TASK_KILLED)
	if killed.GetSource() != mesos.TaskStatus_SOURCE_AGENT {
		t.Fatalf("status = %v", killed)
	}
	agenttest.Eventually(t, 10*time.Second, func() bool { return len(fm.callsOf(agorapb.AgentCall_EXECUTOR_EXITED)) == 1 }, "no EXECUTOR_EXITED")
	if st := fm.callsOf(agorapb.AgentCall_EXECUTOR_EXITED)[0].GetExecutorExited().GetStatus(); st != int32(9) {
		t.Fatalf("executor exit status %d, want SIGKILL (9)", st)
	}
}
