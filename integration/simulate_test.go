package integration

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/agoracluster/agora/agent/registration"
	"github.com/agoracluster/agora/election"
	"github.com/agoracluster/agora/integration/benchtest"
	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/internal/poll"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
	"github.com/agoracluster/agora/simulate"
	"github.com/agoracluster/agora/zookeeper"
)

// Sizes of TestSimulatedClusterThroughFailover (the CI form; make bench goes larger).
const (
	simAgents        = 1000
	simTasksPerAgent = 10
)

// TestSimulatedClusterThroughFailover: 1,000 simulated agents follow three masters in
// ZooKeeper, a framework runs 10,000 tasks on them, the leading master is SIGKILLed, and
// the new leader has every agent back with every task still running: none lost.
func TestSimulatedClusterThroughFailover(t *testing.T) {
	zkURL := cluster.StartZooKeeper(t).URL("/agora")
	c := cluster.New(t, cluster.Options{ZooKeeper: zkURL, Masters: 3})

	startSimulatedAgents(t, zkURL, simAgents, "cpus:"+strconv.Itoa(simTasksPerAgent)+";mem:"+strconv.Itoa(simTasksPerAgent*64)+";disk:1000;ports:[31000-31100]")
	ctx := context.Background()

	fw := benchtest.StartScheduler(t, zkURL, benchtest.Options{Name: "sim", FailoverTimeout: time.Hour})
	res := resources.MustParse("cpus:1;mem:64")
	var ids []string
	var tasks []*mesos.TaskInfo
	for i := range simAgents * simTasksPerAgent {
		id := fmt.Sprintf("sim-%05d", i)
		ids = append(ids, id)
		tasks = append(tasks, benchtest.SleepTask(id, 3600, res))
	}
	if err := fw.Launch(ctx, tasks...); err != nil {
		t.Fatal(err)
	}
	if _, err := fw.WaitAll(ids, mesos.TaskState_TASK_RUNNING, 300*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, fw.Summary(ids))
	}

	old, err := c.Leader()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	old.Kill()
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
	}, "another master leads")
	poll.Eventually(t, 180*time.Second, func() error {
		var m map[string]float64
		mctx, mcancel := context.WithTimeout(ctx, 10*time.Second)
		defer mcancel()
		if err := cluster.GetJSON(mctx, "http://"+leader.Addr+"/metrics/snapshot", &m); err != nil {
			return err
		}
		if got := m["master/slaves_active"]; got != simAgents {
			return fmt.Errorf("%v of %d agents re-registered", got, simAgents)
		}
		if got := m["master/tasks_running"]; got != simAgents*simTasksPerAgent {
			return fmt.Errorf("%v of %d tasks running", got, simAgents*simTasksPerAgent)
		}
		if got := m["master/frameworks_connected"]; got != 1 {
			return fmt.Errorf("%v frameworks connected, want the one re-subscribed", got)
		}
		for _, lost := range []string{"master/tasks_lost", "master/tasks_unreachable", "master/tasks_gone"} {
			if m[lost] != 0 {
				return fmt.Errorf("%s = %v after the failover", lost, m[lost])
			}
		}
		return nil
	}, "the new leader has every agent and task back")
	t.Logf("failover with %d agents and %d tasks: all back after %s", simAgents, simAgents*simTasksPerAgent, time.Since(start).Round(time.Millisecond))
	if s := fw.Summary(ids); strings.Contains(s, "LOST") || strings.Contains(s, "FAILED") {
		t.Errorf("the framework saw tasks end: %s", s)
	}
}

// startSimulatedAgents runs n simulated agents in this process that follow the master
// elected under zkURL, each with res, and waits until all are registered.
func startSimulatedAgents(tb testing.TB, zkURL string, n int, res string) *simulate.Sim {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	u, err := zookeeper.ParseURL(zkURL)
	if err != nil {
		tb.Fatal(err)
	}
	log := zap.NewNop()
	if t, ok := tb.(*testing.T); ok {
		log = zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)).Named("sim")
	}
	sess, err := zookeeper.Connect(ctx, u, zookeeper.DefaultConfig(), log)
	if err != nil {
		tb.Fatal(err)
	}
	det, err := election.DetectMaster(sess, u.Path, log)
	if err != nil {
		sess.Close()
		tb.Fatal(err)
	}
	cfg := simulate.DefaultConfig()
	cfg.Detector = registration.NewLeader(det)
	cfg.Agents, cfg.Resources = n, res
	cfg.SourceAddrs = 64
	// A real agent's first retry is after 10s; sooner, a slow master (these run on
	// shared 2-core machines) gets every unacknowledged update again and again.
	cfg.RetryInterval = 10 * time.Second
	sim, err := simulate.New(cfg, log)
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		<-done
		det.Close()
		sess.Close()
	})
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Minute)
	defer wcancel()
	if err := sim.WaitConnected(wctx, n); err != nil {
		tb.Fatal(err)
	}
	return sim
}
