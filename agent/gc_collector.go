package agent

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"
)

// The sandbox collector is the shell around the pure policy in gc.go: it holds the
// scheduled candidates, wakes up when the next one falls due or when the disk usage is
// due for another look (every DiskWatchInterval, as Mesos's --disk_watch_interval), and
// hands the due candidates to claim, which runs on the agent loop, leaves out what a live
// executor or framework uses and moves the rest out of the way (a rename); the collector
// then deletes what was moved, off the loop.

// gcClock is the collector's time source; tests use a fake.
type gcClock interface {
	Now() time.Time
	// At returns a channel that is closed once the clock reaches t, and a function that
	// releases it early.
	At(t time.Time) (<-chan struct{}, func())
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) At(t time.Time) (<-chan struct{}, func()) {
	ch := make(chan struct{})
	timer := time.AfterFunc(time.Until(t), func() { close(ch) })
	return ch, func() { timer.Stop() }
}

// gcPolicy is the collector's configuration.
type gcPolicy struct {
	Delay     time.Duration // Config.GCDelay
	Headroom  float64       // Config.GCDiskHeadroom
	DiskWatch time.Duration // Config.DiskWatchInterval
}

// sandboxCollector schedules and removes finished sandboxes. Create it with
// newSandboxCollector, feed it with schedule (from any goroutine) and run it on one owned
// goroutine.
type sandboxCollector struct {
	policy gcPolicy
	clock  gcClock
	log    *zap.Logger
	// usage is the disk usage (0..1) of the work dir's file system.
	usage func() (float64, error)
	// claim decides, on the agent loop, which paths of the due candidates may go and
	// returns what to delete (their new names once moved aside).
	claim func(ctx context.Context, due []gcCandidate) ([]string, error)
	// remove deletes one claimed path.
	remove func(path string) error

	mu    sync.Mutex
	cands map[string]gcCandidate // by their first path
	wake  chan struct{}
}

func newSandboxCollector(policy gcPolicy, clock gcClock, log *zap.Logger,
	usage func() (float64, error),
	claim func(context.Context, []gcCandidate) ([]string, error),
	remove func(string) error) *sandboxCollector {
	return &sandboxCollector{
		policy: policy, clock: clock, log: log, usage: usage, claim: claim, remove: remove,
		cands: make(map[string]gcCandidate),
		wake:  make(chan struct{}, 1),
	}
}

// schedule marks paths (removed together) as finished at finishedAt. Scheduling a path
// again replaces its earlier entry, so the latest finish counts.
func (g *sandboxCollector) schedule(finishedAt time.Time, paths ...string) {
	if len(paths) == 0 {
		return
	}
	g.mu.Lock()
	g.cands[paths[0]] = gcCandidate{Paths: paths, FinishedAt: finishedAt}
	g.mu.Unlock()
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// pending is the number of scheduled candidates.
func (g *sandboxCollector) pending() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.cands)
}

// run collects until ctx is done.
func (g *sandboxCollector) run(ctx context.Context) {
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
		timer, stop := g.clock.At(wakeAt)
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
func (g *sandboxCollector) takeDue(now time.Time, usage float64) ([]gcCandidate, time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	all := make([]gcCandidate, 0, len(g.cands))
	for _, c := range g.cands {
		all = append(all, c)
	}
	due, next := gcDue(all, now, g.policy.Delay, g.policy.Headroom, usage)
	for _, c := range due {
		delete(g.cands, c.Paths[0])
	}
	return due, next
}

func (g *sandboxCollector) readUsage(last float64) float64 {
	u, err := g.usage()
	if err != nil {
		g.log.Warn("cannot read the disk usage of the work dir; keeping the last value", zap.Error(err))
		return last
	}
	return u
}

func (g *sandboxCollector) collect(ctx context.Context, due []gcCandidate) {
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
