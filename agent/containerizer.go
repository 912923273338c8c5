package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// ErrUnknownContainer is returned for a container id the containerizer does not know.
var ErrUnknownContainer = errors.New("agent: unknown container")

// ContainerSpec is everything a containerizer needs to start an executor.
type ContainerSpec struct {
	ContainerID string
	FrameworkID string
	ExecutorID  string
	// Sandbox is the executor's run directory; it exists before Launch is called.
	Sandbox string
	// Command is what to run: shell true runs `/bin/sh -c value`; false runs value with
	// arguments (arguments[0] is argv[0], as in Mesos). Its uris are fetched into Sandbox.
	Command *mesos.CommandInfo
	// Env is the executor's complete environment (KEY=value).
	Env []string
	// User is the user to run as; empty runs as the agent's user.
	User string
	// Container is the ContainerInfo of the executor, for containerizers that use it.
	Container *mesos.ContainerInfo
	// Hosted runs Agora's command executor in the executor host rather than as a process
	// of its own (Config.ExecutorHost).
	Hosted bool
}

// Termination is how a container ended.
type Termination struct {
	// Status is the raw wait status as Mesos reports it (-1 when unknown).
	Status int
	// Message describes the termination for status updates.
	Message string
}

// Containerizer starts, watches and stops executor containers. The process containerizer
// runs executors as plain processes; a docker containerizer comes later.
type Containerizer interface {
	// Launch fetches the spec's URIs into the sandbox and starts the executor. It returns
	// once the executor runs, with its pid.
	Launch(ctx context.Context, spec ContainerSpec) (pid int, err error)
	// Wait blocks until the container ends or ctx is done.
	Wait(ctx context.Context, containerID string) (Termination, error)
	// Kill sends sig to every process of the container.
	Kill(ctx context.Context, containerID string, sig syscall.Signal) error
	// Recover adopts containers left by a previous agent run. Afterwards Wait and Kill work
	// for every given container; Wait returns at once for one that is gone.
	Recover(ctx context.Context, containers []RecoveredContainer) error
}

// describeWaitStatus renders a wait status the way Mesos messages do.
func describeWaitStatus(ws syscall.WaitStatus) string {
	switch {
	case ws.Exited():
		return fmt.Sprintf("Command exited with status %d", ws.ExitStatus())
	case ws.Signaled():
		return fmt.Sprintf("Command terminated with signal %s", signalName(ws.Signal()))
	}
	return fmt.Sprintf("Command ended with wait status %d", int(ws))
}

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGKILL:
		return "Killed"
	case syscall.SIGTERM:
		return "Terminated"
	}
	return s.String()
}

// containerRouter sends each container to the containerizer that runs it: hosted command
// executors to Hosted, every other executor to Process.
type containerRouter struct {
	process *Process
	hosted  *Hosted

	mu        sync.Mutex
	hostedIDs map[string]bool
}

func newContainerRouter(process *Process, hosted *Hosted) *containerRouter {
	return &containerRouter{process: process, hosted: hosted, hostedIDs: make(map[string]bool)}
}

func (r *containerRouter) of(containerID string) Containerizer {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.hostedIDs[containerID] {
		return r.hosted
	}
	return r.process
}

func (r *containerRouter) mark(containerID string, hosted bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if hosted {
		r.hostedIDs[containerID] = true
	} else {
		delete(r.hostedIDs, containerID)
	}
}

// Launch implements Containerizer.
func (r *containerRouter) Launch(ctx context.Context, spec ContainerSpec) (int, error) {
	if !spec.Hosted {
		return r.process.Launch(ctx, spec)
	}
	r.mark(spec.ContainerID, true)
	pid, err := r.hosted.Launch(ctx, spec)
	if err != nil {
		r.mark(spec.ContainerID, false)
	}
	return pid, err
}

// Wait implements Containerizer.
func (r *containerRouter) Wait(ctx context.Context, containerID string) (Termination, error) {
	c := r.of(containerID)
	term, err := c.Wait(ctx, containerID)
	if err == nil && c == Containerizer(r.hosted) {
		r.mark(containerID, false)
	}
	return term, err
}

// Kill implements Containerizer.
func (r *containerRouter) Kill(ctx context.Context, containerID string, sig syscall.Signal) error {
	return r.of(containerID).Kill(ctx, containerID, sig)
}

// Recover implements Containerizer. Hosted containers of a previous run are recovered as
// hosted even when the executor host is now turned off: they still run there.
func (r *containerRouter) Recover(ctx context.Context, containers []RecoveredContainer) error {
	var procs, hosted []RecoveredContainer
	for _, c := range containers {
		if c.Hosted {
			hosted = append(hosted, c)
		} else {
			procs = append(procs, c)
		}
	}
	if err := r.process.Recover(ctx, procs); err != nil {
		return err
	}
	if len(hosted) == 0 {
		return nil
	}
	for _, c := range hosted {
		r.mark(c.ContainerID, true)
	}
	return r.hosted.Recover(ctx, hosted)
}
