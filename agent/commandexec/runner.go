package commandexec

import (
	"os/exec"
	"syscall"
	"time"

	"github.com/agoracluster/agora/agent/healthcheck"
	"github.com/agoracluster/agora/agent/taskproc"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// runner is a launched task as the loop sees it: a process group (processRunner) or a Docker
// container (dockerRunner). The loop owns the update, kill and health-check logic and calls
// these methods; none of them blocks (IO runs on goroutines the executor waits for). The
// task's end arrives as a taskExited message.
type runner interface {
	// terminate asks the task to stop (SIGTERM, or the container's stop signal); the loop
	// escalates with kill once grace has passed.
	terminate(grace time.Duration)
	// kill kills the task at once (SIGKILL).
	kill()
	// probe builds the health check's probe for where the task runs; env is the task's
	// environment for COMMAND checks.
	probe(hc *mesos.HealthCheck, env []string) (healthcheck.Probe, error)
}

// taskExited reports the end of the task; outcome renders the terminal state, message and
// reason (nil for none) given whether the executor had killed the task.
type taskExited struct {
	outcome func(killed bool) (mesos.TaskState, string, *mesos.TaskStatus_Reason)
}

// processRunner is a task running as a process group of the executor.
type processRunner struct {
	cmd   *exec.Cmd
	pgid  int
	dir   string
	place func(pid int) // Config.PlaceProcess, for health check processes; may be nil
}

var _ runner = (*processRunner)(nil)

func (p *processRunner) terminate(time.Duration) { _ = taskproc.SignalGroup(p.pgid, syscall.SIGTERM) }
func (p *processRunner) kill()                   { _ = taskproc.SignalGroup(p.pgid, syscall.SIGKILL) }

func (p *processRunner) probe(hc *mesos.HealthCheck, env []string) (healthcheck.Probe, error) {
	probe, err := healthcheck.ProbeFromProto(hc, env, p.dir)
	if err != nil {
		return nil, err
	}
	if cp, ok := probe.(healthcheck.CommandProbe); ok {
		cp.User = p.cmd.SysProcAttr.Credential
		cp.Started = p.place
		probe = cp
	}
	return probe, nil
}

// wait waits for the process, kills what is left of its process group and reports the end.
func (p *processRunner) wait() taskExited {
	err := p.cmd.Wait()
	_ = taskproc.SignalGroup(p.pgid, syscall.SIGKILL) // leftovers of the task's process group
	ps := p.cmd.ProcessState
	return taskExited{outcome: func(killed bool) (mesos.TaskState, string, *mesos.TaskStatus_Reason) {
		state, msg := taskproc.ExitOutcome(ps, err, killed)
		return state, msg, nil
	}}
}
