package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agoracluster/agora/integration/benchtest"
	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/internal/poll"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"google.golang.org/protobuf/proto"
)

// recoveryCluster starts a master and one agent whose boot id is read from a file the test
// controls.
func recoveryCluster(t *testing.T, masterArgs ...string) (*cluster.Cluster, string) {
	t.Helper()
	return recoveryClusterWith(t, nil, masterArgs...)
}

// recoveryClusterWith is recoveryCluster with extra agent flags.
func recoveryClusterWith(t *testing.T, agentArgs []string, masterArgs ...string) (*cluster.Cluster, string) {
	t.Helper()
	bootID := filepath.Join(t.TempDir(), "boot_id")
	if err := os.WriteFile(bootID, []byte("boot-1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := cluster.New(t, cluster.Options{
		Agents:     1,
		MasterArgs: masterArgs,
		AgentArgs:  append([]string{"--boot_id_path", bootID, "--executor_reregistration_timeout", "5secs"}, agentArgs...),
	})
	return c, bootID
}

// pidTask runs cmd after writing the shell's pid to task.pid in its sandbox; exec keeps the
// pid for the command.
func pidTask(id, cmd string) *mesos.TaskInfo {
	return cluster.ShellTask(id, "echo $$ > task.pid; "+cmd, "cpus:0.1;mem:32")
}

// taskPID waits for a task's task.pid marker and returns the pid; the process is killed
// when the test ends, whatever happened to the agent.
func taskPID(t *testing.T, workDir, taskID string) int {
	t.Helper()
	var pid int
	poll.Eventually(t, 20*time.Second, func() error {
		path, err := findSandboxFile(workDir, taskID, "task.pid")
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err
	})
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	return pid
}

func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && len(s) > i+2 && s[i+2] != 'Z'
}

// agentIDs returns the ids of the agents the master reports, by active flag.
func agentIDs(c *cluster.Cluster) (active, inactive []string, err error) {
	var st struct {
		Slaves []struct {
			ID     string `json:"id"`
			Active bool   `json:"active"`
		} `json:"slaves"`
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := cluster.GetJSON(ctx, c.MasterURL()+"/state", &st); err != nil {
		return nil, nil, err
	}
	for _, s := range st.Slaves {
		if s.Active {
			active = append(active, s.ID)
		} else {
			inactive = append(inactive, s.ID)
		}
	}
	return active, inactive, nil
}

func onlyActiveAgent(t *testing.T, c *cluster.Cluster) string {
	t.Helper()
	var id string
	poll.Eventually(t, 30*time.Second, func() error {
		active, _, err := agentIDs(c)
		if err != nil {
			return err
		}
		if len(active) != 1 {
			return fmt.Errorf("active agents = %v, want one", active)
		}
		id = active[0]
		return nil
	})
	return id
}

// states lists the distinct updates of a task in order. Delivery is at least once, as in
// Mesos: an update whose acknowledgement was lost with the killed agent is sent again by the
// recovered agent, with the same uuid; such a repeat is not a new update.
func states(f *cluster.Framework, id string) string {
	var out []string
	seen := make(map[string]bool)
	for _, u := range f.Updates(id) {
		if uuid := string(u.GetUuid()); uuid != "" {
			if seen[uuid] {
				continue
			}
			seen[uuid] = true
		}
		out = append(out, u.GetState().String())
	}
	return strings.Join(out, ",")
}

// TestAgentRecoveryReconnects: tasks keep running while the agent is SIGKILLed and started
// again; the agent re-registers with the same id, the tasks still report (a kill works), a
// task that finished during the outage is reported TASK_FINISHED, and nothing is relaunched.
func TestAgentRecoveryReconnects(t *testing.T) {
	c, _ := recoveryCluster(t)
	agent := c.Agents[0]
	f := c.StartFramework(cluster.FrameworkOptions{Name: "recovery"})
	ctx := context.Background()
	f.Launch(ctx,
		pidTask("long-1", "exec sleep 1000"),
		pidTask("long-2", "exec sleep 1000"),
		pidTask("finisher", "while [ ! -f release ]; do sleep 0.05; done; echo released"),
	)
	pids := map[string]int{}
	for _, id := range []string{"long-1", "long-2", "finisher"} {
		f.WaitState(id, mesos.TaskState_TASK_RUNNING, 30*time.Second)
		pids[id] = taskPID(t, agent.WorkDir, id)
	}
	agentID := onlyActiveAgent(t, c)

	agent.Kill()
	// The finisher ends while the agent is down: its executor keeps TASK_FINISHED until it
	// can deliver it.
	pidFile, err := findSandboxFile(agent.WorkDir, "finisher", "task.pid")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(pidFile), "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 10*time.Second, func() error {
		if processAlive(pids["finisher"]) {
			return errors.New("finisher still running")
		}
		return nil
	})
	if st := f.Latest("finisher"); st.GetState() != mesos.TaskState_TASK_RUNNING {
		t.Fatalf("finisher reported %v while the agent was down", st.GetState())
	}

	agent.Restart()
	poll.Eventually(t, 30*time.Second, func() error {
		active, _, err := agentIDs(c)
		if err != nil {
			return err
		}
		if len(active) != 1 || active[0] != agentID {
			return fmt.Errorf("active agents = %v, want [%s]", active, agentID)
		}
		return nil
	})
	f.WaitState("finisher", mesos.TaskState_TASK_FINISHED, 30*time.Second)

	// The long tasks are the same processes and were never relaunched.
	for _, id := range []string{"long-1", "long-2"} {
		if !processAlive(pids[id]) {
			t.Errorf("task %s (pid %d) died across the agent restart", id, pids[id])
		}
		runs, _ := filepath.Glob(filepath.Join(agent.WorkDir, "slaves", "*", "frameworks", "*", "executors", id, "runs", "*-*"))
		if len(runs) != 1 {
			t.Errorf("task %s has %d runs, want 1: %v", id, len(runs), runs)
		}
	}
	// Past the re-registration timeout the recovered executors are still there and report.
	agentState := func() (map[string]string, error) {
		var st struct {
			Frameworks []struct {
				Executors []struct {
					Tasks []struct {
						ID    string `json:"id"`
						State string `json:"state"`
					} `json:"tasks"`
				} `json:"executors"`
			} `json:"frameworks"`
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := cluster.GetJSON(cctx, "http://"+agent.Addr+"/state", &st); err != nil {
			return nil, err
		}
		out := map[string]string{}
		for _, fw := range st.Frameworks {
			for _, ex := range fw.Executors {
				for _, tk := range ex.Tasks {
					out[tk.ID] = tk.State
				}
			}
		}
		return out, nil
	}
	poll.Eventually(t, 10*time.Second, func() error {
		st, err := agentState()
		if err != nil {
			return err
		}
		if st["long-1"] != "TASK_RUNNING" || st["long-2"] != "TASK_RUNNING" {
			return fmt.Errorf("agent reports %v", st)
		}
		return nil
	})
	if err := f.S.Kill(ctx, &mesos.TaskID{Value: proto.String("long-1")}, &mesos.AgentID{Value: proto.String(agentID)}); err != nil {
		t.Fatal(err)
	}
	f.WaitState("long-1", mesos.TaskState_TASK_KILLED, 30*time.Second)
	poll.Eventually(t, 10*time.Second, func() error {
		if processAlive(pids["long-1"]) {
			return errors.New("long-1 still running after TASK_KILLED")
		}
		return nil
	})
	if !processAlive(pids["long-2"]) {
		t.Error("long-2 died with long-1")
	}
	if got := states(f, "long-2"); got != "TASK_STARTING,TASK_RUNNING" {
		t.Errorf("long-2 updates = %s, want TASK_STARTING,TASK_RUNNING", got)
	}
	if got := states(f, "finisher"); got != "TASK_STARTING,TASK_RUNNING,TASK_FINISHED" {
		t.Errorf("finisher updates = %s, want TASK_STARTING,TASK_RUNNING,TASK_FINISHED", got)
	}
}

// TestAgentRecoveryExecutorDiedDuringOutage: an executor killed while the agent is down has
// its task failed by the recovered agent (REASON_EXECUTOR_TERMINATED): an executor process
// of its own, or the executor host with every executor in it.
func TestAgentRecoveryExecutorDiedDuringOutage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		// executor returns the process group to kill for the executor of task id.
		executor func(t *testing.T, workDir, id string) int
	}{
		{"process", []string{"--executor_host=false"}, executorPID},
		{"hosted", nil, func(t *testing.T, workDir, _ string) int { return executorHostPID(t, workDir) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := recoveryClusterWith(t, tc.args)
			agent := c.Agents[0]
			f := c.StartFramework(cluster.FrameworkOptions{Name: "recovery-dead"})
			f.Launch(context.Background(), pidTask("victim", "exec sleep 1000"))
			f.WaitState("victim", mesos.TaskState_TASK_RUNNING, 30*time.Second)
			pid := taskPID(t, agent.WorkDir, "victim")
			agentID := onlyActiveAgent(t, c)
			execPID := tc.executor(t, agent.WorkDir, "victim")

			agent.Kill()
			// The whole executor process group goes while nobody watches.
			_ = syscall.Kill(-execPID, syscall.SIGKILL)
			_ = syscall.Kill(pid, syscall.SIGKILL)
			poll.Eventually(t, 10*time.Second, func() error {
				if processAlive(execPID) {
					return errors.New("executor still running")
				}
				return nil
			})
			agent.Restart()
			st := f.WaitState("victim", mesos.TaskState_TASK_FAILED, 30*time.Second)
			if st.GetReason() != mesos.TaskStatus_REASON_EXECUTOR_TERMINATED {
				t.Errorf("reason = %v, want REASON_EXECUTOR_TERMINATED", st.GetReason())
			}
			if id := onlyActiveAgent(t, c); id != agentID {
				t.Errorf("agent id after restart = %s, want %s", id, agentID)
			}
		})
	}
}

// executorHostPID finds the executor host of the agent with workDir among the processes.
func executorHostPID(t *testing.T, workDir string) int {
	t.Helper()
	var pid int
	poll.Eventually(t, 10*time.Second, func() error {
		var err error
		pid, err = benchtest.FindProcess("executor-host", workDir)
		return err
	})
	return pid
}

func executorPID(t *testing.T, workDir, executorID string) int {
	t.Helper()
	// meta/slaves/latest links to the agent's directory: read through it only. The pid is
	// checkpointed by the launch right after the fork, which may finish after the task runs.
	pattern := filepath.Join(workDir, "meta", "slaves", "latest", "frameworks", "*", "executors", executorID, "runs", "latest", "pids", "forked.pid")
	var pid int
	poll.Eventually(t, 10*time.Second, func() error {
		matches, _ := filepath.Glob(pattern)
		if len(matches) != 1 {
			return fmt.Errorf("forked.pid of %s: %d matches", executorID, len(matches))
		}
		b, err := os.ReadFile(matches[0])
		if err != nil {
			return err
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err
	})
	return pid
}

// TestAgentRebootStartsFresh: with another boot id the agent registers as a new agent, the
// old agent's task is reported lost once the old agent times out, and the leftover executor
// is killed.
func TestAgentRebootStartsFresh(t *testing.T) {
	c, bootID := recoveryCluster(t, "--agent_ping_timeout", "1secs", "--max_agent_ping_timeouts", "3",
		"--agent_heartbeat_interval", "250ms")
	agent := c.Agents[0]
	f := c.StartFramework(cluster.FrameworkOptions{Name: "reboot"})
	f.Launch(context.Background(), pidTask("before-reboot", "exec sleep 1000"))
	f.WaitState("before-reboot", mesos.TaskState_TASK_RUNNING, 30*time.Second)
	pid := taskPID(t, agent.WorkDir, "before-reboot")
	oldID := onlyActiveAgent(t, c)

	agent.Kill()
	if err := os.WriteFile(bootID, []byte("boot-2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	agent.Restart()
	newID := onlyActiveAgent(t, c)
	if newID == oldID {
		t.Fatalf("agent kept id %s across a reboot", oldID)
	}
	st := f.WaitState("before-reboot", mesos.TaskState_TASK_LOST, 30*time.Second)
	if st.GetAgentId().GetValue() != oldID {
		t.Errorf("TASK_LOST names agent %s, want %s", st.GetAgentId().GetValue(), oldID)
	}
	poll.Eventually(t, 15*time.Second, func() error {
		if processAlive(pid) {
			stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			cg, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
			return fmt.Errorf("the task of the previous boot still runs: stat %s; cgroups %s", bytes.TrimSpace(stat), strings.ReplaceAll(string(cg), "\n", " "))
		}
		return nil
	})
}
