package cluster

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// KillProcessesUnder SIGKILLs the process group of every process whose environment places it
// in a sandbox under dir (MESOS_SANDBOX or MESOS_DIRECTORY): executors and tasks that
// outlived a SIGKILLed agent. Tests call it from t.Cleanup so that nothing leaks.
func KillProcessesUnder(dir string) {
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		pid, err := strconv.Atoi(filepath.Base(p))
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join(p, "environ"))
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			k, v, ok := bytes.Cut(kv, []byte("="))
			if !ok || (string(k) != "MESOS_SANDBOX" && string(k) != "MESOS_DIRECTORY") {
				continue
			}
			if rel, err := filepath.Rel(dir, string(v)); err == nil && filepath.IsLocal(rel) {
				if pgid, err := syscall.Getpgid(pid); err == nil && pgid > 1 {
					_ = syscall.Kill(-pgid, syscall.SIGKILL)
				}
				_ = syscall.Kill(pid, syscall.SIGKILL)
				break
			}
		}
	}
}
