package containerizer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/agent/isolation"
	"github.com/agoracluster/agora/agent/proc"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// FetchFunc fetches uris into a sandbox directory (agent/fetcher.Fetch).
type FetchFunc func(ctx context.Context, uris []*mesos.CommandInfo_URI, sandbox string) error

// Process is the process containerizer: every executor is a plain child process in its own
// process group, with stdout and stderr in its sandbox.
type Process struct {
	log   *zap.Logger
	fetch FetchFunc

	mu    sync.Mutex
	procs map[string]*child
	wg    sync.WaitGroup      // reapers and watchers of adopted executors
	stop  chan struct{}       // closed by Close: ends the watchers of adopted executors
	iso   *isolation.Isolator // puts started executors into their cgroups; nil without
	once  sync.Once

	sessions *sessionKiller // kills what executors leave behind
}

var _ Containerizer = (*Process)(nil)

type child struct {
	pid  int
	done chan struct{}
	term Termination // set before done is closed
}

// NewProcess returns a process containerizer that fetches with fetch.
func NewProcess(fetch FetchFunc, log *zap.Logger) *Process {
	return &Process{log: log.Named("process"), fetch: fetch, procs: make(map[string]*child), stop: make(chan struct{}),
		sessions: newSessionKiller()}
}

// UseIsolator makes Launch put every started executor into its container's cgroup. Call it
// before Launch.
func (p *Process) UseIsolator(iso *isolation.Isolator) { p.iso = iso }

// Launch implements Containerizer.
func (p *Process) Launch(ctx context.Context, spec ContainerSpec) (int, error) {
	cmdInfo := spec.Command
	if cmdInfo == nil {
		return 0, errors.New("launch: no command")
	}
	stdout, err := os.OpenFile(filepath.Join(spec.Sandbox, "stdout"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return 0, fmt.Errorf("launch: %w", err)
	}
	defer stdout.Close()
	stderr, err := os.OpenFile(filepath.Join(spec.Sandbox, "stderr"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return 0, fmt.Errorf("launch: %w", err)
	}
	defer stderr.Close()

	cred, err := prepareSandbox(ctx, p.fetch, spec, stderr)
	if err != nil {
		return 0, err
	}
	cmd, err := command(cmdInfo)
	if err != nil {
		return 0, err
	}
	cmd.Dir = spec.Sandbox
	cmd.Env = spec.Env
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	// A session of its own (and so a process group of its own): tasks the executor starts in
	// their own process groups stay in its session, so they can be found and killed with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: cred}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "Failed to start executor: %v\n", err)
		return 0, fmt.Errorf("start executor: %w", err)
	}
	if err := p.iso.Isolate(spec.ContainerID, cmd.Process.Pid); err != nil {
		p.log.Warn("executor runs without limits", zap.String("container_id", spec.ContainerID), zap.Error(err))
	}
	pr := &child{pid: cmd.Process.Pid, done: make(chan struct{})}
	p.mu.Lock()
	p.procs[spec.ContainerID] = pr
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		err := cmd.Wait()
		pr.term = termination(cmd, err)
		// The container ends with its executor: nothing it started may outlive it.
		p.sessions.kill(pr.pid)
		close(pr.done)
	}()
	return pr.pid, nil
}

// prepareSandbox fetches the spec's URIs into its sandbox (a failure is written to stderr
// too) and hands the sandbox to the user the executor runs as, whose credential it returns
// (nil when no switch is needed).
func prepareSandbox(ctx context.Context, fetch FetchFunc, spec ContainerSpec, stderr io.Writer) (*syscall.Credential, error) {
	if uris := spec.Command.GetUris(); len(uris) > 0 {
		if err := fetch(ctx, uris, spec.Sandbox); err != nil {
			fmt.Fprintf(stderr, "Failed to fetch URIs: %v\n", err)
			return nil, fmt.Errorf("fetch: %w", err)
		}
	}
	cred, err := credential(spec.User)
	if err != nil {
		return nil, err
	}
	if cred != nil {
		chownSandbox(spec.Sandbox, int(cred.Uid), int(cred.Gid))
	}
	return cred, nil
}

// command builds the exec.Cmd for a CommandInfo (shell or argv form).
func command(ci *mesos.CommandInfo) (*exec.Cmd, error) {
	if ci.GetShell() {
		if ci.GetValue() == "" {
			return nil, errors.New("launch: command.value must not be empty")
		}
		return exec.Command("/bin/sh", "-c", ci.GetValue()), nil
	}
	if ci.GetValue() == "" {
		return nil, errors.New("launch: command.value must not be empty")
	}
	cmd := exec.Command(ci.GetValue())
	if args := ci.GetArguments(); len(args) > 0 {
		cmd.Args = append([]string(nil), args...)
	}
	return cmd, nil
}

// credential returns the credential to run as name, or nil when no switch is needed (empty
// name, the same user, or the agent is not root).
func credential(name string) (*syscall.Credential, error) {
	if name == "" || os.Geteuid() != 0 {
		return nil, nil
	}
	if cur, err := user.Current(); err == nil && cur.Username == name {
		return nil, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("launch: user %q: %w", name, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("launch: user %q: uid %q: %w", name, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("launch: user %q: gid %q: %w", name, u.Gid, err)
	}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	if gids, err := u.GroupIds(); err == nil {
		for _, g := range gids {
			if n, err := strconv.ParseUint(g, 10, 32); err == nil {
				cred.Groups = append(cred.Groups, uint32(n))
			}
		}
	}
	return cred, nil
}

func chownSandbox(dir string, uid, gid int) {
	_ = filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
		if err == nil {
			_ = os.Lchown(path, uid, gid)
		}
		return nil
	})
}

func termination(cmd *exec.Cmd, err error) Termination {
	if cmd.ProcessState != nil {
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
			return Termination{Status: int(ws), Message: describeWaitStatus(ws)}
		}
	}
	if err != nil {
		return Termination{Status: -1, Message: err.Error()}
	}
	return Termination{Status: -1, Message: "Executor ended"}
}

// Wait implements Containerizer.
func (p *Process) Wait(ctx context.Context, containerID string) (Termination, error) {
	p.mu.Lock()
	pr := p.procs[containerID]
	p.mu.Unlock()
	if pr == nil {
		return Termination{}, fmt.Errorf("%w: %s", ErrUnknownContainer, containerID)
	}
	select {
	case <-pr.done:
		p.mu.Lock()
		delete(p.procs, containerID)
		p.mu.Unlock()
		return pr.term, nil
	case <-ctx.Done():
		return Termination{}, ctx.Err()
	}
}

// Kill implements Containerizer: it signals the executor's whole process group.
func (p *Process) Kill(_ context.Context, containerID string, sig syscall.Signal) error {
	p.mu.Lock()
	pr := p.procs[containerID]
	p.mu.Unlock()
	if pr == nil {
		return fmt.Errorf("%w: %s", ErrUnknownContainer, containerID)
	}
	select {
	case <-pr.done:
		return nil
	default:
	}
	if err := syscall.Kill(-pr.pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill container %s: %w", containerID, err)
	}
	// What the executor started in other process groups of its session is killed once the
	// executor is gone (its reaper or, for an adopted executor, its watcher).
	return nil
}

// Recover implements Containerizer: every container whose executor is still alive (and is
// the same process, see ExecutorAlive) is adopted and watched by polling /proc, since it is
// not our child; its exit status cannot be learned. A container whose executor is gone is
// registered as ended, so Wait returns at once for it.
func (p *Process) Recover(_ context.Context, containers []RecoveredContainer) error {
	for _, c := range containers {
		pr := &child{pid: c.PID, done: make(chan struct{})}
		p.mu.Lock()
		p.procs[c.ContainerID] = pr
		p.mu.Unlock()
		if !ExecutorAlive(c) {
			pr.term = Termination{Status: -1, Message: "Executor ended while the agent was down"}
			killLeftovers(p.sessions, c) // what the dead executor left behind
			close(pr.done)
			continue
		}
		p.log.Info("adopted executor", zap.String("container_id", c.ContainerID), zap.String("executor_id", c.ExecutorID),
			zap.Int("pid", c.PID))
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.watchAdopted(pr, c)
		}()
	}
	return nil
}

// watchAdopted closes pr.done once the adopted executor is gone (or Close is called).
func (p *Process) watchAdopted(pr *child, c RecoveredContainer) {
	if c.StartTime == 0 {
		c.StartTime = proc.StartTime(c.PID)
	}
	t := time.NewTicker(adoptPollInterval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		if !ExecutorAlive(c) {
			pr.term = Termination{Status: -1, Message: "Executor terminated"}
			killLeftovers(p.sessions, c)
			close(pr.done)
			return
		}
	}
}

// Close ends the watchers of adopted executors and waits for the reapers of processes that
// already ended; it must be called after every launched process was waited for or killed.
func (p *Process) Close() {
	p.once.Do(func() { close(p.stop) })
	p.wg.Wait()
}
