package cgroups

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/containerd/cgroups/v3/cgroup1"
)

// userHZ is the unit of cpuacct.stat (USER_HZ, 100 on every Linux ABI Go supports).
const userHZ = 100

// Stats is a container's resource usage and limits (the fields Mesos's ResourceStatistics
// reports for the cgroups isolators).
type Stats struct {
	CPUUserSeconds   float64
	CPUSystemSeconds float64
	CPULimit         float64 // cpus from the CFS quota, else from the shares (v1) or weight (v2)
	CPUPeriods       uint64  // nr_periods
	CPUThrottled     uint64  // nr_throttled
	CPUThrottledSecs float64 // throttled_time
	MemRSSBytes      uint64
	MemUsageBytes    uint64
	MemLimitBytes    uint64 // 0 when unlimited
	OOMKills         uint64 // processes the kernel OOM killer killed in this cgroup
}

// Stats reads the container's usage from the cgroup files.
func (c *Cgroup) Stats() (Stats, error) {
	if c.v2 != nil {
		return c.m.v2Stats(c.id)
	}
	return c.m.v1Stats(c.id)
}

// OOMKills returns how many processes the OOM killer killed in the cgroup (a cheap read,
// for checking right after a process of the container died).
func (c *Cgroup) OOMKills() (uint64, error) {
	if c.v2 != nil {
		kv, err := readKV(filepath.Join(c.m.dir(c.id, ""), "memory.events"))
		if err != nil {
			return 0, err
		}
		return kv["oom_kill"], nil
	}
	kv, err := readKV(filepath.Join(c.m.dir(c.id, cgroup1.Memory), "memory.oom_control"))
	if err != nil {
		return 0, err
	}
	if n, ok := kv["oom_kill"]; ok {
		return n, nil
	}
	// Kernels before 4.13 have no oom_kill counter: a process stuck at the limit is as
	// close as it gets.
	return kv["under_oom"], nil
}

func (m *Manager) v1Stats(id string) (Stats, error) {
	var s Stats
	cpuacct, err := readKV(filepath.Join(m.dir(id, cgroup1.Cpuacct), "cpuacct.stat"))
	if err != nil {
		return s, err
	}
	s.CPUUserSeconds = float64(cpuacct["user"]) / userHZ
	s.CPUSystemSeconds = float64(cpuacct["system"]) / userHZ
	cpuDir := m.dir(id, cgroup1.Cpu)
	if st, err := readKV(filepath.Join(cpuDir, "cpu.stat")); err == nil {
		s.CPUPeriods, s.CPUThrottled = st["nr_periods"], st["nr_throttled"]
		s.CPUThrottledSecs = float64(st["throttled_time"]) / 1e9
	}
	quota, errQ := readInt(filepath.Join(cpuDir, "cpu.cfs_quota_us"))
	period, errP := readInt(filepath.Join(cpuDir, "cpu.cfs_period_us"))
	if errQ == nil && errP == nil && quota > 0 && period > 0 {
		s.CPULimit = float64(quota) / float64(period)
	} else if shares, err := readInt(filepath.Join(cpuDir, "cpu.shares")); err == nil && shares > 0 {
		s.CPULimit = float64(shares) / 1024 // as v1Resources set them
	}
	memDir := m.dir(id, cgroup1.Memory)
	if ms, err := readKV(filepath.Join(memDir, "memory.stat")); err == nil {
		s.MemRSSBytes = ms["total_rss"]
	}
	if u, err := readInt(filepath.Join(memDir, "memory.usage_in_bytes")); err == nil {
		s.MemUsageBytes = uint64(u)
	}
	if l, err := readInt(filepath.Join(memDir, "memory.limit_in_bytes")); err == nil && l < math.MaxInt64/2 {
		s.MemLimitBytes = uint64(l)
	}
	s.OOMKills, _ = (&Cgroup{m: m, id: id}).OOMKills()
	return s, nil
}

func (m *Manager) v2Stats(id string) (Stats, error) {
	var s Stats
	dir := m.dir(id, "")
	st, err := readKV(filepath.Join(dir, "cpu.stat"))
	if err != nil {
		return s, err
	}
	s.CPUUserSeconds = float64(st["user_usec"]) / 1e6
	s.CPUSystemSeconds = float64(st["system_usec"]) / 1e6
	s.CPUPeriods, s.CPUThrottled = st["nr_periods"], st["nr_throttled"]
	s.CPUThrottledSecs = float64(st["throttled_usec"]) / 1e6
	if b, err := os.ReadFile(filepath.Join(dir, "cpu.max")); err == nil {
		f := strings.Fields(string(b))
		if len(f) == 2 && f[0] != "max" {
			q, _ := strconv.ParseFloat(f[0], 64)
			p, _ := strconv.ParseFloat(f[1], 64)
			if p > 0 {
				s.CPULimit = q / p
			}
		}
	}
	if s.CPULimit == 0 {
		if w, err := readInt(filepath.Join(dir, "cpu.weight")); err == nil && w > 0 {
			s.CPULimit = float64(w) / 100 // as v2Resources set it
		}
	}
	if ms, err := readKV(filepath.Join(dir, "memory.stat")); err == nil {
		s.MemRSSBytes = ms["anon"]
	}
	if u, err := readInt(filepath.Join(dir, "memory.current")); err == nil {
		s.MemUsageBytes = uint64(u)
	}
	if l, err := readInt(filepath.Join(dir, "memory.max")); err == nil {
		s.MemLimitBytes = uint64(l)
	}
	ev, _ := readKV(filepath.Join(dir, "memory.events"))
	s.OOMKills = ev["oom_kill"]
	return s, nil
}

// readKV parses "key value" lines.
func readKV(path string) (map[string]uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cgroups: %w", err)
	}
	out := make(map[string]uint64)
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		if v, err := strconv.ParseUint(f[1], 10, 64); err == nil {
			out[f[0]] = v
		}
	}
	return out, nil
}

// readInt reads a file holding one integer ("max" reads as an error).
func readInt(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}
