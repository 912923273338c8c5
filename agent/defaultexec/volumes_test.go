package defaultexec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

func sandboxVolume(containerPath string, typ mesos.Volume_Source_SandboxPath_Type, path string) *mesos.Volume {
	return &mesos.Volume{Mode: mesos.Volume_RW.Enum(), ContainerPath: proto.String(containerPath),
		Source: &mesos.Volume_Source{Type: mesos.Volume_Source_SANDBOX_PATH.Enum(),
			SandboxPath: &mesos.Volume_Source_SandboxPath{Type: typ.Enum(), Path: proto.String(path)}}}
}

func TestLinkVolumesSharesTheExecutorsVolumes(t *testing.T) {
	exDir := t.TempDir()
	hostDir := t.TempDir()
	exVolumes := []*mesos.Volume{sandboxVolume("shared", mesos.Volume_Source_SandboxPath_SELF, "volumes/shared")}
	taskVolumes := []*mesos.Volume{
		sandboxVolume("mnt/data", mesos.Volume_Source_SandboxPath_PARENT, "shared"),
		sandboxVolume("scratch", mesos.Volume_Source_SandboxPath_SELF, "tmp/scratch"),
		{Mode: mesos.Volume_RO.Enum(), ContainerPath: proto.String("etc"), HostPath: proto.String(hostDir)},
	}
	for _, task := range []string{"a", "b"} {
		dir := TaskSandbox(exDir, task)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := linkVolumes(exDir, dir, exVolumes, taskVolumes); err != nil {
			t.Fatal(err)
		}
	}
	// What a writes through either of its links, b reads through its own.
	if err := os.WriteFile(filepath.Join(TaskSandbox(exDir, "a"), "mnt", "data", "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{
		filepath.Join(TaskSandbox(exDir, "b"), "mnt", "data", "f"),
		filepath.Join(TaskSandbox(exDir, "b"), "shared", "f"),
		filepath.Join(exDir, "volumes", "shared", "f"),
	} {
		if b, err := os.ReadFile(p); err != nil || string(b) != "x" {
			t.Fatalf("%s = %q, %v", p, b, err)
		}
	}
	if target, err := os.Readlink(filepath.Join(TaskSandbox(exDir, "a"), "etc")); err != nil || target != hostDir {
		t.Fatalf("host volume link = %q, %v", target, err)
	}
	if fi, err := os.Stat(filepath.Join(TaskSandbox(exDir, "a"), "tmp", "scratch")); err != nil || !fi.IsDir() {
		t.Fatalf("SELF volume not created: %v", err)
	}
}

func TestLinkVolumesRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    *mesos.Volume
		want string
	}{
		{"absolute container path", sandboxVolume("/data", mesos.Volume_Source_SandboxPath_PARENT, "shared"), "container path must be relative"},
		{"sandbox path leaving the sandbox", sandboxVolume("data", mesos.Volume_Source_SandboxPath_PARENT, "../x"), "must be relative and inside the sandbox"},
		{"relative host path", &mesos.Volume{ContainerPath: proto.String("d"), HostPath: proto.String("rel")}, "must be absolute"},
		{"no source", &mesos.Volume{ContainerPath: proto.String("d")}, "no source"},
		{"docker volume", &mesos.Volume{ContainerPath: proto.String("d"), Source: &mesos.Volume_Source{Type: mesos.Volume_Source_DOCKER_VOLUME.Enum()}}, "DOCKER_VOLUME volumes are not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exDir := t.TempDir()
			err := linkVolumes(exDir, TaskSandbox(exDir, "a"), nil, []*mesos.Volume{tc.v})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to say %q", err, tc.want)
			}
		})
	}
}
