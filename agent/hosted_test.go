package agent

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/checkpoint"
	"github.com/agoracluster/agora/agent/containerizer"
	"github.com/agoracluster/agora/agent/isolation"
	"github.com/agoracluster/agora/agent/proc"
	"github.com/agoracluster/agora/internal/hosttest"
	"github.com/agoracluster/agora/internal/poll"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// TestHostedCommandExecutor runs command tasks through the executor host (the test binary
// serves as `agora executor-host`, with the real command executor).
func TestHostedCommandExecutor(t *testing.T) {
	fm := newFakeMaster(t)
	ta := startAgent(t, fm.addr(), func(c *Config) { c.ExecutorHost = true })
	waitSubscribed(t, fm, 1)
	fm.send(runTask("fw-1", commandTask("echo", "echo hello-from-hosted-task")))
	fm.waitState(t, "echo", mesos.TaskState_TASK_FINISHED)
	if got := strings.Join(states(fm.updates("echo")), ","); got != "TASK_STARTING,TASK_RUNNING,TASK_FINISHED" {
		t.Fatalf("updates = %s", got)
	}
	poll.Eventually(t, 20*time.Second, func() bool { return len(fm.callsOf(agorapb.AgentCall_EXECUTOR_EXITED)) == 1 }, "executor did not exit")
	st := getState(t, ta.url)
	if len(st.CompletedFrameworks) != 1 || len(st.CompletedFrameworks[0].CompletedExecutors) != 1 {
		t.Fatalf("state = %+v", st)
	}
	ex := st.CompletedFrameworks[0].CompletedExecutors[0]
	out, err := os.ReadFile(filepath.Join(ex.Directory, "stdout"))
	if err != nil || !strings.Contains(string(out), "hello-from-hosted-task") {
		t.Fatalf("stdout = %q, %v", out, err)
	}
	// The executor's own log goes to the sandbox, as an executor process's stderr would.
	if logs, err := os.ReadFile(filepath.Join(ex.Directory, "stderr")); err != nil || !bytes.Contains(logs, []byte("subscribed")) {
		t.Fatalf("stderr = %q, %v", logs, err)
	}
	// The checkpoint says the executor is hosted; it has no pid file of its own.
	run := ta.a.ckpt.RunDir(testAgentID, "fw-1", "echo", ex.Container)
	log, err := checkpoint.ReadRunLog(filepath.Join(run, checkpoint.RunLog))
	if err != nil || !log.Hosted || log.PID == 0 {
		t.Fatalf("run log: hosted=%v pid=%d, %v", log.Hosted, log.PID, err)
	}
	if _, err := os.Stat(filepath.Join(run, "pids")); !os.IsNotExist(err) {
		t.Fatalf("pids dir of a hosted executor: %v", err)
	}

	// A long task is killed through its executor, and its process is gone with it.
	fm.send(runTask("fw-1", commandTask("sleep", "sleep 60")))
	running := fm.waitState(t, "sleep", mesos.TaskState_TASK_RUNNING)
	_ = running
	pid := hostedTaskPID(t, ta.a, "fw-1", "sleep")
	fm.send(&agorapb.AgentEvent{Type: agorapb.AgentEvent_KILL_TASK.Enum(), KillTask: &agorapb.AgentEvent_KillTask{
		FrameworkId: frameworkInfo("fw-1").GetId(), TaskId: commandTask("sleep", "").GetTaskId()}})
	fm.waitState(t, "sleep", mesos.TaskState_TASK_KILLED)
	poll.Eventually(t, 10*time.Second, func() bool { return syscall.Kill(pid, 0) != nil }, "task process %d still runs", pid)
}

// hostedTaskPID waits until the agent knows the pid of a hosted executor's task.
func hostedTaskPID(t *testing.T, a *Agent, fid, eid string) int {
	t.Helper()
	var pid int
	poll.Eventually(t, 10*time.Second, func() bool {
		sessions := make(map[int]string)
		a.hosted.TaskSessions(sessions)
		var cid string
		_ = a.query(context.Background(), func() {
			if fw := a.st.Frameworks[fid]; fw != nil && fw.Executors[eid] != nil {
				cid = fw.Executors[eid].ContainerID
			}
		})
		for p, c := range sessions {
			if c == cid && cid != "" {
				pid = p
				return true
			}
		}
		return false
	}, "no task pid for executor %s", eid)
	return pid
}

// TestHostedContainerizerKill starts the executor host, kills an executor that never
// reaches its agent, and shuts the host down.
func TestHostedContainerizerKill(t *testing.T) {
	work := t.TempDir()
	h := containerizer.NewHosted(os.Args[0], work, "debug", fetchURIs, zaptest.NewLogger(t))
	sandbox := filepath.Join(work, "sandbox")
	if err := os.MkdirAll(sandbox, 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"MESOS_FRAMEWORK_ID=fw", "MESOS_EXECUTOR_ID=ex", "MESOS_AGENT_ENDPOINT=127.0.0.1:1",
		"MESOS_SANDBOX=" + sandbox, "MESOS_DIRECTORY=" + sandbox,
	}
	ctx := context.Background()
	spec := containerizer.ContainerSpec{ContainerID: "c1", FrameworkID: "fw", ExecutorID: "ex", Sandbox: sandbox,
		Command: &mesos.CommandInfo{Value: new(string)}, Env: env, Hosted: true}
	pid, err := h.Launch(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		t.Fatalf("host pid %d", pid)
	}
	if _, err := h.Launch(ctx, spec); err == nil {
		t.Fatal("a second launch of c1 was accepted")
	}
	if err := h.Kill(ctx, "c1", syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	term, err := h.Wait(wctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if term.Status != int(syscall.SIGKILL) || !strings.Contains(term.Message, "Killed") {
		t.Fatalf("termination = %+v", term)
	}
	if err := h.Kill(ctx, "c1", syscall.SIGKILL); err == nil {
		t.Fatal("kill of a container that was waited for succeeded")
	}

	// An executor with a malformed environment is refused with the reason.
	bad := spec
	bad.ContainerID, bad.Env = "c2", []string{"MESOS_SANDBOX=" + sandbox}
	if _, err := h.Launch(ctx, bad); err == nil || !strings.Contains(err.Error(), "MESOS_FRAMEWORK_ID") {
		t.Fatalf("launch without MESOS_FRAMEWORK_ID: %v", err)
	}

	h.Close(true)
	poll.Eventually(t, 10*time.Second, func() bool { return syscall.Kill(pid, 0) != nil }, "executor host %d still runs", pid)
}

// TestHostedHostDeathFailsTasks: when the executor host dies, its executors have ended:
// their tasks fail and are killed, and the next task starts a new host.
func TestHostedHostDeathFailsTasks(t *testing.T) {
	fm := newFakeMaster(t)
	ta := startAgent(t, fm.addr(), func(c *Config) { c.ExecutorHost = true })
	waitSubscribed(t, fm, 1)
	fm.send(runTask("fw-1", commandTask("doomed", "sleep 60")))
	fm.waitState(t, "doomed", mesos.TaskState_TASK_RUNNING)
	taskPID := hostedTaskPID(t, ta.a, "fw-1", "doomed")
	hostPID := ta.a.hosted.HostPID()
	if err := syscall.Kill(hostPID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	st := fm.waitState(t, "doomed", mesos.TaskState_TASK_FAILED)
	if st.GetReason() != mesos.TaskStatus_REASON_EXECUTOR_TERMINATED || st.GetSource() != mesos.TaskStatus_SOURCE_AGENT {
		t.Fatalf("status = %v", st)
	}
	poll.Eventually(t, 10*time.Second, func() bool { return syscall.Kill(taskPID, 0) != nil }, "task %d outlived its executor host", taskPID)
	// ... and so did whatever it started (sh -c forks sleep).
	poll.Eventually(t, 10*time.Second, func() bool { return len(sandboxProcesses(t, ta.a.cfg.WorkDir)) == 0 },
		"processes of the task outlived its executor host: %v", sandboxProcesses(t, ta.a.cfg.WorkDir))

	fm.send(runTask("fw-1", commandTask("after", "sleep 60")))
	fm.waitState(t, "after", mesos.TaskState_TASK_RUNNING)
}

// TestHostedTasksOutliveAStoppedAgent: an agent stopped without shutting its executors down
// leaves the executor host and its tasks running; started again on the same work dir and
// port, it reattaches to them, re-registers the task and can still kill it.
func TestHostedTasksOutliveAStoppedAgent(t *testing.T) {
	fm := newFakeMaster(t)
	cfg := testConfig(t, fm.addr())
	cfg.ExecutorHost = true
	cfg.BootIDPath = filepath.Join(cfg.WorkDir, "boot_id")
	if err := os.WriteFile(cfg.BootIDPath, []byte("boot-1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run, _ := restartable(t, cfg)

	a, stop := run(false)
	waitSubscribed(t, fm, 1)
	fm.send(runTask("fw-1", commandTask("survivor", "sleep 60")))
	fm.waitState(t, "survivor", mesos.TaskState_TASK_RUNNING)
	pid := hostedTaskPID(t, a, "fw-1", "survivor")
	stop()
	if syscall.Kill(pid, 0) != nil {
		t.Fatal("the task died with the agent")
	}

	run(true)
	waitSubscribed(t, fm, 2)
	sub := fm.subscriptions()[1].GetSubscribe()
	if sub.GetAgentInfo().GetId().GetValue() != testAgentID || len(sub.GetTasks()) != 1 ||
		sub.GetTasks()[0].GetState() != mesos.TaskState_TASK_RUNNING {
		t.Fatalf("re-registration = %v", sub)
	}
	fm.send(&agorapb.AgentEvent{Type: agorapb.AgentEvent_KILL_TASK.Enum(), KillTask: &agorapb.AgentEvent_KillTask{
		FrameworkId: frameworkInfo("fw-1").GetId(), TaskId: commandTask("survivor", "").GetTaskId()}})
	fm.waitState(t, "survivor", mesos.TaskState_TASK_KILLED)
	poll.Eventually(t, 10*time.Second, func() bool { return syscall.Kill(pid, 0) != nil }, "task process %d still runs", pid)
}

// sandboxProcesses lists the live processes whose MESOS_SANDBOX lies under workDir.
func sandboxProcesses(t *testing.T, workDir string) []int {
	t.Helper()
	pids, err := proc.List()
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, pid := range pids {
		env, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "environ"))
		if err != nil || !bytes.Contains(env, []byte("MESOS_SANDBOX="+workDir)) {
			continue
		}
		if state, _, err := proc.Stat(pid); err == nil && state != 'Z' {
			out = append(out, pid)
		}
	}
	return out
}

// TestHostedHealthCheckRunsInTheContainer: a hosted task's COMMAND health check is put
// into the task's cgroup, where an executor process's check would have started.
func TestHostedHealthCheckRunsInTheContainer(t *testing.T) {
	fm := newFakeMaster(t)
	ta := startAgent(t, fm.addr(), func(c *Config) { c.ExecutorHost = true })
	waitSubscribed(t, fm, 1)
	var iso *isolation.Isolator
	_ = ta.a.query(context.Background(), func() { iso = ta.a.iso })
	if iso == nil {
		hosttest.Require(t, "no cgroups on this host (CI runs as root on a host with cgroups)")
	}
	task := commandTask("checked", "sleep 60")
	task.HealthCheck = &mesos.HealthCheck{
		Type:            mesos.HealthCheck_COMMAND.Enum(),
		DelaySeconds:    proto.Float64(0),
		IntervalSeconds: proto.Float64(0.2),
		Command:         &mesos.CommandInfo{Value: proto.String("sleep 0.1; cat /proc/self/cgroup > check.cgroup")},
	}
	fm.send(runTask("fw-1", task))
	fm.waitState(t, "checked", mesos.TaskState_TASK_RUNNING)
	var cid, sandbox string
	_ = ta.a.query(context.Background(), func() {
		ex := ta.a.st.Frameworks["fw-1"].Executors["checked"]
		cid, sandbox = ex.ContainerID, ex.Sandbox
	})
	var cg []byte
	poll.Eventually(t, 10*time.Second, func() bool {
		b, err := os.ReadFile(filepath.Join(sandbox, "check.cgroup"))
		cg = b
		return err == nil && len(b) > 0
	}, "the health check never ran")
	// The cpu hierarchy on v1 (this host's init moves new processes out of their memory
	// cgroup), the one hierarchy on v2.
	want := ""
	for _, line := range strings.Split(string(cg), "\n") {
		if f := strings.SplitN(line, ":", 3); len(f) == 3 {
			if strings.Contains(","+f[1]+",", ",cpu,") || (f[1] == "" && want == "") {
				want = f[2]
			}
		}
	}
	if !strings.HasSuffix(want, "/"+cid) {
		t.Fatalf("health check in cgroup %q, want the container's (%s):\n%s", want, cid, cg)
	}
}

// restartable returns a function that runs an agent with cfg, on the same address each time
// (the executors know the agent by its port), until it is stopped or the test ends; and a
// function that returns that address once one ran.
func restartable(t *testing.T, cfg Config) (run func(shutdownExecutors bool) (*Agent, func()), addrOf func() string) {
	addr := "127.0.0.1:0"
	run = func(shutdownExecutors bool) (a *Agent, stop func()) {
		c := cfg
		c.ShutdownExecutorsOnExit = shutdownExecutors
		a, err := New(c, zaptest.NewLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		var ln net.Listener
		poll.Eventually(t, 10*time.Second, func() bool {
			ln, err = net.Listen("tcp", addr)
			return err == nil
		}, "listen on %s: %v", addr, err)
		addr = ln.Addr().String()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx, ln) }()
		var once sync.Once
		stop = func() {
			once.Do(func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Run: %v", err)
				}
			})
		}
		t.Cleanup(stop)
		return a, stop
	}
	return run, func() string { return addr }
}
