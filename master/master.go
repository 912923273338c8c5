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
)

// Version is the default Config.Version.
const Version = "dev"

// Master is the Agora master process: it owns the ledger (package ledger) through
// one loop goroutine, persists what the ledger hands out in the registry (package
// registry) and serves the HTTP APIs (package httpapi).
type Master struct {
	cfg   Config
	log   *zap.Logger
	clock ledger.Clock
	reg   *registry.Registry
	loop  *loop
	api   *httpapi.Server

	stop chan struct{} // closed when Run winds down: streams end

	mu   sync.Mutex
	info *mesos.MasterInfo // set by Run
}

// New returns a master with its registry opened under cfg.WorkDir.
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
	log = log.Named("master")
	clock := realClock{}
	reg := registry.New(st, registry.DefaultTimeout)
	lp := newLoop(cfg.AllocationInterval, cfg.AllocationBatch, clock, reg, log)
	metrics := httpapi.NewMetrics(lp)
	lp.observeAllocation = metrics.ObserveAllocation
	stop := make(chan struct{})
	return &Master{
		cfg:   cfg,
		log:   log,
		clock: clock,
		reg:   reg,
		loop:  lp,
		api:   httpapi.New(cfg.httpapi(), lp, metrics, stop),
		stop:  stop,
	}, nil
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// Run serves the master on ln until ctx is done; it returns nil on cancellation.
func (m *Master) Run(ctx context.Context, ln net.Listener) error {
	info, err := m.masterInfo(ln.Addr())
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.info = info
	m.mu.Unlock()
	agents, fws, err := m.reg.Load(ctx)
	if err != nil {
		return fmt.Errorf("master: recover registry: %w", err)
	}
	l := ledger.New(m.cfg.ledger(), m.clock, info, rand.New(rand.NewPCG(uint64(m.clock.Now().UnixNano()), 0)))
	l.Recover(agents, fws)
	m.loop.carryOut(l) // the loop goroutine is not running yet
	m.log.Info("master started", zap.String("id", info.GetId()), zap.String("address", ln.Addr().String()),
		zap.Int("recovered_agents", len(agents)), zap.Int("recovered_frameworks", len(fws)))

	loopCtx, cancelLoop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		m.loop.run(loopCtx, l)
	}()

	srv := &http.Server{Handler: m.routes(), ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		serveErr <- srv.Serve(ln)
	}()

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			runErr = fmt.Errorf("master: serve: %w", err)
		}
	}
	close(m.stop)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
	}
	cancel()
	cancelLoop()
	wg.Wait()
	return runErr
}

// routes serves the APIs and the master's own endpoints: health and the leader's
// address.
func (m *Master) routes() http.Handler {
	mux := http.NewServeMux()
	m.api.Register(mux)
	mux.HandleFunc("/health", m.handleHealth)
	mux.HandleFunc("/master/health", m.handleHealth)
	mux.HandleFunc("/redirect", m.handleRedirect)
	mux.HandleFunc("/master/redirect", m.handleRedirect)
	return mux
}

func (m *Master) handleHealth(w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusOK)
}

// handleRedirect answers with the leading master's address; this master always
// leads for now.
func (m *Master) handleRedirect(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	info := m.info
	m.mu.Unlock()
	host := r.Host
	if info != nil {
		host = net.JoinHostPort(info.GetAddress().GetHostname(), strconv.Itoa(int(info.GetPort())))
	}
	w.Header().Set("Location", "//"+host+"/")
	w.WriteHeader(http.StatusTemporaryRedirect)
}
