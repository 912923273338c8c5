package agent

import (
	"context"
	"time"

	"github.com/agoracluster/agora/agent/clock"
	"github.com/agoracluster/agora/agent/supervisor"
	"github.com/agoracluster/agora/agent/workload"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// The agent's executor supervisor (agent/supervisor), wired to the loop, the workload and
// the master connection.

// newSupervisor builds the supervisor once the containerizers, the isolator, the GPUs and
// the endpoint are known. In Run, before recovery.
func (a *Agent) newSupervisor() *supervisor.Supervisor {
	cfg := supervisor.Config{
		WorkDir:               a.cfg.WorkDir,
		ExecutorBinary:        a.executorBin,
		SwitchUser:            a.cfg.SwitchUser,
		ExecutorHost:          a.cfg.ExecutorHost,
		RegistrationTimeout:   a.cfg.ExecutorRegistrationTimeout,
		ReregistrationTimeout: a.cfg.ExecutorReregistrationTimeout,
		ShutdownGracePeriod:   a.cfg.ExecutorShutdownGracePeriod,
		LaunchConcurrency:     a.cfg.LaunchConcurrency,
		Endpoint:              a.endpoint,
		Tokens:                a.tokens,
		TLSEnv:                a.cfg.TLS.Vars(),
	}
	if a.docker != nil {
		cfg.DockerEnv = a.docker.Env()
	}
	return supervisor.New(a.procCtx, cfg, supervisor.Deps{
		Loop:          agentLoop{a},
		Owner:         executorEvents{a},
		Workload:      &a.st.State,
		Log:           a.log,
		Clock:         a.clock,
		Containerizer: a.containerizer,
		Hosted:        a.hosted,
		Isolator:      a.iso,
		GPUs:          a.gpus,
		Checkpoints:   a.ckpt,
	})
}

// agentLoop is the agent's loop as the supervisor's Loop.
type agentLoop struct{ a *Agent }

var _ supervisor.Loop = agentLoop{}

// Send implements supervisor.Loop.
func (l agentLoop) Send(ev func()) bool { return l.a.send(ev) }

// Query implements supervisor.Loop.
func (l agentLoop) Query(ctx context.Context, fn func()) error { return l.a.query(ctx, fn) }

// AfterFunc implements supervisor.Loop.
func (l agentLoop) AfterFunc(d time.Duration, ev func()) clock.Timer { return l.a.afterFunc(d, ev) }

// executorEvents is the supervisor's Owner: what becomes of executors goes into the status
// updates and to the master.
type executorEvents struct{ a *Agent }

var _ supervisor.Owner = executorEvents{}

// TaskUpdate implements supervisor.Owner.
func (e executorEvents) TaskUpdate(t *workload.Task, state mesos.TaskState, reason mesos.TaskStatus_Reason, msg string) {
	e.a.agentUpdate(t, state, reason, msg)
}

// ExecutorExited implements supervisor.Owner: the master hears of it, and the executor is
// forgotten once its tasks' updates are acknowledged.
func (e executorEvents) ExecutorExited(ex *workload.Executor, status int) {
	a := e.a
	a.master.Enqueue(ex.ExitedCall(status))
	a.maybeRemoveExecutor(ex)
	a.checkStopped() // a stopping agent waits for this exit even while the tasks' updates are pending
}
