package marathon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/frameworks/marathon/api"
	"github.com/agoracluster/agora/frameworks/marathon/events"
	"github.com/agoracluster/agora/frameworks/marathon/loop"
	"github.com/agoracluster/agora/frameworks/marathon/persist"
	"github.com/agoracluster/agora/frameworks/marathon/readiness"
	"github.com/agoracluster/agora/frameworks/sdk"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/store"
)

// ErrStopped is returned to API requests once the loop has ended.
var ErrStopped = loop.ErrStopped

// Version is the Marathon version the REST API is compatible with.
const Version = api.Version

var _ api.Framework = (*loop.Loop)(nil)

// Marathon is the Marathon-compatible app framework: it wires the state store, the
// framework loop, the scheduler SDK, readiness checks, the event bus and the REST API
// together and runs them.
type Marathon struct {
	cfg   Config
	log   *zap.Logger
	now   func() time.Time
	newID func() string
	bus   *events.Bus
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
		cfg:   cfg,
		log:   log.Named("marathon"),
		now:   cfg.Now,
		newID: func() string { return uuid.NewString() },
	}
	if m.now == nil {
		m.now = time.Now
	}
	ecfg := events.DefaultConfig()
	ecfg.Now = m.now
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
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lp, err := loop.New(ctx, loop.Config{
		Master:        m.cfg.Masters[0],
		WaitingRefuse: m.cfg.WaitingRefuse, IdleRefuse: m.cfg.IdleRefuse,
		TickInterval:   m.cfg.TickInterval,
		ServicePortMin: m.cfg.ServicePortMin, ServicePortMax: m.cfg.ServicePortMax,
	}, loop.Deps{
		Store: st, Writes: persist.NewStore(st, m.cfg.MaxVersions, m.log),
		Bus: m.bus, Log: m.log, Now: m.now, NewID: m.newID,
	})
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("marathon: %w", err)
	}
	scfg := m.schedulerConfig(st)
	scfg.KnownTasks = lp.KnownTasks
	sched, err := sdk.NewScheduler(scfg, lp.SDKHandler(), m.log)
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("marathon: %w", err)
	}
	if id, err := scfg.FrameworkIDStore.Load(ctx); err == nil {
		lp.SetFrameworkID(id)
	}
	rest := api.New(api.Config{
		MaxBodyBytes: m.cfg.MaxBodyBytes, Hostname: m.cfg.Hostname, HTTPPort: m.cfg.HTTPPort,
		Masters: m.cfg.Masters, FrameworkName: m.cfg.FrameworkName, FailoverTimeout: m.cfg.FailoverTimeout,
		Role: m.cfg.Role, User: m.cfg.User, ServicePortMin: m.cfg.ServicePortMin, ServicePortMax: m.cfg.ServicePortMax,
		DeclineOfferDuration: m.cfg.IdleRefuse,
	}, lp, m.bus, m.log)
	srv := &http.Server{Handler: rest.Handler(), ReadHeaderTimeout: 10 * time.Second}

	g, gctx := errgroup.WithContext(ctx)
	checks := readiness.NewRunner(gctx, m.cfg.MaxReadinessChecks)
	g.Go(func() error { checks.Wait(); return nil })
	g.Go(func() error { return lp.Run(gctx, sched, checks) })
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

// schedulerConfig is the SDK's configuration: the framework as the master sees it.
func (m *Marathon) schedulerConfig(st store.Store) sdk.Config {
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
		Capabilities:    m.cfg.capabilities(),
	}
	scfg.FrameworkIDStore = sdk.NewStoreIDStore(st, persist.KeyFrameworkID)
	scfg.WantOffers = true
	scfg.AutoAcknowledge = false // the loop's acker acknowledges recorded updates
	return scfg
}
