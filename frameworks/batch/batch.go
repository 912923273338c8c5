package batch

import (
	"context"
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
	"github.com/agoracluster/agora/frameworks/ha"
	"github.com/agoracluster/agora/frameworks/marathon/events"
	"github.com/agoracluster/agora/frameworks/sdk"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/security/authn"
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
	node     *ha.Node // the leader latch (--zk); nil for a single instance
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
	// runPages counts the task pages stored beyond each run's header record, and pageSums
	// holds a checksum of each page last handed to the writer, so that an unchanged page (of
	// finished tasks) is not written again.
	runPages    map[string]int
	pageSums    map[string]uint64
	pendingAcks []*mesos.TaskStatus // terminal updates to acknowledge after the next flushRuns
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
		runPages:     map[string]int{},
		pageSums:     map[string]uint64{},
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
	h, run, err := b.start(ctx, st)
	if err != nil {
		_ = ln.Close()
		return err
	}
	hs := &ha.Handlers{Self: ha.Scheme(b.cfg.PeerTLS) + "://" + b.self()}
	hs.Lead(h)
	if err := ha.Serve(ctx, ln, b.cfg.AccessControlAllowOrigin.Wrap(protect(hs, b.cfg)), run); err != nil {
		return fmt.Errorf("batch: %w", err)
	}
	return nil
}

// RunHA runs batch as one of several instances that share node's latch and state (--zk):
// each time this one is elected, a new Batch (New with cfg and opts) loads the state,
// subscribes to the master and serves the REST API until the lead is lost; meanwhile the
// instance proxies API calls to the leader. It returns nil when ctx is done.
func RunHA(ctx context.Context, cfg Config, log *zap.Logger, ln net.Listener, node *ha.Node, opts ...Option) error {
	if err := cfg.Validate(); err != nil {
		_ = ln.Close()
		return fmt.Errorf("batch: invalid config: %w", err)
	}
	if log == nil {
		log = zap.NewNop()
	}
	hs := &ha.Handlers{
		Self:     ha.Scheme(cfg.PeerTLS) + "://" + node.Address(),
		Follower: api.Follower(node.Leader, ha.Proxy(node, cfg.PeerTLS, log.Named("batch")), log.Named("batch")),
		Leading:  node.Leading, StartWait: ha.StartWait,
	}
	err := ha.Serve(ctx, ln, cfg.AccessControlAllowOrigin.Wrap(protect(hs, cfg)), func(ctx context.Context) error {
		return node.Run(ctx, func(ctx context.Context, st store.Store) error {
			b, err := New(cfg, log, opts...)
			if err != nil {
				return err
			}
			b.node = node
			h, run, err := b.start(ctx, st)
			if err != nil {
				return err
			}
			defer hs.Lead(h)()
			return run(ctx)
		})
	})
	if err != nil {
		return fmt.Errorf("batch: %w", err)
	}
	return nil
}

// start loads the state from st and builds the scheduler and the API's handler; run runs
// the loop, its helpers and the scheduler until ctx ends (nil then) or one fails.
func (b *Batch) start(ctx context.Context, st store.Store) (http.Handler, func(context.Context) error, error) {
	b.st = st
	if err := b.load(ctx); err != nil {
		return nil, nil, fmt.Errorf("batch: load state: %w", err)
	}
	scfg := sdk.DefaultConfig()
	scfg.Masters = b.cfg.Masters
	scfg.Credential = b.cfg.Credential
	scfg.TLS = b.cfg.MasterTLS
	scfg.Framework = &mesos.FrameworkInfo{
		User:            proto.String(b.cfg.User),
		Name:            proto.String(b.cfg.FrameworkName),
		FailoverTimeout: proto.Float64(b.cfg.FailoverTimeout.Seconds()),
		Checkpoint:      proto.Bool(true),
		Hostname:        proto.String(b.cfg.Hostname),
		WebuiUrl:        proto.String(ha.Scheme(b.cfg.PeerTLS) + "://" + b.self()),
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
		return nil, nil, fmt.Errorf("batch: %w", err)
	}
	b.sched = sched
	if id, err := scfg.FrameworkIDStore.Load(ctx); err == nil {
		b.setFrameworkID(id)
	}
	opts := api.Options{Backend: backend{b}, Events: b.bus, Metrics: b.metrics.reg,
		MaxBodyBytes: b.cfg.MaxBodyBytes, Log: b.log}
	if b.node != nil {
		opts.Abdicate = b.node.Abdicate
	}
	h := api.Handler(opts)
	return h, func(ctx context.Context) error {
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
			<-gctx.Done()
			b.bus.Close() // ends the event streams so that the server's Shutdown does not wait
			return nil
		})
		err := g.Wait()
		if ctx.Err() != nil {
			return nil
		}
		return err
	}, nil
}

// self is this instance's advertised "host:port".
func (b *Batch) self() string {
	return net.JoinHostPort(b.cfg.Hostname, strconv.Itoa(b.cfg.HTTPPort))
}

// leader is the leading instance's "host:port" ("" while none is known).
func (b *Batch) leader() string {
	if b.node == nil {
		return b.self()
	}
	l, err := b.node.Leader()
	if err != nil {
		return ""
	}
	return l
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

// protect puts the REST API behind --http_credentials (HTTP Basic, realm --http_realm);
// /ping stays open for load balancers' health checks.
func protect(h http.Handler, cfg Config) http.Handler {
	return authn.Protect(h, cfg.HTTPCredentials, cfg.HTTPRealm, func(r *http.Request) bool { return r.URL.Path == "/ping" })
}
