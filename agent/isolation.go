package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/agoracluster/agora/agent/cgroups"
	"github.com/agoracluster/agora/agent/checkpoint"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
)

// Executor overhead added to the limits of a command executor's container (as Mesos adds
// for its command executor).
const (
	executorOverheadCPUs = 0.1
	executorOverheadMem  = 32 // MB
)

// isolator confines executor containers in cgroups. A nil *isolator (cgroups unusable or
// disabled) does nothing, so callers need not check.
type isolator struct {
	log *zap.Logger
	mgr *cgroups.Manager

	mu    sync.Mutex
	cgs   map[string]*cgroups.Cgroup // by container id
	limit map[string]cgroups.Limits
}

// newIsolator sets up the cgroups; where they cannot be used it says so once and returns nil.
func newIsolator(cfg Config, log *zap.Logger) *isolator {
	log = log.Named("isolation")
	if !cfg.cgroupsEnabled() {
		log.Info("cgroup isolation disabled: executors run without CPU and memory limits",
			zap.String("isolation", cfg.Isolation))
		return nil
	}
	ccfg := cgroups.DefaultConfig()
	ccfg.Root = cfg.CgroupsRoot
	ccfg.EnableCFS = cfg.CgroupsEnableCFS
	mgr, err := cgroups.New(ccfg)
	if err != nil {
		log.Warn("cgroups are unusable on this host: executors run without CPU and memory limits", zap.Error(err))
		return nil
	}
	log.Info("cgroup isolation enabled", zap.Int("cgroup_version", mgr.Version()), zap.String("root", ccfg.Root),
		zap.Bool("cfs_quota", ccfg.EnableCFS))
	return &isolator{log: log, mgr: mgr, cgs: make(map[string]*cgroups.Cgroup), limit: make(map[string]cgroups.Limits)}
}

// limitsOf sums an executor's and its tasks' cpus and mem (MB), plus the command
// executor's overhead.
func limitsOf(info *mesos.ExecutorInfo, tasks []*mesos.TaskInfo, command bool) cgroups.Limits {
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

// prepare creates a container's cgroup before its executor starts.
func (i *isolator) prepare(containerID string, l cgroups.Limits) error {
	if i == nil {
		return nil
	}
	cg, err := i.mgr.Create(containerID, l)
	if err != nil {
		return err
	}
	i.mu.Lock()
	i.cgs[containerID], i.limit[containerID] = cg, l
	i.mu.Unlock()
	return nil
}

func (i *isolator) get(containerID string) *cgroups.Cgroup {
	if i == nil {
		return nil
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.cgs[containerID]
}

// isolate puts a started executor into its container's cgroup (its children inherit it).
func (i *isolator) isolate(containerID string, pid int) error {
	if cg := i.get(containerID); cg != nil {
		return cg.Add(pid)
	}
	return nil
}

// update changes a container's limits (a task joined a running executor).
func (i *isolator) update(containerID string, l cgroups.Limits) {
	cg := i.get(containerID)
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

// memoryLimitation returns the message of a memory limitation when the OOM killer struck
// in the container.
func (i *isolator) memoryLimitation(containerID string) (string, bool) {
	cg := i.get(containerID)
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

// destroy kills every process left in the container's cgroup and removes it.
func (i *isolator) destroy(containerID string) {
	cg := i.get(containerID)
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

// stats returns a container's usage; ok is false without a cgroup.
func (i *isolator) stats(containerID string) (cgroups.Stats, bool) {
	cg := i.get(containerID)
	if cg == nil {
		return cgroups.Stats{}, false
	}
	st, err := cg.Stats()
	return st, err == nil
}

// recoverIsolation re-attaches to the cgroups of recovered containers and removes those
// that belong to no recovered container (orphans of dead executors). Run before the loop.
func (a *Agent) recoverIsolation(_ context.Context, containers []RecoveredContainer) {
	i := a.iso
	if i == nil {
		return
	}
	known := make(map[string]bool)
	for _, c := range containers {
		known[c.ContainerID] = true
		cg, err := i.mgr.Load(c.ContainerID)
		if errors.Is(err, cgroups.ErrUnknown) {
			continue
		}
		if err != nil {
			i.log.Warn("re-attach container cgroup", zap.String("container_id", c.ContainerID), zap.Error(err))
			continue
		}
		var l cgroups.Limits
		if st, err := cg.Stats(); err == nil {
			l = cgroups.Limits{CPUs: st.CPULimit, MemoryBytes: int64(st.MemLimitBytes)}
		}
		i.mu.Lock()
		i.cgs[c.ContainerID], i.limit[c.ContainerID] = cg, l
		i.mu.Unlock()
	}
	i.removeOrphans(known)
}

// removeOrphans kills and removes every container cgroup not in keep.
func (i *isolator) removeOrphans(keep map[string]bool) {
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

// cleanupIsolation removes every container cgroup of a previous run (reboot, cleanup).
func (a *Agent) cleanupIsolation(context.Context, *checkpoint.State) {
	if a.iso != nil {
		a.iso.removeOrphans(nil)
	}
}

// releaseIsolation removes the cgroup of a recovered container that has ended.
func (a *Agent) releaseIsolation(_ context.Context, containerID string) {
	if a.iso == nil {
		return
	}
	if cg, err := a.iso.mgr.Load(containerID); err == nil {
		if err := cg.Delete(); err != nil {
			a.iso.log.Warn("remove container cgroup", zap.String("container_id", containerID), zap.Error(err))
		}
	}
}

// limitationCheckInterval is how often the containers are checked for OOM kills that no
// task end revealed (a task's child was killed, the task lives on).
const limitationCheckInterval = time.Second

// limitExecutor ends a container that hit its memory limit: its live tasks fail with
// REASON_CONTAINER_LIMITATION_MEMORY and every process in it is killed. Loop only.
func (a *Agent) limitExecutor(ex *executor, msg string) {
	if ex.limited || ex.gone() {
		return
	}
	ex.limited = true
	ex.failReason = mesos.TaskStatus_REASON_CONTAINER_LIMITATION_MEMORY
	ex.failMessage = msg
	a.log.Warn("container exceeded its memory limit, killing it", zap.String("framework_id", ex.fw.id),
		zap.String("executor_id", ex.id), zap.String("container_id", ex.containerID), zap.String("limitation", msg))
	a.killExecutor(ex)
}

// checkLimitations kills containers whose memory limit was hit. Loop only.
func (a *Agent) checkLimitations() {
	if a.iso == nil {
		return
	}
	for _, fw := range a.st.frameworks {
		for _, ex := range fw.executors {
			if ex.gone() || ex.limited || ex.pid == 0 {
				continue
			}
			if msg, ok := a.iso.memoryLimitation(ex.containerID); ok {
				a.limitExecutor(ex, msg)
			}
		}
	}
}

// watchLimitations runs checkLimitations on the loop until ctx is done.
func (a *Agent) watchLimitations(ctx context.Context) {
	t := time.NewTicker(limitationCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			sessions := make(map[int]string)
			if err := a.query(ctx, func() {
				for _, fw := range a.st.frameworks {
					for _, ex := range fw.executors {
						if !ex.gone() && ex.pid > 0 && !ex.hosted {
							sessions[ex.pid] = ex.containerID
						}
					}
				}
			}); err != nil {
				return
			}
			a.hosted.taskSessions(sessions) // a hosted task's session is its own
			a.iso.sweep(sessions)
			if !a.send(a.checkLimitations) {
				return
			}
		}
	}
}

// limits returns the limits a container's cgroup was given.
func (i *isolator) limits(containerID string) (cgroups.Limits, bool) {
	if i == nil {
		return cgroups.Limits{}, false
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	l, ok := i.limit[containerID]
	return l, ok
}

// sweep puts every process of an executor's session into the executor's cgroup: children
// inherit the cgroup, but something else on the host (a process tracker, a user's
// cgclassify) may have moved one out. sessions maps executor pid (= session id) to
// container id.
func (i *isolator) sweep(sessions map[int]string) {
	if i == nil || len(sessions) == 0 {
		return
	}
	pids, err := allPIDs()
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
		cg := i.get(cid)
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
