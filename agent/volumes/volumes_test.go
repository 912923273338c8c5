package volumes_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/agoracluster/agora/agent/volumes"
	"github.com/agoracluster/agora/resources"
)

func volume(role, id, path string) resources.Resources {
	r := resources.ScalarResource("disk", "", 10).PushReservation(resources.Dynamic(role, "p"))
	r.Volume = &resources.Volume{ID: id, ContainerPath: path}
	return resources.Of(r)
}

func TestSyncCreatesAndRemoves(t *testing.T) {
	work := t.TempDir()
	v1, v2 := volume("web", "v1", "data"), volume("eng/db", "v2", "db")
	if err := volumes.Sync(work, resources.Resources{}, v1.Plus(v2)); err != nil {
		t.Fatal(err)
	}
	p1, p2 := volumes.Path(work, "web", "v1"), volumes.Path(work, "eng/db", "v2")
	if want := filepath.Join(work, "volumes", "roles", "eng", "db", "v2"); p2 != want {
		t.Fatalf("Path = %s, want %s", p2, want)
	}
	if err := os.WriteFile(filepath.Join(p1, "f"), []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := volumes.Sync(work, v1.Plus(v2), v1); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(p1, "f")); err != nil || string(b) != "kept" {
		t.Fatalf("v1's data: %q, %v", b, err)
	}
	if _, err := os.Stat(p2); !os.IsNotExist(err) {
		t.Fatalf("v2 not removed: %v", err)
	}
}

func TestLinkIntoSandbox(t *testing.T) {
	work, box := t.TempDir(), t.TempDir()
	res := volume("web", "v1", "a/data").Plus(resources.MustParse("cpus:1"))
	if err := volumes.Link(work, box, res, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(box, "a", "data", "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(volumes.Path(work, "web", "v1"), "f")); err != nil {
		t.Fatalf("written through the link: %v", err)
	}
	// Linking again (a second task of the executor) is fine.
	if err := volumes.Link(work, box, res, nil); err != nil {
		t.Fatal(err)
	}
	// A directory of the sandbox is never replaced.
	if err := os.MkdirAll(filepath.Join(box, "taken"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := volumes.Link(work, box, volume("web", "v2", "taken"), nil); err == nil {
		t.Fatal("linked over a sandbox directory")
	}
}

func TestLinkHandsTheVolumeToItsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing owners needs root")
	}
	work, box := t.TempDir(), t.TempDir()
	if err := volumes.Link(work, box, volume("web", "v1", "data"), &volumes.Owner{UID: 65534, GID: 65534}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(volumes.Path(work, "web", "v1"))
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 65534 || st.Gid != 65534 {
		t.Fatalf("volume owned by %d:%d, want 65534:65534", st.Uid, st.Gid)
	}
}
