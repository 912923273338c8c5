package agent

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// RecoveredContainer is an executor container checkpointed by a previous agent run.
type RecoveredContainer struct {
	ContainerID string
	FrameworkID string
	ExecutorID  string
	Sandbox     string
	// PID is the executor's checkpointed pid (0 when it was never checkpointed).
	PID int
	// StartTime is the executor's start time from /proc/<pid>/stat (field 22), checkpointed
	// at launch; 0 when unknown, then the executor's environment identifies it instead.
	StartTime uint64
	// Hosted: the executor runs in the executor host (PID is the host's).
	Hosted bool
}

// adoptPollInterval is how often an adopted (not our child) executor is checked for exit.
const adoptPollInterval = 250 * time.Millisecond

// errNoProcess is returned by procStat for a pid without a /proc entry.
var errNoProcess = errors.New("agent: no such process")

// procStat returns the state letter and the start time (clock ticks since boot) of pid.
func procStat(pid int) (byte, uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if errors.Is(err, os.ErrNotExist) {
		return 0, 0, errNoProcess
	}
	if err != nil {
		return 0, 0, err
	}
	// "pid (comm) S ppid ..." — comm may hold spaces and parentheses: cut at the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("agent: /proc/%d/stat: malformed", pid)
	}
	fields := strings.Fields(string(b[i+1:]))
	// fields[0] is field 3 (state); start time is field 22.
	if len(fields) < 20 {
		return 0, 0, fmt.Errorf("agent: /proc/%d/stat: too few fields", pid)
	}
	start, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("agent: /proc/%d/stat: start time: %w", pid, err)
	}
	return fields[0][0], start, nil
}

// procStartTime returns pid's start time, 0 when it cannot be read.
func procStartTime(pid int) uint64 {
	_, start, err := procStat(pid)
	if err != nil {
		return 0
	}
	return start
}

// executorAlive reports whether pid is still the executor a previous agent run started:
// the process exists, is not a zombie, and has the checkpointed start time (or, when that
// is unknown, carries MESOS_EXECUTOR_ID and MESOS_FRAMEWORK_ID of the executor in its
// environment). This guards against a recycled pid.
func executorAlive(c RecoveredContainer) bool {
	if c.PID <= 0 {
		return false
	}
	state, start, err := procStat(c.PID)
	if err != nil || state == 'Z' || state == 'X' {
		return false
	}
	if c.StartTime != 0 {
		return start == c.StartTime
	}
	env, err := os.ReadFile("/proc/" + strconv.Itoa(c.PID) + "/environ")
	if err != nil {
		return false
	}
	return hasEnv(env, "MESOS_EXECUTOR_ID="+c.ExecutorID) && hasEnv(env, "MESOS_FRAMEWORK_ID="+c.FrameworkID)
}

// hasEnv reports whether the NUL-separated environment block holds kv exactly.
func hasEnv(environ []byte, kv string) bool {
	for _, e := range bytes.Split(environ, []byte{0}) {
		if string(e) == kv {
			return true
		}
	}
	return false
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
		pids, err := allPIDs()
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
				if state, _, err := procStat(pid); err == nil && state != 'Z' && state != 'X' {
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

// allPIDs lists the processes on the host (the numeric entries of /proc).
func allPIDs() ([]int, error) {
	f, err := os.Open("/proc")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	pids := make([]int, 0, len(names))
	for _, name := range names {
		if name[0] < '0' || name[0] > '9' {
			continue
		}
		if pid, err := strconv.Atoi(name); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// killLeftovers kills what a dead adopted executor left in its session. The kernel does not
// reuse a pid while it names a live session, so a different live process under the pid
// means the session is empty and must not be touched.
func killLeftovers(k *sessionKiller, c RecoveredContainer) {
	if c.PID <= 1 {
		return
	}
	state, start, err := procStat(c.PID)
	switch {
	case errors.Is(err, errNoProcess):
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
	pids, err := allPIDs()
	if err != nil {
		return
	}
	self := os.Getpid()
	for _, pid := range pids {
		if pid == self {
			continue
		}
		env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
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
