package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/agoracluster/agora/agent/sandbox"
)

// Sandbox garbage collection in the agent (as Mesos's): when an executor is removed (it
// ended and every update of its tasks was acknowledged) its run and executor directories,
// in the sandboxes (slaves/...) and in the checkpoints (meta/slaves/...), are scheduled
// for removal at its end time; when a framework is removed, its directories likewise. At
// start the agent schedules what the previous runs left behind (other agent ids, runs,
// executors and frameworks it did not recover) at their modification time. A path is
// removed only when no live framework or executor lies in it, checked on the loop.

// gcTrashDir is where claimed paths are moved before they are deleted; a leftover (the
// agent died while deleting) is deleted at the next start.
func gcTrashDir(workDir string) string { return filepath.Join(workDir, ".gc-trash") }

// startGC builds the collector and schedules what earlier runs left. It runs in Run before
// the loop starts (after recovery) and may touch a.st.
func (a *Agent) startGC() {
	log := a.log.Named("gc")
	policy := gcPolicy{Delay: a.cfg.GCDelay, Headroom: a.cfg.GCDiskHeadroom, DiskWatch: a.cfg.DiskWatchInterval}
	workDir := a.cfg.WorkDir
	a.gc = newSandboxCollector(policy, realClock{}, log,
		func() (float64, error) { return diskUsage(workDir) },
		a.gcClaim,
		os.RemoveAll)
	a.gcScanWorkDir()
}

// runGC deletes leftovers of an interrupted collection, then collects until ctx is done.
func (a *Agent) runGC(ctx context.Context) {
	if err := os.RemoveAll(gcTrashDir(a.cfg.WorkDir)); err != nil {
		a.log.Named("gc").Warn("remove leftovers of an interrupted collection", zap.Error(err))
	}
	a.gc.run(ctx)
}

// gcScheduleExecutor schedules the directories of a removed executor. Loop only.
func (a *Agent) gcScheduleExecutor(ex *executor) {
	if a.gc == nil || a.st.agentID == "" || ex.sandbox == "" {
		return
	}
	now := time.Now()
	exDir := filepath.Dir(filepath.Dir(ex.sandbox)) // <executor>/runs/<container_id>
	a.gc.schedule(now, ex.sandbox)
	a.gc.schedule(now, exDir)
	a.gc.schedule(now, a.ckpt.RunDir(a.st.agentID, ex.fw.id, ex.id, ex.containerID))
	a.gc.schedule(now, a.ckpt.ExecutorDir(a.st.agentID, ex.fw.id, ex.id))
}

// gcScheduleFramework schedules the directories of a removed framework. Loop only.
func (a *Agent) gcScheduleFramework(fw *framework) {
	if a.gc == nil || a.st.agentID == "" {
		return
	}
	now := time.Now()
	a.gc.schedule(now, filepath.Join(a.cfg.WorkDir, "slaves", a.st.agentID, "frameworks", fw.id))
	a.gc.schedule(now, a.ckpt.FrameworkDir(a.st.agentID, fw.id))
}

// gcScanWorkDir schedules, at their modification time, the directories of earlier runs
// that no recovered framework or executor uses. Before the loop starts only.
func (a *Agent) gcScanWorkDir() {
	for _, tree := range []string{sandbox.Root(a.cfg.WorkDir), filepath.Join(a.cfg.WorkDir, "meta", "slaves")} {
		agents, _ := sandbox.ListDirs(tree) // "latest" is a symlink, not listed
		for _, aid := range agents {
			dir := filepath.Join(tree, aid)
			if aid != a.st.agentID {
				a.gcScheduleStale(dir)
				continue
			}
			fws, _ := sandbox.ListDirs(filepath.Join(dir, "frameworks"))
			for _, fid := range fws {
				fwDir := filepath.Join(dir, "frameworks", fid)
				fw := a.st.frameworks[fid]
				if fw == nil {
					a.gcScheduleStale(fwDir)
					continue
				}
				exs, _ := sandbox.ListDirs(filepath.Join(fwDir, "executors"))
				for _, eid := range exs {
					exDir := filepath.Join(fwDir, "executors", eid)
					ex := fw.executors[eid]
					if ex == nil {
						a.gcScheduleStale(exDir)
						continue
					}
					runs, _ := sandbox.ListDirs(filepath.Join(exDir, "runs"))
					for _, cid := range runs {
						if cid != ex.containerID {
							a.gcScheduleStale(filepath.Join(exDir, "runs", cid))
						}
					}
				}
			}
		}
	}
}

func (a *Agent) gcScheduleStale(dir string) {
	fi, err := os.Stat(dir)
	if err != nil {
		return
	}
	a.gc.schedule(fi.ModTime(), dir)
}

// gcClaim moves the paths of the due candidates that no live framework or executor uses
// out of the way, on the loop, and returns their new names for deletion.
func (a *Agent) gcClaim(ctx context.Context, due []gcCandidate) ([]string, error) {
	var claimed []string
	err := a.query(ctx, func() { claimed = a.gcClaimLoop(due) })
	return claimed, err
}

// gcClaimLoop is gcClaim on the loop.
func (a *Agent) gcClaimLoop(due []gcCandidate) []string {
	live := a.gcLivePaths()
	trash := gcTrashDir(a.cfg.WorkDir)
	log := a.log.Named("gc")
	var claimed []string
	for _, c := range due {
		for _, p := range c.Paths {
			if gcInUse(p, live) {
				continue // scheduled again when what uses it ends
			}
			if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err := os.MkdirAll(trash, 0o755); err != nil {
				log.Warn("create the gc trash dir", zap.Error(err))
				return claimed
			}
			to := filepath.Join(trash, uuid.NewString())
			if err := os.Rename(p, to); err != nil {
				log.Warn("move a finished sandbox aside", zap.String("path", p), zap.Error(err))
				continue
			}
			log.Debug("removing finished sandbox", zap.String("path", p),
				zap.Time("finished_at", c.FinishedAt))
			claimed = append(claimed, to)
		}
	}
	return claimed
}

// gcLivePaths are the directories of the current agent, its frameworks and their
// executors. Loop only.
func (a *Agent) gcLivePaths() []string {
	if a.st.agentID == "" {
		return nil
	}
	live := []string{filepath.Join(sandbox.Root(a.cfg.WorkDir), a.st.agentID), a.ckpt.AgentDir(a.st.agentID)}
	for _, fw := range a.st.frameworks {
		live = append(live, filepath.Join(sandbox.Root(a.cfg.WorkDir), a.st.agentID, "frameworks", fw.id),
			a.ckpt.FrameworkDir(a.st.agentID, fw.id))
		for _, ex := range fw.executors {
			live = append(live, ex.sandbox, a.ckpt.RunDir(a.st.agentID, fw.id, ex.id, ex.containerID))
		}
	}
	return live
}

// gcInUse reports whether p is one of live or holds one of them.
func gcInUse(p string, live []string) bool {
	p = filepath.Clean(p)
	for _, l := range live {
		l = filepath.Clean(l)
		if l == p || strings.HasPrefix(l, p+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// diskUsage is the used fraction (0..1) of the file system holding path.
func diskUsage(path string) (float64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", path, err)
	}
	if st.Blocks == 0 {
		return 0, nil
	}
	return float64(st.Blocks-st.Bfree) / float64(st.Blocks), nil
}
