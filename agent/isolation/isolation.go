package isolation

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/agoracluster/agora/agent/cgroups"
	"github.com/agoracluster/agora/agent/proc"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
)

// Executor overhead added to the limits of a command executor's container (as Mesos adds
// for its command executor).
const (
	executorOverheadCPUs = 0.1
	executorOverheadMem  = 32 // MB
)

// Isolator confines executor containers in cgroups. A nil *Isolator (cgroups unusable or
// disabled) does nothing, so callers need not check.
type Isolator struct {
	log *zap.Logger
	mgr *cgroups.Manager

	mu    sync.Mutex
	cgs   map[string]*cgroups.Cgroup // by container id
	limit map[string]cgroups.Limits
}

// Config selects the isolation.
type Config struct {
	// Isolation is the agent's --isolation (Mesos names); cgroups are used when it names
	// cgroups/cpu or cgroups/mem.
	Isolation string
	// CgroupsRoot is the cgroup under which every container gets one (<root>/<container_id>).
	CgroupsRoot string
	// CgroupsEnableCFS adds a CFS quota (a hard cap) to the CPU shares.
	CgroupsEnableCFS bool
	// Devices lets containers be denied devices (Limits.DenyDevices: the GPUs they do not
	// hold); on cgroup v1 it uses the devices controller.
	Devices bool
}

// CgroupsEnabled reports whether a cgroups isolator is asked for.
func (c Config) CgroupsEnabled() bool { return strings.Contains(c.Isolation, "cgroups/") }

// New sets up the cgroups; where they cannot be used it says so once and returns nil.
func New(cfg Config, log *zap.Logger) *Isolator {
	log = log.Named("isolation")
	if !cfg.CgroupsEnabled() {
		log.Info("cgroup isolation disabled: executors run without CPU and memory limits",
			zap.String("isolation", cfg.Isolation))
		return nil
	}
	ccfg := cgroups.DefaultConfig()
	ccfg.Root = cfg.CgroupsRoot
	ccfg.EnableCFS = cfg.CgroupsEnableCFS
	ccfg.Devices = cfg.Devices
	mgr, err := cgroups.New(ccfg)
	if err != nil {
		log.Warn("cgroups are unusable on this host: executors run without CPU and memory limits", zap.Error(err))
		return nil
	}
	log.Info("cgroup isolation enabled", zap.Int("cgroup_version", mgr.Version()), zap.String("root", ccfg.Root),
		zap.Bool("cfs_quota", ccfg.EnableCFS), zap.Bool("device_control", mgr.DeviceControl()))
	if cfg.Devices && !mgr.DeviceControl() {
		log.Warn("no cgroup v1 devices controller: containers are not denied the GPUs they do not hold (only NVIDIA_VISIBLE_DEVICES/CUDA_VISIBLE_DEVICES hide them)")
	}
	return &Isolator{log: log, mgr: mgr, cgs: make(map[string]*cgroups.Cgroup), limit: make(map[string]cgroups.Limits)}
}

// LimitsOf sums an executor's and its tasks' cpus and mem (MB), plus the command
// executor's overhead.
func LimitsOf(info *mesos.ExecutorInfo, tasks []*mesos.TaskInfo, command bool) cgroups.Limits {
	var cpus, mem float64
	add := func(rs []*mesos.Resource) {
		r, err := resources.FromProto(rs)
		if err != nil {
			return
		}
		cpus += r.Scalar("cpus")
		mem += r.Scalar("mem")
	}
	add(info.GetResources())
	for _, t := range tasks {
		add(t.GetResources())
	}
	if command || cpus > 0 || mem > 0 {
		cpus += executorOverheadCPUs
		mem += executorOverheadMem
	}
	return cgroups.Limits{CPUs: cpus, MemoryBytes: int64(mem * 1024 * 1024)}
}

// Prepare creates a container's cgroup before its executor starts.
func (i *Isolator) Prepare(containerID string, l cgroups.Limits) error {
	if i == nil {
		return nil
	}
	cg, err := i.mgr.Create(containerID, l)
	if err != nil && len(l.DenyDevices) > 0 {
		// A v2 host that cannot load eBPF device filters: keep the CPU and memory limits.
		i.log.Warn("container not denied devices", zap.String("container_id", containerID), zap.Error(err))
		l.DenyDevices = nil
		cg, err = i.mgr.Create(containerID, l)
	}
	if err != nil {
		return err
	}
	i.mu.Lock()
	i.cgs[containerID], i.limit[containerID] = cg, l
	i.mu.Unlock()
	return nil
}

func (i *Isolator) Get(containerID string) *cgroups.Cgroup {
	if i == nil {
		return nil
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.cgs[containerID]
}

// Isolate puts a started executor into its container's cgroup (its children inherit it).
func (i *Isolator) Isolate(containerID string, pid int) error {
	if cg := i.Get(containerID); cg != nil {
		return cg.Add(pid)
	}
	return nil
}

// DeviceControl reports whether Limits.DenyDevices is enforced.
func (i *Isolator) DeviceControl() bool { return i != nil && i.mgr.DeviceControl() }

// Update changes a container's limits (a task joined a running executor).
func (i *Isolator) Update(containerID string, l cgroups.Limits) {
	cg := i.Get(containerID)
	if cg == nil {
		return
	}
	if err := cg.Update(l); err != nil {
		i.log.Warn("update container limits", zap.String("container_id", containerID), zap.Error(err))
		return
	}
	i.mu.Lock()
	i.limit[containerID] = l
	i.mu.Unlock()
}

// MemoryLimitation returns the message of a memory limitation when the OOM killer struck
// in the container.
func (i *Isolator) MemoryLimitation(containerID string) (string, bool) {
	cg := i.Get(containerID)
	if cg == nil {
		return "", false
	}
	n, err := cg.OOMKills()
	if err != nil || n == 0 {
		return "", false
	}
	i.mu.Lock()
	l := i.limit[containerID]
	i.mu.Unlock()
	return fmt.Sprintf("Memory limit exceeded: the container's memory limit is %d MB (tasks' mem plus executor overhead); the OOM killer killed %d process(es)",
		l.MemoryBytes>>20, n), true
}

// Destroy kills every process left in the container's cgroup and removes it.
func (i *Isolator) Destroy(containerID string) {
	cg := i.Get(containerID)
	if cg == nil {
		return
	}
	if err := cg.Delete(); err != nil {
		i.log.Warn("remove container cgroup", zap.String("container_id", containerID), zap.Error(err))
	}
	i.mu.Lock()
	delete(i.cgs, containerID)
	delete(i.limit, containerID)
	i.mu.Unlock()
}

// Stats returns a container's usage; ok is false without a cgroup.
func (i *Isolator) Stats(containerID string) (cgroups.Stats, bool) {
	cg := i.Get(containerID)
	if cg == nil {
		return cgroups.Stats{}, false
	}
	st, err := cg.Stats()
	return st, err == nil
}

// RemoveOrphans kills and removes every container cgroup not in keep.
func (i *Isolator) RemoveOrphans(keep map[string]bool) {
	if i == nil {
		return
	}
	ids, err := i.mgr.List()
	if err != nil {
		i.log.Warn("list container cgroups", zap.Error(err))
		return
	}
	for _, id := range ids {
		if keep[id] {
			continue
		}
		cg, err := i.mgr.Load(id)
		if err != nil {
			continue
		}
		i.log.Info("removing the cgroup of an unknown container", zap.String("container_id", id))
		if err := cg.Delete(); err != nil {
			i.log.Warn("remove orphan cgroup", zap.String("container_id", id), zap.Error(err))
		}
	}
}

// Limits returns the limits a container's cgroup was given.
func (i *Isolator) Limits(containerID string) (cgroups.Limits, bool) {
	if i == nil {
		return cgroups.Limits{}, false
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	l, ok := i.limit[containerID]
	return l, ok
}

// Sweep puts every process of an executor's session into the executor's cgroup: children
// inherit the cgroup, but something else on the host (a process tracker, a user's
// cgclassify) may have moved one out. sessions maps executor pid (= session id) to
// container id.
func (i *Isolator) Sweep(sessions map[int]string) {
	if i == nil || len(sessions) == 0 {
		return
	}
	pids, err := proc.List()
	if err != nil {
		return
	}
	inside := make(map[string]map[int]bool)
	for _, pid := range pids {
		sid, err := unix.Getsid(pid)
		if err != nil {
			continue
		}
		cid, ok := sessions[sid]
		if !ok {
			continue
		}
		cg := i.Get(cid)
		if cg == nil {
			continue
		}
		in, ok := inside[cid]
		if !ok {
			in = make(map[int]bool)
			if pids, err := cg.Members(); err == nil {
				for _, p := range pids {
					in[p] = true
				}
			}
			inside[cid] = in
		}
		if !in[pid] {
			_ = cg.Add(pid)
		}
	}
}

// Recover re-attaches to the cgroups of recovered containers and removes those that belong
// to no recovered container (orphans of dead executors).
func (i *Isolator) Recover(containerIDs []string) {
	if i == nil {
		return
	}
	known := make(map[string]bool)
	for _, id := range containerIDs {
		known[id] = true
		cg, err := i.mgr.Load(id)
		if errors.Is(err, cgroups.ErrUnknown) {
			continue
		}
		if err != nil {
			i.log.Warn("re-attach container cgroup", zap.String("container_id", id), zap.Error(err))
			continue
		}
		var l cgroups.Limits
		if st, err := cg.Stats(); err == nil {
			l = cgroups.Limits{CPUs: st.CPULimit, MemoryBytes: int64(st.MemLimitBytes)}
		}
		i.mu.Lock()
		i.cgs[id], i.limit[id] = cg, l
		i.mu.Unlock()
	}
	i.RemoveOrphans(known)
}

// Release removes the cgroup of a recovered container that has ended.
func (i *Isolator) Release(containerID string) {
	if i == nil {
		return
	}
	if cg, err := i.mgr.Load(containerID); err == nil {
		if err := cg.Delete(); err != nil {
			i.log.Warn("remove container cgroup", zap.String("container_id", containerID), zap.Error(err))
		}
	}
}
