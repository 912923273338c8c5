package benchtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Mem is the memory of a set of processes, in bytes. PSS is 0 when the kernel has no
// /proc/<pid>/smaps_rollup.
type Mem struct {
	Procs int
	RSS   int64
	PSS   int64
}

// Plus adds o to m.
func (m Mem) Plus(o Mem) Mem {
	return Mem{Procs: m.Procs + o.Procs, RSS: m.RSS + o.RSS, PSS: m.PSS + o.PSS}
}

// Descendants returns the pids of every descendant of pid (children, their children, ...).
func Descendants(pid int) ([]int, error) {
	parents, err := parentMap()
	if err != nil {
		return nil, err
	}
	children := map[int][]int{}
	for p, pp := range parents {
		children[pp] = append(children[pp], p)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out, nil
}

// Children returns the direct children of pid.
func Children(pid int) ([]int, error) {
	parents, err := parentMap()
	if err != nil {
		return nil, err
	}
	var out []int
	for p, pp := range parents {
		if pp == pid {
			out = append(out, p)
		}
	}
	return out, nil
}

func parentMap() (map[int]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	parents := map[int]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		if pp, err := strconv.Atoi(f[1]); err == nil {
			parents[pid] = pp
		}
	}
	return parents, nil
}

// FindProcess returns the pid of the one process whose command line contains every word
// of words.
func FindProcess(words ...string) (int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	var found []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		args := map[string]bool{}
		for _, a := range bytes.Split(bytes.TrimRight(b, "\x00"), []byte{0}) {
			args[string(a)] = true
		}
		all := true
		for _, w := range words {
			all = all && args[w]
		}
		if all {
			found = append(found, pid)
		}
	}
	if len(found) != 1 {
		return 0, fmt.Errorf("%d processes with arguments %q, want 1", len(found), words)
	}
	return found[0], nil
}

// Measure sums the memory of pids. Processes that are gone are skipped.
func Measure(pids ...int) (Mem, error) {
	var total Mem
	for _, pid := range pids {
		m, err := measure(pid)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return Mem{}, err
		}
		total = total.Plus(m)
	}
	return total, nil
}

func measure(pid int) (Mem, error) {
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	if vals, err := readKB(filepath.Join(dir, "smaps_rollup"), "Rss:", "Pss:"); err == nil {
		return Mem{Procs: 1, RSS: vals[0], PSS: vals[1]}, nil
	} else if !errors.Is(err, os.ErrNotExist) && !errors.Is(err, os.ErrPermission) {
		return Mem{}, err
	}
	if _, err := os.Stat(dir); err != nil {
		return Mem{}, err
	}
	vals, err := readKB(filepath.Join(dir, "status"), "VmRSS:")
	if err != nil {
		return Mem{}, err
	}
	return Mem{Procs: 1, RSS: vals[0]}, nil
}

// readKB reads "Key:   123 kB" lines of a /proc file and returns the values in bytes, in
// the order of keys; a key that is missing is an error.
func readKB(path string, keys ...string) ([]int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	vals := make([]int64, len(keys))
	seen := make([]bool, len(keys))
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		for i, k := range keys {
			if fields[0] == k {
				n, err := strconv.ParseInt(fields[1], 10, 64)
				if err != nil {
					return nil, fmt.Errorf("%s: %s: %w", path, k, err)
				}
				vals[i], seen[i] = n*1024, true
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for i, ok := range seen {
		if !ok {
			return nil, fmt.Errorf("%s: no %s", path, keys[i])
		}
	}
	return vals, nil
}

// clockTick is the unit of utime and stime in /proc/<pid>/stat (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// CPUTime sums the user and system CPU time pids have used so far. Processes that are gone
// are skipped.
func CPUTime(pids ...int) (time.Duration, error) {
	var total time.Duration
	for _, pid := range pids {
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, err
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			return 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
		}
		// Fields after "(comm)": state(3) ppid(4) ... utime(14) stime(15).
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
		}
		for _, s := range f[11:13] {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
			}
			total += time.Duration(n) * clockTick
		}
	}
	return total, nil
}

// MachineCPU returns the CPU time the whole machine has spent busy (user, nice, system,
// irq, softirq, steal) and idle (idle, iowait) since boot, summed over its CPUs.
func MachineCPU() (busy, idle time.Duration, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	for i, s := range f[1:9] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/stat: %w", err)
		}
		switch d := time.Duration(n) * clockTick; i {
		case 3, 4: // idle, iowait
			idle += d
		default:
			busy += d
		}
	}
	return busy, idle, nil
}
