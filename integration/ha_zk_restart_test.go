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
