package agent

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
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

// procSession returns the session id of pid.
func procSession(pid int) (int, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("agent: /proc/%d/stat: malformed", pid)
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 4 {
		return 0, fmt.Errorf("agent: /proc/%d/stat: too few fields", pid)
	}
	return strconv.Atoi(fields[3])
}

// killSession sends SIGKILL to every process of session sid (the executor runs as a
// session leader, so its tasks are in its session even in their own process groups). It
// returns how many processes it signalled.
func killSession(sid int) int {
	if sid <= 1 {
		return 0
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	self := os.Getpid()
	n := 0
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		if s, err := procSession(pid); err == nil && s == sid {
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				n++
			}
		}
	}
	return n
}

// killLeftovers kills what a dead adopted executor left in its session. The kernel does not
// reuse a pid while it names a live session, so a different live process under the pid
// means the session is empty and must not be touched.
func killLeftovers(c RecoveredContainer) {
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
	killSession(c.PID)
}
