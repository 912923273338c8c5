package commandexec

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/internal/hosttest"
	"github.com/agoracluster/agora/internal/poll"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/executor"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func shellTask(script string) *mesos.TaskInfo {
	return &mesos.TaskInfo{
		Name:    proto.String("test"),
		TaskId:  &mesos.TaskID{Value: proto.String("task-1")},
		AgentId: &mesos.AgentID{Value: proto.String("agent-1")},
		Command: &mesos.CommandInfo{Value: proto.String(script)},
	}
}

type running struct {
	sandbox string
	result  chan error
	cancel  context.CancelFunc
}

// start runs the executor against agent; the test waits for it to exit.
func start(t *testing.T, agent *fakeAgent, mod func(*Config)) *running {
	t.Helper()
	sandbox := t.TempDir()
	out, err := os.Create(filepath.Join(sandbox, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close() })
	cfg := DefaultConfig()
	cfg.FrameworkID = "fw-1"
	cfg.ExecutorID = "task-1"
	cfg.AgentEndpoint = agent.endpoint()
	cfg.Sandbox = sandbox
	cfg.Env = []string{"PATH=" + os.Getenv("PATH")}
	cfg.TaskStdout, cfg.TaskStderr = out, out
	cfg.SubscriptionBackoffMax = 50 * time.Millisecond
	if mod != nil {
		mod(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{sandbox: sandbox, result: make(chan error, 1), cancel: cancel}
	log := zaptest.NewLogger(t)
	go func() { r.result <- Run(ctx, cfg, log) }()
	t.Cleanup(func() {
		cancel()
		r.wait(t)
	})
	return r
}

// wait returns Run's result (once; later calls return nil).
func (r *running) wait(t *testing.T) error {
	t.Helper()
	select {
	case err, ok := <-r.result:
		if ok {
			close(r.result)
		}
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("executor did not exit")
		return nil
	}
}

func (r *running) touch(t *testing.T, name string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(r.sandbox, name), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitFile polls for a file the task creates in its sandbox.
func (r *running) waitFile(t *testing.T, name string) string {
	t.Helper()
	var text string
	poll.Eventually(t, 20*time.Second, func() bool {
		if b, err := os.ReadFile(filepath.Join(r.sandbox, name)); err == nil && len(b) > 0 {
			text = strings.TrimSpace(string(b))
			return true
		}
		select {
		case err := <-r.result:
			t.Fatalf("executor exited (%v) before the task wrote %s", err, name)
		default:
		}
		return false
	}, "task did not write %s", name)
	return text
}

func stateNames(ss []*mesos.TaskStatus) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.GetState().String())
	}
	return out
}

func TestTaskExit(t *testing.T) {
	tests := []struct {
		name    string
		command *mesos.CommandInfo
		states  []mesos.TaskState
		message string
	}{
		{"exit 0", &mesos.CommandInfo{Value: proto.String("exit 0")},
			[]mesos.TaskState{mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_RUNNING, mesos.TaskState_TASK_FINISHED}, "Command exited with status 0"},
		{"exit 3", &mesos.CommandInfo{Value: proto.String("exit 3")},
			[]mesos.TaskState{mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_RUNNING, mesos.TaskState_TASK_FAILED}, "Command exited with status 3"},
		{"signal", &mesos.CommandInfo{Value: proto.String("kill -USR1 $$")},
			[]mesos.TaskState{mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_RUNNING, mesos.TaskState_TASK_FAILED}, "Command terminated with signal User defined signal 1"},
		{"environment and working directory", &mesos.CommandInfo{
			Value: proto.String(`test "$MESOS_TASK_ID" = task-1 && test "$FOO" = bar && test "$(pwd)" = "$MESOS_SANDBOX"`),
			Environment: &mesos.Environment{Variables: []*mesos.Environment_Variable{
				{Name: proto.String("FOO"), Value: proto.String("bar")},
			}},
		}, []mesos.TaskState{mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_RUNNING, mesos.TaskState_TASK_FINISHED}, "Command exited with status 0"},
		{"arguments without shell", &mesos.CommandInfo{
			Shell: proto.Bool(false), Value: proto.String("/bin/sh"), Arguments: []string{"sh", "-c", "exit 4"},
		}, []mesos.TaskState{mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_RUNNING, mesos.TaskState_TASK_FAILED}, "Command exited with status 4"},
		{"missing executable", &mesos.CommandInfo{Shell: proto.Bool(false), Value: proto.String("/nonexistent/program")},
			[]mesos.TaskState{mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_FAILED}, "Failed to launch task"},
		{"no command", &mesos.CommandInfo{},
			[]mesos.TaskState{mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_FAILED}, "not specified"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task := shellTask("")
			task.Command = tt.command
			agent := newFakeAgent(t, task)
			r := start(t, agent, nil)
			if err := r.wait(t); err != nil {
				t.Fatalf("Run = %v", err)
			}
			agent.mu.Lock()
			updates := agent.updates
			agent.mu.Unlock()
			if got := stateNames(updates); strings.Join(got, ",") != strings.Join(stateStrings(tt.states), ",") {
				t.Fatalf("states = %v, want %v", got, tt.states)
			}
			last := updates[len(updates)-1]
			if !strings.Contains(last.GetMessage(), tt.message) {
				t.Errorf("message = %q, want %q", last.GetMessage(), tt.message)
			}
			seen := map[string]bool{}
			for _, u := range updates {
				if len(u.GetUuid()) != 16 || seen[string(u.GetUuid())] {
					t.Errorf("update %v: uuid %x is not a fresh 16-byte uuid", u.GetState(), u.GetUuid())
				}
				seen[string(u.GetUuid())] = true
				if u.GetSource() != mesos.TaskStatus_SOURCE_EXECUTOR || u.GetAgentId().GetValue() != "agent-1" ||
					u.GetExecutorId().GetValue() != "task-1" || u.GetTaskId().GetValue() != "task-1" || u.GetTimestamp() <= 0 {
					t.Errorf("update %v lacks source, ids or timestamp: %v", u.GetState(), u)
				}
			}
		})
	}
}

func stateStrings(ss []mesos.TaskState) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.String())
	}
	return out
}

func killEvent(grace time.Duration) *executor.Event {
	ev := &executor.Event{Type: executor.Event_KILL.Enum(), Kill: &executor.Event_Kill{TaskId: &mesos.TaskID{Value: proto.String("task-1")}}}
	if grace >= 0 {
		ev.Kill.KillPolicy = &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: proto.Int64(int64(grace))}}
	}
	return ev
}

func TestKillGraceful(t *testing.T) {
	agent := newFakeAgent(t, shellTask(`trap 'exit 0' TERM; echo ready > ready; while :; do sleep 0.05; done`))
	agent.framework.Capabilities = []*mesos.FrameworkInfo_Capability{{Type: mesos.FrameworkInfo_Capability_TASK_KILLING_STATE.Enum()}}
	r := start(t, agent, nil)
	r.waitFile(t, "ready")
	agent.waitState(mesos.TaskState_TASK_RUNNING)
	agent.send(killEvent(time.Minute))
	killed := agent.waitState(mesos.TaskState_TASK_KILLED)
	if killed.GetMessage() != "Command exited with status 0" {
		t.Errorf("message = %q: the task did not exit through its TERM trap", killed.GetMessage())
	}
	if err := r.wait(t); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if got := strings.Join(agent.states(), ","); got != "TASK_STARTING,TASK_RUNNING,TASK_KILLING,TASK_KILLED" {
		t.Errorf("states = %s", got)
	}
}

func TestKillEscalatesToSIGKILL(t *testing.T) {
	task := shellTask(`trap '' TERM; echo $$ > pid; while :; do sleep 0.05; done`)
	task.KillPolicy = &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: proto.Int64(int64(200 * time.Millisecond))}}
	agent := newFakeAgent(t, task)
	r := start(t, agent, nil)
	pid, _ := strconv.Atoi(r.waitFile(t, "pid"))
	agent.waitState(mesos.TaskState_TASK_RUNNING)
	agent.send(killEvent(-1)) // the task's own kill policy applies
	killed := agent.waitState(mesos.TaskState_TASK_KILLED)
	if killed.GetMessage() != "Command terminated with signal Killed" {
		t.Errorf("message = %q, want SIGKILL", killed.GetMessage())
	}
	if err := r.wait(t); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if got := strings.Join(agent.states(), ","); got != "TASK_STARTING,TASK_RUNNING,TASK_KILLED" {
		t.Errorf("states = %s (no TASK_KILLING without the capability)", got)
	}
	if live := liveGroupMembers(t, pid); len(live) > 0 {
		t.Errorf("task process group %d still has live members %v", pid, live)
	}
}

func TestUnacknowledgedUpdatesResentOnResubscribe(t *testing.T) {
	agent := newFakeAgent(t, shellTask(`while [ ! -f go ]; do sleep 0.05; done`))
	agent.autoAck = false
	r := start(t, agent, nil)
	agent.waitState(mesos.TaskState_TASK_RUNNING)
	agent.mu.Lock()
	sent := append([]*mesos.TaskStatus(nil), agent.updates...)
	agent.mu.Unlock()

	agent.drop()
	agent.waitFor("re-subscription", func(a *fakeAgent) bool { return len(a.subscribes) == 2 })
	agent.mu.Lock()
	sub := agent.subscribes[1].GetSubscribe()
	agent.mu.Unlock()
	if len(sub.GetUnacknowledgedUpdates()) != len(sent) {
		t.Fatalf("re-subscribe carries %d unacknowledged updates, want %d", len(sub.GetUnacknowledgedUpdates()), len(sent))
	}
	for i, u := range sub.GetUnacknowledgedUpdates() {
		if string(u.GetStatus().GetUuid()) != string(sent[i].GetUuid()) || u.GetStatus().GetState() != sent[i].GetState() {
			t.Errorf("unacknowledged update %d = %v, want %v", i, u.GetStatus(), sent[i])
		}
	}
	if len(sub.GetUnacknowledgedTasks()) != 1 || sub.GetUnacknowledgedTasks()[0].GetTaskId().GetValue() != "task-1" {
		t.Errorf("unacknowledged tasks = %v", sub.GetUnacknowledgedTasks())
	}

	for _, s := range sent {
		agent.ack(s)
	}
	agent.set(func(a *fakeAgent) { a.autoAck = true })
	r.touch(t, "go")
	agent.waitState(mesos.TaskState_TASK_FINISHED)
	if err := r.wait(t); err != nil {
		t.Fatalf("Run = %v", err)
	}
	// The task kept running across the reconnect: one launch, one exit.
	if got := strings.Join(agent.states(), ","); got != "TASK_STARTING,TASK_RUNNING,TASK_FINISHED" {
		t.Errorf("states = %s", got)
	}
}

// TestUpdateMadeWhileSubscribingIsSent: an update created after the SUBSCRIBE went out but
// before SUBSCRIBED arrived is not in the SUBSCRIBE's unacknowledged updates, so it must be
// sent once the subscription stands.
func TestUpdateMadeWhileSubscribingIsSent(t *testing.T) {
	agent := newFakeAgent(t, shellTask(`echo $$ > pid; while [ ! -f go ]; do sleep 0.01; done`))
	r := start(t, agent, nil)
	agent.waitState(mesos.TaskState_TASK_RUNNING)
	pid := r.waitFile(t, "pid")

	gate := make(chan struct{})
	agent.set(func(a *fakeAgent) { a.gate = gate })
	agent.drop()
	agent.waitFor("re-subscription", func(a *fakeAgent) bool { return len(a.subscribes) == 2 })
	r.touch(t, "go") // the task ends while the executor waits for SUBSCRIBED
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat("/proc/" + pid); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("task did not exit")
		}
		time.Sleep(5 * time.Millisecond) // polling a real process's exit
	}
	agent.set(func(a *fakeAgent) { a.gate = nil })
	close(gate)
	agent.waitState(mesos.TaskState_TASK_FINISHED)
	if err := r.wait(t); err != nil {
		t.Fatalf("Run = %v", err)
	}
}

func TestHealthCheckFailureKillsTask(t *testing.T) {
	task := shellTask(`exec sleep 60`)
	task.HealthCheck = &mesos.HealthCheck{
		Type:                mesos.HealthCheck_COMMAND.Enum(),
		Command:             &mesos.CommandInfo{Value: proto.String("exit 1")},
		DelaySeconds:        proto.Float64(0),
		IntervalSeconds:     proto.Float64(0.05),
		TimeoutSeconds:      proto.Float64(5),
		ConsecutiveFailures: proto.Uint32(2),
		GracePeriodSeconds:  proto.Float64(0),
	}
	agent := newFakeAgent(t, task)
	r := start(t, agent, nil)
	killed := agent.waitState(mesos.TaskState_TASK_KILLED)
	if err := r.wait(t); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if killed.Healthy == nil || killed.GetHealthy() {
		t.Errorf("TASK_KILLED healthy = %v, want false", killed.Healthy)
	}
	if got := strings.Join(agent.states(), ","); got != "TASK_STARTING,TASK_RUNNING,TASK_RUNNING(unhealthy),TASK_RUNNING(unhealthy),TASK_KILLED(unhealthy)" {
		t.Errorf("states = %s", got)
	}
	agent.mu.Lock()
	health := agent.updates[2:4]
	agent.mu.Unlock()
	for _, h := range health {
		if h.GetReason() != mesos.TaskStatus_REASON_TASK_HEALTH_CHECK_STATUS_UPDATED {
			t.Errorf("health update reason = %v", h.GetReason())
		}
	}
}

func TestHealthCheckHealthy(t *testing.T) {
	task := shellTask(`while [ ! -f go ]; do sleep 0.05; done`)
	task.HealthCheck = &mesos.HealthCheck{
		Type:            mesos.HealthCheck_COMMAND.Enum(),
		Command:         &mesos.CommandInfo{Value: proto.String(`test "$MESOS_TASK_ID" = task-1`)},
		DelaySeconds:    proto.Float64(0),
		IntervalSeconds: proto.Float64(0.05),
	}
	agent := newFakeAgent(t, task)
	r := start(t, agent, nil)
	agent.waitFor("healthy update", func(a *fakeAgent) bool {
		for _, u := range a.updates {
			if u.GetHealthy() {
				return true
			}
		}
		return false
	})
	r.touch(t, "go")
	agent.waitState(mesos.TaskState_TASK_FINISHED)
	if err := r.wait(t); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if got := strings.Join(agent.states(), ","); got != "TASK_STARTING,TASK_RUNNING,TASK_RUNNING(healthy),TASK_FINISHED" {
		t.Errorf("states = %s", got)
	}
}

func TestAgentLostKillsTask(t *testing.T) {
	agent := newFakeAgent(t, shellTask(`echo $$ > pid; exec sleep 60`))
	r := start(t, agent, func(c *Config) { c.RecoveryTimeout = 300 * time.Millisecond })
	pid, _ := strconv.Atoi(r.waitFile(t, "pid"))
	agent.waitState(mesos.TaskState_TASK_RUNNING)
	agent.set(func(a *fakeAgent) { a.refuse = true })
	agent.drop()
	if err := r.wait(t); !errors.Is(err, ErrAgentLost) {
		t.Fatalf("Run = %v, want ErrAgentLost", err)
	}
	if live := liveGroupMembers(t, pid); len(live) > 0 {
		t.Errorf("task process group %d still has live members %v", pid, live)
	}
	agent.mu.Lock()
	defer agent.mu.Unlock()
	if len(agent.subscribes) < 2 {
		t.Errorf("executor did not retry subscribing (%d subscriptions)", len(agent.subscribes))
	}
}

func TestTaskSurvivesShortAgentOutage(t *testing.T) {
	agent := newFakeAgent(t, shellTask(`while [ ! -f go ]; do sleep 0.05; done`))
	r := start(t, agent, nil)
	agent.waitState(mesos.TaskState_TASK_RUNNING)
	agent.set(func(a *fakeAgent) { a.refuse = true })
	agent.drop()
	agent.waitFor("refused re-subscriptions", func(a *fakeAgent) bool { return len(a.subscribes) >= 3 })
	agent.set(func(a *fakeAgent) { a.refuse = false })
	agent.waitFor("re-subscription", func(a *fakeAgent) bool { return a.stream != nil })
	r.touch(t, "go")
	agent.waitState(mesos.TaskState_TASK_FINISHED)
	if err := r.wait(t); err != nil {
		t.Fatalf("Run = %v", err)
	}
}

func TestShutdown(t *testing.T) {
	agent := newFakeAgent(t, shellTask(`exec sleep 60`))
	r := start(t, agent, func(c *Config) { c.ShutdownGracePeriod = 2 * time.Second })
	agent.waitState(mesos.TaskState_TASK_RUNNING)
	agent.send(&executor.Event{Type: executor.Event_SHUTDOWN.Enum()})
	agent.waitState(mesos.TaskState_TASK_KILLED)
	if err := r.wait(t); err != nil {
		t.Fatalf("Run = %v", err)
	}
}

func TestContextCancelKillsTask(t *testing.T) {
	agent := newFakeAgent(t, shellTask(`exec sleep 60`))
	r := start(t, agent, func(c *Config) { c.ShutdownGracePeriod = 2 * time.Second })
	agent.waitState(mesos.TaskState_TASK_RUNNING)
	r.cancel()
	agent.waitState(mesos.TaskState_TASK_KILLED)
	if err := r.wait(t); err != nil {
		t.Fatalf("Run = %v", err)
	}
}

func TestLaunchGroupRejected(t *testing.T) {
	agent := newFakeAgent(t, nil)
	r := start(t, agent, nil)
	agent.waitFor("subscription", func(a *fakeAgent) bool { return a.stream != nil })
	group := &mesos.TaskGroupInfo{Tasks: []*mesos.TaskInfo{shellTask("true"), shellTask("true")}}
	group.Tasks[1].TaskId = &mesos.TaskID{Value: proto.String("task-2")}
	agent.send(&executor.Event{Type: executor.Event_LAUNCH_GROUP.Enum(), LaunchGroup: &executor.Event_LaunchGroup{TaskGroup: group}})
	if err := r.wait(t); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if got := strings.Join(agent.states(), ","); got != "TASK_FAILED,TASK_FAILED" {
		t.Errorf("states = %s", got)
	}
}

func TestSecondLaunchFails(t *testing.T) {
	agent := newFakeAgent(t, shellTask(`while [ ! -f go ]; do sleep 0.05; done`))
	r := start(t, agent, nil)
	agent.waitState(mesos.TaskState_TASK_RUNNING)
	second := shellTask("true")
	second.TaskId = &mesos.TaskID{Value: proto.String("task-2")}
	agent.send(&executor.Event{Type: executor.Event_LAUNCH.Enum(), Launch: &executor.Event_Launch{Task: second}})
	failed := agent.waitState(mesos.TaskState_TASK_FAILED)
	if failed.GetTaskId().GetValue() != "task-2" || !strings.Contains(failed.GetMessage(), "multiple tasks") {
		t.Errorf("failed update = %v", failed)
	}
	r.touch(t, "go")
	agent.waitState(mesos.TaskState_TASK_FINISHED)
	if err := r.wait(t); err != nil {
		t.Fatalf("Run = %v", err)
	}
}

// liveGroupMembers lists the processes of group pgid that are not zombies (a zombie may
// linger when the test's PID 1 does not reap orphans).
func liveGroupMembers(t *testing.T, pgid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var live []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may contain spaces, so split after ')'.
		i := strings.LastIndexByte(string(stat), ')')
		fields := strings.Fields(string(stat)[i+1:])
		if len(fields) < 3 || fields[0] == "Z" {
			continue
		}
		if g, _ := strconv.Atoi(fields[2]); g == pgid {
			live = append(live, pid)
		}
	}
	return live
}

func TestSecondKillShortensGracePeriod(t *testing.T) {
	agent := newFakeAgent(t, shellTask(`trap '' TERM; echo ready > ready; while :; do sleep 0.05; done`))
	r := start(t, agent, nil)
	r.waitFile(t, "ready")
	agent.waitState(mesos.TaskState_TASK_RUNNING)
	agent.send(killEvent(time.Hour))
	agent.send(killEvent(100 * time.Millisecond))
	killed := agent.waitState(mesos.TaskState_TASK_KILLED)
	if killed.GetMessage() != "Command terminated with signal Killed" {
		t.Errorf("message = %q, want SIGKILL", killed.GetMessage())
	}
	if err := r.wait(t); err != nil {
		t.Fatalf("Run = %v", err)
	}
}

func TestExitWithoutTerminalAcknowledgement(t *testing.T) {
	agent := newFakeAgent(t, shellTask(`exit 0`))
	agent.autoAck = false
	r := start(t, agent, func(c *Config) { c.TerminalAckTimeout = 200 * time.Millisecond })
	agent.waitState(mesos.TaskState_TASK_FINISHED)
	if err := r.wait(t); err != nil {
		t.Fatalf("Run = %v", err)
	}
}

func TestUserSwitch(t *testing.T) {
	if os.Geteuid() != 0 {
		hosttest.Require(t, "needs root to switch users")
	}
	agent := newFakeAgent(t, shellTask(`id -u > /dev/stdout; test "$(id -u)" = 65534`))
	agent.framework.User = proto.String("nobody")
	r := start(t, agent, func(c *Config) {
		// The task must be able to enter its sandbox as nobody.
		if err := os.Chmod(c.Sandbox, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Dir(c.Sandbox), 0o755); err != nil {
			t.Fatal(err)
		}
	})
	finished := agent.waitState(mesos.TaskState_TASK_FINISHED)
	if err := r.wait(t); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if finished.GetMessage() != "Command exited with status 0" {
		t.Errorf("message = %q", finished.GetMessage())
	}
}
