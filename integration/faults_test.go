package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/internal/poll"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// fastAgentTimeouts make the master notice a dead agent within about a second.
var fastAgentTimeouts = []string{"--agent_heartbeat_interval", "100ms", "--agent_ping_timeout", "200ms", "--max_agent_ping_timeouts", "3"}

// TestAgentKilledTasksReported: when an agent is SIGKILLed while tasks run, the master marks it
// unreachable and tells each framework: TASK_UNREACHABLE for partition-aware frameworks,
// TASK_LOST for the others. The master keeps offering the other agents' resources.
func TestAgentKilledTasksReported(t *testing.T) {
	c := cluster.New(t, cluster.Options{Agents: 1, MasterArgs: fastAgentTimeouts})
	aware := c.StartFramework(cluster.FrameworkOptions{Name: "aware",
		Capabilities: []mesos.FrameworkInfo_Capability_Type{mesos.FrameworkInfo_Capability_PARTITION_AWARE}})
	plain := c.StartFramework(cluster.FrameworkOptions{Name: "plain"})
	ctx := context.Background()
	aware.Launch(ctx, cluster.ShellTask("a1", "sleep 1000", "cpus:0.1;mem:32"))
	plain.Launch(ctx, cluster.ShellTask("p1", "sleep 1000", "cpus:0.1;mem:32"))
	aware.WaitState("a1", mesos.TaskState_TASK_RUNNING, 30*time.Second)
	plain.WaitState("p1", mesos.TaskState_TASK_RUNNING, 30*time.Second)

	c.Agents[0].Kill()

	aware.WaitState("a1", mesos.TaskState_TASK_UNREACHABLE, 30*time.Second)
	plain.WaitState("p1", mesos.TaskState_TASK_LOST, 30*time.Second)
	poll.Eventually(t, 10*time.Second, func() error {
		n, err := c.ActiveAgents()
		if err != nil {
			return err
		}
		if n != 0 {
			return fmt.Errorf("%d active agents, want 0", n)
		}
		return nil
	})

	// A new agent's resources are offered and used as before.
	c.AddAgent("cpus:2;mem:1024;disk:1000;ports:[32000-32100]")
	plain.Launch(ctx, cluster.ShellTask("p2", "true", "cpus:0.1;mem:32"))
	plain.WaitState("p2", mesos.TaskState_TASK_FINISHED, 30*time.Second)
}

// TestFrameworkFailoverWithinTimeout: a framework that disconnects and re-subscribes with its
// id within its failover timeout keeps its tasks, and can still manage them.
func TestFrameworkFailoverWithinTimeout(t *testing.T) {
	c := cluster.New(t, cluster.Options{Agents: 1})
	first := c.StartFramework(cluster.FrameworkOptions{Name: "failover", FailoverTimeout: 3600})
	ctx := context.Background()
	first.Launch(ctx, cluster.ShellTask("survivor", "sleep 1000", "cpus:0.1;mem:32"))
	first.WaitState("survivor", mesos.TaskState_TASK_RUNNING, 30*time.Second)
	id := first.S.FrameworkID()
	first.Stop() // the scheduler process "dies": its stream closes

	second := c.StartFramework(cluster.FrameworkOptions{Name: "failover", FailoverTimeout: 3600, FrameworkID: id})
	if got := second.S.FrameworkID(); got != id {
		t.Fatalf("re-subscribed as %q, want the same framework %q", got, id)
	}
	// Reconciliation after re-subscribing reports the task still running.
	st := second.WaitState("survivor", mesos.TaskState_TASK_RUNNING, 30*time.Second)
	if err := second.S.Kill(ctx, st.GetTaskId(), st.GetAgentId()); err != nil {
		t.Fatal(err)
	}
	second.WaitState("survivor", mesos.TaskState_TASK_KILLED, 30*time.Second)
}

// TestFrameworkFailoverTimeoutKillsTasks: a framework that stays away longer than its failover
// timeout is removed and its tasks are killed.
func TestFrameworkFailoverTimeoutKillsTasks(t *testing.T) {
	c := cluster.New(t, cluster.Options{Agents: 1})
	f := c.StartFramework(cluster.FrameworkOptions{Name: "shortlived", FailoverTimeout: 1})
	ctx := context.Background()
	f.Launch(ctx, cluster.ShellTask("doomed", "sleep 1000", "cpus:0.1;mem:32"))
	f.WaitState("doomed", mesos.TaskState_TASK_RUNNING, 30*time.Second)
	id := f.S.FrameworkID()
	f.Stop()

	poll.Eventually(t, 30*time.Second, func() error {
		var st struct {
			Frameworks []struct {
				ID string `json:"id"`
			} `json:"frameworks"`
			CompletedFrameworks []struct {
				ID string `json:"id"`
			} `json:"completed_frameworks"`
		}
		if err := cluster.GetJSON(ctx, c.MasterURL()+"/state", &st); err != nil {
			return err
		}
		for _, fw := range st.Frameworks {
			if fw.ID == id {
				return fmt.Errorf("framework %s still registered", id)
			}
		}
		for _, fw := range st.CompletedFrameworks {
			if fw.ID == id {
				return nil
			}
		}
		return fmt.Errorf("framework %s not among the completed frameworks", id)
	})
	// The agent killed the task: its executor is gone from the agent's running executors.
	poll.Eventually(t, 30*time.Second, func() error {
		var st struct {
			Frameworks []struct {
				ID        string `json:"id"`
				Executors []struct {
					ID string `json:"id"`
				} `json:"executors"`
			} `json:"frameworks"`
		}
		if err := cluster.GetJSON(ctx, "http://"+c.Agents[0].Addr+"/state", &st); err != nil {
			return err
		}
		for _, fw := range st.Frameworks {
			if fw.ID == id && len(fw.Executors) > 0 {
				return fmt.Errorf("agent still runs %d executors of %s", len(fw.Executors), id)
			}
		}
		return nil
	})
}
