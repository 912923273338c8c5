package exechost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/sys/unix"

	"github.com/agoracluster/agora/agent/commandexec"
	"github.com/agoracluster/agora/recordio"
	"github.com/agoracluster/agora/security/tlsconfig"
)

// Config configures a Host.
type Config struct {
	// IdleTimeout is how long the host stays with no executor running and no agent
	// connected before it exits.
	IdleTimeout time.Duration
	// ExecutorLogLevel is the level of the executors' logs, which go to the stderr file of
	// their sandboxes as an executor process's would.
	ExecutorLogLevel zapcore.Level
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{IdleTimeout: 10 * time.Second, ExecutorLogLevel: zapcore.InfoLevel}
}

// maxRequestBytes bounds a launch request (the executor's environment).
const maxRequestBytes = 4 << 20

// Wait statuses the host reports, as an executor process's would read.
const (
	statusExited0 = 0
	statusExited1 = 1 << 8
	statusKilled  = int(syscall.SIGKILL)
)

// Host runs command executors. Create with New, serve with Run.
type Host struct {
	cfg    Config
	log    *zap.Logger
	client *http.Client // to the agent, shared by the executors
	// tlsPeers are, per TLS setting of the executors (the agent's LIBPROCESS_SSL_* values),
	// the certificate files loaded once and the client they share, so that the executors
	// share its connections to the agent too.
	tlsMu    sync.Mutex
	tlsPeers map[tlsconfig.Config]*tlsPeer

	mu        sync.Mutex
	instances map[string]*instance
	running   int
	subs      map[*subscriber]struct{}
	wg        sync.WaitGroup // executors
	stopping  bool
	done      chan struct{} // closed when Run is about to return: ends the events streams
}

// instance is one hosted executor.
type instance struct {
	id      string
	cancel  context.CancelFunc // graceful shutdown (the host is stopping)
	abort   chan struct{}      // closed by kill
	killed  bool
	taskPID int
	ended   bool
	status  int
	message string
}

// New returns a host.
func New(cfg Config, log *zap.Logger) *Host {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 0
	tr.MaxIdleConnsPerHost = 256
	return &Host{
		cfg:       cfg,
		log:       log,
		client:    &http.Client{Transport: tr},
		instances: make(map[string]*instance),
		subs:      make(map[*subscriber]struct{}),
		done:      make(chan struct{}),
	}
}

// Listen listens on addr (Address) and accepts only connections from processes of this
// process's user or root: whoever connects can start processes as this user. The socket's
// directory is created owner-only when it does not exist; a socket file nobody answers on
// (a host that was killed) is replaced, and one a live host answers on gives EADDRINUSE.
func Listen(addr string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(addr), 0o700); err != nil {
		return nil, err
	}
	if err := checkSocketDir(addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("unix", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		if c, derr := net.DialTimeout("unix", addr, time.Second); derr == nil {
			c.Close()
			return nil, err
		}
		if rerr := os.Remove(addr); rerr != nil {
			return nil, err
		}
		ln, err = net.Listen("unix", addr)
	}
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(addr, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return &peerListener{Listener: ln, uid: uint32(os.Geteuid())}, nil
}

// checkSocketDir refuses a socket whose directory another user owns or may write to: there
// a socket could be swapped for someone else's.
func checkSocketDir(addr string) error {
	dir := filepath.Dir(addr)
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if uid := uint32(os.Geteuid()); st.Uid != uid && st.Uid != 0 {
		return fmt.Errorf("executor host socket directory %s belongs to uid %d, not %d", dir, st.Uid, uid)
	}
	if fi.Mode().Perm()&0o022 != 0 && fi.Mode()&os.ModeSticky == 0 {
		return fmt.Errorf("executor host socket directory %s is writable by others (%v)", dir, fi.Mode().Perm())
	}
	return nil
}

type peerListener struct {
	net.Listener
	uid uint32
}

func (l *peerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if uid, ok := peerUID(c); ok && (uid == l.uid || uid == 0) {
			return c, nil
		}
		_ = c.Close()
	}
}

func peerUID(c net.Conn) (uint32, bool) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return 0, false
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return 0, false
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil || credErr != nil {
		return 0, false
	}
	return cred.Uid, true
}

// Run serves ln until ctx ends (the executors are then shut down gracefully and waited
// for), a shutdown request (they are killed) or the host has been idle for IdleTimeout.
func (h *Host) Run(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/containers", h.handleLaunch)
	mux.HandleFunc("POST /v1/containers/{id}/kill", h.handleKill)
	mux.HandleFunc("DELETE /v1/containers/{id}", h.handleForget)
	mux.HandleFunc("GET /v1/events", h.handleEvents)
	shutdown := make(chan struct{})
	var once sync.Once
	mux.HandleFunc("POST /v1/shutdown", func(w http.ResponseWriter, _ *http.Request) {
		h.killAll()
		w.WriteHeader(http.StatusAccepted)
		once.Do(func() { close(shutdown) })
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	h.log.Info("executor host listening", zap.String("address", ln.Addr().String()), zap.Int("pid", os.Getpid()))

	idle := time.NewTicker(h.cfg.IdleTimeout / 4)
	defer idle.Stop()
	var idleSince time.Time
	var err error
loop:
	for {
		select {
		case <-ctx.Done():
			h.log.Info("executor host stopping: shutting the executors down")
			h.stopAll()
			break loop
		case <-shutdown:
			h.log.Info("executor host shut down by request")
			break loop
		case err = <-served:
			h.log.Error("executor host cannot serve: shutting the executors down", zap.Error(err))
			h.stopAll()
			break loop
		case now := <-idle.C:
			if !h.idle() {
				idleSince = time.Time{}
				continue
			}
			if idleSince.IsZero() {
				idleSince = now
			} else if now.Sub(idleSince) >= h.cfg.IdleTimeout && h.stopIfIdle() {
				h.log.Info("executor host idle: no executor runs and no agent is connected; exiting")
				break loop
			}
		}
	}
	h.mu.Lock()
	h.stopping = true
	h.mu.Unlock()
	h.wg.Wait()
	close(h.done)
	sctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx) // the events streams end with their request contexts
	_ = srv.Close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// idle: no executor runs and nobody follows the events.
func (h *Host) idle() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.running == 0 && len(h.subs) == 0
}

// stopIfIdle refuses launches from now on if the host is still idle (in the same critical
// section, so that no launch slips in between).
func (h *Host) stopIfIdle() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.running == 0 && len(h.subs) == 0 {
		h.stopping = true
		return true
	}
	return false
}

func (h *Host) handleLaunch(w http.ResponseWriter, r *http.Request) {
	var req LaunchRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		http.Error(w, "malformed launch request: "+err.Error(), http.StatusBadRequest)
		return
	}
	code, err := h.launch(req)
	if err != nil {
		http.Error(w, err.Error(), code)
		return
	}
	w.WriteHeader(code)
}

// launch starts the executor of req; the code is the HTTP answer.
func (h *Host) launch(req LaunchRequest) (int, error) {
	if req.ContainerID == "" {
		return http.StatusBadRequest, errors.New("container_id is empty")
	}
	env := make(map[string]string, len(req.Env))
	for _, kv := range req.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	lookup := func(k string) string { return env[k] }
	cfg, err := commandexec.ConfigFromEnvTLS(lookup, h.loadTLS)
	if err != nil {
		return http.StatusBadRequest, err
	}
	client := h.client
	if cfg.TLS != nil {
		p, err := h.tlsPeer((tlsconfig.Config{}).Env(lookup)) // loaded by ConfigFromEnvTLS
		if err != nil {
			return http.StatusBadRequest, err
		}
		client = p.client
	}
	stdout, err := os.OpenFile(filepath.Join(cfg.Sandbox, "stdout"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return http.StatusBadRequest, fmt.Errorf("sandbox: %w", err)
	}
	stderr, err := os.OpenFile(filepath.Join(cfg.Sandbox, "stderr"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		stdout.Close()
		return http.StatusBadRequest, fmt.Errorf("sandbox: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	inst := &instance{id: req.ContainerID, cancel: cancel, abort: make(chan struct{})}

	h.mu.Lock()
	if h.stopping {
		h.mu.Unlock()
		cancel()
		stdout.Close()
		stderr.Close()
		return http.StatusServiceUnavailable, errors.New("executor host is stopping")
	}
	if _, dup := h.instances[req.ContainerID]; dup {
		h.mu.Unlock()
		cancel()
		stdout.Close()
		stderr.Close()
		return http.StatusConflict, fmt.Errorf("container %s is already known", req.ContainerID)
	}
	h.instances[req.ContainerID] = inst
	h.running++
	h.publishLocked(Event{Type: EventRunning, ContainerID: inst.id})
	h.wg.Add(1)
	h.mu.Unlock()

	cfg.Env = req.Env
	cfg.ContainerID = req.ContainerID
	cfg.TaskStdout, cfg.TaskStderr = stdout, stderr
	cfg.TaskSession = true
	cfg.Abort = inst.abort
	cfg.HTTPClient = client
	procs := req.CgroupProcs
	cfg.PlaceProcess = func(pid int) {
		for _, f := range procs {
			if err := os.WriteFile(f, []byte(strconv.Itoa(pid)), 0o644); err != nil {
				h.log.Warn("process runs outside its container's cgroup", zap.String("container_id", inst.id), zap.Int("pid", pid), zap.Error(err))
			}
		}
	}
	cfg.TaskStarted = func(pid int) { h.taskStarted(inst, pid) }
	log := zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(encoderConfig()), zapcore.Lock(stderr), h.cfg.ExecutorLogLevel))
	go func() {
		defer h.wg.Done()
		defer cancel()
		err := commandexec.Run(ctx, cfg, log)
		_ = log.Sync()
		stdout.Close()
		stderr.Close()
		h.exited(inst, err)
	}()
	return http.StatusCreated, nil
}

func encoderConfig() zapcore.EncoderConfig {
	c := zap.NewProductionEncoderConfig()
	c.EncodeTime = zapcore.ISO8601TimeEncoder
	return c
}

func (h *Host) taskStarted(inst *instance, pid int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	inst.taskPID = pid
	if inst.killed {
		_ = syscall.Kill(-pid, syscall.SIGKILL) // killed while its task was being started
	}
	h.publishLocked(Event{Type: EventRunning, ContainerID: inst.id, TaskPID: pid})
}

func (h *Host) exited(inst *instance, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	inst.ended = true
	h.running--
	switch {
	case inst.killed:
		inst.status = statusKilled
	case err != nil:
		inst.status, inst.message = statusExited1, err.Error()
	default:
		inst.status = statusExited0
	}
	h.publishLocked(inst.event())
}

func (inst *instance) event() Event {
	if inst.ended {
		return Event{Type: EventExited, ContainerID: inst.id, TaskPID: inst.taskPID, Status: inst.status, Message: inst.message}
	}
	return Event{Type: EventRunning, ContainerID: inst.id, TaskPID: inst.taskPID}
}

func (h *Host) handleKill(w http.ResponseWriter, r *http.Request) {
	if !h.kill(r.PathValue("id")) {
		http.Error(w, "unknown container "+r.PathValue("id"), http.StatusNotFound)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// kill ends an executor as SIGKILL would: its task's process group is killed at once and
// the executor returns without a word more to the agent. Killing an ended one is a no-op.
func (h *Host) kill(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	inst, ok := h.instances[id]
	if !ok {
		return false
	}
	h.killLocked(inst)
	return true
}

func (h *Host) killLocked(inst *instance) {
	if inst.ended || inst.killed {
		return
	}
	inst.killed = true
	if inst.taskPID > 0 {
		_ = syscall.Kill(-inst.taskPID, syscall.SIGKILL)
	}
	close(inst.abort)
}

func (h *Host) killAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, inst := range h.instances {
		h.killLocked(inst)
	}
}

// stopAll asks every executor to shut down gracefully, as SIGTERM would.
func (h *Host) stopAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, inst := range h.instances {
		inst.cancel()
	}
}

func (h *Host) handleForget(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	h.mu.Lock()
	defer h.mu.Unlock()
	inst, ok := h.instances[id]
	switch {
	case !ok:
		http.Error(w, "unknown container "+id, http.StatusNotFound)
	case !inst.ended:
		http.Error(w, "container "+id+" still runs", http.StatusConflict)
	default:
		delete(h.instances, id)
		w.WriteHeader(http.StatusNoContent)
	}
}

// subscriber is one events stream: an unbounded queue, so that publishing never blocks
// and no event is dropped.
type subscriber struct {
	mu    sync.Mutex
	queue []Event
	wake  chan struct{}
}

func (s *subscriber) push(ev Event) {
	s.mu.Lock()
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *subscriber) take() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queue
	s.queue = nil
	return q
}

func (h *Host) publishLocked(ev Event) {
	for s := range h.subs {
		s.push(ev)
	}
}

func (h *Host) handleEvents(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	sub := &subscriber{wake: make(chan struct{}, 1)}
	h.mu.Lock()
	for _, inst := range h.instances {
		sub.queue = append(sub.queue, inst.event())
	}
	sub.queue = append(sub.queue, Event{Type: EventSynced, HostPID: os.Getpid()})
	h.subs[sub] = struct{}{}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.subs, sub)
		h.mu.Unlock()
	}()

	w.Header().Set("Content-Type", "application/recordio")
	w.Header().Set("Message-Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	rw := recordio.NewWriter(w)
	sub.wake <- struct{}{}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-h.done:
			// The last events (the executors' exits) are out before the stream ends.
			for _, ev := range sub.take() {
				if b, err := json.Marshal(ev); err == nil && rw.WriteRecord(b) != nil {
					return
				}
			}
			flusher.Flush()
			return
		case <-sub.wake:
		}
		for _, ev := range sub.take() {
			b, err := json.Marshal(ev)
			if err != nil {
				continue
			}
			if err := rw.WriteRecord(b); err != nil {
				return
			}
		}
		flusher.Flush()
	}
}

// Serve runs the executor host of the agent with workDir until it is done (see Run). When
// another host already serves that work dir it returns nil at once: the agent uses that one.
// It first makes the process the leader of a session (and process group) of its own, as an
// executor process is, so that `kill -- -<pid>` reaches the host and nothing else.
func Serve(ctx context.Context, workDir string, cfg Config, log *zap.Logger) error {
	ln, err := Listen(Address(workDir))
	if errors.Is(err, syscall.EADDRINUSE) {
		log.Info("an executor host already serves this work dir", zap.String("work_dir", workDir))
		return nil
	}
	if err != nil {
		return fmt.Errorf("executor host: %w", err)
	}
	_, _ = syscall.Setsid() // fails only for a process group leader, which has its own group
	return New(cfg, log).Run(ctx, ln)
}

// tlsPeer is what the executors with one TLS setting share.
type tlsPeer struct {
	files  *tlsconfig.Files // kept current by itself (certificates re-read on change)
	client *http.Client     // h.client's transport with files' client configuration
}

// tlsPeer returns the shared files and client of the executors with TLS setting tc,
// loading the files on first use (a failure is not kept: the next executor tries again).
func (h *Host) tlsPeer(tc tlsconfig.Config) (*tlsPeer, error) {
	h.tlsMu.Lock()
	defer h.tlsMu.Unlock()
	if p := h.tlsPeers[tc]; p != nil {
		return p, nil
	}
	files, err := tlsconfig.Load(tc, nil)
	if err != nil {
		return nil, err
	}
	tr := h.client.Transport.(*http.Transport).Clone()
	tr.TLSClientConfig = files.Client()
	tr.ForceAttemptHTTP2 = true // the executors' streams share connections
	p := &tlsPeer{files: files, client: &http.Client{Transport: tr}}
	if h.tlsPeers == nil {
		h.tlsPeers = map[tlsconfig.Config]*tlsPeer{}
	}
	h.tlsPeers[tc] = p
	return p, nil
}

// loadTLS is commandexec's loader of the LIBPROCESS_SSL_* files: the shared ones.
func (h *Host) loadTLS(tc tlsconfig.Config) (*tlsconfig.Files, error) {
	p, err := h.tlsPeer(tc)
	if err != nil {
		return nil, err
	}
	return p.files, nil
}
