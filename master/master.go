package master

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/master/httpapi"
	"github.com/agoracluster/agora/master/ledger"
	"github.com/agoracluster/agora/master/registry"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/store"
	"github.com/agoracluster/agora/ui"
)

// Version is the default Config.Version.
const Version = "dev"

// Master is the Agora master process: while it leads it owns the ledger (package
// ledger) through one loop goroutine, persists what the ledger hands out in the
// registry (package registry) and serves the HTTP APIs (package httpapi). A
// standalone master (New) leads alone with its registry in files; a master in
// ZooKeeper (NewHA) contends for the lead and is a standby until it wins.
type Master struct {
	cfg   Config
	log   *zap.Logger
	clock ledger.Clock
	reg   *registry.Registry // the standalone master's registry; nil in HA mode
	ha    *HA                // nil for a standalone master
	sec   *security

	mu          sync.Mutex
	info        *mesos.MasterInfo // set by Run
	term        *term             // the term this master leads; nil while standby
	termChanged chan struct{}     // closed and replaced when term changes
	leader      *mesos.MasterInfo // HA: the leader the detector saw last; nil if none
	ended       chan struct{}     // closed when Run returns
}

// term is one period of leadership: a ledger recovered from the registry, the
// loop that owns it and the HTTP surface over it. Closing stop ends its streams.
type term struct {
	loop *loop
	mux  *http.ServeMux
	stop chan struct{}
}

// New returns a standalone master with its registry opened under cfg.WorkDir.
func New(cfg Config, log *zap.Logger) (*Master, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	dir := filepath.Join(cfg.WorkDir, "registry")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("master: create registry dir: %w", err)
	}
	st, err := store.OpenFile(dir)
	if err != nil {
		return nil, fmt.Errorf("master: open registry: %w", err)
	}
	m, err := newMaster(cfg, log)
	if err != nil {
		return nil, err
	}
	m.reg = registry.New(st, registry.DefaultTimeout)
	return m, nil
}

func newMaster(cfg Config, log *zap.Logger) (*Master, error) {
	sec, err := loadSecurity(cfg, log.Named("master"))
	if err != nil {
		return nil, err
	}
	return &Master{cfg: cfg, log: log.Named("master"), clock: realClock{}, sec: sec,
		termChanged: make(chan struct{}), ended: make(chan struct{})}, nil
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// Run serves the master on ln until ctx is done; it returns nil on cancellation.
// A standalone master leads at once; a master in ZooKeeper contends and leads
// while it is elected (see NewHA).
func (m *Master) Run(ctx context.Context, ln net.Listener) error {
	info, err := m.masterInfo(ln.Addr())
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.info = info
	m.mu.Unlock()
	defer close(m.ended)

	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	m.sec.watch(runCtx)
	run := func() error { return m.runHA(runCtx, info) }
	if m.ha == nil {
		// A standalone master recovers before it serves, and leads at once.
		t, l, err := m.startTerm(ctx, m.reg, nil)
		if err != nil {
			return err
		}
		m.setTerm(t)
		run = func() error {
			m.runTerm(runCtx, t, l)
			return nil
		}
	}

	routes, err := m.routes()
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: m.cfg.AccessControlAllowOrigin.Wrap(routes), ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		serveErr <- srv.Serve(ln)
	}()
	runDone := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		runDone <- run()
	}()

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			runErr = fmt.Errorf("master: serve: %w", err)
		}
	case err := <-runDone:
		runErr = err
		runDone <- err // for the wait below
	}
	cancelRun()
	if err := <-runDone; err != nil && runErr == nil {
		runErr = err
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
	}
	cancel()
	wg.Wait()
	return runErr
}

// lead recovers a ledger from reg and leads with it until ctx is done (see
// startTerm and runTerm).
func (m *Master) lead(ctx context.Context, reg *registry.Registry, deposed func()) error {
	t, l, err := m.startTerm(ctx, reg, deposed)
	if err != nil {
		return err
	}
	m.runTerm(ctx, t, l)
	return nil
}

// startTerm recovers a ledger from reg and makes the term that leads with it:
// its loop and HTTP surface. deposed, if set, is called when a registry write is
// fenced (another master leads).
func (m *Master) startTerm(ctx context.Context, reg *registry.Registry, deposed func()) (*term, *ledger.Ledger, error) {
	m.mu.Lock()
	info := m.info
	m.mu.Unlock()
	agents, fws, err := reg.Load(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("master: recover registry: %w", err)
	}
	weights, quotas, err := reg.LoadRoles(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("master: recover registry: %w", err)
	}
	maint, err := reg.LoadMaintenance(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("master: recover registry: %w", err)
	}
	gone, err := reg.LoadGoneAgents(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("master: recover registry: %w", err)
	}
	now := m.clock.Now()
	lcfg := m.cfg.ledger()
	lcfg.ACLs = m.sec.aclsFunc()
	l := ledger.New(lcfg, m.clock, info, rand.New(rand.NewPCG(uint64(now.UnixNano()), 0)))
	l.RecoverRoles(weights, quotas)
	l.RecoverMaintenance(maint.Schedule, maint.Machines)
	l.RecoverGoneAgents(gone)
	l.Recover(agents, fws)
	lp := newLoop(m.cfg.AllocationInterval, m.cfg.AllocationBatch, m.clock, reg, m.log)
	lp.deposed = deposed
	_ = lp.carryOut(l) // the loop goroutine is not running yet
	metrics := httpapi.NewMetrics(lp)
	lp.observeAllocation = metrics.ObserveAllocation
	t := &term{loop: lp, mux: http.NewServeMux(), stop: make(chan struct{})}
	hcfg := m.cfg.httpapi()
	hcfg.Security = m.sec.httpapi(m.cfg)
	srv := httpapi.New(hcfg, lp, metrics, t.stop, m.log.Named("http"))
	lp.publishOperator = srv.PublishOperatorEvents
	srv.Register(t.mux)
	m.log.Info("leading", zap.String("id", info.GetId()), zap.String("pid", info.GetPid()),
		zap.Int("recovered_agents", len(agents)), zap.Int("recovered_frameworks", len(fws)))
	return t, l, nil
}

// runTerm serves t until ctx is done. When it returns the term is over: its
// loop has stopped and its streams are closed.
func (m *Master) runTerm(ctx context.Context, t *term, l *ledger.Ledger) {
	m.setTerm(t)
	t.loop.run(ctx, l)
	m.setTerm(nil)
	close(t.stop)
}

func (m *Master) setTerm(t *term) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.term = t
	close(m.termChanged)
	m.termChanged = make(chan struct{})
}

// currentTerm returns the term this master leads (nil while standby) and a
// channel closed when that changes.
func (m *Master) currentTerm() (*term, <-chan struct{}) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.term, m.termChanged
}

// Do runs f on the ledger of the term this master leads, waiting for it to lead
// if it does not yet; for tests and tools in process.
func (m *Master) Do(ctx context.Context, f func(*ledger.Ledger)) error {
	for {
		t, changed := m.currentTerm()
		if t != nil {
			return t.loop.Do(ctx, f)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Leading reports whether the master leads now.
func (m *Master) Leading() bool {
	t, _ := m.currentTerm()
	return t != nil
}

// routes serves the APIs (the term's while leading, redirects to the leader while
// standby) and the master's own endpoints: health, the leader's address and the web UI
// (which a standby serves too; its API calls are redirected to the leader).
func (m *Master) routes() (http.Handler, error) {
	mux := http.NewServeMux()
	webUI, err := ui.New()
	if err != nil {
		return nil, fmt.Errorf("master: %w", err)
	}
	webUI.Register(mux, m.leaderOnly)
	mux.HandleFunc("/health", m.handleHealth)
	mux.HandleFunc("/master/health", m.handleHealth)
	mux.HandleFunc("/redirect", m.handleRedirect)
	mux.HandleFunc("/master/redirect", m.handleRedirect)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		for {
			t, changed := m.currentTerm()
			if t != nil {
				t.mux.ServeHTTP(w, r)
				return
			}
			if m.ha != nil {
				m.serveStandby(w, r)
				return
			}
			// A standalone master leads as soon as Run has recovered it.
			select {
			case <-changed:
			case <-m.ended:
				http.Error(w, "Master is shutting down", http.StatusServiceUnavailable)
				return
			case <-r.Context().Done():
				return
			}
		}
	})
	return httpapi.Secure(m.sec.httpapi(m.cfg), mux), nil
}

// leaderOnly serves h while this master leads (a standalone master always does) and
// redirects to the leader while it is a standby: the web UI's page then talks to the
// leader on its own origin.
func (m *Master) leaderOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m.ha != nil && !m.Leading() {
			m.redirectToLeader(w, r, r.URL.Path)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (m *Master) handleHealth(w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusOK)
}

// handleRedirect answers 307 to the leading master: this one while it leads, the
// elected one while it is a standby (503 while none is).
func (m *Master) handleRedirect(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	info := m.info
	leading := m.term != nil || m.ha == nil
	m.mu.Unlock()
	if !leading {
		m.redirectToLeader(w, r, "/")
		return
	}
	host := r.Host
	if info != nil {
		host = net.JoinHostPort(info.GetAddress().GetHostname(), strconv.Itoa(int(info.GetPort())))
	}
	w.Header().Set("Location", "//"+host+"/")
	w.WriteHeader(http.StatusTemporaryRedirect)
}
