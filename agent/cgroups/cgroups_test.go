package cgroups

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agoracluster/agora/internal/hosttest"
	"github.com/agoracluster/agora/internal/poll"

	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/google/uuid"
)

// wantVersion is the cgroup version the host must have; scripts/cgroup2-vm.sh sets it to 2 in
// its guest, so that a guest that came up with v1 (or none) fails rather than tests v1 again.
var wantVersion = flag.Int("cgroups.version", 0, "fail unless the host's cgroups are this version (1 or 2); 0 accepts either")

// manager returns a manager on the real hierarchy: unusable cgroups fail the test in CI and
// skip it elsewhere only when not root.
func manager(t *testing.T) *Manager {
	t.Helper()
	return managerWith(t, true)
}

// managerWith is manager with or without CFS quotas.
func managerWith(t *testing.T, cfs bool) *Manager {
	t.Helper()
	cfg := DefaultConfig()
	cfg.EnableCFS = cfs
	return managerOf(t, cfg)
}

// managerOf is manager with cfg (its Root replaced by the tests' own).
func managerOf(t *testing.T, cfg Config) *Manager {
	t.Helper()
	cfg.Root = "agora-test"
	hosttest.RequireCgroups(t)
	m, err := New(cfg)
	if err != nil {
		t.Fatalf("cgroups: %v", err)
	}
	t.Cleanup(func() { removeRoot(cfg.Root) })
	if *wantVersion != 0 && m.Version() != *wantVersion {
		t.Fatalf("cgroup version %d, want %d (-cgroups.version)", m.Version(), *wantVersion)
	}
	return m
}

// removeRoot removes the (by then empty) test root from every v1 hierarchy or from v2.
func removeRoot(root string) {
	dirs, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", root))
	dirs = append(dirs, filepath.Join("/sys/fs/cgroup", root))
	for _, d := range dirs {
		_ = os.Remove(d) // cgroups are removed with rmdir; a busy or missing one stays as it is
	}
}

// startIn starts sh -c script held on stdin until it is in the cgroup, so that every process
// it forks is inside too.
func startIn(t *testing.T, cg *Cgroup, script string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", "read go; "+script)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if err := cg.Add(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(in, "go\n")
	return cmd
}

func TestLimitsProcessesAndDelete(t *testing.T) {
	m := manager(t)
	id := uuid.NewString()
	cg, err := m.Create(id, Limits{CPUs: 0.5, MemoryBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cg.Delete() })
	cmd := startIn(t, cg, "sleep 30 & wait")
	poll.Eventually(t, 5*time.Second, func() error {
		pids, err := cg.Pids()
		if err != nil {
			return err
		}
		if len(pids) != 2 || !slices.Contains(pids, cmd.Process.Pid) {
			return fmt.Errorf("pids = %v, want the shell %d and its sleep", pids, cmd.Process.Pid)
		}
		return nil
	})
	st, err := cg.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.MemLimitBytes != 64<<20 || st.CPULimit != 0.5 {
		t.Errorf("limits = mem %d, cpus %v; want %d, 0.5", st.MemLimitBytes, st.CPULimit, 64<<20)
	}
	checkLimitFiles(t, m, id, func(f limitFile) string { return f.created })
	if err := cg.Update(Limits{CPUs: 1, MemoryBytes: 128 << 20}); err != nil {
		t.Fatal(err)
	}
	if st, _ := cg.Stats(); st.MemLimitBytes != 128<<20 || st.CPULimit != 1 {
		t.Errorf("updated limits = mem %d, cpus %v", st.MemLimitBytes, st.CPULimit)
	}
	checkLimitFiles(t, m, id, func(f limitFile) string { return f.updated })
	ids, err := m.List()
	if err != nil || !slices.Contains(ids, id) {
		t.Errorf("List = %v, %v; want it to hold %s", ids, err, id)
	}
	if _, err := m.Load(id); err != nil {
		t.Errorf("Load: %v", err)
	}
	killed, err := cg.KillAll()
	if err != nil || len(killed) != 2 {
		t.Errorf("KillAll = %v, %v; want both processes", killed, err)
	}
	if err := cg.Delete(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Load(id); !errors.Is(err, ErrUnknown) {
		t.Errorf("Load after Delete = %v, want ErrUnknown", err)
	}
}

// limitFile is a control file that TestLimitsProcessesAndDelete's limits write (CFS on):
// Limits{CPUs: 0.5, MemoryBytes: 64 MiB} when created, {CPUs: 1, MemoryBytes: 128 MiB} after
// the update.
type limitFile struct {
	ctrl             cgroup1.Name // the v1 hierarchy; "" on v2
	name             string
	created, updated string
	optional         bool // only with swap accounting
}

var limitFiles = map[int][]limitFile{
	1: {
		{cgroup1.Cpu, "cpu.shares", "512", "1024", false},
		{cgroup1.Cpu, "cpu.cfs_period_us", "100000", "100000", false},
		{cgroup1.Cpu, "cpu.cfs_quota_us", "50000", "100000", false},
		{cgroup1.Memory, "memory.limit_in_bytes", "67108864", "134217728", false},
		{cgroup1.Memory, "memory.memsw.limit_in_bytes", "67108864", "134217728", true},
	},
	2: {
		{"", "cpu.weight", "50", "100", false},
		{"", "cpu.max", "50000 100000", "100000 100000", false},
		{"", "memory.max", "67108864", "134217728", false},
		{"", "memory.swap.max", "0", "0", true},
	},
}

// checkLimitFiles compares the container's control files with want(file) for this host's
// cgroup version.
func checkLimitFiles(t *testing.T, m *Manager, id string, want func(limitFile) string) {
	t.Helper()
	for _, f := range limitFiles[m.Version()] {
		path := filepath.Join(m.dir(id, f.ctrl), f.name)
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) && f.optional {
			continue
		}
		if got := strings.TrimSpace(string(b)); err != nil || got != want(f) {
			t.Errorf("%s = %q, %v; want %q", path, got, err, want(f))
		}
	}
}

func TestOOMKillIsCounted(t *testing.T) {
	m := manager(t)
	cg, err := m.Create(uuid.NewString(), Limits{CPUs: 1, MemoryBytes: 32 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cg.Delete() })
	cmd := startIn(t, cg, `x=$(head -c 200000000 /dev/zero | tr '\0' a); echo ${#x}`)
	err = cmd.Wait()
	if err == nil {
		t.Fatal("the shell survived allocating 200 MB under a 32 MiB limit")
	}
	n, err := cg.OOMKills()
	if err != nil || n == 0 {
		t.Errorf("OOMKills = %d, %v; want > 0", n, err)
	}
}

func TestCFSQuotaThrottles(t *testing.T) {
	m := manager(t)
	cg, err := m.Create(uuid.NewString(), Limits{CPUs: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cg.Delete() })
	startIn(t, cg, "while :; do :; done")
	poll.Eventually(t, 10*time.Second, func() error {
		st, err := cg.Stats()
		if err != nil {
			return err
		}
		if st.CPUThrottled == 0 {
			return fmt.Errorf("nr_throttled = 0 after %d periods", st.CPUPeriods)
		}
		if st.CPUUserSeconds+st.CPUSystemSeconds == 0 || st.CPUThrottledSecs == 0 {
			return fmt.Errorf("CPU user %vs, system %vs, throttled %vs; want each > 0 after %d throttled periods",
				st.CPUUserSeconds, st.CPUSystemSeconds, st.CPUThrottledSecs, st.CPUThrottled)
		}
		return nil
	})
}

// TestSwapIsLimitedOnlyWithSwapAccounting: the memory limit covers swap too where the kernel
// accounts swap per cgroup; where it does not (no swap control file), the limit is set
// without one rather than failing the container. Runs anywhere: the hierarchy is faked.
func TestSwapIsLimitedOnlyWithSwapAccounting(t *testing.T) {
	v1Swap := func(m *Manager, l Limits) *int64 { return m.v1Resources(l).Memory.Swap }
	v2Swap := func(m *Manager, l Limits) *int64 { return m.v2Resources(l).Memory.Swap }
	for _, tc := range []struct {
		name string
		swap func(*Manager, Limits) *int64
		file string // the swap control file there is, relative to the hierarchy's root
		want string // the swap value written, "none" for none
	}{
		{"v1 with memory.memsw", v1Swap, "memory.memsw.limit_in_bytes", "67108864"},
		{"v1 without", v1Swap, "", "none"},
		{"v2 with memory.swap.max", v2Swap, "agora/memory.swap.max", "0"},
		{"v2 without", v2Swap, "", "none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			if err := os.MkdirAll(filepath.Join(root, "agora"), 0o755); err != nil {
				t.Fatal(err)
			}
			if tc.file != "" {
				if err := os.WriteFile(filepath.Join(root, tc.file), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			m := &Manager{cfg: Config{Root: "agora", Mountpoint: root}, mounts: map[string]string{"memory": root}}
			got := "none"
			if p := tc.swap(m, Limits{MemoryBytes: 64 << 20}); p != nil {
				got = strconv.FormatInt(*p, 10)
			}
			if got != tc.want {
				t.Errorf("swap limit = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"default", DefaultConfig(), true},
		{"nested root", Config{Root: "a/b", Mountpoint: "/sys/fs/cgroup"}, true},
		{"escaping root", Config{Root: "../x", Mountpoint: "/sys/fs/cgroup"}, false},
		{"empty root", Config{Mountpoint: "/sys/fs/cgroup"}, false},
		{"relative mountpoint", Config{Root: "agora", Mountpoint: "sys"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// TestMembersMissesAProcessMovedOutOfOneHierarchy: on v1, a process moved out of the memory
// hierarchy is still among Pids (so KillAll ends it) but not among Members (so the agent
// moves it back).
func TestMembersMissesAProcessMovedOutOfOneHierarchy(t *testing.T) {
	m := manager(t)
	root := "/sys/fs/cgroup/memory/cgroup.procs"
	if _, err := os.Stat(root); err != nil {
		t.Skip("not a cgroup v1 host with a memory hierarchy")
	}
	id := uuid.NewString()
	cg, err := m.Create(id, Limits{CPUs: 0.5, MemoryBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cg.Delete() })
	cmd := startIn(t, cg, "exec sleep 30")
	pid := cmd.Process.Pid
	poll.Eventually(t, 5*time.Second, func() error {
		members, err := cg.Members()
		if err != nil || !slices.Contains(members, pid) {
			return fmt.Errorf("members = %v, %v; want %d", members, err, pid)
		}
		return nil
	})
	if err := os.WriteFile(root, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	pids, err := cg.Pids()
	if err != nil || !slices.Contains(pids, pid) {
		t.Errorf("Pids = %v, %v; want it to hold %d (still in the cpu hierarchy)", pids, err, pid)
	}
	members, err := cg.Members()
	if err != nil || slices.Contains(members, pid) {
		t.Errorf("Members = %v, %v; want %d missing", members, err, pid)
	}
	if err := cg.Add(pid); err != nil {
		t.Fatal(err)
	}
	if members, _ := cg.Members(); !slices.Contains(members, pid) {
		t.Errorf("Members after Add = %v, want %d back", members, pid)
	}
}

// TestAddPutsBackAProcessMovedOut: a process that something else on the host moved out of
// the container's cgroup (into the root cgroup, of every hierarchy on v1) is neither among
// Pids nor among Members until Add puts it back, on v1 and v2 alike.
func TestAddPutsBackAProcessMovedOut(t *testing.T) {
	m := manager(t)
	id := uuid.NewString()
	cg, err := m.Create(id, Limits{CPUs: 0.5, MemoryBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cg.Delete() })
	cmd := startIn(t, cg, "exec sleep 30")
	pid := cmd.Process.Pid
	for _, f := range cg.ProcsFiles() {
		root := strings.TrimSuffix(f, "/"+m.cfg.Root+"/"+id+"/cgroup.procs") + "/cgroup.procs"
		if err := os.WriteFile(root, []byte(strconv.Itoa(pid)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pids, err := cg.Pids()
	if err != nil || slices.Contains(pids, pid) {
		t.Errorf("Pids = %v, %v; want %d missing", pids, err, pid)
	}
	members, err := cg.Members()
	if err != nil || slices.Contains(members, pid) {
		t.Errorf("Members = %v, %v; want %d missing", members, err, pid)
	}
	if err := cg.Add(pid); err != nil {
		t.Fatal(err)
	}
	if members, _ := cg.Members(); !slices.Contains(members, pid) {
		t.Errorf("Members after Add = %v, want %d back", members, pid)
	}
	if pids, _ := cg.Pids(); !slices.Contains(pids, pid) {
		t.Errorf("Pids after Add = %v, want %d back", pids, pid)
	}
}

// TestCPULimitWithoutAQuota: without CFS quotas a container's CPU limit is read back from its
// shares (v1) or weight (v2), as a recovered agent reports it.
func TestCPULimitWithoutAQuota(t *testing.T) {
	m := managerWith(t, false)
	cg, err := m.Create("nocfs-"+uuid.NewString(), Limits{CPUs: 1.5, MemoryBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cg.Delete() })
	loaded, err := m.Load(cg.ID())
	if err != nil {
		t.Fatal(err)
	}
	st, err := loaded.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.CPULimit != 1.5 || st.MemLimitBytes != 64<<20 {
		t.Fatalf("limits = cpus %v, mem %d; want 1.5 and 64 MiB", st.CPULimit, st.MemLimitBytes)
	}
}

// TestProcsFilesPlaceAProcess: writing a pid to every file ProcsFiles names (what the
// executor host does for the tasks it starts) puts the process into the cgroup.
func TestProcsFilesPlaceAProcess(t *testing.T) {
	m := manager(t)
	cg, err := m.Create("procs-"+uuid.NewString(), Limits{CPUs: 0.5, MemoryBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cg.Delete() })
	files := cg.ProcsFiles()
	// v1: one per hierarchy of cpu, cpuacct and memory (cpu and cpuacct are often one); v2: one.
	if (m.Version() == 2 && len(files) != 1) || (m.Version() == 1 && (len(files) < 2 || len(files) > 3)) {
		t.Fatalf("procs files on cgroup v%d = %v", m.Version(), files)
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for _, f := range files {
		if err := os.WriteFile(f, []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	members, err := cg.Members()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(members, cmd.Process.Pid) {
		t.Fatalf("members = %v, want %d", members, cmd.Process.Pid)
	}
}
