package batch

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/frameworks/batch/api"
	"github.com/agoracluster/agora/frameworks/batch/run"
	"github.com/agoracluster/agora/frameworks/marathon/events"
	"github.com/agoracluster/agora/frameworks/sdk"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/store"
)

// Version is reported by /v1/info.
const Version = "0.1.0"

// Batch is the batch framework. One goroutine (the loop) owns every field below the "loop
// state" line; API handlers and SDK callbacks hand it closures (do).
type Batch struct {
	cfg  Config
	log  *zap.Logger
	now  func() time.Time
	rand *rand.Rand // run ids; used by the loop only

	st       store.Store
	sched    *sdk.Scheduler
	w        *writer
	out      *outbox // kills and the wish for offers
	launcher *outbox // launches and declines, after the writer wrote their tasks
	acks     *acker  // acknowledgements of status updates
	bus      *events.Bus
	metrics  *metrics
	// sandboxes finds tasks' sandboxes; nil when Config.FindSandboxes is off.
	sandboxes *sandboxes
	reqs      chan func()
	done      chan struct{} // closed when the loop ends

	mu          sync.Mutex // guards frameworkID
	frameworkID string

	// loop state
	jobs         map[string]*jobState
	runs         map[string]*run.Run // run id → run: active ones and the kept finished ones
	wantOffers   bool
	sandboxAsked map[string]bool     // tasks whose sandbox is being looked up
	dirtyRuns    map[string]*run.Run // runs to write at the next flushRuns
	pendingAcks  []*mesos.TaskStatus // terminal updates to acknowledge after the next flushRuns
}

// Option changes how New builds a Batch (tests inject a clock and a random source).
type Option func(*Batch)

// WithClock makes the framework read time from now.
func WithClock(now func() time.Time) Option { return func(b *Batch) { b.now = now } }

// WithRand makes the framework draw run ids from r.
func WithRand(r *rand.Rand) Option { return func(b *Batch) { b.rand = r } }

// New checks cfg and returns a Batch; it does no IO.
func New(cfg Config, log *zap.Logger, opts ...Option) (*Batch, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("batch: invalid config: %w", err)
	}
	if log == nil {
		log = zap.NewNop()
	}
	b := &Batch{
		cfg:      cfg,
		log:      log.Named("batch"),
		now:      time.Now,
		rand:     rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		w:        newWriter(),
		out:      newOutbox(),
		launcher: newOutbox(),
		acks:     newAcker(),
		metrics:  newMetrics(),
		reqs:     make(chan func()),
		done:     make(chan struct{}),
		jobs:     map[string]*jobState{},
		runs:     map[string]*run.Run{},

		sandboxAsked: map[string]bool{},
		dirtyRuns:    map[string]*run.Run{},
	}
	for _, o := range opts {
		o(b)
	}
	ecfg := events.DefaultConfig()
	ecfg.Now = func() time.Time { return b.now() }
	bus, err := events.NewBus(ecfg, b.log)
	if err != nil {
		return nil, fmt.Errorf("batch: %w", err)
	}
	b.bus = bus
	if cfg.FindSandboxes {
		b.sandboxes = newSandboxes(b)
	}
	return b, nil
}

// Run opens the state store in WorkDir, subscribes to the master and serves the REST API on
// ln until ctx is done; it returns nil then.
func (b *Batch) Run(ctx context.Context, ln net.Listener) error {
	st, err := store.OpenFile(b.cfg.WorkDir)
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("batch: open state: %w", err)
	}
	return b.RunWithStore(ctx, ln, st)
}

// RunWithStore is Run with the state in st.
func (b *Batch) RunWithStore(ctx context.Context, ln net.Listener, st store.Store) error {
	b.st = st
	if err := b.load(ctx); err != nil {
		_ = ln.Close()
		return fmt.Errorf("batch: load state: %w", err)
	}
	scfg := sdk.DefaultConfig()
	scfg.Masters = b.cfg.Masters
	scfg.Framework = &mesos.FrameworkInfo{
		User:            proto.String(b.cfg.User),
		Name:            proto.String(b.cfg.FrameworkName),
		FailoverTimeout: proto.Float64(b.cfg.FailoverTimeout.Seconds()),
		Checkpoint:      proto.Bool(true),
		Hostname:        proto.String(b.cfg.Hostname),
		WebuiUrl:        proto.String("http://" + b.leader()),
		Roles:           []string{b.cfg.Role},
		Capabilities:    b.cfg.capabilities(),
	}
	scfg.FrameworkIDStore = sdk.NewStoreIDStore(st, keyFrameworkID)
	scfg.KnownTasks = b.knownTasks
	scfg.AutoAcknowledge = false // the writer acknowledges once the update is on disk
	b.wantOffers = b.waiting(b.now())
	scfg.WantOffers = b.wantOffers
	sched, err := sdk.NewScheduler(scfg, &handler{b: b}, b.log)
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("batch: %w", err)
	}
	b.sched = sched
	if id, err := scfg.FrameworkIDStore.Load(ctx); err == nil {
		b.setFrameworkID(id)
	}

	srv := &http.Server{Handler: api.Handler(api.Options{Backend: backend{b}, Events: b.bus, Metrics: b.metrics.reg,
		MaxBodyBytes: b.cfg.MaxBodyBytes, Log: b.log}), ReadHeaderTimeout: 10 * time.Second}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { b.loop(gctx); return nil })
	g.Go(func() error { b.out.run(gctx, sched); return nil })
	g.Go(func() error { b.launcher.run(gctx, sched); return nil })
	g.Go(func() error { b.w.run(gctx, st, b.acks, b.log, b.done); return nil })
	g.Go(func() error { b.acks.run(gctx, sched, b.log); return nil })
	if b.sandboxes != nil {
		g.Go(func() error { b.sandboxes.run(gctx); return nil })
	}
	g.Go(func() error {
		err := sched.Run(gctx)
		if err != nil && gctx.Err() == nil {
			b.log.Error("scheduler stopped", zap.Error(err))
			return fmt.Errorf("batch: scheduler: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("batch: serve: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		b.bus.Close() // ends the event streams so that Shutdown does not wait for them
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		return nil
	})
	err = g.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (b *Batch) leader() string {
	return net.JoinHostPort(b.cfg.Hostname, strconv.Itoa(b.cfg.HTTPPort))
}

func (b *Batch) setFrameworkID(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.frameworkID = id
}

// FrameworkID returns the id the master gave the framework ("" before the first subscription).
func (b *Batch) FrameworkID() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.frameworkID
}

// doDurable runs f on the loop and waits until what it changed is written.
func (b *Batch) doDurable(ctx context.Context, f func()) error {
	var gen uint64
	if err := b.do(ctx, func() { f(); gen = b.flushRuns() }); err != nil {
		return err
	}
	if err := b.w.wait(gen); err != nil {
		return fmt.Errorf("%w: %w", api.ErrUnavailable, err)
	}
	return nil
}

// do runs f on the loop and waits for it; api.ErrUnavailable once the loop has ended.
func (b *Batch) do(ctx context.Context, f func()) error {
	ran := make(chan struct{})
	select {
	case b.reqs <- func() { f(); close(ran) }:
	case <-b.done:
		return fmt.Errorf("%w: the framework is stopping", api.ErrUnavailable)
	case <-ctx.Done():
		return ctx.Err()
	}
	<-ran
	return nil
}
