package integration

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/internal/poll"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/zookeeper/zktest"
)

// TestHAZooKeeperRestart: ZooKeeper crashes (SIGKILL) under a running cluster of three
// masters, two agents and a framework: every master stops leading (no offers, no writes
// without the registry). When ZooKeeper is back (same data), a master
// leads again, the agents and the framework come back to it, the same task processes run
// on (no status but STAGING/STARTING/RUNNING), and a new launch completes.
func TestHAZooKeeperRestart(t *testing.T) {
	zk := cluster.StartZooKeeper(t)
	c := cluster.New(t, cluster.Options{ZooKeeper: zk.URL("/agora"), Masters: 3, Agents: 2})
	fw := c.StartFramework(cluster.FrameworkOptions{Name: "zk-restart", FailoverTimeout: 600})
	ctx := context.Background()
	var tasks []string
	pids := map[string]int{}
	for i := range 2 {
		id := fmt.Sprintf("zkr-%d", i)
		tasks = append(tasks, id)
		fw.Launch(ctx, pidTask(id, "exec sleep 600"))
	}
	for _, id := range tasks {
		fw.WaitState(id, mesos.TaskState_TASK_RUNNING, 60*time.Second)
		pids[id] = taskPIDAnywhere(t, c, id)
	}

	zk.Stop()
	poll.Eventually(t, 3*cluster.HASessionTimeout+10*time.Second, func() error {
		if p, err := c.Leader(); err == nil {
			return fmt.Errorf("%s still leads without ZooKeeper", p.Name)
		}
		return nil
	}, "every master steps down once its ZooKeeper session is gone")
	zk.Restart()

	var leader *cluster.Process
	poll.Eventually(t, 60*time.Second, func() error {
		p, err := c.Leader()
		leader = p
		return err
	}, "a master leads again")
	waitAllBack(t, c, fw, tasks, leader)
	checkNotRelaunched(t, fw, pids)
	fw.Launch(ctx, pidTask("zkr-after", "exec sleep 600"))
	fw.WaitState("zkr-after", mesos.TaskState_TASK_RUNNING, 60*time.Second)
}

// TestHALeaderCutOffFromZooKeeper: the leading master (a process of its own) loses its
// connection to ZooKeeper while the others keep theirs: it stops leading at once (it can no
// longer fence its registry writes), another master is elected, the agents and the
// framework move to it with every task running, and once the cut heals the old leader
// comes back as a standby.
func TestHALeaderCutOffFromZooKeeper(t *testing.T) {
	zk := cluster.StartZooKeeper(t)
	proxies := make([]*zktest.Proxy, 3)
	for i := range proxies {
		proxies[i] = zktest.NewProxy(t, zk.Addr())
	}
	c := cluster.New(t, cluster.Options{ZooKeeper: zk.URL("/agora"), Masters: 3, Agents: 2,
		MasterZooKeeper: func(i int) string { return proxies[i].URL("/agora") }})
	fw := c.StartFramework(cluster.FrameworkOptions{Name: "zk-cut", FailoverTimeout: 600})
	ctx := context.Background()
	tasks := []string{"cut-0", "cut-1"}
	pids := map[string]int{}
	for _, id := range tasks {
		fw.Launch(ctx, pidTask(id, "exec sleep 600"))
	}
	for _, id := range tasks {
		fw.WaitState(id, mesos.TaskState_TASK_RUNNING, 60*time.Second)
		pids[id] = taskPIDAnywhere(t, c, id)
	}
	old, err := c.Leader()
	if err != nil {
		t.Fatal(err)
	}
	idx := slices.Index(c.Masters, old)
	proxies[idx].Cut()

	var leader *cluster.Process
	poll.Eventually(t, 3*cluster.HASessionTimeout+20*time.Second, func() error {
		p, err := c.Leader()
		if err != nil {
			return err
		}
		if p == old {
			return fmt.Errorf("%s still leads, cut off from ZooKeeper", p.Name)
		}
		leader = p
		return nil
	}, "another master leads")
	waitAllBack(t, c, fw, tasks, leader)
	checkNotRelaunched(t, fw, pids)

	proxies[idx].Heal()
	poll.Eventually(t, 30*time.Second, func() error {
		var st leaderState
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if err := cluster.GetJSON(rctx, "http://"+old.Addr+"/state", &st); err != nil {
			return err
		}
		if st.Elected {
			return fmt.Errorf("%s leads again beside %s", old.Name, leader.Name)
		}
		if p, err := c.Leader(); err != nil || p != leader {
			return fmt.Errorf("leader %v (%v), want %s still", p, err, leader.Name)
		}
		return nil
	}, "the healed master is a standby")
}
