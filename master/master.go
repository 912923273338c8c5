package master

import (
	"context"
	"encoding/binary"
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

	"github.com/google/uuid"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

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
	cfg     Config
	log     *zap.Logger
	clock   ledger.Clock
	reg     *registry.Registry
	loop    *loop
	metrics *httpapi.Metrics
	api     *httpapi.Server

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
		cfg:     cfg,
		log:     log,
		clock:   clock,
		reg:     reg,
		loop:    lp,
		metrics: metrics,
		api:     httpapi.New(cfg.httpapi(), lp, metrics, stop),
		stop:    stop,
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
	l := ledger.New(m.cfg.ledger(), m.log, m.clock, info, rand.New(rand.NewPCG(uint64(m.clock.Now().UnixNano()), 0)))
	l.Recover(agents, fws)
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

// masterInfo describes this master with the advertised address.
func (m *Master) masterInfo(addr net.Addr) (*mesos.MasterInfo, error) {
	host, portStr, err := net.SplitHostPort(addr.String())
	if err != nil {
		return nil, fmt.Errorf("master: listener address %q: %w", addr, err)
	}
	port, _ := strconv.Atoi(portStr)
	if m.cfg.Port != 0 {
		port = m.cfg.Port
	}
	ip := m.cfg.IP
	if ip == "" {
		ip = host
	}
	hostname := m.cfg.Hostname
	if hostname == "" {
		if h, err := os.Hostname(); err == nil {
			hostname = h
		}
	}
	parsed := net.ParseIP(ip)
	if parsed == nil || parsed.IsUnspecified() {
		// Listening on every address: advertise the hostname's address, as Mesos does.
		parsed = hostIPv4(hostname)
		ip = parsed.String()
	}
	if hostname == "" {
		hostname = ip
	}
	var ipNum uint32
	if v4 := parsed.To4(); v4 != nil {
		// Mesos stores the in_addr as it lies in memory on a little-endian host.
		ipNum = binary.LittleEndian.Uint32(v4)
	}
	return &mesos.MasterInfo{
		Id:       proto.String(uuid.NewString()),
		Ip:       proto.Uint32(ipNum),
		Port:     proto.Uint32(uint32(port)),
		Pid:      proto.String(fmt.Sprintf("master@%s:%d", ip, port)),
		Hostname: proto.String(hostname),
		Version:  proto.String(m.cfg.Version),
		Address: &mesos.Address{
			Hostname: proto.String(hostname),
			Ip:       proto.String(ip),
			Port:     proto.Int32(int32(port)),
		},
	}, nil
}

// hostIPv4 is the first IPv4 address of hostname, or 127.0.0.1.
func hostIPv4(hostname string) net.IP {
	if hostname != "" {
		if ips, err := net.LookupIP(hostname); err == nil {
			for _, ip := range ips {
				if v4 := ip.To4(); v4 != nil {
					return v4
				}
			}
		}
	}
	return net.IPv4(127, 0, 0, 1).To4()
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
