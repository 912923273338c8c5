package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/agoracluster/agora/agent/gc"
	"github.com/agoracluster/agora/agent/sandbox"
	"github.com/agoracluster/agora/agent/workload"
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

// sandboxGC is the agent's side of the sandbox collector (agent/gc): what to schedule
// when, and the claim of due paths on the loop.
type sandboxGC struct {
	a *Agent
	c *gc.Collector
}

// startGC builds the collector and schedules what earlier runs left. It runs in Run before
// the loop starts (after recovery) and may touch a.st.
func startGC(a *Agent) *sandboxGC {
	policy := gc.Policy{Delay: a.cfg.GCDelay, Headroom: a.cfg.GCDiskHeadroom, DiskWatch: a.cfg.DiskWatchInterval}
	workDir := a.cfg.WorkDir
	g := &sandboxGC{a: a}
	g.c = gc.NewCollector(policy, a.clock, a.log.Named("gc"),
		func() (float64, error) { return gc.DiskUsage(workDir) },
		g.claim,
		os.RemoveAll)
	g.scanWorkDir()
	return g
}

// run deletes leftovers of an interrupted collection, then collects until ctx is done.
func (g *sandboxGC) run(ctx context.Context) {
	a := g.a
	if err := os.RemoveAll(gcTrashDir(a.cfg.WorkDir)); err != nil {
		a.log.Named("gc").Warn("remove leftovers of an interrupted collection", zap.Error(err))
	}
	g.c.Run(ctx)
}

// scheduleExecutor schedules the directories of a removed executor. Loop only.
func (g *sandboxGC) scheduleExecutor(ex *workload.Executor) {
	if g == nil {
		return
	}
	a := g.a
	if a.st.AgentID == "" || ex.Sandbox == "" {
		return
	}
	now := a.clock.Now()
	exDir := filepath.Dir(filepath.Dir(ex.Sandbox)) // <executor>/runs/<container_id>
	g.c.Schedule(now, ex.Sandbox)
	g.c.Schedule(now, exDir)
	g.c.Schedule(now, a.ckpt.RunDir(a.st.AgentID, ex.Framework.ID, ex.ID, ex.ContainerID))
	g.c.Schedule(now, a.ckpt.ExecutorDir(a.st.AgentID, ex.Framework.ID, ex.ID))
}

// scheduleFramework schedules the directories of a removed framework. Loop only.
func (g *sandboxGC) scheduleFramework(fw *workload.Framework) {
	if g == nil {
		return
	}
	a := g.a
	if a.st.AgentID == "" {
		return
	}
	now := a.clock.Now()
	g.c.Schedule(now, filepath.Join(a.cfg.WorkDir, "slaves", a.st.AgentID, "frameworks", fw.ID))
	g.c.Schedule(now, a.ckpt.FrameworkDir(a.st.AgentID, fw.ID))
}

// scanWorkDir schedules, at their modification time, the directories of earlier runs
// that no recovered framework or executor uses. Before the loop starts only.
func (g *sandboxGC) scanWorkDir() {
	a := g.a
	for _, tree := range []string{sandbox.Root(a.cfg.WorkDir), filepath.Join(a.cfg.WorkDir, "meta", "slaves")} {
		agents, _ := sandbox.ListDirs(tree) // "latest" is a symlink, not listed
		for _, aid := range agents {
			dir := filepath.Join(tree, aid)
			if aid != a.st.AgentID {
				g.scheduleStale(dir)
				continue
			}
			fws, _ := sandbox.ListDirs(filepath.Join(dir, "frameworks"))
			for _, fid := range fws {
				fwDir := filepath.Join(dir, "frameworks", fid)
				fw := a.st.Frameworks[fid]
				if fw == nil {
					g.scheduleStale(fwDir)
					continue
				}
				exs, _ := sandbox.ListDirs(filepath.Join(fwDir, "executors"))
				for _, eid := range exs {
					exDir := filepath.Join(fwDir, "executors", eid)
					ex := fw.Executors[eid]
					if ex == nil {
						g.scheduleStale(exDir)
						continue
					}
					runs, _ := sandbox.ListDirs(filepath.Join(exDir, "runs"))
					for _, cid := range runs {
						if cid != ex.ContainerID {
							g.scheduleStale(filepath.Join(exDir, "runs", cid))
						}
					}
				}
			}
		}
	}
}

func (g *sandboxGC) scheduleStale(dir string) {
	fi, err := os.Stat(dir)
	if err != nil {
		return
	}
	g.c.Schedule(fi.ModTime(), dir)
}

// claim moves the paths of the due candidates that no live framework or executor uses
// out of the way, on the loop, and returns their new names for deletion.
func (g *sandboxGC) claim(ctx context.Context, due []gc.Candidate) ([]string, error) {
	var claimed []string
	err := g.a.query(ctx, func() { claimed = g.claimLoop(due) })
	return claimed, err
}

// claimLoop is claim on the loop.
func (g *sandboxGC) claimLoop(due []gc.Candidate) []string {
	a := g.a
	live := g.livePaths()
	trash := gcTrashDir(a.cfg.WorkDir)
	log := a.log.Named("gc")
	var claimed []string
	for _, c := range due {
		for _, p := range c.Paths {
			if gc.InUse(p, live) {
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

// livePaths are the directories of the current agent, its frameworks and their
// executors. Loop only.
func (g *sandboxGC) livePaths() []string {
	a := g.a
	if a.st.AgentID == "" {
		return nil
	}
	live := []string{filepath.Join(sandbox.Root(a.cfg.WorkDir), a.st.AgentID), a.ckpt.AgentDir(a.st.AgentID)}
	for _, fw := range a.st.Frameworks {
		live = append(live, filepath.Join(sandbox.Root(a.cfg.WorkDir), a.st.AgentID, "frameworks", fw.ID),
			a.ckpt.FrameworkDir(a.st.AgentID, fw.ID))
		for _, ex := range fw.Executors {
			live = append(live, ex.Sandbox, a.ckpt.RunDir(a.st.AgentID, fw.ID, ex.ID, ex.ContainerID))
		}
	}
	return live
}
