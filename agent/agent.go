package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/checkpoint"
	"github.com/agoracluster/agora/agent/clock"
	"github.com/agoracluster/agora/agent/containerizer"
	"github.com/agoracluster/agora/agent/gpu"
	"github.com/agoracluster/agora/agent/isolation"
	"github.com/agoracluster/agora/agent/registration"
	"github.com/agoracluster/agora/agent/sandbox"
	"github.com/agoracluster/agora/agent/statusupdate"
	"github.com/agoracluster/agora/agent/supervisor"
	"github.com/agoracluster/agora/agent/workload"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
	"github.com/agoracluster/agora/security/acl"
	"github.com/agoracluster/agora/security/authn"
	"github.com/agoracluster/agora/security/exectoken"
	"github.com/agoracluster/agora/security/policy"
)

// Agent is one Agora agent. Create it with New and run it with Run.
type Agent struct {
	tokens        *exectoken.Signer    // executors' tokens; nil without --authenticate_http_executors
	policy        *policy.Policy       // --http_credentials and --acls, kept current while Run runs
	authn         *authn.Authenticator // nil without --http_credentials
	acls          func() *acl.ACLs     // nil without --acls
	cfg           Config
	log           *zap.Logger
	clock         clock.Clock                 // time for the loop's timeouts, retries and timestamps
	containerizer containerizer.Containerizer // router, unless a test replaced it
	router        *containerizer.Router
	process       *containerizer.Process // the process containerizer, closed when Run ends
	hosted        *containerizer.Hosted  // hosted command executors, closed when Run ends
	// docker runs the command executors of DOCKER tasks; nil when not enabled or the engine
	// did not answer (set in Run before recovery).
	docker      *containerizer.Docker
	iso         *isolation.Isolator // cgroups; nil without (set in Run before any goroutine starts)
	gpus        *gpu.Allocator      // the GPUs handed out to containers (set in Run, first)
	ckpt        checkpoint.Store
	executorBin string
	master      *registration.Conn

	events   chan func()     // run on the loop goroutine
	loopDone chan struct{}   // closed when the loop has returned
	procCtx  context.Context // ends the executor supervisor's watchers
	procStop context.CancelFunc

	// Set once in Run before any goroutine starts.
	// info's resources change on the loop (CHECKPOINT_RESOURCES), which replaces it.
	info *mesos.AgentInfo // without id; the loop copies it
	// flagResources are the resources from the flags, before any checkpointed
	// reservation or volume is applied (reservations.go).
	flagResources resources.Resources
	endpoint      string // host:port executors reach the agent on
	bootID        string

	// Owned by the loop goroutine.
	st loopState

	// connected mirrors st.connected for /health without a round trip.
	connected atomic.Bool

	// sup starts, watches and stops the executor containers; set in Run before recovery.
	sup *supervisor.Supervisor
	// gc removes the sandboxes of finished executors (gc_agent.go); set before the loop starts.
	gc *sandboxGC
}

// loopState is every piece of mutable agent state; only the loop touches it.
type loopState struct {
	workload.State   // the frameworks, executors and tasks, and their status update streams
	masterAddr       string
	connected        bool
	stopping         bool
	retry            clock.Timer   // the next Tick of the status updates; nil when none is due
	retryAt          time.Time     // when retry fires
	stopped          chan struct{} // closed when stopping and every executor is gone
	shutdownByMaster bool
	// checkpointed are the agent's dynamic reservations and persistent volumes,
	// as the master last sent them (reservations.go).
	checkpointed resources.Resources
}

// New builds an agent. It does no IO beyond reading the host's properties.
func New(cfg Config, logger *zap.Logger) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// Executors run with their sandbox as working directory: every path handed to them
	// must be absolute.
	workDir, err := filepath.Abs(cfg.WorkDir)
	if err != nil {
		return nil, fmt.Errorf("agent: work_dir: %w", err)
	}
	cfg.WorkDir = workDir
	bin, err := cfg.executorBinary()
	if err != nil {
		return nil, fmt.Errorf("agent: executor binary: %w", err)
	}
	log := logger.Named("agent")
	procCtx, procStop := context.WithCancel(context.Background())
	a := &Agent{
		cfg:         cfg,
		log:         log,
		clock:       clock.Real{},
		ckpt:        checkpoint.Store{WorkDir: cfg.WorkDir},
		executorBin: bin,
		events:      make(chan func(), 1024),
		loopDone:    make(chan struct{}),
		procCtx:     procCtx,
		procStop:    procStop,
		st:          loopState{State: workload.NewState(cfg.StatusUpdate)},
	}
	if a.policy, err = policy.Load(policy.Flag{Name: "http_credentials", Value: cfg.HTTPCredentials},
		policy.Flag{Name: "acls", Value: cfg.ACLs}, log); err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	a.authn, a.acls = a.policy.Authenticator("mesos"), a.policy.ACLs()
	if cfg.AuthenticateHTTPExecutors {
		if a.tokens, err = exectoken.LoadOrCreate(filepath.Join(cfg.WorkDir, "meta", "executor_token_key")); err != nil {
			return nil, fmt.Errorf("agent: --authenticate_http_executors: %w", err)
		}
	}
	a.process = containerizer.NewProcess(fetchURIs, log)
	// Always there, to recover hosted executors of a run with ExecutorHost on; it starts no
	// host until asked to launch.
	a.hosted = containerizer.NewHosted(bin, cfg.WorkDir, logger.Level().String(), fetchURIs, log)
	a.router = containerizer.NewRouter(a.process, a.hosted)
	a.containerizer = a.router
	a.st.Updates.Pause() // nothing is sent before the first subscription
	return a, nil
}

// Run serves the agent's HTTP API on ln, registers with the master and runs executors until
// ctx is done. With ShutdownExecutorsOnExit it then shuts every executor down (SHUTDOWN,
// then SIGKILL after the grace period) before it returns. It returns nil on ctx cancel.
func (a *Agent) Run(ctx context.Context, ln net.Listener) error {
	defer a.procStop()
	if err := os.MkdirAll(sandbox.Root(a.cfg.WorkDir), 0o755); err != nil {
		return fmt.Errorf("agent: work dir: %w", err)
	}
	devs, err := detectGPUs(ctx, a.cfg, a.log)
	if err != nil {
		return err
	}
	a.gpus = gpu.NewAllocator(devs)
	info, err := a.agentInfo(ln)
	if err != nil {
		return err
	}
	a.info = info
	if err := a.recoverCheckpointedResources(); err != nil {
		return err
	}
	a.bootID = readBootID(a.cfg.BootIDPath)
	a.endpoint = executorEndpoint(ln.Addr())
	detector := a.cfg.MasterDetector
	if detector == nil {
		static, err := registration.NewStatic(a.cfg.Master)
		if err != nil {
			return err
		}
		detector = static
	}
	a.master = registration.New(registration.Config{
		Detector:   detector,
		BackoffMin: a.cfg.RegistrationBackoffMin,
		BackoffMax: a.cfg.RegistrationBackoffMax,
		Clock:      a.clock,
		Credential: a.cfg.Credential,
		TLS:        a.cfg.MasterTLS,
	}, masterLink{a}, a.log)
	icfg := a.cfg.isolation()
	icfg.Devices = len(devs) > 0
	a.iso = isolation.New(icfg, a.log)
	a.process.UseIsolator(a.iso)
	a.hosted.UseIsolator(a.iso)
	a.startDocker(ctx)
	if a.docker != nil {
		defer a.docker.Close()
	}
	a.sup = a.newSupervisor()
	if err := a.recover(ctx); err != nil {
		return err
	}
	a.removeDockerOrphans(ctx)
	a.gc = startGC(a)

	srv := &http.Server{Handler: a.cfg.AccessControlAllowOrigin.Wrap(a.routes()), ReadHeaderTimeout: 10 * time.Second}
	loopCtx, stopLoop := context.WithCancel(ctx)
	defer stopLoop()
	loopErr := make(chan error, 1)
	go func() { loopErr <- a.loop(loopCtx) }()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	// The master connection ends with the loop: a stopping agent keeps reporting to the
	// master while its executors shut down.
	masterCtx, stopMaster := context.WithCancel(context.Background())
	var masterWG sync.WaitGroup
	masterWG.Add(1)
	go func() { defer masterWG.Done(); a.master.Run(masterCtx) }()
	if a.iso != nil {
		masterWG.Add(1)
		go func() { defer masterWG.Done(); a.sup.WatchLimitations(masterCtx) }()
	}
	masterWG.Add(1)
	go func() { defer masterWG.Done(); a.gc.run(masterCtx) }()
	masterWG.Go(func() { a.policy.Watch(masterCtx, policy.ReloadInterval) })

	var runErr error
	select {
	case err := <-serveErr:
		runErr = fmt.Errorf("agent: serve: %w", err)
		stopLoop()
		<-a.loopDone
	case <-a.loopDone:
	}
	if err := <-loopErr; err != nil && runErr == nil {
		runErr = err
	}
	stopMaster()
	masterWG.Wait()
	shutCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	if err := srv.Shutdown(shutCtx); err != nil {
		_ = srv.Close()
	}
	cancel()
	a.procStop()
	a.sup.Wait()
	a.process.Close()
	a.hosted.Close(a.cfg.ShutdownExecutorsOnExit)
	return runErr
}

// loop runs events until stopped; it owns a.st.
func (a *Agent) loop(ctx context.Context) error {
	defer close(a.loopDone)
	defer a.stopRetry()
	stopRequested := ctx.Done()
	for {
		select {
		case ev := <-a.events:
			ev()
		case <-stopRequested:
			stopRequested = nil
			a.beginStop()
		case <-a.stoppedCh():
			a.closeExecutorConns()
			return nil
		}
		a.flushUpdates()
		a.resetRetry()
	}
}

// stoppedCh returns a channel that is closed once stopping finished (nil before).
func (a *Agent) stoppedCh() <-chan struct{} { return a.st.stopped }

// send runs ev on the loop; it never blocks once the loop has returned.
func (a *Agent) send(ev func()) bool {
	select {
	case a.events <- ev:
		return true
	case <-a.loopDone:
		return false
	}
}

// errStopped is returned by query once the loop has ended.
var errStopped = errors.New("agent: stopped")

// query runs fn on the loop and waits for it.
func (a *Agent) query(ctx context.Context, fn func()) error {
	done := make(chan struct{})
	if !a.send(func() { fn(); close(done) }) {
		return errStopped
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-a.loopDone:
		select {
		case <-done:
			return nil
		default:
			return errStopped
		}
	}
}

// afterFunc runs ev on the loop after d; the returned timer can be stopped.
func (a *Agent) afterFunc(d time.Duration, ev func()) clock.Timer {
	return a.clock.AfterFunc(d, func() { a.send(ev) })
}

// resetRetry arms the status update manager's next Tick for its next retry. Loop only.
func (a *Agent) resetRetry() {
	next, ok := a.st.Updates.NextRetry()
	if ok && a.st.retry != nil && next.Equal(a.st.retryAt) {
		return // armed for that time already
	}
	a.stopRetry()
	if !ok {
		return
	}
	a.st.retryAt = next
	var t clock.Timer
	t = a.afterFunc(max(next.Sub(a.clock.Now()), 0), func() {
		if a.st.retry == t { // not a timer that fired while being replaced
			a.st.retry = nil
		}
		a.st.Updates.Tick(a.clock.Now())
	})
	a.st.retry = t
}

// stopRetry cancels the pending Tick. Loop only.
func (a *Agent) stopRetry() {
	if a.st.retry != nil {
		a.st.retry.Stop()
		a.st.retry = nil
	}
}

// beginStop starts shutting down: executors are told to shut down (when configured) and the
// loop ends once they are all gone.
func (a *Agent) beginStop() {
	a.st.stopping = true
	a.st.stopped = make(chan struct{})
	if a.cfg.ShutdownExecutorsOnExit {
		for _, fw := range a.st.Frameworks {
			for _, ex := range fw.Executors {
				a.sup.Shutdown(ex)
			}
		}
	} else {
		for _, fw := range a.st.Frameworks {
			for _, ex := range fw.Executors {
				a.sup.Detach(ex)
			}
		}
	}
	a.checkStopped()
}

// checkStopped closes st.stopped when stopping and no executor is left running.
func (a *Agent) checkStopped() {
	if !a.st.stopping || a.st.stopped == nil {
		return
	}
	select {
	case <-a.st.stopped:
		return
	default:
	}
	for _, fw := range a.st.Frameworks {
		for _, ex := range fw.Executors {
			if ex.State != workload.ExecutorTerminated && !ex.Detached {
				return
			}
		}
	}
	close(a.st.stopped)
}

func (a *Agent) closeExecutorConns() {
	for _, fw := range a.st.Frameworks {
		for _, ex := range fw.Executors {
			ex.StopTimers()
			if ex.Conn != nil {
				ex.Conn.Close()
				ex.Conn = nil
			}
		}
	}
}

// agentInfo builds the AgentInfo (without id) from the config and the listener.
func (a *Agent) agentInfo(ln net.Listener) (*mesos.AgentInfo, error) {
	host := a.cfg.Hostname
	if host == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("agent: hostname: %w", err)
		}
		host = h
	}
	_, portStr, err := net.SplitHostPort(ln.Addr().String())
	if err != nil {
		return nil, fmt.Errorf("agent: listener address: %w", err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("agent: listener port: %w", err)
	}
	res, err := agentResources(withGPUs(a.cfg.Resources, len(a.gpus.Devices())), a.cfg.WorkDir)
	if err != nil {
		return nil, err
	}
	attrs, err := agentAttributes(a.cfg.Attributes)
	if err != nil {
		return nil, err
	}
	return &mesos.AgentInfo{
		Hostname:   proto.String(host),
		Port:       proto.Int32(int32(port)),
		Resources:  res,
		Attributes: attrs,
	}, nil
}

// executorEndpoint is the host:port executors use; an unspecified listen address becomes
// loopback, since executors run on this host.
func executorEndpoint(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

func readBootID(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// currentAgentInfo is the AgentInfo with the agent id once registered. Loop only.
func (a *Agent) currentAgentInfo() *mesos.AgentInfo {
	info := proto.Clone(a.info).(*mesos.AgentInfo)
	if a.st.AgentID != "" {
		info.Id = &mesos.AgentID{Value: proto.String(a.st.AgentID)}
	}
	return info
}

// completeTask moves a task whose terminal update was acknowledged to completed, and its
// executor out when that was its last. Loop only.
func (a *Agent) completeTask(k statusupdate.TaskKey) {
	if ex := a.st.CompleteTask(k); ex != nil {
		a.maybeRemoveExecutor(ex)
	}
}

// maybeRemoveExecutor forgets a terminated executor without live tasks, and its framework
// when that was the framework's last executor, and schedules their sandboxes for removal.
func (a *Agent) maybeRemoveExecutor(ex *workload.Executor) {
	removed, fw := a.st.RemoveExecutor(ex)
	if !removed {
		return
	}
	a.gc.scheduleExecutor(ex)
	if fw != nil {
		a.gc.scheduleFramework(fw)
	}
	a.checkStopped()
}

// removeFramework forgets a framework and schedules its sandboxes for removal. Loop only.
func (a *Agent) removeFramework(fw *workload.Framework) {
	a.st.RemoveFramework(fw)
	a.gc.scheduleFramework(fw)
}
