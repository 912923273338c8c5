package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	cgroupsv3 "github.com/containerd/cgroups/v3"
	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/containerd/cgroups/v3/cgroup2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ErrUnavailable is returned by New when this host's cgroups cannot be used (not root, no
// hierarchy, a controller missing); the agent then runs without limits.
var ErrUnavailable = errors.New("cgroups: unavailable")

// ErrUnknown is returned for a container without a cgroup.
var ErrUnknown = errors.New("cgroups: unknown container")

// cfsPeriod is the CFS period used with quotas (Mesos's default, 100ms), in microseconds.
const cfsPeriod = 100000

// v1Controllers are the cgroup v1 controllers used, each a hierarchy of its own or shared.
var v1Controllers = []cgroup1.Name{cgroup1.Cpu, cgroup1.Cpuacct, cgroup1.Memory}

// Config configures the cgroups of executor containers.
type Config struct {
	// Root is the cgroup (relative to every hierarchy's root) that holds one child per
	// container, e.g. "agora" → /sys/fs/cgroup/memory/agora/<container_id> on v1.
	Root string
	// EnableCFS sets a CFS quota (hard CPU cap: cpus × period) besides the CPU shares/weight.
	EnableCFS bool
	// Mountpoint is the cgroup file system root; empty means /sys/fs/cgroup.
	Mountpoint string
	// Devices uses the v1 devices controller too, where it is mounted, so that
	// Limits.DenyDevices can be enforced (v2 needs no controller: an eBPF device filter is
	// attached to the container's cgroup).
	Devices bool
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config { return Config{Root: "agora", Mountpoint: "/sys/fs/cgroup"} }

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if !validName().MatchString(c.Root) || hasDotComponent(c.Root) {
		errs = append(errs, fmt.Errorf("cgroups: root %q must be a relative path of [A-Za-z0-9_.-] names", c.Root))
	}
	if c.Mountpoint == "" || !filepath.IsAbs(c.Mountpoint) {
		errs = append(errs, fmt.Errorf("cgroups: mountpoint %q must be an absolute path", c.Mountpoint))
	}
	return errors.Join(errs...)
}

// validName is compiled on first use: every process started from the agora binary (a
// thousand command executors on a busy agent) would pay for it at start otherwise.
var validName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$`) })

func hasDotComponent(p string) bool {
	for _, c := range strings.Split(p, "/") {
		if c == "." || c == ".." {
			return true
		}
	}
	return false
}

// Limits are the resources of one container.
type Limits struct {
	// CPUs is the CPU share (1.0 = one core); 0 sets no CPU limit.
	CPUs float64
	// MemoryBytes is the memory (and memory+swap) limit; 0 sets none.
	MemoryBytes int64
	// DenyDevices are character devices the container may not open (read, write or mknod);
	// everything else stays allowed. Enforced on v1 with Config.Devices and the devices
	// controller mounted, and on v2 by an eBPF device filter.
	DenyDevices []Device
}

// Device is a character device by its numbers.
type Device struct {
	Major, Minor int64
}

// deviceRules are the device cgroup rules of l: allow everything, then deny each device
// (the last matching rule wins, as in runc).
func deviceRules(l Limits) []specs.LinuxDeviceCgroup {
	if len(l.DenyDevices) == 0 {
		return nil
	}
	all := int64(-1)
	rules := []specs.LinuxDeviceCgroup{{Allow: true, Type: "a", Major: &all, Minor: &all, Access: "rwm"}}
	for _, d := range l.DenyDevices {
		major, minor := d.Major, d.Minor
		rules = append(rules, specs.LinuxDeviceCgroup{Allow: false, Type: "c", Major: &major, Minor: &minor, Access: "rwm"})
	}
	return rules
}

// Manager creates and finds the cgroups of containers under Config.Root. It is safe for
// concurrent use (it holds no mutable state).
type Manager struct {
	cfg     Config
	unified bool              // cgroup v2
	mounts  map[string]string // v1: controller -> mount point
	devices bool              // v1: the devices controller is used
}

// New checks that the cgroups can be used (by creating Config.Root with the CPU and memory
// controllers) and returns a manager. An error wraps ErrUnavailable.
func New(cfg Config) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("%w: not running as root", ErrUnavailable)
	}
	m := &Manager{cfg: cfg}
	switch cgroupsv3.Mode() {
	case cgroupsv3.Unified:
		m.unified = true
		mgr, err := cgroup2.NewManager(cfg.Mountpoint, "/"+cfg.Root, &cgroup2.Resources{})
		if err != nil {
			return nil, fmt.Errorf("%w: create %s: %v", ErrUnavailable, cfg.Root, err)
		}
		ctrls, err := mgr.RootControllers()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		for _, want := range []string{"cpu", "memory"} {
			if !slices.Contains(ctrls, want) {
				return nil, fmt.Errorf("%w: cgroup v2 controller %q is not available", ErrUnavailable, want)
			}
		}
		if err := mgr.ToggleControllers([]string{"cpu", "memory"}, cgroup2.Enable); err != nil {
			return nil, fmt.Errorf("%w: enable cpu and memory under %s: %v", ErrUnavailable, cfg.Root, err)
		}
	case cgroupsv3.Legacy, cgroupsv3.Hybrid:
		mounts, err := v1Mounts()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		for _, c := range v1Controllers {
			if mounts[string(c)] == "" {
				return nil, fmt.Errorf("%w: cgroup v1 controller %q is not mounted", ErrUnavailable, c)
			}
		}
		m.mounts = mounts
		for _, c := range v1Controllers {
			if err := os.MkdirAll(filepath.Join(mounts[string(c)], cfg.Root), 0o755); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
			}
		}
		if cfg.Devices && mounts[string(cgroup1.Devices)] != "" {
			m.devices = os.MkdirAll(filepath.Join(mounts[string(cgroup1.Devices)], cfg.Root), 0o755) == nil
		}
	default:
		return nil, fmt.Errorf("%w: no cgroup hierarchy", ErrUnavailable)
	}
	return m, nil
}

// DeviceControl reports whether Limits.DenyDevices is enforced: v2, or v1 with the devices
// controller in use.
func (m *Manager) DeviceControl() bool { return m.unified || m.devices }

// v1Ctrls are the v1 controllers a container's cgroup is created in.
func (m *Manager) v1Ctrls() []cgroup1.Name {
	if m.devices {
		return append(slices.Clone(v1Controllers), cgroup1.Devices)
	}
	return v1Controllers
}

// Version returns 1 or 2.
func (m *Manager) Version() int {
	if m.unified {
		return 2
	}
	return 1
}

func (m *Manager) group(id string) string { return "/" + m.cfg.Root + "/" + id }

// dir returns the directory of a container's cgroup for a controller ("" for v2).
func (m *Manager) dir(id string, controller cgroup1.Name) string {
	if m.unified {
		return filepath.Join(m.cfg.Mountpoint, m.cfg.Root, id)
	}
	return filepath.Join(m.mounts[string(controller)], m.cfg.Root, id)
}

// Create creates the cgroup of a container with limits (or updates an existing one).
func (m *Manager) Create(id string, l Limits) (*Cgroup, error) {
	if !validName().MatchString(id) || strings.Contains(id, "/") || hasDotComponent(id) {
		return nil, fmt.Errorf("cgroups: invalid container id %q", id)
	}
	c := &Cgroup{m: m, id: id}
	if m.unified {
		mgr, err := cgroup2.NewManager(m.cfg.Mountpoint, m.group(id), m.v2Resources(l))
		if err != nil {
			return nil, fmt.Errorf("cgroups: create %s: %w", id, err)
		}
		c.v2 = mgr
		return c, nil
	}
	cg, err := cgroup1.New(cgroup1.StaticPath(m.group(id)), m.v1Resources(l), m.v1Opts()...)
	if err != nil {
		return nil, fmt.Errorf("cgroups: create %s: %w", id, err)
	}
	c.v1 = cg
	return c, nil
}

// Load returns the existing cgroup of a container (agent recovery); ErrUnknown when none.
func (m *Manager) Load(id string) (*Cgroup, error) {
	if _, err := os.Stat(m.dir(id, cgroup1.Memory)); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknown, id)
	}
	c := &Cgroup{m: m, id: id}
	if m.unified {
		mgr, err := cgroup2.Load(m.group(id), cgroup2.WithMountpoint(m.cfg.Mountpoint))
		if err != nil {
			return nil, fmt.Errorf("cgroups: load %s: %w", id, err)
		}
		c.v2 = mgr
		return c, nil
	}
	cg, err := cgroup1.Load(cgroup1.StaticPath(m.group(id)), m.v1Opts()...)
	if err != nil {
		return nil, fmt.Errorf("cgroups: load %s: %w", id, err)
	}
	c.v1 = cg
	return c, nil
}

// List returns the ids of every container cgroup under the root.
func (m *Manager) List() ([]string, error) {
	ents, err := os.ReadDir(filepath.Dir(m.dir("x", cgroup1.Memory)))
	if err != nil {
		return nil, fmt.Errorf("cgroups: list: %w", err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

func (m *Manager) v1Opts() []cgroup1.InitOpts {
	return []cgroup1.InitOpts{cgroup1.WithHierarchy(m.v1Hierarchy)}
}

func (m *Manager) v1Hierarchy() ([]cgroup1.Subsystem, error) {
	var out []cgroup1.Subsystem
	for _, c := range m.v1Ctrls() {
		// Each subsystem's root is the parent of its mount point's directory name, so that
		// <root>/<name>/<path> is <mount>/<path> whatever the mount is called.
		mount := m.mounts[string(c)]
		switch c {
		case cgroup1.Cpu:
			out = append(out, cgroup1.NewCpu(filepath.Dir(mount)))
		case cgroup1.Cpuacct:
			out = append(out, cgroup1.NewCpuacct(filepath.Dir(mount)))
		case cgroup1.Memory:
			out = append(out, cgroup1.NewMemory(filepath.Dir(mount)))
		case cgroup1.Devices:
			out = append(out, cgroup1.NewDevices(filepath.Dir(mount)))
		}
	}
	return out, nil
}

func (m *Manager) v1Resources(l Limits) *specs.LinuxResources {
	r := &specs.LinuxResources{}
	if m.devices {
		r.Devices = deviceRules(l)
	}
	if l.CPUs > 0 {
		shares := uint64(l.CPUs * 1024)
		r.CPU = &specs.LinuxCPU{Shares: &shares}
		if m.cfg.EnableCFS {
			period := uint64(cfsPeriod)
			quota := int64(l.CPUs * cfsPeriod)
			r.CPU.Period, r.CPU.Quota = &period, &quota
		}
	}
	if l.MemoryBytes > 0 {
		limit := l.MemoryBytes
		r.Memory = &specs.LinuxMemory{Limit: &limit}
		if _, err := os.Stat(filepath.Join(m.mounts[string(cgroup1.Memory)], "memory.memsw.limit_in_bytes")); err == nil {
			r.Memory.Swap = &limit // no swapping past the limit either
		}
	}
	return r
}

func (m *Manager) v2Resources(l Limits) *cgroup2.Resources {
	r := &cgroup2.Resources{Devices: deviceRules(l)}
	if l.CPUs > 0 {
		// cpu.weight 1..10000, 100 = one share of 1024.
		w := uint64(max(1, min(10000, l.CPUs*100)))
		r.CPU = &cgroup2.CPU{Weight: &w}
		if m.cfg.EnableCFS {
			period := uint64(cfsPeriod)
			quota := int64(l.CPUs * cfsPeriod)
			r.CPU.Max = cgroup2.NewCPUMax(&quota, &period)
		}
	}
	if l.MemoryBytes > 0 {
		limit := l.MemoryBytes
		r.Memory = &cgroup2.Memory{Max: &limit}
		// Without swap accounting (swapaccount=0 on kernels before 6.1, or no CONFIG_SWAP)
		// there is no memory.swap.max to write, and trying would fail the whole container;
		// swap then cannot be limited per cgroup (runc skips it likewise, v1 skips memsw).
		if _, err := os.Stat(filepath.Join(m.cfg.Mountpoint, m.cfg.Root, "memory.swap.max")); err == nil {
			zero := int64(0)
			r.Memory.Swap = &zero // no swapping past the limit either
		}
	}
	return r
}

// Cgroup is one container's cgroup.
type Cgroup struct {
	m  *Manager
	id string
	v1 cgroup1.Cgroup
	v2 *cgroup2.Manager
}

// ID returns the container id.
func (c *Cgroup) ID() string { return c.id }

// Update changes the limits.
func (c *Cgroup) Update(l Limits) error {
	var err error
	if c.v2 != nil {
		err = c.v2.Update(c.m.v2Resources(l))
	} else {
		// memory+swap must never be below memory: raise it first when the limit grows.
		memsw := filepath.Join(c.m.dir(c.id, cgroup1.Memory), "memory.memsw.limit_in_bytes")
		if cur, rerr := readInt(memsw); rerr == nil && l.MemoryBytes > cur {
			_ = os.WriteFile(memsw, []byte(strconv.FormatInt(l.MemoryBytes, 10)), 0o644)
		}
		err = c.v1.Update(c.m.v1Resources(l))
	}
	if err != nil {
		return fmt.Errorf("cgroups: update %s: %w", c.id, err)
	}
	return nil
}

// Add moves process pid (and so its future children) into the cgroup.
func (c *Cgroup) Add(pid int) error {
	var err error
	if c.v2 != nil {
		err = c.v2.AddProc(uint64(pid))
	} else {
		err = c.v1.Add(cgroup1.Process{Pid: pid})
	}
	if err != nil {
		return fmt.Errorf("cgroups: add %d to %s: %w", pid, c.id, err)
	}
	return nil
}

// ProcsFiles returns the cgroup.procs file of each hierarchy the cgroup lives in: writing a
// pid to every one of them is what Add does, for a process that cannot call Add itself (the
// executor host places the tasks it starts).
func (c *Cgroup) ProcsFiles() []string {
	if c.v2 != nil {
		return []string{filepath.Join(c.m.dir(c.id, ""), "cgroup.procs")}
	}
	var out []string
	for _, ctrl := range c.m.v1Ctrls() {
		f := filepath.Join(c.m.dir(c.id, ctrl), "cgroup.procs")
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// Members returns the processes that are in the cgroup in every hierarchy: on v1 a process
// some other agent moved out of one hierarchy is missing here (but still in Pids), and
// Add puts it back.
func (c *Cgroup) Members() ([]int, error) {
	if c.v2 != nil {
		return c.Pids()
	}
	count := make(map[int]int)
	seen := make(map[string]bool)
	for _, ctrl := range v1Controllers {
		dir := c.m.dir(c.id, ctrl)
		if seen[dir] {
			continue
		}
		seen[dir] = true
		pids, err := readProcsTree(dir, nil)
		if err != nil {
			return nil, fmt.Errorf("cgroups: procs of %s: %w", c.id, err)
		}
		for _, p := range slices.Compact(slices.Sorted(slices.Values(pids))) {
			count[p]++
		}
	}
	var out []int
	for p, n := range count {
		if n == len(seen) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Pids returns the processes in the cgroup.
func (c *Cgroup) Pids() ([]int, error) {
	var out []int
	if c.v2 != nil {
		ps, err := c.v2.Procs(true)
		if err != nil {
			return nil, fmt.Errorf("cgroups: procs of %s: %w", c.id, err)
		}
		for _, p := range ps {
			out = append(out, int(p))
		}
		return out, nil
	}
	// cgroup1's Processes walks the tree and stats every control file (about thirty in a
	// memory cgroup); only cgroup.procs of the cgroup and of its children matter. Every
	// hierarchy is read: a process moved out of one (some hosts move processes between
	// memory cgroups) is still a member through the others.
	seen := make(map[string]bool)
	var found bool
	for _, ctrl := range v1Controllers {
		dir := c.m.dir(c.id, ctrl)
		if seen[dir] {
			continue // co-mounted controllers share the directory
		}
		seen[dir] = true
		var err error
		out, err = readProcsTree(dir, out)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cgroups: procs of %s: %w", c.id, err)
		}
		found = true
	}
	if !found {
		return nil, fmt.Errorf("cgroups: procs of %s: %w", c.id, fs.ErrNotExist)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// readProcsTree appends the pids in dir/cgroup.procs and in those of its child cgroups.
func readProcsTree(dir string, out []int) ([]int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return out, err
	}
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			out = append(out, pid)
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return out, err
	}
	for _, e := range ents {
		if e.IsDir() {
			if out, err = readProcsTree(filepath.Join(dir, e.Name()), out); err != nil && !errors.Is(err, os.ErrNotExist) {
				return out, err
			}
		}
	}
	return out, nil
}

// KillAll sends SIGKILL to every process in the cgroup until it is empty (new forks race
// with the kill, so it repeats a bounded number of times). It returns the pids it killed.
func (c *Cgroup) KillAll() ([]int, error) {
	var killed []int
	for range 50 {
		pids, err := c.Pids()
		if err != nil {
			return killed, err
		}
		if len(pids) == 0 {
			return killed, nil
		}
		for _, p := range pids {
			if syscall.Kill(p, syscall.SIGKILL) == nil {
				killed = append(killed, p)
			}
		}
		if c.waitEmpty() {
			return killed, nil
		}
	}
	return killed, fmt.Errorf("cgroups: %s: processes keep appearing", c.id)
}

// waitEmpty polls briefly for the killed processes to leave the cgroup.
func (c *Cgroup) waitEmpty() bool {
	for range 100 {
		pids, err := c.Pids()
		if err == nil && len(pids) == 0 {
			return true
		}
		// SIGKILLed processes leave as soon as they are reaped; yield meanwhile.
		_ = syscall.Nanosleep(&syscall.Timespec{Nsec: 2e6}, nil)
	}
	return false
}

// Delete kills what is left and removes the cgroup.
func (c *Cgroup) Delete() error {
	if _, err := c.KillAll(); err != nil {
		return err
	}
	var err error
	if c.v2 != nil {
		err = c.v2.Delete()
	} else {
		err = c.deleteV1()
	}
	if err != nil {
		return fmt.Errorf("cgroups: delete %s: %w", c.id, err)
	}
	return nil
}

// deleteV1 removes the (empty) cgroup from every v1 hierarchy. cgroup1's Delete walks and
// stats every control file of every hierarchy first; an empty cgroup directory is removed
// with one rmdir (control files do not count).
func (c *Cgroup) deleteV1() error {
	done := make(map[string]bool)
	var errs []error
	for _, ctrl := range c.m.v1Ctrls() {
		dir := c.m.dir(c.id, ctrl)
		if done[dir] {
			continue // co-mounted controllers share the directory
		}
		done[dir] = true
		if err := rmdirTree(dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// rmdirTree removes a cgroup directory and its child cgroups. A cgroup whose last process
// has just been reaped can still be busy for a moment, so EBUSY is retried briefly.
func rmdirTree(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.IsDir() {
			if err := rmdirTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	delay := 2 * time.Millisecond
	for i := 0; ; i++ {
		err := syscall.Rmdir(dir)
		if err == nil || errors.Is(err, syscall.ENOENT) {
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) || i == 6 {
			return &os.PathError{Op: "rmdir", Path: dir, Err: err}
		}
		_ = syscall.Nanosleep(&syscall.Timespec{Nsec: int64(delay)}, nil)
		delay *= 2
	}
}

// v1Mounts maps every v1 controller to its mount point, from /proc/self/mountinfo.
func v1Mounts() (map[string]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := make(map[string]string)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		// ... mountpoint(4) ... - fstype source superopts
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+3 >= len(fields) || fields[sep+1] != "cgroup" || len(fields) < 5 {
			continue
		}
		for _, opt := range strings.Split(fields[sep+3], ",") {
			if _, done := out[opt]; !done {
				out[opt] = fields[4]
			}
		}
	}
	return out, sc.Err()
}
