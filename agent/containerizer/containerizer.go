package containerizer

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// ErrUnknownContainer is returned for a container id the containerizer does not know.
var ErrUnknownContainer = errors.New("containerizer: unknown container")

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
	// Docker: a command executor for DOCKER tasks, which runs its task in a Docker container
	// (the Docker containerizer adds what the executor needs to reach the engine).
	Docker bool
}

// Termination is how a container ended.
type Termination struct {
	// Status is the raw wait status as Mesos reports it (-1 when unknown).
	Status int
	// Message describes the termination for status updates.
	Message string
}

// Containerizer starts, watches and stops executor containers: Process runs executors as
// processes of their own, Hosted runs Agora's command executors in the executor host, and
// Docker runs the command executors of DOCKER tasks (which run their task's container).
// Router sends each container to the one that runs it.
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

// RecoveredContainer is an executor container checkpointed by a previous agent run.
type RecoveredContainer struct {
	ContainerID string
	FrameworkID string
	ExecutorID  string
	Sandbox     string
	// PID is the executor's checkpointed pid (0 when it was never checkpointed).
	PID int
	// StartTime is the executor's start time from /proc/<pid>/stat (field 22), checkpointed
	// at launch; 0 when unknown, then the executor's environment identifies it instead.
	StartTime uint64
	// Hosted: the executor runs in the executor host (PID is the host's).
	Hosted bool
	// Docker: the executor ran DOCKER tasks (see ContainerSpec.Docker).
	Docker bool
}
