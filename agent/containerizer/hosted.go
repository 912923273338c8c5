package containerizer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/agent/exechost"
	"github.com/agoracluster/agora/agent/isolation"
)

// Hosted runs command executors inside the agent's executor host (agent/exechost): one
// `agora executor-host` process, started on first use and left running when the agent
// exits, like executor processes are. A container is a hosted executor; it ends when the
// host reports its exit. Hosted only implements the kill that ends a container at once.
type Hosted struct {
	log      *zap.Logger
	fetch    FetchFunc
	bin      string // the agora binary
	workDir  string
	logLevel string // the executors' log level
	client   *exechost.Client
	iso      *isolation.Isolator
	sessions *sessionKiller

	mu      sync.Mutex
	conts   map[string]*hostedContainer
	hostPID int                // 0 while not connected
	connect chan struct{}      // held (buffered, 1) while connecting
	stop    context.CancelFunc // ends the events reader
	// streamDone is closed when the followed events stream ends (the host exited, or stop).
	streamDone chan struct{}
	wg         sync.WaitGroup // events reader
	closed     bool

	// ctx ends with Close; it bounds the retries of a broken events stream.
	ctx    context.Context
	cancel context.CancelFunc
}

var _ Containerizer = (*Hosted)(nil)

type hostedContainer struct {
	taskPID   int
	launching bool // the host may not know it yet
	ended     bool
	done      chan struct{}
	term      Termination // set before done is closed
}

const (
	// hostStartTimeout bounds the wait for a started executor host to answer.
	hostStartTimeout = 10 * time.Second
	// hostStartPoll is how often a started executor host is asked whether it answers.
	hostStartPoll = 5 * time.Millisecond
)

// NewHosted returns a containerizer that runs command executors in the executor host of
// workDir, started from bin.
func NewHosted(bin, workDir, logLevel string, fetch FetchFunc, log *zap.Logger) *Hosted {
	ctx, cancel := context.WithCancel(context.Background())
	return &Hosted{
		ctx: ctx, cancel: cancel,
		log: log.Named("hosted"), fetch: fetch, bin: bin, workDir: workDir, logLevel: logLevel,
		client: exechost.NewClient(exechost.Address(workDir)), sessions: newSessionKiller(),
		conts: make(map[string]*hostedContainer), connect: make(chan struct{}, 1),
	}
}

// UseIsolator makes Launch put the executors into their containers' cgroups (the host
// moves each executor into the cgroup before it starts its task). Call it before Launch.
func (h *Hosted) UseIsolator(iso *isolation.Isolator) { h.iso = iso }

// HostPID is the pid of the executor host followed, 0 while none is.
func (h *Hosted) HostPID() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hostPID
}

// Launch implements Containerizer: it fetches the URIs, then starts the executor in the
// host (starting the host first when none runs). The pid is the host's.
func (h *Hosted) Launch(ctx context.Context, spec ContainerSpec) (int, error) {
	if spec.Command == nil {
		return 0, errors.New("launch: no command")
	}
	if _, err := prepareSandbox(ctx, h.fetch, spec, sandboxFile(filepath.Join(spec.Sandbox, "stderr"))); err != nil {
		return 0, err
	}
	pid, err := h.ensure(ctx)
	if err != nil {
		return 0, err
	}
	c := &hostedContainer{launching: true, done: make(chan struct{})}
	h.mu.Lock()
	if _, dup := h.conts[spec.ContainerID]; dup {
		h.mu.Unlock()
		return 0, fmt.Errorf("launch: container %s already exists", spec.ContainerID)
	}
	h.conts[spec.ContainerID] = c
	h.mu.Unlock()
	req := exechost.LaunchRequest{ContainerID: spec.ContainerID, Env: spec.Env}
	if cg := h.iso.Get(spec.ContainerID); cg != nil {
		req.CgroupProcs = cg.ProcsFiles()
	}
	err = h.client.Launch(ctx, req)
	h.mu.Lock()
	c.launching = false
	if err != nil {
		delete(h.conts, spec.ContainerID)
	}
	h.mu.Unlock()
	if err != nil {
		return 0, fmt.Errorf("start executor: %w", err)
	}
	return pid, nil
}

// sandboxFile appends to a file of the sandbox, opened only when written to (the host opens
// the sandbox's stdout and stderr for the executor; the agent writes there only on failure).
type sandboxFile string

func (f sandboxFile) Write(b []byte) (int, error) {
	file, err := os.OpenFile(string(f), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer file.Close()
	return file.Write(b)
}

// ensure connects to the host, starting it when none answers; it returns the host's pid.
func (h *Hosted) ensure(ctx context.Context) (int, error) {
	select {
	case h.connect <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	defer func() { <-h.connect }()
	h.mu.Lock()
	pid, closed := h.hostPID, h.closed
	h.mu.Unlock()
	if closed {
		return 0, errors.New("agent stopping")
	}
	if pid != 0 {
		return pid, nil
	}
	// The stream lives until Close, whatever becomes of the launch that opened it.
	streamCtx := context.WithoutCancel(ctx)
	stream, err := h.client.Events(streamCtx)
	if err != nil {
		if err := h.startHost(); err != nil {
			return 0, err
		}
		// The started host answers once it listens: ask again every hostStartPoll until
		// hostStartTimeout has passed.
		wait, cancel := context.WithTimeout(ctx, hostStartTimeout)
		defer cancel()
		poll := time.NewTicker(hostStartPoll)
		defer poll.Stop()
		for {
			stream, err = h.client.Events(streamCtx)
			if err == nil {
				break
			}
			select {
			case <-wait.Done():
				return 0, fmt.Errorf("executor host did not answer: %w", err)
			case <-poll.C:
			}
		}
	}
	return h.follow(stream)
}

// startHost starts `agora executor-host` in a session of its own, with its log in the work
// dir. It is not the agent's to stop, nor its child: a shell starts it in the background and
// exits, so the host goes on when the agent exits, and no zombie or waiting goroutine is left
// in the agent when the host exits first.
func (h *Hosted) startHost() error {
	logf, err := os.OpenFile(filepath.Join(h.workDir, "executor-host.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("executor host: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command("/bin/sh", "-c", `"$0" "$@" &`,
		h.bin, "executor-host", "--work_dir", h.workDir, "--logging_level", h.logLevel)
	cmd.Env = InheritedEnv()
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("start executor host: %w", err)
	}
	h.log.Info("started the executor host", zap.String("log", logf.Name()))
	return nil
}

// follow reads the state the stream starts with, then follows it in the background.
func (h *Hosted) follow(stream *exechost.EventStream) (int, error) {
	seen := make(map[string]exechost.Event)
	var pid int
	for {
		ev, err := stream.Next()
		if err != nil {
			stream.Close()
			return 0, fmt.Errorf("executor host: %w", err)
		}
		if ev.Type == exechost.EventSynced {
			pid = ev.HostPID
			break
		}
		seen[ev.ContainerID] = ev
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.mu.Lock()
	streamDone := make(chan struct{})
	h.hostPID, h.stop, h.streamDone = pid, cancel, streamDone
	// What the host no longer knows ended while the agent was not looking.
	for id, c := range h.conts {
		if ev, ok := seen[id]; ok {
			h.applyLocked(c, ev)
		} else if !c.ended && !c.launching {
			h.endLocked(c, Termination{Status: -1, Message: "Executor ended while the agent was away"}, true)
		}
	}
	h.mu.Unlock()
	for id, ev := range seen {
		if ev.Type == exechost.EventExited {
			h.forget(id)
		}
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		defer stream.Close()
		closer := make(chan struct{})
		go func() {
			defer close(closer)
			<-ctx.Done()
			stream.Close()
		}()
		h.read(stream)
		close(streamDone)
		stopped := ctx.Err() != nil // Close, rather than a broken stream
		cancel()
		<-closer
		if !stopped {
			h.reconnect()
		}
	}()
	return pid, nil
}

const (
	// hostReconnectTries is how often a broken events stream is reopened, hostReconnectPoll
	// apart, before the host is taken for gone.
	hostReconnectTries = 20
	hostReconnectPoll  = 25 * time.Millisecond
)

// read applies the events until the stream ends.
func (h *Hosted) read(stream *exechost.EventStream) {
	for {
		ev, err := stream.Next()
		if err != nil {
			break
		}
		h.mu.Lock()
		c := h.conts[ev.ContainerID]
		if c != nil {
			h.applyLocked(c, ev)
		}
		h.mu.Unlock()
		if c != nil && ev.Type == exechost.EventExited {
			h.forget(ev.ContainerID)
		}
	}
}

// reconnect follows the host again after its events stream broke while the agent runs; a
// host that does not answer is gone, and its containers have ended with it.
func (h *Hosted) reconnect() {
	h.connect <- struct{}{}
	defer func() { <-h.connect }()
	h.mu.Lock()
	h.hostPID = 0
	h.mu.Unlock()
	// Close cancels h.ctx: a closing Hosted stops trying at once.
	poll := time.NewTicker(hostReconnectPoll)
	defer poll.Stop()
	for range hostReconnectTries {
		if h.ctx.Err() != nil {
			return
		}
		// The stream lives until Close stops following it, as one opened by ensure does.
		if stream, err := h.client.Events(context.Background()); err == nil {
			if _, err := h.follow(stream); err == nil {
				h.log.Info("events stream of the executor host reopened")
				return
			}
		}
		select {
		case <-h.ctx.Done():
			return
		case <-poll.C:
		}
	}
	h.log.Warn("lost the executor host: its executors have ended")
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.conts {
		h.endLocked(c, Termination{Status: -1, Message: "Executor host exited"}, true)
	}
}

// applyLocked applies an event of the host to its container.
func (h *Hosted) applyLocked(c *hostedContainer, ev exechost.Event) {
	if ev.TaskPID > 0 {
		c.taskPID = ev.TaskPID
	}
	if ev.Type != exechost.EventExited {
		return
	}
	msg := describeWaitStatus(syscall.WaitStatus(ev.Status))
	if ev.Message != "" {
		msg += ": " + ev.Message
	}
	h.endLocked(c, Termination{Status: ev.Status, Message: msg}, false)
}

// endLocked ends a container; nothing its task started may outlive it, so Wait returns once
// what is left of the task's session is killed. The kill runs off the lock, where the
// session killer serves containers ending together with one scan of the processes.
//
// An executor that reported its exit has reaped its task, and the session killer kills what
// the task left. One whose host is gone may have left its task running, the leader of its
// session, which the session killer spares (it cannot tell it from a new session under a
// recycled pid): with taskMayLive its process group is killed first. (Its pid was the host's
// child until the host died moments ago: only a task that ended in those moments can have
// had its pid recycled.)
func (h *Hosted) endLocked(c *hostedContainer, term Termination, taskMayLive bool) {
	if c.ended {
		return
	}
	c.ended, c.term = true, term
	sid := c.taskPID
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		if sid > 1 {
			if taskMayLive {
				_ = syscall.Kill(-sid, syscall.SIGKILL)
			}
			h.sessions.kill(sid)
		}
		close(c.done)
	}()
}

// forget tells the host to drop an ended container it reported.
func (h *Hosted) forget(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.client.Forget(ctx, id); err != nil && !errors.Is(err, exechost.ErrUnknownContainer) {
		h.log.Debug("forget hosted executor", zap.String("container_id", id), zap.Error(err))
	}
}

// Wait implements Containerizer.
func (h *Hosted) Wait(ctx context.Context, containerID string) (Termination, error) {
	h.mu.Lock()
	c := h.conts[containerID]
	h.mu.Unlock()
	if c == nil {
		return Termination{}, fmt.Errorf("%w: %s", ErrUnknownContainer, containerID)
	}
	select {
	case <-c.done:
		h.mu.Lock()
		delete(h.conts, containerID)
		h.mu.Unlock()
		return c.term, nil
	case <-ctx.Done():
		return Termination{}, ctx.Err()
	}
}

// Kill implements Containerizer: whatever the signal, the executor and its task end at once,
// as an executor process does on SIGKILL (the only signal the agent sends containers).
func (h *Hosted) Kill(ctx context.Context, containerID string, _ syscall.Signal) error {
	h.mu.Lock()
	c := h.conts[containerID]
	h.mu.Unlock()
	if c == nil {
		return fmt.Errorf("%w: %s", ErrUnknownContainer, containerID)
	}
	select {
	case <-c.done:
		return nil
	default:
	}
	err := h.client.Kill(ctx, containerID)
	if errors.Is(err, exechost.ErrUnknownContainer) {
		h.mu.Lock()
		h.endLocked(c, Termination{Status: -1, Message: "Executor ended"}, false)
		h.mu.Unlock()
		return nil
	}
	if err != nil {
		return fmt.Errorf("kill container %s: %w", containerID, err)
	}
	return nil
}

// Recover implements Containerizer: it reattaches to the host, if one runs, and learns
// which of containers still run there. It never starts a host.
func (h *Hosted) Recover(ctx context.Context, containers []RecoveredContainer) error {
	if len(containers) == 0 {
		return nil
	}
	h.mu.Lock()
	for _, rc := range containers {
		h.conts[rc.ContainerID] = &hostedContainer{done: make(chan struct{})}
	}
	h.mu.Unlock()
	h.connect <- struct{}{}
	defer func() { <-h.connect }()
	stream, err := h.client.Events(context.WithoutCancel(ctx))
	if err != nil {
		h.log.Info("no executor host runs: its executors ended while the agent was down", zap.Error(err))
		h.mu.Lock()
		for _, rc := range containers {
			h.endLocked(h.conts[rc.ContainerID], Termination{Status: -1, Message: "Executor ended while the agent was down"}, false)
		}
		h.mu.Unlock()
		// Their tasks may live on (each in a session of its own); they carry their sandbox.
		for _, rc := range containers {
			if rc.Sandbox != "" {
				KillSandboxProcesses(rc.Sandbox)
			}
		}
		return nil
	}
	pid, err := h.follow(stream)
	if err != nil {
		return err
	}
	h.log.Info("reattached to the executor host", zap.Int("pid", pid), zap.Int("executors", len(containers)))
	return nil
}

// TaskSessions maps the session of every running hosted task (its pid) to its container.
func (h *Hosted) TaskSessions(into map[int]string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, c := range h.conts {
		if !c.ended && c.taskPID > 0 {
			into[c.taskPID] = id
		}
	}
}

// Close stops following the host; with shutdownHost the host is asked to exit (once every
// container ended, it has nothing left to do). It must be called after every container was
// waited for or left to run.
func (h *Hosted) Close(shutdownHost bool) {
	h.connect <- struct{}{}
	h.mu.Lock()
	h.closed = true
	h.cancel()
	stop := h.stop
	connected := h.hostPID != 0
	h.mu.Unlock()
	<-h.connect
	if shutdownHost && connected {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := h.client.Shutdown(ctx); err != nil {
			h.log.Debug("shut the executor host down", zap.Error(err))
		}
		// The host exits once its executors are gone; its events stream ends then.
		h.mu.Lock()
		done := h.streamDone
		h.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			h.log.Warn("the executor host did not exit")
		}
		cancel()
	}
	if stop != nil {
		stop()
	}
	h.wg.Wait()
	h.client.Close()
}
