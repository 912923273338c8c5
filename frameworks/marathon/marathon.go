package marathon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/constraints"
	"github.com/agoracluster/agora/frameworks/marathon/events"
	"github.com/agoracluster/agora/frameworks/marathon/groups"
	"github.com/agoracluster/agora/frameworks/marathon/launchqueue"
	"github.com/agoracluster/agora/frameworks/sdk"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
	"github.com/agoracluster/agora/store"
	"github.com/agoracluster/agora/workqueue"
)

// ErrStopped is returned to API requests once the loop has ended.
var ErrStopped = errors.New("marathon: stopped")

// Marathon is the Marathon-compatible app framework. One goroutine (the loop) owns every
// field below the "loop state" line; HTTP handlers and SDK callbacks hand it closures.
type Marathon struct {
	cfg   Config
	log   *zap.Logger
	now   func() time.Time
	newID func() string

	st     store.Store
	sched  *sdk.Scheduler
	out    *outbox
	acks   *acker      // acknowledges recorded status updates
	writer *taskWriter // writes task records behind the loop
	bus    *events.Bus
	reqs   chan func()
	done   chan struct{} // closed when the loop ends
	ctx    context.Context

	mu          sync.Mutex // guards frameworkID for /v2/info without the loop
	frameworkID string

	// loop state
	apps               map[string]*app.App
	deployments        map[string]*deployment
	tasks              *taskIndex
	queue              map[string]*queueEntry
	backoff            *launchqueue.Backoff
	failures           map[string]*taskFailure
	agents             map[string]constraints.Agent // agent id → hostname and attributes, from offers
	expunged           map[string]bool              // task ids forgotten; killed if they come back
	metas              map[string]groups.Meta       // group metadata (dependencies, empty groups)
	eventPlans         map[string]events.Plan       // deployment plans as events render them
	appJSON            map[string]*renderedApp      // app definitions rendered for GET responses
	readiness          *readinessState              // readiness checks in flight (set by run)
	versions           *versionIndex                // stored root versions (read on first use)
	wantOffers         bool
	reconcilePending   bool // a status update changed the state; reconcile soon
	needRevive         bool
	lastStaleReconcile time.Time
}

// New checks cfg and returns a Marathon; it does no IO.
func New(cfg Config, log *zap.Logger) (*Marathon, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("marathon: invalid config: %w", err)
	}
	if log == nil {
		log = zap.NewNop()
	}
	m := &Marathon{
		cfg:         cfg,
		log:         log.Named("marathon"),
		now:         time.Now,
		newID:       func() string { return uuid.NewString() },
		reqs:        make(chan func()),
		acks:        newAcker(),
		writer:      newTaskWriter(),
		done:        make(chan struct{}),
		apps:        map[string]*app.App{},
		deployments: map[string]*deployment{},
		tasks:       newTaskIndex(nil),
		queue:       map[string]*queueEntry{},
		backoff:     launchqueue.NewBackoff(),
		failures:    map[string]*taskFailure{},
		agents:      map[string]constraints.Agent{},
		expunged:    map[string]bool{},
		metas:       map[string]groups.Meta{},
		eventPlans:  map[string]events.Plan{},
		appJSON:     map[string]*renderedApp{},
	}
	ecfg := events.DefaultConfig()
	ecfg.Now = func() time.Time { return m.now() }
	bus, err := events.NewBus(ecfg, m.log)
	if err != nil {
		return nil, fmt.Errorf("marathon: %w", err)
	}
	m.bus = bus
	return m, nil
}

// Run opens the state store, subscribes to the master and serves the REST API on ln until
// ctx is done; it returns nil then.
func (m *Marathon) Run(ctx context.Context, ln net.Listener) error {
	st, err := store.OpenFile(m.cfg.WorkDir)
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("marathon: open state: %w", err)
	}
	return m.run(ctx, ln, st)
}

func (m *Marathon) run(ctx context.Context, ln net.Listener, st store.Store) error {
	m.st = st
	l, err := loadState(ctx, st)
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("marathon: load state: %w", err)
	}
	m.apps, m.deployments, m.tasks, m.metas = l.apps, l.deployments, newTaskIndex(l.tasks), l.metas
	m.log.Info("state loaded", zap.Int("apps", len(m.apps)), zap.Int("deployments", len(m.deployments)), zap.Int("tasks", m.tasks.len()))

	scfg := sdk.DefaultConfig()
	scfg.Masters = m.cfg.Masters
	scfg.Framework = &mesos.FrameworkInfo{
		User:            proto.String(m.cfg.User),
		Name:            proto.String(m.cfg.FrameworkName),
		FailoverTimeout: proto.Float64(m.cfg.FailoverTimeout.Seconds()),
		Checkpoint:      proto.Bool(true),
		Hostname:        proto.String(m.cfg.Hostname),
		WebuiUrl:        proto.String("http://" + net.JoinHostPort(m.cfg.Hostname, strconv.Itoa(m.cfg.HTTPPort))),
		Roles:           []string{m.cfg.Role},
		Capabilities: []*mesos.FrameworkInfo_Capability{
			{Type: mesos.FrameworkInfo_Capability_TASK_KILLING_STATE.Enum()},
			{Type: mesos.FrameworkInfo_Capability_PARTITION_AWARE.Enum()},
			{Type: mesos.FrameworkInfo_Capability_MULTI_ROLE.Enum()},
		},
	}
	scfg.FrameworkIDStore = sdk.NewStoreIDStore(st, keyFrameworkID)
	scfg.KnownTasks = m.knownTasks
	scfg.WantOffers = true
	scfg.AutoAcknowledge = false // see acker
	m.wantOffers = true
	sched, err := sdk.NewScheduler(scfg, &handler{m: m}, m.log)
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("marathon: %w", err)
	}
	m.sched = sched
	if id, err := scfg.FrameworkIDStore.Load(ctx); err == nil {
		m.setFrameworkID(id)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m.ctx = ctx
	m.out = newOutbox()
	srv := &http.Server{Handler: m.Handler(), ReadHeaderTimeout: 10 * time.Second}
	g, gctx := errgroup.WithContext(ctx)
	m.readiness = newReadinessState(newReadinessRunner(gctx, m.cfg.MaxReadinessChecks))
	g.Go(func() error { m.readiness.runner.wait(); return nil })
	g.Go(func() error { m.loop(gctx); return nil })
	g.Go(func() error { m.out.run(gctx, m); return nil })
	g.Go(func() error { m.acks.run(gctx, sched, m.log); return nil })
	g.Go(func() error { m.writer.run(gctx, st, m.log, m.done); return nil })
	g.Go(func() error {
		err := sched.Run(gctx)
		if err != nil && gctx.Err() == nil {
			m.log.Error("scheduler stopped", zap.Error(err))
		}
		return err
	})
	g.Go(func() error {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("marathon: serve: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		m.bus.Close() // ends the event streams so that Shutdown does not wait for them
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		_ = srv.Shutdown(sctx)
		return nil
	})
	err = g.Wait()
	if ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled)) {
		return nil
	}
	return err
}

func (m *Marathon) setFrameworkID(id string) {
	m.mu.Lock()
	m.frameworkID = id
	m.mu.Unlock()
}

func (m *Marathon) getFrameworkID() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.frameworkID
}

// loop owns the framework state until ctx is done.
func (m *Marathon) loop(ctx context.Context) {
	defer close(m.done)
	tick := time.NewTicker(m.cfg.TickInterval)
	defer tick.Stop()
	soon := time.NewTimer(time.Hour)
	soon.Stop()
	defer soon.Stop()
	armed := false
	m.reconcile()
	for {
		select {
		case <-ctx.Done():
			return
		case f := <-m.reqs:
			f()
		case <-tick.C:
			m.tick()
		case <-soon.C:
			armed = false
			m.flushReconcile()
		}
		if m.reconcilePending && !armed {
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
func (m *Marathon) reconcileSoon() { m.reconcilePending = true }

// flushReconcile reconciles if a status update asked for it.
func (m *Marathon) flushReconcile() {
	if m.reconcilePending {
		m.reconcile()
	}
}

// do runs f on the loop goroutine, after any reconciliation a status update asked for,
// and waits for it.
func (m *Marathon) do(ctx context.Context, f func()) error {
	return m.doDeferred(ctx, func() { m.flushReconcile(); f() })
}

// doDeferred runs f on the loop goroutine without reconciling first and waits for it.
func (m *Marathon) doDeferred(ctx context.Context, f func()) error {
	finished := make(chan struct{})
	wrapped := func() { defer close(finished); f() }
	select {
	case m.reqs <- wrapped:
	case <-m.done:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-finished:
		return nil
	case <-m.done:
		return ErrStopped
	}
}

// handler feeds SDK events into the loop.
type handler struct {
	sdk.NoopHandler
	m *Marathon
}

func (h *handler) Subscribed(ctx context.Context, _ *sdk.Scheduler, ev *scheduler.Event_Subscribed) {
	h.m.setFrameworkID(ev.GetFrameworkId().GetValue())
	_ = h.m.do(ctx, func() {
		h.m.publish(events.NewSchedulerRegistered(ev.GetFrameworkId().GetValue(), h.m.cfg.Masters[0], h.m.now()))
		h.m.needRevive = true
		h.m.reconcile()
	})
}

func (h *handler) Offers(ctx context.Context, s *sdk.Scheduler, offers []*mesos.Offer) {
	if err := h.m.do(ctx, func() { h.m.handleOffers(offers) }); err != nil {
		_ = s.DeclineOffers(ctx, offers, 0)
	}
}

func (h *handler) Update(ctx context.Context, _ *sdk.Scheduler, status *mesos.TaskStatus) {
	if err := h.m.doDeferred(ctx, func() { h.m.handleUpdate(status) }); err == nil {
		h.m.acks.push(status) // recorded: acknowledge it
	}
}

// knownTasks lists the tasks to reconcile explicitly after a subscription.
func (m *Marathon) knownTasks(ctx context.Context) []*scheduler.Call_Reconcile_Task {
	var out []*scheduler.Call_Reconcile_Task
	_ = m.do(ctx, func() {
		for _, t := range m.tasks.byID {
			out = append(out, sdk.ReconcileTask(t.ID, t.AgentID))
		}
	})
	return out
}

// outbox carries calls to the master in order, off the loop goroutine.
type outbox struct {
	calls *workqueue.Queue[func(ctx context.Context, s *sdk.Scheduler) error]
}

func newOutbox() *outbox {
	return &outbox{calls: workqueue.New[func(ctx context.Context, s *sdk.Scheduler) error]()}
}

func (o *outbox) push(f func(ctx context.Context, s *sdk.Scheduler) error) { o.calls.Push(f) }

func (o *outbox) run(ctx context.Context, m *Marathon) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-o.calls.Ready():
		}
		for calls := o.calls.Drain(); len(calls) > 0; calls = o.calls.Drain() {
			for _, c := range calls {
				if ctx.Err() != nil {
					return
				}
				if err := c(ctx, m.sched); err != nil {
					m.log.Warn("call to master failed", zap.Error(err))
				}
			}
		}
	}
}
