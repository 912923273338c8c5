package cgroups

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/containerd/cgroups/v3/cgroup1"

	"github.com/agoracluster/agora/internal/hosttest"
)

// BenchmarkV1 measures, step by step, what one executor container costs this package on
// cgroup v1 against doing the same step through github.com/containerd/cgroups/v3's cgroup1
// alone (the figures are in doc.go). Run it as root on a v1 host with -benchtime=1000x for
// 1,000 cgroups:
//
//	go test -run '^$' -bench BenchmarkV1 -benchtime=1000x ./agent/cgroups/
//
// Each op is one cgroup: create (with a CPU share, a CFS quota and a memory limit), add a
// sleeping process (which moves it out of the previous cgroup), list its processes, delete it.
func BenchmarkV1(b *testing.B) {
	hosttest.RequireCgroups(b)
	cfg := DefaultConfig()
	cfg.Root = "agora-bench"
	cfg.EnableCFS = true
	m, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { removeRoot(cfg.Root) })
	if m.Version() != 1 {
		b.Skip("cgroup v1 benchmark; this host has v2")
	}
	limits := Limits{CPUs: 0.5, MemoryBytes: 64 << 20}
	sleeper := exec.Command("sleep", "3600")
	if err := sleeper.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })
	pid := sleeper.Process.Pid
	// parkSleeper moves the sleeper back to the root of every hierarchy so a cgroup can go.
	parkSleeper := func(b *testing.B) {
		for _, ctrl := range v1Controllers {
			f := filepath.Join(m.mounts[string(ctrl)], "cgroup.procs")
			if err := os.WriteFile(f, []byte(strconv.Itoa(pid)), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	// clearAll removes every container cgroup under the root.
	clearAll := func(b *testing.B) {
		ids, err := m.List()
		if err != nil {
			b.Fatal(err)
		}
		for _, id := range ids {
			if err := (&Cgroup{m: m, id: id}).deleteV1(); err != nil {
				b.Fatal(err)
			}
		}
	}
	n := 0
	name := func() string { n++; return fmt.Sprintf("b%d", n) }

	// create: this package's Create is cgroup1.New; "raw" is the floor: mkdir and the limit
	// files written directly.
	b.Run("create/containerd", func(b *testing.B) {
		for range b.N {
			if _, err := cgroup1.New(cgroup1.StaticPath(m.group(name())), m.v1Resources(limits), m.v1Opts()...); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		clearAll(b)
	})
	b.Run("create/raw", func(b *testing.B) {
		for range b.N {
			id := name()
			for _, ctrl := range v1Controllers {
				dir := m.dir(id, ctrl)
				if err := os.Mkdir(dir, 0o755); err != nil {
					b.Fatal(err)
				}
				var files map[string]string
				switch ctrl {
				case cgroup1.Cpu:
					files = map[string]string{"cpu.shares": "512", "cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "50000"}
				case cgroup1.Memory:
					files = map[string]string{"memory.limit_in_bytes": strconv.FormatInt(limits.MemoryBytes, 10)}
				}
				for f, v := range files {
					if err := os.WriteFile(filepath.Join(dir, f), []byte(v), 0o644); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
		b.StopTimer()
		clearAll(b)
	})

	// made creates b.N cgroups outside the timer.
	made := func(b *testing.B) []*Cgroup {
		b.Helper()
		b.StopTimer()
		defer b.StartTimer()
		cgs := make([]*Cgroup, b.N)
		for i := range cgs {
			c, err := m.Create(name(), limits)
			if err != nil {
				b.Fatal(err)
			}
			cgs[i] = c
		}
		b.Cleanup(func() {
			parkSleeper(b)
			for _, c := range cgs {
				_ = c.deleteV1()
			}
		})
		return cgs
	}

	// add: the executor host writes the pid to ProcsFiles; cgroup1's Add does the same per
	// subsystem after checking each one's path.
	b.Run("add/procsfiles", func(b *testing.B) {
		cgs := made(b)
		p := []byte(strconv.Itoa(pid))
		for _, c := range cgs {
			for _, f := range c.ProcsFiles() {
				if err := os.WriteFile(f, p, 0o644); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("add/containerd", func(b *testing.B) {
		cgs := made(b)
		for _, c := range cgs {
			if err := c.v1.Add(cgroup1.Process{Pid: pid}); err != nil {
				b.Fatal(err)
			}
		}
	})

	// pids: this package reads cgroup.procs of every hierarchy (and child cgroups);
	// cgroup1's Processes walks one subsystem's tree and stats every control file.
	b.Run("pids/agora", func(b *testing.B) {
		cgs := made(b)
		for _, c := range cgs {
			if _, err := c.Pids(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("pids/containerd", func(b *testing.B) {
		cgs := made(b)
		for _, c := range cgs {
			if _, err := c.v1.Processes(cgroup1.Memory, true); err != nil {
				b.Fatal(err)
			}
		}
	})

	// delete (of an empty cgroup): this package's Delete (KillAll finds it empty, then one
	// rmdir per hierarchy) against cgroup1's Delete.
	b.Run("delete/agora", func(b *testing.B) {
		cgs := made(b)
		for _, c := range cgs {
			if err := c.Delete(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("delete/containerd", func(b *testing.B) {
		cgs := made(b)
		for _, c := range cgs {
			if err := c.v1.Delete(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
