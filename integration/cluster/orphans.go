package cluster

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/agoracluster/agora/agent/containerizer"
	"github.com/agoracluster/agora/agent/exechost"
)

// KillProcessesUnder ends what outlived a SIGKILLed or stopped agent with work dir dir: its
// executor host (which kills its executors' tasks) and every executor and task whose sandbox
// lies under dir. Tests call it from t.Cleanup so that nothing leaks.
func KillProcessesUnder(dir string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	host := exechost.NewClient(exechost.Address(dir))
	defer host.Close()
	if host.Shutdown(ctx) == nil { // fails at once when no host runs
		// The host exits once its executors and their tasks are gone.
		for ctx.Err() == nil {
			stream, err := host.Events(ctx)
			if err != nil {
				break
			}
			stream.Close()
			time.Sleep(20 * time.Millisecond)
		}
	}
	containerizer.KillSandboxProcesses(dir)
}

// CgroupDirs returns the directories of cgroup root in every hierarchy of the host.
func CgroupDirs(root string) []string {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		return []string{filepath.Join("/sys/fs/cgroup", root)}
	}
	matches, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", root))
	return matches
}

// RemoveCgroupRoot removes the cgroup root an agent kept its containers' cgroups under,
// once their processes are gone (a cgroup with processes in it stays, and is logged).
func RemoveCgroupRoot(t testing.TB, root string) {
	deadline := time.Now().Add(5 * time.Second) // killed processes take a moment to leave
	for _, dir := range CgroupDirs(root) {
		for {
			children, _ := os.ReadDir(dir)
			for _, c := range children {
				if c.IsDir() {
					_ = os.Remove(filepath.Join(dir, c.Name())) // cgroups are removed with rmdir
				}
			}
			err := os.Remove(dir)
			if err == nil || errors.Is(err, os.ErrNotExist) {
				break
			}
			if time.Now().After(deadline) {
				t.Logf("remove cgroup %s: %v", dir, err)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
