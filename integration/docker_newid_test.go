package integration

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/agoracluster/agora/agent/docker"
	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/integration/dockertest"
	"github.com/agoracluster/agora/internal/hosttest"
	"github.com/agoracluster/agora/internal/poll"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// TestDockerContainersOfAnEarlierAgentIDAreRemoved: a DOCKER task runs; the agent is
// SIGKILLed and starts again after a "reboot" (another boot id), so it registers under a new
// agent id; the container labelled with the old id is removed instead of running forever.
func TestDockerContainersOfAnEarlierAgentIDAreRemoved(t *testing.T) {
	cli := hosttest.RequireDocker(t)
	image := dockertest.HelloImage(t, cli)
	id := "old-id-" + dockertest.RandomID()
	dockertest.RemoveContainersOnCleanup(t, cli, docker.LabelTaskID, id)
	c, bootID := recoveryCluster(t)
	agent := c.Agents[0]
	f := c.StartFramework(cluster.FrameworkOptions{Name: "docker-new-id"})
	f.Launch(context.Background(), helloTask(id, image, mesos.ContainerInfo_DockerInfo_BRIDGE, freePortIn(t, 31000, 32000)))
	f.WaitState(id, mesos.TaskState_TASK_RUNNING, 2*time.Minute)
	oldID := onlyActiveAgent(t, c)
	if cs, err := taskContainers(cli, id); err != nil || len(cs) != 1 {
		t.Fatalf("containers of %s = %v (%v), want 1", id, cs, err)
	}

	agent.Kill()
	if err := os.WriteFile(bootID, []byte("boot-2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	agent.Restart()
	poll.Eventually(t, 30*time.Second, func() error {
		active, _, err := agentIDs(c)
		if err != nil {
			return err
		}
		if len(active) != 1 || active[0] == oldID {
			return fmt.Errorf("active agents = %v, want one new id (old %s)", active, oldID)
		}
		return nil
	})
	poll.Eventually(t, 60*time.Second, func() error {
		if cs, err := taskContainers(cli, id); err != nil || len(cs) > 0 {
			return fmt.Errorf("the container of the old agent id still exists (%d, %v)", len(cs), err)
		}
		return nil
	})
}
