package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/internal/hosttest"
	"github.com/agoracluster/agora/internal/poll"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

func cgroupsCluster(t *testing.T) *cluster.Cluster {
	root := fmt.Sprintf("agora-it-%d", cluster.FreePort(t))
	t.Cleanup(func() { cluster.RemoveCgroupRoot(t, root) }) // runs last, after the agent and its tasks are gone
	c := cluster.New(t, cluster.Options{Agents: 1, AgentArgs: []string{"--cgroups_enable_cfs", "--cgroups_root", root}})
	if out := c.Agents[0].Output(); strings.Contains(out, "cgroups are unusable") {
		hosttest.Require(t, "cgroups unusable on this host:\n"+out)
	}
	return c
}

// TestMemoryLimitFailsTask: a task with mem 64 that allocates ~300 MB is OOM-killed and
// ends TASK_FAILED with REASON_CONTAINER_LIMITATION_MEMORY; nothing of it survives.
func TestMemoryLimitFailsTask(t *testing.T) {
	hosttest.RequireCgroups(t)
	c := cgroupsCluster(t)
	f := c.StartFramework(cluster.FrameworkOptions{Name: "oom"})
	f.Launch(context.Background(), cluster.ShellTask("hog",
		// Some hosts (this one's init) move new processes into a memory cgroup of their own;
		// the agent moves them back within a second. Allocate once back in the limited cgroup
		// (the memory hierarchy's line on v1, the one hierarchy's on v2).
		`echo $$ > task.pid; while ! grep -qE '(:memory:|^0::)/agora' /proc/self/cgroup; do sleep 0.05; done; x=$(head -c 300000000 /dev/zero | tr '\0' a); sleep 10`, "cpus:0.1;mem:64"))
	st := f.WaitState("hog", mesos.TaskState_TASK_FAILED, 60*time.Second)
	if st.GetReason() != mesos.TaskStatus_REASON_CONTAINER_LIMITATION_MEMORY {
		t.Errorf("reason = %v (%q), want REASON_CONTAINER_LIMITATION_MEMORY", st.GetReason(), st.GetMessage())
	}
	if !strings.Contains(st.GetMessage(), "96 MB") {
		t.Errorf("message = %q, want it to name the 96 MB limit (64 + executor overhead)", st.GetMessage())
	}
}

// TestCPUQuotaThrottles: a busy loop with cpus 0.1 under a CFS quota is throttled, as
// /monitor/statistics shows.
func TestCPUQuotaThrottles(t *testing.T) {
	hosttest.RequireCgroups(t)
	c := cgroupsCluster(t)
	f := c.StartFramework(cluster.FrameworkOptions{Name: "cpu"})
	f.Launch(context.Background(), cluster.ShellTask("spin", "while :; do :; done", "cpus:0.1;mem:32"))
	f.WaitState("spin", mesos.TaskState_TASK_RUNNING, 30*time.Second)
	poll.Eventually(t, 20*time.Second, func() error {
		var stats []struct {
			ExecutorID string `json:"executor_id"`
			Statistics struct {
				CPUsLimit       float64 `json:"cpus_limit"`
				CPUsNrThrottled uint64  `json:"cpus_nr_throttled"`
				MemLimitBytes   uint64  `json:"mem_limit_bytes"`
				CPUsUserTime    float64 `json:"cpus_user_time_secs"`
			} `json:"statistics"`
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := cluster.GetJSON(ctx, "http://"+c.Agents[0].Addr+"/monitor/statistics", &stats); err != nil {
			return err
		}
		if len(stats) != 1 || stats[0].ExecutorID != "spin" {
			return fmt.Errorf("statistics = %+v, want the spin executor", stats)
		}
		s := stats[0].Statistics
		if s.CPUsLimit < 0.19 || s.CPUsLimit > 0.21 || s.MemLimitBytes != 64<<20 {
			return fmt.Errorf("limits = %v cpus, %d bytes; want 0.2 and 64 MiB (task + executor overhead)", s.CPUsLimit, s.MemLimitBytes)
		}
		if s.CPUsNrThrottled == 0 {
			return fmt.Errorf("not throttled yet: %+v", s)
		}
		return nil
	})
}
