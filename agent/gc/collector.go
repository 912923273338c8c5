package gc

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/agent/clock"
)

// The sandbox collector is the shell around the pure policy in gc.go: it holds the
// scheduled candidates, wakes up when the next one falls due or when the disk usage is
// due for another look (every DiskWatchInterval, as Mesos's --disk_watch_interval), and
// hands the due candidates to claim, which runs on the agent loop, leaves out what a live
// executor or framework uses and moves the rest out of the way (a rename); the collector
// then deletes what was moved, off the loop.

// Policy is the collector's configuration.
type Policy struct {
	Delay     time.Duration // Config.GCDelay
	Headroom  float64       // Config.GCDiskHeadroom
	DiskWatch time.Duration // Config.DiskWatchInterval
}

// Collector schedules and removes finished sandboxes. Create it with
// NewCollector, feed it with schedule (from any goroutine) and run it on one owned
// goroutine.
type Collector struct {
	policy Policy
	clock  clock.Clock
	log    *zap.Logger
	// usage is the disk usage (0..1) of the work dir's file system.
	usage func() (float64, error)
	// claim decides, on the agent loop, which paths of the due candidates may go and
	// returns what to delete (their new names once moved aside).
	claim func(ctx context.Context, due []Candidate) ([]string, error)
	// remove deletes one claimed path.
	remove func(path string) error

	mu    sync.Mutex
	cands map[string]Candidate // by their first path
	wake  chan struct{}
}

// NewCollector returns a collector; usage reads the disk usage (0..1) of the work dir's
// file system, claim decides (on the agent's loop) which paths of the due candidates may go
// and moves them aside, returning their new names, and remove deletes one claimed path.
func NewCollector(policy Policy, clk clock.Clock, log *zap.Logger,
	usage func() (float64, error),
	claim func(context.Context, []Candidate) ([]string, error),
	remove func(string) error) *Collector {
	return &Collector{
		policy: policy, clock: clk, log: log, usage: usage, claim: claim, remove: remove,
		cands: make(map[string]Candidate),
		wake:  make(chan struct{}, 1),
	}
}

// Schedule marks paths (removed together) as finished at finishedAt. Scheduling a path
// again replaces its earlier entry, so the latest finish counts.
func (g *Collector) Schedule(finishedAt time.Time, paths ...string) {
	if len(paths) == 0 {
		return
	}
	g.mu.Lock()
	g.cands[paths[0]] = Candidate{Paths: paths, FinishedAt: finishedAt}
	g.mu.Unlock()
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// Pending is the number of scheduled candidates.
func (g *Collector) Pending() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.cands)
}

// Run collects until ctx is done.
func (g *Collector) Run(ctx context.Context) {
	usage := g.readUsage(0)
	checked := g.clock.Now()
	for {
		now := g.clock.Now()
		if !now.Before(checked.Add(g.policy.DiskWatch)) {
			usage = g.readUsage(usage)
			checked = now
		}
		due, next := g.takeDue(now, usage)
		if len(due) > 0 {
			g.collect(ctx, due)
			if ctx.Err() != nil {
				return
			}
			continue // the loop may have taken a while: look at the time again
		}
		wakeAt := checked.Add(g.policy.DiskWatch)
		if !next.IsZero() && next.Before(wakeAt) {
			wakeAt = next
		}
		timer, stop := clock.At(g.clock, wakeAt)
		select {
		case <-ctx.Done():
			stop()
			return
		case <-g.wake:
		case <-timer:
		}
		stop()
	}
}

// takeDue removes the due candidates from the schedule and returns them with the time the
// next of the others falls due.
func (g *Collector) takeDue(now time.Time, usage float64) ([]Candidate, time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	all := make([]Candidate, 0, len(g.cands))
	for _, c := range g.cands {
		all = append(all, c)
	}
	due, next := Due(all, now, g.policy.Delay, g.policy.Headroom, usage)
	for _, c := range due {
		delete(g.cands, c.Paths[0])
	}
	return due, next
}

func (g *Collector) readUsage(last float64) float64 {
	u, err := g.usage()
	if err != nil {
		g.log.Warn("cannot read the disk usage of the work dir; keeping the last value", zap.Error(err))
		return last
	}
	return u
}

func (g *Collector) collect(ctx context.Context, due []Candidate) {
	paths, err := g.claim(ctx, due)
	if err != nil {
		// The agent is stopping: the candidates are found again by the next start's scan.
		return
	}
	for _, p := range paths {
		if err := g.remove(p); err != nil {
			g.log.Warn("remove a collected sandbox", zap.String("path", p), zap.Error(err))
		}
	}
	if len(paths) > 0 {
		g.log.Debug("collected finished sandboxes", zap.Int("paths", len(paths)))
	}
}

// Scheduled is the first path of every scheduled candidate, sorted.
func (g *Collector) Scheduled() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Sorted(maps.Keys(g.cands))
}

// InUse reports whether p is one of live or holds one of them.
func InUse(p string, live []string) bool {
	p = filepath.Clean(p)
	for _, l := range live {
		l = filepath.Clean(l)
		if l == p || strings.HasPrefix(l, p+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// DiskUsage is the used fraction (0..1) of the file system holding path.
func DiskUsage(path string) (float64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", path, err)
	}
	if st.Blocks == 0 {
		return 0, nil
	}
	return float64(st.Blocks-st.Bfree) / float64(st.Blocks), nil
}
