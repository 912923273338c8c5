package containerizer

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/agoracluster/agora/agent/proc"
)

// adoptPollInterval is how often an adopted (not our child) executor is checked for exit.
const adoptPollInterval = 250 * time.Millisecond

// ExecutorAlive reports whether pid is still the executor a previous agent run started:
// the process exists, is not a zombie, and has the checkpointed start time (or, when that
// is unknown, carries MESOS_EXECUTOR_ID and MESOS_FRAMEWORK_ID of the executor in its
// environment). This guards against a recycled pid.
func ExecutorAlive(c RecoveredContainer) bool {
	if c.PID <= 0 {
		return false
	}
	state, start, err := proc.Stat(c.PID)
	if err != nil || !proc.Live(state) {
		return false
	}
	if c.StartTime != 0 {
		return start == c.StartTime
	}
	env, err := proc.Environ(c.PID)
	if err != nil {
		return false
	}
	return proc.HasEnv(env, "MESOS_EXECUTOR_ID="+c.ExecutorID) && proc.HasEnv(env, "MESOS_FRAMEWORK_ID="+c.FrameworkID)
}

// sessionKiller sends SIGKILL to what is left in executor sessions (the executor runs as a
// session leader, so its tasks are in its session even in their own process groups). The
// only way to find a session's members is to look at every process on the host, so the
// requests that arrive while a scan runs are served together by the next scan: a thousand
// executors ending at once cost a few scans, not a thousand. The caller that finds no scan
// running does the scan itself, so no goroutine is left behind.
type sessionKiller struct {
	mu       sync.Mutex
	cond     *sync.Cond
	pending  map[int]bool // sessions for the next scan
	started  uint64       // scans started
	finished uint64       // scans finished
	scanning bool
}

func newSessionKiller() *sessionKiller {
	k := &sessionKiller{pending: make(map[int]bool)}
	k.cond = sync.NewCond(&k.mu)
	return k
}

// kill returns once every process that was in session sid when kill was called has been
// sent SIGKILL.
func (k *sessionKiller) kill(sid int) {
	if sid <= 1 {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.pending[sid] = true
	mine := k.started + 1 // the first scan to start from now on takes sid
	for k.finished < mine {
		if k.scanning {
			k.cond.Wait()
			continue
		}
		batch := k.pending
		k.pending = make(map[int]bool)
		k.scanning = true
		k.started++
		k.mu.Unlock()
		killSessions(batch)
		k.mu.Lock()
		k.scanning = false
		k.finished = k.started
		k.cond.Broadcast()
	}
}

// killSessions sends SIGKILL to every process in one of sids, the sessions of executors that
// have ended. A session whose leader is alive again is a new session under
// a recycled pid (the kernel reuses a pid only once no process uses it as a session id, so
// the old session was empty) and is left alone. Processes that fork while the scan runs
// may be missed by it, so it scans again for the sessions where it killed something, until
// a scan finds nothing (a session that is already empty costs one scan).
func killSessions(sids map[int]bool) {
	self := os.Getpid()
	for range 5 {
		if len(sids) == 0 {
			return
		}
		pids, err := proc.List()
		if err != nil {
			return
		}
		var members []int
		recycled := make(map[int]bool)
		for _, pid := range pids {
			if pid == self {
				continue
			}
			// getsid(2) is one system call; reading /proc/<pid>/stat is three and formats
			// the whole line.
			sid, err := unix.Getsid(pid)
			if err != nil || !sids[sid] {
				continue
			}
			if pid == sid {
				if state, _, err := proc.Stat(pid); err == nil && proc.Live(state) {
					recycled[sid] = true
				}
				continue
			}
			members = append(members, pid)
		}
		hit := make(map[int]bool)
		for _, pid := range members {
			sid, err := unix.Getsid(pid)
			if err != nil || recycled[sid] || !sids[sid] {
				continue
			}
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				hit[sid] = true
			}
		}
		sids = hit
	}
}

// killLeftovers kills what a dead adopted executor left in its session. The kernel does not
// reuse a pid while it names a live session, so a different live process under the pid
// means the session is empty and must not be touched.
func killLeftovers(k *sessionKiller, c RecoveredContainer) {
	if c.PID <= 1 {
		return
	}
	state, start, err := proc.Stat(c.PID)
	switch {
	case errors.Is(err, proc.ErrNoProcess):
	case err == nil && state == 'Z' && (c.StartTime == 0 || start == c.StartTime):
	default:
		return
	}
	k.kill(c.PID)
}

// KillSandboxProcesses SIGKILLs every process whose environment places it in a sandbox under
// root (MESOS_SANDBOX or MESOS_DIRECTORY, which executors and their tasks carry): what a
// previous run of this agent left behind when it starts afresh (another boot id, or
// --recover=cleanup). Unlike pids and cgroups, the environment cannot be lost with a
// checkpoint or left behind when something moves a process to another cgroup.
func KillSandboxProcesses(root string) {
	pids, err := proc.List()
	if err != nil {
		return
	}
	self := os.Getpid()
	for _, pid := range pids {
		if pid == self {
			continue
		}
		env, err := proc.Environ(pid)
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			k, v, ok := bytes.Cut(kv, []byte("="))
			if !ok || (string(k) != "MESOS_SANDBOX" && string(k) != "MESOS_DIRECTORY") {
				continue
			}
			if rel, err := filepath.Rel(root, string(v)); err == nil && filepath.IsLocal(rel) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				break
			}
		}
	}
}
