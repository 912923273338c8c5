package loop

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/constraints"
	"github.com/agoracluster/agora/frameworks/marathon/events"
	"github.com/agoracluster/agora/frameworks/marathon/groups"
	"github.com/agoracluster/agora/frameworks/marathon/health"
	"github.com/agoracluster/agora/frameworks/marathon/launchqueue"
	"github.com/agoracluster/agora/frameworks/marathon/persist"
	"github.com/agoracluster/agora/frameworks/marathon/readiness"
	"github.com/agoracluster/agora/frameworks/marathon/tasks"
	"github.com/agoracluster/agora/frameworks/sdk"
	"github.com/agoracluster/agora/store"
)

// ErrStopped is returned to requests once the loop has ended.
var ErrStopped = errors.New("marathon: stopped")

// Loop is the framework loop. One goroutine (run by Run) owns the state; the API and the
// SDK's callbacks hand it functions.
type Loop struct {
	cfg    Config
	log    *zap.Logger
	now    func() time.Time
	newID  func() string
	st     store.Store
	db     *persist.Store
	bus    *events.Bus
	out    *outbox
	acks   *acker
	writer *persist.Writer // writes task records behind the loop
	reqs   chan func()
	done   chan struct{} // closed when the loop ends

	mu          sync.Mutex // guards frameworkID, which /v2/info reads without the loop
	frameworkID string

	// Loop state: the loop goroutine's only.
	ctx                context.Context    // Run's
	checks             *readiness.Tracker // readiness checks in flight (set by Run)
	health             *health.Schedule   // the framework-side health checks' schedule
	prober             healthProber       // runs them (set by Run)
	s                  state
	wantOffers         bool
	reconcilePending   bool // a status update changed the state; reconcile soon
	needRevive         bool
	lastStaleReconcile time.Time
	lastReconcile      time.Time // the last periodic implicit reconciliation
}

// New reads the framework state from deps.Store and returns a Loop that owns it.
func New(ctx context.Context, cfg Config, deps Deps) (*Loop, error) {
	if err := errors.Join(cfg.Validate(), deps.validate()); err != nil {
		return nil, fmt.Errorf("loop: invalid config: %w", err)
	}
	s, err := load(ctx, deps.Store)
	if err != nil {
		return nil, fmt.Errorf("load state: %w", err)
	}
	l := &Loop{
		cfg: cfg, log: deps.Log, now: deps.Now, newID: deps.NewID, st: deps.Store, db: deps.Writes, bus: deps.Bus,
		out: newOutbox(), acks: newAcker(), writer: persist.NewWriter(),
		reqs: make(chan func()), done: make(chan struct{}), ctx: ctx,
		s: s, wantOffers: true, health: health.NewSchedule(),
	}
	l.log.Info("state loaded", zap.Int("apps", len(s.apps)), zap.Int("deployments", len(s.deployments)), zap.Int("tasks", s.tasks.Len()))
	return l, nil
}

// load reads the state back from the store.
func load(ctx context.Context, st store.Store) (state, error) {
	s := state{
		apps: map[string]*app.App{}, deployments: map[string]*Deployment{}, tasks: tasks.NewIndex(nil),
		queue: map[string]*launchqueue.Entry{}, backoff: launchqueue.NewBackoff(), failures: map[string]*TaskFailure{},
		agents: map[string]constraints.Agent{}, expunged: map[string]bool{}, metas: map[string]groups.Meta{},
		draining:   map[string]bool{},
		eventPlans: map[string]events.Plan{},
	}
	if err := persist.LoadAll(ctx, st, persist.KeyApps, func(a *app.App) { s.apps[a.ID] = a }); err != nil {
		return state{}, err
	}
	if err := persist.LoadAll(ctx, st, persist.KeyDeployments, func(d *Deployment) { s.deployments[d.Plan.ID] = d }); err != nil {
		return state{}, err
	}
	if err := persist.LoadAll(ctx, st, persist.KeyTasks, func(t *tasks.Task) { s.tasks.Add(t) }); err != nil {
		return state{}, err
	}
	if err := persist.LoadAll(ctx, st, persist.KeyGroups, func(g *groups.Meta) { s.metas[g.ID] = *g }); err != nil {
		return state{}, err
	}
	return s, nil
}

// Run runs the loop and its helpers (the outbox and the acker, which talk to the master
// through sched, and the task writer) until ctx is done; readiness checks start on
// checks. It returns once they have all ended.
func (l *Loop) Run(ctx context.Context, sched *sdk.Scheduler, checks *readiness.Runner) error {
	l.ctx = ctx
	l.checks = readiness.NewTracker(checks)
	prober := health.NewProber(ctx, maxHealthProbes)
	l.prober = prober
	var g errgroup.Group
	g.Go(func() error { prober.Wait(); return nil })
	g.Go(func() error { l.loop(ctx); return nil })
	g.Go(func() error { l.out.run(ctx, sched, l.log); return nil })
	g.Go(func() error { l.acks.run(ctx, sched, l.log); return nil })
	g.Go(func() error { l.writer.Run(ctx, l.st, l.log, l.done); return nil })
	return g.Wait()
}

// SetFrameworkID records the framework id (loaded at start or given by the master).
func (l *Loop) SetFrameworkID(id string) {
	l.mu.Lock()
	l.frameworkID = id
	l.mu.Unlock()
}

// FrameworkID is the framework id; "" before the first subscription.
func (l *Loop) FrameworkID() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.frameworkID
}

// loop owns the framework state until ctx is done.
func (l *Loop) loop(ctx context.Context) {
	defer close(l.done)
	tick := time.NewTicker(l.cfg.TickInterval)
	defer tick.Stop()
	soon := time.NewTimer(time.Hour)
	soon.Stop()
	defer soon.Stop()
	armed := false
	l.reconcile()
	for {
		select {
		case <-ctx.Done():
			return
		case f := <-l.reqs:
			f()
		case <-tick.C:
			l.tick()
		case <-soon.C:
			armed = false
			l.flushReconcile()
		}
		if l.reconcilePending && !armed {
			soon.Reset(reconcileDelay)
			armed = true
		}
	}
}

// reconcileDelay is how long a reconciliation asked for by a status update may wait, so
// that the updates that arrive meanwhile share it.
const reconcileDelay = 5 * time.Millisecond

// reconcileSoon asks for a reconciliation within reconcileDelay; everything but status
// updates reconciles first (see do), so nothing else ever sees the state unreconciled.
func (l *Loop) reconcileSoon() { l.reconcilePending = true }

// flushReconcile reconciles if a status update asked for it.
func (l *Loop) flushReconcile() {
	if l.reconcilePending {
		l.reconcile()
	}
}

// Do runs f on the loop goroutine with a Tx over the state, after any reconciliation a
// status update asked for, and waits for it. f must not keep the Tx, nor anything it
// reads through it, past its return.
func (l *Loop) Do(ctx context.Context, f func(*Tx)) error {
	return l.do(ctx, func() { f(&Tx{l: l}) })
}

// do runs f on the loop goroutine, after any reconciliation a status update asked for,
// and waits for it.
func (l *Loop) do(ctx context.Context, f func()) error {
	return l.doDeferred(ctx, func() { l.flushReconcile(); f() })
}

// doDeferred runs f on the loop goroutine without reconciling first and waits for it.
func (l *Loop) doDeferred(ctx context.Context, f func()) error {
	finished := make(chan struct{})
	wrapped := func() { defer close(finished); f() }
	select {
	case l.reqs <- wrapped:
	case <-l.done:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-finished:
		return nil
	case <-l.done:
		return ErrStopped
	}
}
