package marathon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/client"
	"github.com/agoracluster/agora/frameworks/ha"
	"github.com/agoracluster/agora/frameworks/marathon/api"
	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/autoscale"
	"github.com/agoracluster/agora/frameworks/marathon/callbacks"
	"github.com/agoracluster/agora/frameworks/marathon/events"
	"github.com/agoracluster/agora/frameworks/marathon/loop"
	"github.com/agoracluster/agora/frameworks/marathon/persist"
	"github.com/agoracluster/agora/frameworks/marathon/pod"
	"github.com/agoracluster/agora/frameworks/marathon/readiness"
	"github.com/agoracluster/agora/frameworks/marathon/tasks"
	"github.com/agoracluster/agora/frameworks/sdk"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/security/authn"
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
	return m, nil
}

// Run opens the state store in WorkDir, subscribes to the master and serves the REST API
// on ln until ctx is done; it returns nil then. The instance is always the leader.
func (m *Marathon) Run(ctx context.Context, ln net.Listener) error {
	st, err := store.OpenFile(m.cfg.WorkDir)
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("marathon: open state: %w", err)
	}
	return m.run(ctx, ln, st)
}

func (m *Marathon) run(ctx context.Context, ln net.Listener, st store.Store) error {
	t, err := m.startTerm(ctx, st, nil)
	if err != nil {
		_ = ln.Close()
		return err
	}
	hs := &ha.Handlers{Self: m.self()}
	hs.Lead(t.handler)
	return m.serve(ctx, ln, hs, t.run)
}

// RunHA runs the instance as one of several that share node's latch and state (--zk):
// while it leads, it loads the state, subscribes to the master and serves the REST API;
// while it follows, it proxies API calls to the leader. It returns nil when ctx is done.
func (m *Marathon) RunHA(ctx context.Context, ln net.Listener, node *ha.Node) error {
	ids := sdk.NewStoreIDStore(node.Store(), persist.KeyFrameworkID)
	storedID := func(ctx context.Context) string {
		id, _ := ids.Load(ctx) // "" before the first subscription
		return id
	}
	hs := &ha.Handlers{Self: m.self(), Follower: api.Follower(m.apiConfig(node), storedID, ha.Proxy(node, m.cfg.PeerTLS, m.log), m.log),
		Leading: node.Leading, StartWait: ha.StartWait}
	return m.serve(ctx, ln, hs, func(ctx context.Context) error {
		return node.Run(ctx, func(ctx context.Context, st store.Store) error {
			t, err := m.startTerm(ctx, st, node)
			if err != nil {
				return err
			}
			defer hs.Lead(t.handler)()
			return t.run(ctx)
		})
	})
}

func (m *Marathon) serve(ctx context.Context, ln net.Listener, h http.Handler, run func(context.Context) error) error {
	if err := ha.Serve(ctx, ln, m.cfg.AccessControlAllowOrigin.Wrap(protect(h, m.cfg)), run); err != nil {
		return fmt.Errorf("marathon: %w", err)
	}
	return nil
}

// self is the instance's advertised "http(s)://host:port".
func (m *Marathon) self() string {
	return ha.Scheme(m.cfg.PeerTLS) + "://" + net.JoinHostPort(m.cfg.Hostname, strconv.Itoa(m.cfg.HTTPPort))
}

// term is one term as the leader: the API's handler and the loop, scheduler and
// readiness checks to run.
type term struct {
	handler http.Handler
	run     func(ctx context.Context) error
}

// startTerm loads the state from st and builds the loop, the scheduler and the API; lead
// is nil for a single instance.
func (m *Marathon) startTerm(ctx context.Context, st store.Store, lead *ha.Node) (*term, error) {
	ecfg := events.DefaultConfig()
	ecfg.Now = m.now
	bus, err := events.NewBus(ecfg, m.log)
	if err != nil {
		return nil, fmt.Errorf("marathon: %w", err)
	}
	lctx, lcancel := context.WithCancel(ctx)
	lp, err := loop.New(lctx, loop.Config{
		Master:        m.cfg.Masters[0],
		WaitingRefuse: m.cfg.WaitingRefuse, IdleRefuse: m.cfg.IdleRefuse,
		TickInterval:   m.cfg.TickInterval,
		ServicePortMin: m.cfg.ServicePortMin, ServicePortMax: m.cfg.ServicePortMax,
		TaskLaunchTimeout: m.cfg.TaskLaunchTimeout, ReconciliationInterval: m.cfg.ReconciliationInterval,
	}, loop.Deps{
		Store: st, Writes: persist.NewStore(st, m.cfg.MaxVersions, m.log),
		Bus: bus, Log: m.log, Now: m.now, NewID: m.newID,
	})
	if err != nil {
		lcancel()
		bus.Close()
		return nil, fmt.Errorf("marathon: %w", err)
	}
	scfg := m.schedulerConfig(st)
	scfg.KnownTasks = lp.KnownTasks
	sched, err := sdk.NewScheduler(scfg, lp.SDKHandler(), m.log)
	if err != nil {
		lcancel()
		bus.Close()
		return nil, fmt.Errorf("marathon: %w", err)
	}
	if id, err := scfg.FrameworkIDStore.Load(ctx); err == nil {
		lp.SetFrameworkID(id)
	}
	acfg := m.apiConfig(lead)
	acfg.MesosLeaderURL = sched.MasterURL
	var cbs *callbacks.Service
	if m.cfg.EventSubscriber == "http_callback" {
		ccfg := callbacks.DefaultConfig()
		ccfg.Endpoints, ccfg.Now = m.cfg.HTTPEndpoints, m.now
		if cbs, err = callbacks.New(ccfg, st, bus, m.log); err != nil {
			lcancel()
			bus.Close()
			return nil, fmt.Errorf("marathon: %w", err)
		}
		acfg.Callbacks = cbs
	}
	var scaler *autoscale.Runner
	if m.cfg.AutoscaleInterval > 0 {
		if scaler, err = m.autoscaler(lp, sched, bus); err != nil {
			lcancel()
			bus.Close()
			return nil, fmt.Errorf("marathon: %w", err)
		}
		acfg.Autoscaling = scaler.Status
	}
	rest := api.New(acfg, lp, bus, m.log)
	return &term{handler: rest.Handler(), run: func(ctx context.Context) error {
		defer lcancel()
		g, gctx := errgroup.WithContext(ctx)
		if scaler != nil {
			g.Go(func() error { return scaler.Run(gctx, m.cfg.AutoscaleInterval) })
		}
		checks := readiness.NewRunner(gctx, m.cfg.MaxReadinessChecks)
		g.Go(func() error { checks.Wait(); return nil })
		if cbs != nil {
			g.Go(func() error { return cbs.Run(gctx) })
		}
		g.Go(func() error { return lp.Run(gctx, sched, checks) })
		g.Go(func() error {
			err := sched.Run(gctx)
			if err != nil && gctx.Err() == nil {
				m.log.Error("scheduler stopped", zap.Error(err))
			}
			return err
		})
		g.Go(func() error {
			<-gctx.Done()
			bus.Close() // ends the event streams so that the server's Shutdown does not wait
			return nil
		})
		err := g.Wait()
		if ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled)) {
			return nil
		}
		return err
	}}, nil
}

// autoscaler builds the autoscaling runner over the loop (apps, tasks, scaling), the
// subscribed master (where the agents are) and the agents' /monitor/statistics.
func (m *Marathon) autoscaler(lp *loop.Loop, sched *sdk.Scheduler, bus *events.Bus) (*autoscale.Runner, error) {
	hc := &http.Client{Timeout: 10 * time.Second}
	agentScheme := "http://"
	if m.cfg.MasterTLS != nil {
		hc.Transport = &http.Transport{TLSClientConfig: m.cfg.MasterTLS, Proxy: http.ProxyFromEnvironment}
		agentScheme = "https://"
	}
	// The load balancers' stats are read without Marathon's credentials (they are not the
	// cluster's servers).
	lbClient := hc
	var lbRequests func(context.Context) (map[string]int64, error)
	if len(m.cfg.AutoscaleLBURLs) > 0 {
		lbRequests = func(ctx context.Context) (map[string]int64, error) {
			return balancerRequests(ctx, lbClient, m.cfg.AutoscaleLBURLs)
		}
	}
	// The master's /slaves and the agents' statistics are reads: masters and agents with
	// --authenticate_http_readonly want Marathon's principal.
	hc = authn.Client(hc, m.cfg.Credential)
	return autoscale.NewRunner(autoscale.Deps{
		LBRequests: lbRequests,
		Targets: func(ctx context.Context) ([]autoscale.Target, error) {
			var out []autoscale.Target
			err := lp.Do(ctx, func(tx *loop.Tx) { out = autoscaleTargets(tx.View(), m.log) })
			return out, err
		},
		Agents: func(ctx context.Context) (map[string]string, error) {
			base := sched.MasterURL()
			if base == "" {
				return nil, errors.New("not subscribed to a master")
			}
			mc, err := client.NewMaster(base, hc)
			if err != nil {
				return nil, err
			}
			agents, err := mc.Agents(ctx)
			if err != nil {
				return nil, err
			}
			urls := make(map[string]string, len(agents))
			for _, a := range agents {
				urls[a.ID] = agentScheme + a.Addr()
			}
			return urls, nil
		},
		Statistics: func(ctx context.Context, agentURL string) ([]client.ExecutorStatistics, error) {
			ac, err := client.NewAgent(agentURL, hc)
			if err != nil {
				return nil, err
			}
			return ac.Statistics(ctx)
		},
		Scale: func(ctx context.Context, d autoscale.Decision) error {
			var (
				deployed loop.Deployed
				err      error
			)
			if derr := lp.Do(ctx, func(tx *loop.Tx) { deployed, err = scaleTo(tx, d) }); derr != nil {
				return derr
			}
			if err != nil {
				return err
			}
			bus.Publish(events.NewAutoscale(d.AppID, d.From, d.To, d.Reason, d.CPU, d.Mem, deployed.DeploymentID, m.now()))
			return nil
		},
		Now: m.now,
		Log: m.log.Named("autoscale"),
	})
}

// balancerRequests sums, by app id, the requests (HTTP requests and TCP connections) the
// load balancers at urls counted on all their frontends (GET /_lb/stats).
func balancerRequests(ctx context.Context, hc *http.Client, urls []string) (map[string]int64, error) {
	out := map[string]int64{}
	for _, u := range urls {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u+"/_lb/stats", nil)
		if err != nil {
			return nil, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, err
		}
		var stats struct {
			Frontends []struct {
				AppID string `json:"app_id"`
				Total int64  `json:"total"`
			} `json:"frontends"`
		}
		err = json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&stats)
		_ = resp.Body.Close()
		switch {
		case resp.StatusCode != http.StatusOK:
			return nil, fmt.Errorf("%s/_lb/stats: %s", u, resp.Status)
		case err != nil:
			return nil, fmt.Errorf("%s/_lb/stats: %w", u, err)
		}
		for _, f := range stats.Frontends {
			out[f.AppID] += f.Total
		}
	}
	return out, nil
}

// scaleTo applies an autoscaling decision as a deployment: the app's instances, or the
// pod's scaling.instances.
func scaleTo(tx *loop.Tx, d autoscale.Decision) (loop.Deployed, error) {
	if rec := tx.View().PodRecord(d.AppID); rec != nil {
		p := *rec.Pod
		p.Scaling.Instances = d.To
		_, _, deployed, err := tx.UpdatePod(&p, false, loop.Origin{IP: "autoscaler", URI: "/v2/pods" + d.AppID})
		return deployed, err
	}
	body := fmt.Appendf(nil, `{"instances":%d}`, d.To)
	return tx.UpdateApp(d.AppID, body, loop.UpdateMode{Merge: true}, false, loop.Origin{IP: "autoscaler", URI: "/v2/apps" + d.AppID})
}

// autoscaleTargets lists the apps and pods whose labels configure autoscaling, with the
// executors of their running instances; one with invalid labels (stored before they were
// validated) is logged and left alone.
func autoscaleTargets(v loop.View, log *zap.Logger) []autoscale.Target {
	deploying := v.Deploying()
	var out []autoscale.Target
	add := func(a *app.App) {
		p, err := autoscale.PolicyFromLabels(a.Labels)
		if err != nil {
			log.Warn("not autoscaled: invalid labels", zap.String("app", a.ID), zap.Error(err))
			return
		}
		if p == nil {
			return
		}
		t := autoscale.Target{AppID: a.ID, Pod: a.Pod != nil, Policy: *p, Instances: a.Instances, Executors: map[string]string{}}
		_, t.Deploying = deploying[a.ID]
		for _, task := range v.TasksOf(a.ID) {
			if task.State != tasks.StateRunning || task.Killing {
				continue
			}
			executor := task.ID
			if t.Pod {
				executor = pod.ExecutorID(task.ID)
			}
			t.Executors[executor] = task.AgentID
		}
		out = append(out, t)
	}
	for _, id := range v.AppIDs() {
		add(v.App(id))
	}
	for _, id := range v.PodIDs() {
		add(v.PodRecord(id))
	}
	return out
}

// apiConfig is what the REST API reports; lead is nil for a single instance.
func (m *Marathon) apiConfig(lead *ha.Node) api.Config {
	cfg := api.Config{
		MaxBodyBytes: m.cfg.MaxBodyBytes, Hostname: m.cfg.Hostname, HTTPPort: m.cfg.HTTPPort,
		Masters: m.cfg.Masters, FrameworkName: m.cfg.FrameworkName, FailoverTimeout: m.cfg.FailoverTimeout,
		Role: m.cfg.Role, User: m.cfg.User, ServicePortMin: m.cfg.ServicePortMin, ServicePortMax: m.cfg.ServicePortMax,
		DeclineOfferDuration: m.cfg.IdleRefuse, MaxVersions: m.cfg.MaxVersions,
		WebUIURL: m.cfg.webUIURL(), TaskLaunchTimeout: m.cfg.TaskLaunchTimeout,
		ReconciliationInterval: m.cfg.ReconciliationInterval, Features: m.cfg.features(),
		LeaderProxyConnectTimeout: ha.ProxyDialTimeout,
	}
	if lead != nil {
		cfg.Leadership = lead
	}
	return cfg
}

// schedulerConfig is the SDK's configuration: the framework as the master sees it.
func (m *Marathon) schedulerConfig(st store.Store) sdk.Config {
	scfg := sdk.DefaultConfig()
	scfg.Masters = m.cfg.Masters
	scfg.Credential = m.cfg.Credential
	scfg.TLS = m.cfg.MasterTLS
	scfg.Framework = &mesos.FrameworkInfo{
		User:            proto.String(m.cfg.User),
		Name:            proto.String(m.cfg.FrameworkName),
		FailoverTimeout: proto.Float64(m.cfg.FailoverTimeout.Seconds()),
		Checkpoint:      proto.Bool(true),
		Hostname:        proto.String(m.cfg.Hostname),
		WebuiUrl:        proto.String(m.cfg.webUIURL()),
		Roles:           []string{m.cfg.Role},
		Capabilities:    m.cfg.capabilities(),
	}
	scfg.FrameworkIDStore = sdk.NewStoreIDStore(st, persist.KeyFrameworkID)
	scfg.WantOffers = true
	scfg.AutoAcknowledge = false // the loop's acker acknowledges recorded updates
	return scfg
}

// protect puts the REST API behind --http_credentials (HTTP Basic, realm --http_realm);
// /ping stays open for load balancers' health checks.
func protect(h http.Handler, cfg Config) http.Handler {
	return authn.Protect(h, cfg.HTTPCredentials, cfg.HTTPRealm, func(r *http.Request) bool { return r.URL.Path == "/ping" })
}
