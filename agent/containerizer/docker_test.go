package containerizer

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/clock"
	"github.com/agoracluster/agora/agent/docker"
	"github.com/agoracluster/agora/agent/sandbox"
	"github.com/agoracluster/agora/integration/dockertest"
	"github.com/agoracluster/agora/internal/hosttest"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
)

// TestRemoveDockerOrphans: of the containers labelled with the agent's id, the ones whose
// container id belongs to no known executor are destroyed; the others are left alone.
func TestRemoveDockerOrphans(t *testing.T) {
	cli := hosttest.RequireDocker(t)
	image := dockertest.HelloImage(t, cli)
	agentID := "orphans-" + dockertest.RandomID()
	dockertest.RemoveContainersOnCleanup(t, cli, docker.LabelAgentID, agentID)
	rt := docker.New(cli, clock.Real{}, zaptest.NewLogger(t))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	run := func(containerID string) {
		t.Helper()
		c, err := rt.Run(ctx, docker.Spec{
			ContainerID: containerID, FrameworkID: "fw", ExecutorID: containerID, Sandbox: t.TempDir(),
			Task: &mesos.TaskInfo{
				Name: proto.String("t"), TaskId: &mesos.TaskID{Value: proto.String(containerID)},
				AgentId:   &mesos.AgentID{Value: proto.String(agentID)},
				Resources: resources.MustParse("cpus:0.1;mem:32").ToProto(),
				Command:   &mesos.CommandInfo{Shell: proto.Bool(false), Arguments: []string{"-sleep", "10m"}},
				Container: &mesos.ContainerInfo{Type: mesos.ContainerInfo_DOCKER.Enum(),
					Docker: &mesos.ContainerInfo_DockerInfo{Image: proto.String(image), Network: mesos.ContainerInfo_DockerInfo_NONE.Enum()}},
			},
		})
		if err != nil {
			t.Fatalf("run %s: %v", containerID, err)
		}
		c.Close() // leave it running, as an executor that died would
	}
	live, orphan := "live-"+dockertest.RandomID(), "orphan-"+dockertest.RandomID()
	run(live)
	run(orphan)

	d := newDocker(rt, cli, "", nil, zaptest.NewLogger(t))
	d.RemoveOrphans(ctx, agentID, map[string]bool{live: true})

	listed, err := rt.List(ctx, agentID)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, c := range listed {
		left = append(left, c.ContainerID)
	}
	slices.Sort(left)
	if strings.Join(left, ",") != live {
		t.Errorf("containers left = %v, want only %s", left, live)
	}
}

// TestRemovePreviousAgentContainers: after a new agent id (recover=cleanup, reboot) the
// containers of the earlier ids of this work dir are destroyed; containers of the current
// id, of ids this work dir never had, and of an earlier id whose sandbox lies elsewhere
// (another agent's work dir) are left alone.
func TestRemovePreviousAgentContainers(t *testing.T) {
	cli := hosttest.RequireDocker(t)
	image := dockertest.HelloImage(t, cli)
	rt := docker.New(cli, clock.Real{}, zaptest.NewLogger(t))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	work := t.TempDir()
	old, other, current := "old-"+dockertest.RandomID(), "other-"+dockertest.RandomID(), "current-"+dockertest.RandomID()
	for _, id := range []string{old, other, current} {
		dockertest.RemoveContainersOnCleanup(t, cli, docker.LabelAgentID, id)
	}
	if err := os.MkdirAll(filepath.Join(work, "meta", "slaves", old), 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(agentID, sandbox string) string {
		t.Helper()
		if err := os.MkdirAll(sandbox, 0o755); err != nil {
			t.Fatal(err)
		}
		cid := dockertest.RandomID()
		c, err := rt.Run(ctx, docker.Spec{
			ContainerID: cid, FrameworkID: "fw", ExecutorID: cid, Sandbox: sandbox,
			Task: &mesos.TaskInfo{
				Name: proto.String("t"), TaskId: &mesos.TaskID{Value: proto.String(cid)},
				AgentId:   &mesos.AgentID{Value: proto.String(agentID)},
				Resources: resources.MustParse("cpus:0.1;mem:32").ToProto(),
				Command:   &mesos.CommandInfo{Shell: proto.Bool(false), Arguments: []string{"-sleep", "10m"}},
				Container: &mesos.ContainerInfo{Type: mesos.ContainerInfo_DOCKER.Enum(),
					Docker: &mesos.ContainerInfo_DockerInfo{Image: proto.String(image), Network: mesos.ContainerInfo_DockerInfo_NONE.Enum()}},
			},
		})
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		c.Close()
		return cid
	}
	sandboxOf := func(agentID string) string {
		return sandbox.Path(work, agentID, "fw", "e-"+dockertest.RandomID(), dockertest.RandomID())
	}
	gone := run(old, sandboxOf(old))
	elsewhere := run(old, filepath.Join(t.TempDir(), "sandbox"))
	// Another agent on this host: its own work dir and id.
	unknownID := run(other, sandbox.Path(t.TempDir(), other, "fw", "e", dockertest.RandomID()))
	cur := run(current, sandboxOf(current))

	d := newDocker(rt, cli, "", nil, zaptest.NewLogger(t))
	d.RemovePreviousAgentContainers(ctx, map[string]bool{old: true}, sandbox.Roots(work))

	left := map[string]bool{}
	for _, id := range []string{old, other, current} {
		listed, err := rt.List(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range listed {
			left[c.ContainerID] = true
		}
	}
	if left[gone] {
		t.Errorf("the container of the earlier agent id %s was not removed", old)
	}
	for name, cid := range map[string]string{"sandbox elsewhere": elsewhere, "unknown agent id": unknownID, "current agent id": cur} {
		if !left[cid] {
			t.Errorf("container (%s) was removed", name)
		}
	}
}
