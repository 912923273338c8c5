package integration

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	dockerclient "github.com/docker/docker/client"
	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/clock"
	"github.com/agoracluster/agora/agent/docker"
	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/integration/dockertest"
	"github.com/agoracluster/agora/internal/hosttest"
	"github.com/agoracluster/agora/internal/poll"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
)

// hostPort returns a host port that is free now; the agent offers exactly this port, so the
// task's host port is the one taken from the offer.
func hostPort(t *testing.T) uint32 {
	t.Helper()
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return uint32(ln.Addr().(*net.TCPAddr).Port)
}

// freePortIn returns a host port in [lo, hi] that is free now.
func freePortIn(t *testing.T, lo, hi uint32) uint32 {
	t.Helper()
	start := lo + uint32(time.Now().UnixNano()%int64(hi-lo+1))
	for i := uint32(0); i <= hi-lo; i++ {
		p := lo + (start-lo+i)%(hi-lo+1)
		ln, err := net.Listen("tcp", "0.0.0.0:"+strconv.FormatUint(uint64(p), 10))
		if err == nil {
			ln.Close()
			return p
		}
	}
	t.Fatalf("no free port in [%d, %d]", lo, hi)
	return 0
}

// helloTask is a DOCKER task running the hello image with a port mapping from port (of the
// offer's ports) to the hello server's container port 9001.
func helloTask(id, image string, network mesos.ContainerInfo_DockerInfo_Network, port uint32) *mesos.TaskInfo {
	p := strconv.FormatUint(uint64(port), 10)
	return &mesos.TaskInfo{
		Name:      proto.String(id),
		TaskId:    &mesos.TaskID{Value: proto.String(id)},
		Resources: resources.MustParse("cpus:0.2;mem:64;ports:[" + p + "-" + p + "]").ToProto(),
		Command:   &mesos.CommandInfo{Shell: proto.Bool(false)},
		Container: &mesos.ContainerInfo{
			Type: mesos.ContainerInfo_DOCKER.Enum(),
			Docker: &mesos.ContainerInfo_DockerInfo{
				Image:   proto.String(image),
				Network: network.Enum(),
				PortMappings: []*mesos.ContainerInfo_DockerInfo_PortMapping{{
					HostPort: proto.Uint32(port), ContainerPort: proto.Uint32(dockertest.HelloPort), Protocol: proto.String("tcp"),
				}},
			},
		},
	}
}

func httpGet(url string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(b), nil
}

// taskContainers lists the containers (running or not) of task id.
func taskContainers(cli dockerclient.APIClient, id string) ([]container.Summary, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", docker.LabelTaskID+"="+id))})
}

// TestDockerTask runs the hello image as a DOCKER task through a real master, agent and SDK
// framework: reachable over HTTP through the host port taken from the offer, then killed and
// its container removed. The second case is the README's hello-marathon shape (host network
// with a portMappings entry: agent/docker runs it on the bridge with that port published).
func TestDockerTask(t *testing.T) {
	cli := hosttest.RequireDocker(t)
	image := dockertest.HelloImage(t, cli)
	for _, tc := range []struct {
		name    string
		network mesos.ContainerInfo_DockerInfo_Network
	}{
		{"bridge with port mapping", mesos.ContainerInfo_DockerInfo_BRIDGE},
		{"host with port mapping (hello-marathon)", mesos.ContainerInfo_DockerInfo_HOST},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := "hello-" + dockertest.RandomID()
			dockertest.RemoveContainersOnCleanup(t, cli, docker.LabelTaskID, id)
			port := hostPort(t)
			c := cluster.New(t, cluster.Options{Agents: 1,
				AgentResources: fmt.Sprintf("cpus:4;mem:4096;disk:1000;ports:[%d-%d]", port, port)})
			f := c.StartFramework(cluster.FrameworkOptions{Name: "docker"})
			f.Launch(context.Background(), helloTask(id, image, tc.network, port))

			running := f.WaitState(id, mesos.TaskState_TASK_RUNNING, 2*time.Minute)
			if tc.network == mesos.ContainerInfo_DockerInfo_BRIDGE {
				nis := running.GetContainerStatus().GetNetworkInfos()
				if len(nis) == 0 || len(nis[0].GetIpAddresses()) == 0 || net.ParseIP(nis[0].GetIpAddresses()[0].GetIpAddress()) == nil {
					t.Errorf("TASK_RUNNING container_status = %v, want the container's IP address", running.GetContainerStatus())
				}
			}
			url := fmt.Sprintf("http://127.0.0.1:%d/", port)
			poll.Eventually(t, 30*time.Second, func() error {
				body, err := httpGet(url)
				if err != nil {
					return err
				}
				if strings.TrimSpace(body) != "hello" {
					return fmt.Errorf("GET %s = %q, want hello", url, body)
				}
				return nil
			})
			poll.Eventually(t, 10*time.Second, func() error {
				return sandboxFileContains(c.Agents[0].WorkDir, id, "stdout", "hello: serving on")
			})

			if err := f.S.Kill(context.Background(), running.GetTaskId(), running.GetAgentId()); err != nil {
				t.Fatalf("kill: %v", err)
			}
			killed := f.WaitState(id, mesos.TaskState_TASK_KILLED, time.Minute)
			if !strings.HasPrefix(killed.GetMessage(), "Container exited with status") {
				t.Errorf("TASK_KILLED message = %q", killed.GetMessage())
			}
			poll.Eventually(t, 30*time.Second, func() error {
				cs, err := taskContainers(cli, id)
				if err != nil {
					return err
				}
				if len(cs) > 0 {
					return fmt.Errorf("container of %s still exists: %s (%s)", id, cs[0].Names, cs[0].State)
				}
				return nil
			})
		})
	}
}

// TestDockerTaskWithoutDocker: an agent without the docker containerizer fails DOCKER tasks
// with a message that says so, and still runs command tasks.
func TestDockerTaskWithoutDocker(t *testing.T) {
	c := cluster.New(t, cluster.Options{Agents: 1, AgentArgs: []string{"--containerizers", "process"}})
	f := c.StartFramework(cluster.FrameworkOptions{Name: "nodocker"})
	f.Launch(context.Background(), helloTask("no-docker", "hello_world:latest", mesos.ContainerInfo_DockerInfo_BRIDGE, 31000),
		cluster.ShellTask("plain", "exit 0", "cpus:0.1;mem:32"))
	st := f.WaitState("no-docker", mesos.TaskState_TASK_FAILED, time.Minute)
	if !strings.Contains(st.GetMessage(), "docker containerizer is not enabled") || st.GetReason() != mesos.TaskStatus_REASON_CONTAINER_LAUNCH_FAILED {
		t.Errorf("status = %v %q, want REASON_CONTAINER_LAUNCH_FAILED naming the docker containerizer", st.GetReason(), st.GetMessage())
	}
	f.WaitState("plain", mesos.TaskState_TASK_FINISHED, time.Minute)
}

// TestDockerTaskSurvivesAgentRestart: a DOCKER task keeps running (the same container, still
// serving) while the agent is SIGKILLed and started again; the restarted agent removes an
// orphan container labelled with its id, re-registers, and a kill still reaches the task.
func TestDockerTaskSurvivesAgentRestart(t *testing.T) {
	cli := hosttest.RequireDocker(t)
	image := dockertest.HelloImage(t, cli)
	id := "survivor-" + dockertest.RandomID()
	dockertest.RemoveContainersOnCleanup(t, cli, docker.LabelTaskID, id)
	c, _ := recoveryCluster(t)
	agent := c.Agents[0]
	f := c.StartFramework(cluster.FrameworkOptions{Name: "docker-recovery"})
	port := freePortIn(t, 31000, 32000) // the agent's default test range
	f.Launch(context.Background(), helloTask(id, image, mesos.ContainerInfo_DockerInfo_BRIDGE, port))
	running := f.WaitState(id, mesos.TaskState_TASK_RUNNING, 2*time.Minute)
	agentID := onlyActiveAgent(t, c)
	before, err := taskContainers(cli, id)
	if err != nil || len(before) != 1 {
		t.Fatalf("containers of %s = %v (%v), want 1", id, before, err)
	}

	// An orphan: a container of this agent that no executor knows.
	dockertest.RemoveContainersOnCleanup(t, cli, docker.LabelAgentID, agentID)
	orphanTask := helloTask("orphan-"+dockertest.RandomID(), image, mesos.ContainerInfo_DockerInfo_NONE, 0)
	orphanTask.Container.Docker.PortMappings = nil
	orphanTask.AgentId = &mesos.AgentID{Value: proto.String(agentID)}
	rt := docker.New(cli, clock.Real{}, zaptest.NewLogger(t))
	orphan, err := rt.Run(context.Background(), docker.Spec{ContainerID: "orphan-" + dockertest.RandomID(), FrameworkID: "fw",
		ExecutorID: "orphan", Sandbox: t.TempDir(), Task: orphanTask})
	if err != nil {
		t.Fatal(err)
	}
	orphan.Close()

	agent.Kill()
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
	poll.Eventually(t, 30*time.Second, func() error {
		_, err := cli.ContainerInspect(context.Background(), orphan.ID)
		if dockerclient.IsErrNotFound(err) {
			return nil
		}
		return fmt.Errorf("orphan container still there (inspect: %v)", err)
	})
	after, err := taskContainers(cli, id)
	if err != nil || len(after) != 1 || after[0].ID != before[0].ID {
		t.Fatalf("containers of %s after the restart = %v (%v), want the same one %s", id, after, err, before[0].ID)
	}
	if body, err := httpGet(fmt.Sprintf("http://127.0.0.1:%d/", port)); err != nil || strings.TrimSpace(body) != "hello" {
		t.Errorf("task after the agent restart: %q, %v", body, err)
	}

	if err := f.S.Kill(context.Background(), running.GetTaskId(), running.GetAgentId()); err != nil {
		t.Fatalf("kill: %v", err)
	}
	f.WaitState(id, mesos.TaskState_TASK_KILLED, time.Minute)
	poll.Eventually(t, 30*time.Second, func() error {
		if cs, err := taskContainers(cli, id); err != nil || len(cs) > 0 {
			return fmt.Errorf("container of %s still exists (%v)", id, err)
		}
		return nil
	})
}
