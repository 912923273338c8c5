package agent

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/containerizer"
	"github.com/agoracluster/agora/agent/sandbox"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

func TestUnsupportedContainer(t *testing.T) {
	dockerTask := &mesos.TaskInfo{Container: &mesos.ContainerInfo{Type: mesos.ContainerInfo_DOCKER.Enum(),
		Docker: &mesos.ContainerInfo_DockerInfo{Image: proto.String("img")}}}
	plainTask := &mesos.TaskInfo{Command: &mesos.CommandInfo{Value: proto.String("true")}}
	// A ContainerInfo without a type is not DOCKER, although DOCKER is the enum's default.
	untyped := &mesos.TaskInfo{Container: &mesos.ContainerInfo{}}
	dockerExecutor := &mesos.ExecutorInfo{Container: &mesos.ContainerInfo{Type: mesos.ContainerInfo_DOCKER.Enum()}}
	taskWithDockerExecutor := &mesos.TaskInfo{Executor: dockerExecutor}

	tests := []struct {
		name           string
		containerizers []string
		enabled        bool // the engine answered
		group          *mesos.ExecutorInfo
		task           *mesos.TaskInfo
		want           string // substring; "" means accepted
	}{
		{"plain task, no docker", []string{"process"}, false, nil, plainTask, ""},
		{"untyped container, no docker", []string{"process"}, false, nil, untyped, ""},
		{"docker task, docker enabled", []string{"process", "docker"}, true, nil, dockerTask, ""},
		{"docker task, docker not listed", []string{"process"}, false, nil, dockerTask, "not enabled on this agent (--containerizers)"},
		{"docker task, engine did not answer", []string{"process", "docker"}, false, nil, dockerTask, "did not answer"},
		{"task group executor in docker", []string{"process", "docker"}, true, dockerExecutor, plainTask, "executors in Docker containers are not supported"},
		{"custom executor in docker", []string{"process", "docker"}, true, nil, taskWithDockerExecutor, "executors in Docker containers are not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &Agent{cfg: Config{Containerizers: tt.containerizers}}
			if tt.enabled {
				a.docker = &containerizer.Docker{}
			}
			got := a.unsupportedContainer(tt.group, []*mesos.TaskInfo{tt.task})
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("unsupportedContainer = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestPreviousAgentIDs: the agent ids a work dir has sandboxes or checkpoints of, but the
// current one.
func TestPreviousAgentIDs(t *testing.T) {
	work := t.TempDir()
	for _, dir := range []string{
		sandbox.Path(work, "old", "fw", "e", "c"),
		sandbox.Path(work, "current", "fw", "e", "c"),
		filepath.Join(work, "meta", "slaves", "older"),
		filepath.Join(work, "meta", "slaves", "current"),
	} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("current", filepath.Join(work, "meta", "slaves", "latest")); err != nil {
		t.Fatal(err)
	}
	a := &Agent{cfg: Config{WorkDir: work}}
	a.st.AgentID = "current"
	got := slices.Sorted(maps.Keys(a.previousAgentIDs()))
	if strings.Join(got, ",") != "old,older" {
		t.Fatalf("previous agent ids = %v, want old, older", got)
	}
}
