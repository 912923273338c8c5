package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ErrNoProcess is returned by Stat for a pid without a /proc entry.
var ErrNoProcess = errors.New("proc: no such process")

// Stat returns the state letter and the start time (clock ticks since boot) of pid.
func Stat(pid int) (byte, uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if errors.Is(err, os.ErrNotExist) {
		return 0, 0, ErrNoProcess
	}
	if err != nil {
		return 0, 0, err
	}
	// "pid (comm) S ppid ..." — comm may hold spaces and parentheses: cut at the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("proc: /proc/%d/stat: malformed", pid)
	}
	fields := strings.Fields(string(b[i+1:]))
	// fields[0] is field 3 (state); start time is field 22.
	if len(fields) < 20 {
		return 0, 0, fmt.Errorf("proc: /proc/%d/stat: too few fields", pid)
	}
	start, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("proc: /proc/%d/stat: start time: %w", pid, err)
	}
	return fields[0][0], start, nil
}

// StartTime returns pid's start time, 0 when it cannot be read.
func StartTime(pid int) uint64 {
	_, start, err := Stat(pid)
	if err != nil {
		return 0
	}
	return start
}

// Live reports whether a state letter of Stat is that of a process that still runs (not a
// zombie, not dead).
func Live(state byte) bool { return state != 'Z' && state != 'X' }

// List lists the processes on the host (the numeric entries of /proc).
func List() ([]int, error) {
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

// Environ returns pid's environment as NUL-separated KEY=value entries.
func Environ(pid int) ([]byte, error) {
	return os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
}

// HasEnv reports whether the NUL-separated environment block holds kv exactly.
func HasEnv(environ []byte, kv string) bool {
	for e := range bytes.SplitSeq(environ, []byte{0}) {
		if string(e) == kv {
			return true
		}
	}
	return false
}
