package docker

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
	"go.uber.org/zap"
)

// Container is one running (or ended) task container and the goroutine that copies its output
// into the sandbox. It is created by Runtime.Run or Runtime.Attach; end it with Wait (which
// returns once the container stopped and its output is copied), Close (stop copying, leave the
// container alone, e.g. on executor shutdown) or Remove.
type Container struct {
	// ID is the Docker container id, Name its name (agora-<ContainerID>).
	ID          string
	Name        string
	ContainerID string
	Sandbox     string

	rt  *Runtime
	log *zap.Logger

	cancelLogs context.CancelFunc
	logsDone   chan struct{}
	closeOnce  sync.Once
}

func (r *Runtime) newContainer(id, name, containerID, sandbox string, log *zap.Logger, since string) *Container {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Container{
		ID: id, Name: name, ContainerID: containerID, Sandbox: sandbox,
		rt: r, log: log, cancelLogs: cancel, logsDone: make(chan struct{}),
	}
	go func() {
		defer close(c.logsDone)
		c.copyLogs(ctx, since)
	}()
	return c
}

// Wait blocks until the container has stopped and its output is copied into the sandbox, and
// returns its exit code (128+n when killed by signal n, as Docker reports it) and whether the
// kernel OOM-killed it for exceeding its memory limit.
func (c *Container) Wait(ctx context.Context) (exitCode int, oomKilled bool, err error) {
	waitC, errC := c.rt.cli.ContainerWait(ctx, c.ID, container.WaitConditionNotRunning)
	select {
	case res := <-waitC:
		if res.Error != nil && res.Error.Message != "" {
			return 0, false, fmt.Errorf("docker: wait for container %s: %s", c.Name, res.Error.Message)
		}
		exitCode = int(res.StatusCode)
	case err := <-errC:
		return 0, false, fmt.Errorf("docker: wait for container %s: %w", c.Name, err)
	}
	select {
	case <-c.logsDone:
	case <-ctx.Done():
		return 0, false, ctx.Err()
	}
	info, err := c.rt.inspect(ctx, c.ID)
	if err != nil {
		return 0, false, err
	}
	c.log.Info("container exited", zap.Int("exit_code", exitCode), zap.Bool("oom_killed", info.OOMKilled))
	return exitCode, info.OOMKilled, nil
}

// ExitMessage renders a container's end for a status update.
func ExitMessage(exitCode int, oomKilled bool) string {
	if oomKilled {
		return fmt.Sprintf("Container exceeded its memory limit and was OOM-killed (exit status %d)", exitCode)
	}
	return fmt.Sprintf("Container exited with status %d", exitCode)
}

// Kill stops the container like `docker stop`: its stop signal (SIGTERM unless the image or the
// stop-signal parameter says otherwise), then SIGKILL after grace (rounded up to whole
// seconds). It returns once the container has stopped; ctx should allow for grace. Stopping a
// stopped container is not an error.
func (c *Container) Kill(ctx context.Context, grace time.Duration) error {
	c.log.Info("stopping container", zap.Duration("grace", grace))
	return c.rt.stop(ctx, c.ID, grace)
}

// Signal sends sig (e.g. "SIGTERM") to the container's main process.
func (c *Container) Signal(ctx context.Context, sig string) error {
	if err := c.rt.cli.ContainerKill(ctx, c.ID, sig); err != nil {
		return fmt.Errorf("docker: signal %s to container %s: %w", sig, c.Name, err)
	}
	return nil
}

// Close stops copying output and waits for the copier; the container itself is left alone.
func (c *Container) Close() {
	c.closeOnce.Do(c.cancelLogs)
	<-c.logsDone
}

// Remove closes the container and removes it (forcibly, if it still runs). Removing a removed
// container is not an error.
func (c *Container) Remove(ctx context.Context) error {
	c.Close()
	return c.rt.remove(ctx, c.ID)
}

// Inspect reports the container's state, address and published ports.
func (c *Container) Inspect(ctx context.Context) (Info, error) { return c.rt.inspect(ctx, c.ID) }

// ExecResult is the outcome of a command run inside the container.
type ExecResult struct {
	ExitCode int
	// Output holds the command's stdout and stderr, interleaved, up to maxExecOutput bytes.
	Output []byte
}

const maxExecOutput = 64 << 10

// Exec runs cmd inside the container (for COMMAND health checks: e.g.
// []string{"/bin/sh", "-c", value}) and returns its exit code. When ctx ends first, Exec returns
// ctx's error; the engine cannot kill an exec'd process, so it may run on.
func (c *Container) Exec(ctx context.Context, cmd []string, env []string) (ExecResult, error) {
	created, err := c.rt.cli.ContainerExecCreate(ctx, c.ID, container.ExecOptions{
		Cmd: cmd, Env: env, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return ExecResult{}, fmt.Errorf("docker: exec in container %s: %w", c.Name, err)
	}
	hj, err := c.rt.cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return ExecResult{}, fmt.Errorf("docker: exec in container %s: attach: %w", c.Name, err)
	}
	out := &cappedBuffer{max: maxExecOutput}
	copied := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(out, out, hj.Reader)
		copied <- err
	}()
	select {
	case err = <-copied:
		hj.Close()
	case <-ctx.Done():
		hj.Close()
		<-copied
		return ExecResult{}, ctx.Err()
	}
	if err != nil {
		return ExecResult{}, fmt.Errorf("docker: exec in container %s: read output: %w", c.Name, err)
	}
	// The output ends when the process does; the engine may record the exit code a moment later.
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		ins, err := c.rt.cli.ContainerExecInspect(ctx, created.ID)
		if err != nil {
			return ExecResult{}, fmt.Errorf("docker: exec in container %s: inspect: %w", c.Name, err)
		}
		if !ins.Running {
			return ExecResult{ExitCode: ins.ExitCode, Output: out.Bytes()}, nil
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ExecResult{}, ctx.Err()
		}
	}
}

type cappedBuffer struct {
	bytes.Buffer
	max int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
