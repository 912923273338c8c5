package agent

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/agenttest"
	"github.com/agoracluster/agora/agent/checkpoint"
	"github.com/agoracluster/agora/agent/stateapi"
	"github.com/agoracluster/agora/agent/statusupdate"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

func getState(t *testing.T, base string) stateapi.State {
	t.Helper()
	resp, err := http.Get(base + "/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st stateapi.State
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// taskStateIn is the state of task id in the agent's /state, or "" when it is not there.
func taskStateIn(st stateapi.State, id string) string {
	for _, fw := range append(st.Frameworks, st.CompletedFrameworks...) {
		for _, ex := range append(fw.Executors, fw.CompletedExecutors...) {
			for _, task := range append(append(ex.Tasks, ex.QueuedTasks...), ex.CompletedTasks...) {
				if task.ID == id {
					return task.State
				}
			}
		}
	}
	return ""
}

func waitSubscribed(t *testing.T, fm *fakeMaster, n int) {
	t.Helper()
	agenttest.Eventually(t, 10*time.Second, func() bool { return len(fm.subscriptions()) >= n }, "agent did not subscribe %d times", n)
}

func TestRegistration(t *testing.T) {
	fm := newFakeMaster(t)
	ta := startAgent(t, "http://"+fm.addr(), nil)
	waitSubscribed(t, fm, 1)
	sub := fm.subscriptions()[0].GetSubscribe()
	info := sub.GetAgentInfo()
	if info.GetHostname() != "localhost" || info.Id != nil {
		t.Fatalf("agent info = %v", info)
	}
	if !strings.HasSuffix(ta.url, ":"+strconv.Itoa(int(info.GetPort()))) {
		t.Fatalf("port %d, listener %s", info.GetPort(), ta.url)
	}
	if len(info.GetResources()) != 4 || len(info.GetAttributes()) != 1 {
		t.Fatalf("resources %v attributes %v", info.GetResources(), info.GetAttributes())
	}
	agenttest.Eventually(t, 10*time.Second, func() bool { return getState(t, ta.url).ID == testAgentID }, "state has no agent id")
	st := getState(t, ta.url)
	if st.Resources["cpus"] != 2.0 || st.Attributes["rack"] != "r1" || !st.Connected {
		t.Fatalf("state = %+v", st)
	}
	// Heartbeats arrive every announced interval (1s).
	agenttest.Eventually(t, 10*time.Second, func() bool { return len(fm.callsOf(agorapb.AgentCall_HEARTBEAT)) > 0 }, "no heartbeat")

	// A dropped stream is re-subscribed with the same agent id.
	fm.dropStream()
	waitSubscribed(t, fm, 2)
	if got := fm.subscriptions()[1].GetSubscribe().GetAgentInfo().GetId().GetValue(); got != testAgentID {
		t.Fatalf("re-subscribed with id %q", got)
	}
	// The agent checkpointed its info.
	if _, err := os.Stat(filepath.Join(ta.cfg.WorkDir, "meta", "slaves", "latest", "slave.info")); err != nil {
		t.Fatal(err)
	}
}

func TestRedirectFromNonLeadingMaster(t *testing.T) {
	fm := newFakeMaster(t)
	redirector := http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "//"+fm.addr()+"/api/v1/agent", http.StatusTemporaryRedirect)
	})}
	ln := listen(t)
	go func() { _ = redirector.Serve(ln) }()
	t.Cleanup(func() { _ = redirector.Close() })
	ta := startAgent(t, ln.Addr().String(), nil)
	waitSubscribed(t, fm, 1)
	fm.send(runTask("fw-1", commandTask("t1", "finish")))
	fm.waitState(t, "t1", mesos.TaskState_TASK_FINISHED)
	ta.stop()
}

func TestCommandTaskLifecycle(t *testing.T) {
	fm := newFakeMaster(t)
	ta := startAgent(t, fm.addr(), nil)
	waitSubscribed(t, fm, 1)
	fm.send(runTask("fw-1", commandTask("t1", "finish")))
	fin := fm.waitState(t, "t1", mesos.TaskState_TASK_FINISHED)
	if got := states(fm.updates("t1")); strings.Join(got, ",") != "TASK_RUNNING,TASK_FINISHED" {
		t.Fatalf("updates = %v", got)
	}
	if fin.GetSource() != mesos.TaskStatus_SOURCE_EXECUTOR || fin.GetAgentId().GetValue() != testAgentID ||
		fin.GetExecutorId().GetValue() != "t1" {
		t.Fatalf("status = %v", fin)
	}
	// The executor exits after its terminal update was acknowledged.
	agenttest.Eventually(t, 20*time.Second, func() bool { return len(fm.callsOf(agorapb.AgentCall_EXECUTOR_EXITED)) == 1 }, "no EXECUTOR_EXITED")
	agenttest.Eventually(t, 10*time.Second, func() bool {
		st := getState(t, ta.url)
		return len(st.CompletedFrameworks) == 1 && len(st.CompletedFrameworks[0].CompletedExecutors) == 1 &&
			len(st.CompletedFrameworks[0].CompletedExecutors[0].CompletedTasks) == 1
	}, "task not completed in /state")
	ex := getState(t, ta.url).CompletedFrameworks[0].CompletedExecutors[0]
	for _, f := range []string{"stdout", "stderr"} {
		if _, err := os.Stat(filepath.Join(ex.Directory, f)); err != nil {
			t.Fatal(err)
		}
	}
	if target, err := os.Readlink(filepath.Join(filepath.Dir(ex.Directory), "latest")); err != nil || target != ex.Container {
		t.Fatalf("latest -> %q, %v", target, err)
	}
	// The checkpoint holds both updates and both acknowledgements.
	log, err := checkpoint.ReadRunLog(filepath.Join(ta.a.ckpt.RunDir(testAgentID, "fw-1", "t1", ex.Container), checkpoint.RunLog))
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Tasks) != 1 || log.Tasks[0].GetTaskId().GetValue() != "t1" {
		t.Fatalf("checkpointed tasks = %v", log.Tasks)
	}
	recs := log.Records["t1"]
	count := map[statusupdate.RecordType]int{}
	for _, r := range recs {
		count[r.Type]++
	}
	if len(recs) != 4 || recs[0].Type != statusupdate.RecordUpdate || count[statusupdate.RecordAck] != 2 {
		t.Fatalf("checkpoint records = %v", recs)
	}
	m := statusupdate.New(statusupdate.DefaultConfig())
	if err := m.Recover(statusupdate.TaskKey{FrameworkID: "fw-1", TaskID: "t1"}, recs); err != nil {
		t.Fatalf("replay checkpoint: %v", err)
	}
}

func TestUpdatesWaitForAcknowledgement(t *testing.T) {
	fm := newFakeMaster(t)
	fm.setAutoAck(false)
	ta := startAgent(t, fm.addr(), nil)
	waitSubscribed(t, fm, 1)
	fm.send(runTask("fw-1", commandTask("t1", "finish")))
	fm.waitState(t, "t1", mesos.TaskState_TASK_RUNNING)
	// The agent has TASK_FINISHED from the executor, but holds it back until TASK_RUNNING is
	// acknowledged.
	agenttest.Eventually(t, 10*time.Second, func() bool { return taskStateIn(getState(t, ta.url), "t1") == "TASK_FINISHED" },
		"the agent did not get TASK_FINISHED from the executor")
	if got := states(fm.updates("t1")); len(got) != 1 {
		t.Fatalf("updates before ack = %v", got)
	}
	// A new subscription resends the unacknowledged head and reports the task.
	fm.dropStream()
	waitSubscribed(t, fm, 2)
	agenttest.Eventually(t, 10*time.Second, func() bool { return len(fm.updates("t1")) == 2 }, "head not resent")
	us := fm.updates("t1")
	if string(us[0].GetUuid()) != string(us[1].GetUuid()) {
		t.Fatalf("resent a different update: %v", states(us))
	}
	tasks := fm.subscriptions()[1].GetSubscribe().GetTasks()
	if len(tasks) != 1 || tasks[0].GetState() != mesos.TaskState_TASK_FINISHED ||
		tasks[0].GetStatusUpdateState() != mesos.TaskState_TASK_RUNNING {
		t.Fatalf("re-subscribe tasks = %v", tasks)
	}
	fm.ack(&agorapb.StatusUpdateRecord{FrameworkId: &mesos.FrameworkID{Value: proto.String("fw-1")}, Status: us[0]})
	agenttest.Eventually(t, 10*time.Second, func() bool {
		us := fm.updates("t1")
		return us[len(us)-1].GetState() == mesos.TaskState_TASK_FINISHED
	}, "TASK_FINISHED not sent after the ack")
	last := fm.updates("t1")
	fm.ack(&agorapb.StatusUpdateRecord{FrameworkId: &mesos.FrameworkID{Value: proto.String("fw-1")}, Status: last[len(last)-1]})
	agenttest.Eventually(t, 20*time.Second, func() bool { return len(fm.callsOf(agorapb.AgentCall_EXECUTOR_EXITED)) == 1 }, "executor did not exit")
}

func TestExecutorExitFailsTasks(t *testing.T) {
	fm := newFakeMaster(t)
	startAgent(t, fm.addr(), nil)
	waitSubscribed(t, fm, 1)
	fm.send(runTask("fw-1", commandTask("t1", "exit:3")))
	failed := fm.waitState(t, "t1", mesos.TaskState_TASK_FAILED)
	if failed.GetSource() != mesos.TaskStatus_SOURCE_AGENT || failed.GetReason() != mesos.TaskStatus_REASON_EXECUTOR_TERMINATED ||
		!strings.Contains(failed.GetMessage(), "exited with status 3") {
		t.Fatalf("status = %v", failed)
	}
	agenttest.Eventually(t, 10*time.Second, func() bool { return len(fm.callsOf(agorapb.AgentCall_EXECUTOR_EXITED)) == 1 }, "no EXECUTOR_EXITED")
	exited := fm.callsOf(agorapb.AgentCall_EXECUTOR_EXITED)[0].GetExecutorExited()
	if exited.GetExecutorId().GetValue() != "t1" || exited.GetStatus() != 3<<8 {
		t.Fatalf("executor exited = %v", exited)
	}
}

func TestKillTask(t *testing.T) {
	fm := newFakeMaster(t)
	startAgent(t, fm.addr(), nil)
	waitSubscribed(t, fm, 1)
	fm.send(runTask("fw-1", commandTask("t1", "run")))
	fm.waitState(t, "t1", mesos.TaskState_TASK_RUNNING)
	// Killing an unknown task of a known framework answers TASK_LOST.
	fm.send(&agorapb.AgentEvent{Type: agorapb.AgentEvent_KILL_TASK.Enum(), KillTask: &agorapb.AgentEvent_KillTask{
		FrameworkId: &mesos.FrameworkID{Value: proto.String("fw-1")}, TaskId: &mesos.TaskID{Value: proto.String("nope")}}})
	fm.waitState(t, "nope", mesos.TaskState_TASK_LOST)
	fm.send(&agorapb.AgentEvent{Type: agorapb.AgentEvent_KILL_TASK.Enum(), KillTask: &agorapb.AgentEvent_KillTask{
		FrameworkId: &mesos.FrameworkID{Value: proto.String("fw-1")}, TaskId: &mesos.TaskID{Value: proto.String("t1")}}})
	fm.waitState(t, "t1", mesos.TaskState_TASK_KILLED)
}

func TestCustomExecutorAndShutdownFramework(t *testing.T) {
	fm := newFakeMaster(t)
	startAgent(t, fm.addr(), nil)
	waitSubscribed(t, fm, 1)
	exInfo := &mesos.ExecutorInfo{
		ExecutorId: &mesos.ExecutorID{Value: proto.String("custom")},
		Command: &mesos.CommandInfo{Value: proto.String(os.Args[0]), Environment: &mesos.Environment{
			Variables: []*mesos.Environment_Variable{{Name: proto.String("AGENT_TEST_EXECUTOR"), Value: proto.String("1")}}}},
	}
	for _, id := range []string{"a", "b"} {
		task := &mesos.TaskInfo{Name: proto.String(id), TaskId: &mesos.TaskID{Value: proto.String(id)},
			AgentId: &mesos.AgentID{Value: proto.String(testAgentID)}, Executor: exInfo, Data: []byte("run")}
		fm.send(runTask("fw-2", task))
	}
	fm.waitState(t, "a", mesos.TaskState_TASK_RUNNING)
	fm.waitState(t, "b", mesos.TaskState_TASK_RUNNING)
	fm.send(&agorapb.AgentEvent{Type: agorapb.AgentEvent_SHUTDOWN_FRAMEWORK.Enum(), ShutdownFramework: &agorapb.AgentEvent_ShutdownFramework{
		FrameworkId: &mesos.FrameworkID{Value: proto.String("fw-2")}}})
	fm.waitState(t, "a", mesos.TaskState_TASK_KILLED)
	fm.waitState(t, "b", mesos.TaskState_TASK_KILLED)
	agenttest.Eventually(t, 10*time.Second, func() bool { return len(fm.callsOf(agorapb.AgentCall_EXECUTOR_EXITED)) == 1 }, "no EXECUTOR_EXITED")
}

func TestExecutorRegistrationTimeout(t *testing.T) {
	fm := newFakeMaster(t)
	startAgent(t, fm.addr(), func(c *Config) { c.ExecutorRegistrationTimeout = 300 * time.Millisecond })
	waitSubscribed(t, fm, 1)
	task := &mesos.TaskInfo{Name: proto.String("t"), TaskId: &mesos.TaskID{Value: proto.String("t")},
		AgentId: &mesos.AgentID{Value: proto.String(testAgentID)}, Executor: &mesos.ExecutorInfo{
			ExecutorId: &mesos.ExecutorID{Value: proto.String("silent")},
			Command: &mesos.CommandInfo{Value: proto.String(os.Args[0]), Environment: &mesos.Environment{
				Variables: []*mesos.Environment_Variable{
					{Name: proto.String("AGENT_TEST_EXECUTOR"), Value: proto.String("1")},
					{Name: proto.String("TEST_MODE"), Value: proto.String("noregister")}}}},
		}}
	fm.send(runTask("fw-1", task))
	failed := fm.waitState(t, "t", mesos.TaskState_TASK_FAILED)
	if failed.GetReason() != mesos.TaskStatus_REASON_EXECUTOR_REGISTRATION_TIMEOUT {
		t.Fatalf("status = %v", failed)
	}
}

func TestLaunchFailure(t *testing.T) {
	fm := newFakeMaster(t)
	startAgent(t, fm.addr(), func(c *Config) { c.ExecutorBinary = "/nonexistent/agora" })
	waitSubscribed(t, fm, 1)
	fm.send(runTask("fw-1", commandTask("t1", "finish")))
	failed := fm.waitState(t, "t1", mesos.TaskState_TASK_FAILED)
	if failed.GetReason() != mesos.TaskStatus_REASON_CONTAINER_LAUNCH_FAILED {
		t.Fatalf("status = %v", failed)
	}
}

func TestStatusUpdateManagerKeys(t *testing.T) {
	// Guard the TaskKey layout the checkpoint paths depend on.
	k := statusupdate.TaskKey{FrameworkID: "f", TaskID: "t"}
	if k.String() != "f/t" {
		t.Fatal(k.String())
	}
}

func TestTaskGroupAndMetrics(t *testing.T) {
	fm := newFakeMaster(t)
	ta := startAgent(t, fm.addr(), nil)
	waitSubscribed(t, fm, 1)
	exInfo := &mesos.ExecutorInfo{
		ExecutorId: &mesos.ExecutorID{Value: proto.String("group-ex")},
		Command: &mesos.CommandInfo{Value: proto.String(os.Args[0]), Environment: &mesos.Environment{
			Variables: []*mesos.Environment_Variable{{Name: proto.String("AGENT_TEST_EXECUTOR"), Value: proto.String("1")}}}},
	}
	var tasks []*mesos.TaskInfo
	for _, id := range []string{"g1", "g2"} {
		tasks = append(tasks, &mesos.TaskInfo{Name: proto.String(id), TaskId: &mesos.TaskID{Value: proto.String(id)},
			AgentId: &mesos.AgentID{Value: proto.String(testAgentID)}, Data: []byte("run")})
	}
	fm.send(&agorapb.AgentEvent{Type: agorapb.AgentEvent_RUN_TASK_GROUP.Enum(), RunTaskGroup: &agorapb.AgentEvent_RunTaskGroup{
		FrameworkInfo: frameworkInfo("fw-g"), Executor: exInfo, TaskGroup: &mesos.TaskGroupInfo{Tasks: tasks}}})
	fm.waitState(t, "g1", mesos.TaskState_TASK_RUNNING)
	fm.waitState(t, "g2", mesos.TaskState_TASK_RUNNING)

	resp, err := http.Get(ta.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`agora_agent_tasks{state="TASK_RUNNING"} 2`, "agora_agent_executors_running 1", "agora_agent_connected 1"} {
		if !strings.Contains(string(body), want) {
			t.Fatalf("metrics lack %q:\n%s", want, body)
		}
	}
	resp, err = http.Get(ta.url + "/health")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("health: %v %v", resp, err)
	}
	resp.Body.Close()
	st := getState(t, ta.url)
	if len(st.Frameworks) != 1 || len(st.Frameworks[0].Executors) != 1 || len(st.Frameworks[0].Executors[0].Tasks) != 2 {
		t.Fatalf("state = %+v", st)
	}
	// Stopping the agent shuts the executor down: its tasks end as TASK_KILLED.
	ta.stop()
}

// TestStopWaitsOnlyForExecutorExit: an agent that shuts its executors down on exit returns
// from Run once they exited, even while their tasks' last updates are unacknowledged.
func TestStopWaitsOnlyForExecutorExit(t *testing.T) {
	fm := newFakeMaster(t)
	fm.setAutoAck(false)
	ta := startAgent(t, fm.addr(), nil)
	waitSubscribed(t, fm, 1)
	fm.send(runTask("fw-1", commandTask("t1", "run")))
	fm.waitState(t, "t1", mesos.TaskState_TASK_RUNNING)
	stopped := make(chan struct{})
	go func() { ta.stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after its executor exited")
	}
}
