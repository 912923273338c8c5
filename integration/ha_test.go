package integration

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/internal/poll"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// haCluster starts ZooKeeper, 3 masters with --zk and 2 agents that follow the
// leader through ZooKeeper.
func haCluster(t *testing.T) *cluster.Cluster {
	t.Helper()
	url := cluster.StartZooKeeper(t).URL("/agora")
	return cluster.New(t, cluster.Options{ZooKeeper: url, Masters: 3, Agents: 2})
}

// taskPIDAnywhere waits for a task's task.pid marker on any agent of c.
func taskPIDAnywhere(t *testing.T, c *cluster.Cluster, taskID string) int {
	t.Helper()
	var pid int
	poll.Eventually(t, 30*time.Second, func() error {
		for _, a := range c.Agents {
			path, err := findSandboxFile(a.WorkDir, taskID, "task.pid")
			if err != nil {
				continue
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
			return err
		}
		return fmt.Errorf("task %s: no task.pid on any agent", taskID)
	})
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	return pid
}

// leaderState is what the failover checks read from the leader's /state.
type leaderState struct {
	Elected bool `json:"elected"`
	Slaves  []struct {
		ID     string `json:"id"`
		Active bool   `json:"active"`
	} `json:"slaves"`
	Frameworks []struct {
		ID    string `json:"id"`
		Tasks []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"tasks"`
	} `json:"frameworks"`
}

// failOver stops the leader with stop (which does not wait for it to exit), then waits until another master leads
// with both agents re-registered and the framework re-subscribed with its
// tasks running, and returns the new leader.
func failOver(t *testing.T, c *cluster.Cluster, fw *cluster.Framework, tasks []string, stop func(*cluster.Process)) (*cluster.Process, time.Duration) {
	t.Helper()
	old, err := c.Leader()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	stop(old)
	var leader *cluster.Process
	poll.Eventually(t, 60*time.Second, func() error {
		p, err := c.Leader()
		if err != nil {
			return err
		}
		if p == old {
			return fmt.Errorf("%s still leads", p.Name)
		}
		leader = p
		return nil
	})
	elected := time.Since(start)
	waitAllBack(t, c, fw, tasks, leader)
	t.Logf("%s took over from %s after %s (all back after %s)", leader.Name, old.Name, elected.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	return leader, elected
}

// waitAllBack waits until leader has every agent of c re-registered and fw re-subscribed
// with tasks running.
func waitAllBack(t *testing.T, c *cluster.Cluster, fw *cluster.Framework, tasks []string, leader *cluster.Process) {
	t.Helper()
	waitAllBackTo(t, c, fw, tasks, func() (*cluster.Process, error) { return leader, nil })
}

// waitAllBackTo is waitAllBack with the leader found afresh at each check (current).
func waitAllBackTo(t *testing.T, c *cluster.Cluster, fw *cluster.Framework, tasks []string, current func() (*cluster.Process, error)) {
	t.Helper()
	poll.Eventually(t, 60*time.Second, func() error {
		leader, err := current()
		if err != nil {
			return err
		}
		var st leaderState
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := cluster.GetJSON(ctx, "http://"+leader.Addr+"/state", &st); err != nil {
			return err
		}
		active := 0
		for _, s := range st.Slaves {
			if s.Active {
				active++
			}
		}
		if active != len(c.Agents) {
			return fmt.Errorf("%d of %d agents re-registered with %s", active, len(c.Agents), leader.Name)
		}
		running := map[string]bool{}
		for _, f := range st.Frameworks {
			if f.ID != fw.S.FrameworkID() {
				continue
			}
			for _, tk := range f.Tasks {
				running[tk.ID] = tk.State == "TASK_RUNNING"
			}
		}
		for _, id := range tasks {
			if !running[id] {
				return fmt.Errorf("task %s not running on the new leader", id)
			}
		}
		if !fw.S.Subscribed() {
			return fmt.Errorf("framework not re-subscribed")
		}
		return nil
	})
}

// checkNotRelaunched fails if a task saw anything but STAGING/STARTING/RUNNING
// or its process changed.
func checkNotRelaunched(t *testing.T, fw *cluster.Framework, pids map[string]int) {
	t.Helper()
	for id, pid := range pids {
		for _, u := range fw.Updates(id) {
			switch u.GetState() {
			case mesos.TaskState_TASK_STAGING, mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_RUNNING:
			default:
				t.Errorf("task %s got %v (%q) across the failover", id, u.GetState(), u.GetMessage())
			}
		}
		if !processAlive(pid) {
			t.Errorf("task %s: process %d is gone", id, pid)
		}
	}
}

// TestHAMasterFailover: with 3 masters in ZooKeeper, SIGKILL and then SIGTERM of
// the leader each elect another master; the agents re-register, the framework
// re-subscribes, the same tasks keep running (the same processes, no new
// status), and a further launch completes.
func TestHAMasterFailover(t *testing.T) {
	c := haCluster(t)
	fw := c.StartFramework(cluster.FrameworkOptions{Name: "ha", FailoverTimeout: 600})
	ctx := context.Background()
	var tasks []string
	pids := map[string]int{}
	for i := range 3 {
		id := fmt.Sprintf("ha-%d", i)
		tasks = append(tasks, id)
		fw.Launch(ctx, pidTask(id, "exec sleep 600"))
	}
	for _, id := range tasks {
		fw.WaitState(id, mesos.TaskState_TASK_RUNNING, 60*time.Second)
		pids[id] = taskPIDAnywhere(t, c, id)
	}

	for _, step := range []struct {
		name string
		stop func(*cluster.Process)
	}{
		{"SIGKILL", func(p *cluster.Process) { p.Signal(syscall.SIGKILL) }},
		{"SIGTERM", func(p *cluster.Process) { p.Signal(syscall.SIGTERM) }},
	} {
		old, err := c.Leader()
		if err != nil {
			t.Fatal(err)
		}
		_, elected := failOver(t, c, fw, tasks, step.stop)
		if step.name == "SIGTERM" && elected > 3*time.Second {
			t.Errorf("SIGTERM: a standby took %s to lead; the znode should go at once", elected)
		}
		waitStart := time.Now()
		if !old.Wait(10 * time.Second) {
			t.Errorf("%s: the stopped master did not exit within 10s", step.name)
		}
		t.Logf("%s: %s exited %s after the new leader served", step.name, old.Name, time.Since(waitStart).Round(time.Millisecond))
		checkNotRelaunched(t, fw, pids)
		id := "ha-after-" + strings.ToLower(step.name)
		fw.Launch(ctx, pidTask(id, "exec sleep 600"))
		fw.WaitState(id, mesos.TaskState_TASK_RUNNING, 60*time.Second)
		tasks = append(tasks, id)
		pids[id] = taskPIDAnywhere(t, c, id)
		// The stopped master comes back as a standby.
		old.Restart()
		poll.Eventually(t, 20*time.Second, func() error {
			var st leaderState
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if err := cluster.GetJSON(ctx, "http://"+old.Addr+"/state", &st); err != nil {
				return err
			}
			if st.Elected {
				return fmt.Errorf("%s leads again after its restart", old.Name)
			}
			return nil
		})
	}
}
