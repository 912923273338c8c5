package agent

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/checkpoint"
	"github.com/agoracluster/agora/agent/containerizer"
	"github.com/agoracluster/agora/agent/sandbox"
	"github.com/agoracluster/agora/agent/statusupdate"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// Agent recovery (as Mesos's): at start the agent reads the checkpoints of its previous
// run (agent/checkpoint). When the host rebooted since (another boot id) every process of that
// run is gone and the agent registers as a new agent; the master reports the old agent's
// tasks lost when the old agent id times out. With --recover=cleanup every live executor
// found is killed and the agent registers as a new agent. Otherwise (--recover=reconnect)
// the agent rebuilds its frameworks, executors, tasks and status update streams, adopts
// the executors that are still alive (same pid and start time), fails the tasks of the dead
// ones, gives the live ones ExecutorReregistrationTimeout to subscribe again and registers
// with the master under its old agent id, reporting every recovered task.

// recoverCleanupWait bounds how long cleanup waits for killed executors to disappear.
const recoverCleanupWait = 10 * time.Second

// recover restores state from the checkpoints. It runs in Run before the loop starts, so it
// may touch a.st directly.
func (a *Agent) recover(ctx context.Context) error {
	cp, warnings, err := a.ckpt.Read()
	if err != nil {
		return fmt.Errorf("%w (to start afresh remove %s/meta)", err, a.cfg.WorkDir)
	}
	for _, w := range warnings {
		a.log.Warn("skipping an unreadable checkpoint", zap.Error(w))
	}
	if cp == nil {
		return nil
	}
	agentID := cp.Agent.GetId().GetValue()
	log := a.log.With(zap.String("agent_id", agentID))
	if cp.BootID != "" && a.bootID != "" && cp.BootID != a.bootID {
		log.Info("the host rebooted since the agent last ran: registering as a new agent",
			zap.String("old_boot_id", cp.BootID), zap.String("boot_id", a.bootID))
		// After a real reboot nothing matches (start times differ); this only kills leftovers
		// when the boot id changed without a reboot.
		a.sup.killRecovered(ctx, recoveredContainers(cp))
		a.iso.RemoveOrphans(nil)
		containerizer.KillSandboxProcesses(sandbox.Root(a.cfg.WorkDir))
		return a.ckpt.ForgetLatest()
	}
	containers := recoveredContainers(cp)
	if a.cfg.Recover == RecoverCleanup {
		log.Info("recover=cleanup: killing the executors of the previous run", zap.Int("executors", len(containers)))
		a.sup.killRecovered(ctx, containers)
		a.iso.RemoveOrphans(nil)
		containerizer.KillSandboxProcesses(sandbox.Root(a.cfg.WorkDir))
		return a.ckpt.ForgetLatest()
	}

	a.st.agentID = agentID
	var recovered []containerizer.RecoveredContainer
	var adopted []*executor
	for _, cfw := range cp.Frameworks {
		fw := &framework{id: cfw.Info.GetId().GetValue(), info: cfw.Info, executors: make(map[string]*executor)}
		for _, cex := range cfw.Executors {
			ex := a.recoverExecutor(fw, cex)
			// (A hosted executor's liveness is the host's to tell: Recover asks it.)
			if len(ex.tasks) == 0 && !cex.Hosted && !containerizer.ExecutorAlive(containerOf(fw.id, cex)) {
				ex.state = executorTerminated
				fw.completedExecutors = appendBounded(fw.completedExecutors, ex)
				a.iso.Release(ex.containerID)
				continue
			}
			fw.executors[ex.id] = ex
			recovered = append(recovered, containerOf(fw.id, cex))
			adopted = append(adopted, ex)
		}
		if len(fw.executors) > 0 {
			a.st.frameworks[fw.id] = fw
		}
	}
	if err := a.containerizer.Recover(ctx, recovered); err != nil {
		return fmt.Errorf("agent: recover containers: %w", err)
	}
	ids := make([]string, 0, len(recovered))
	for _, c := range recovered {
		ids = append(ids, c.ContainerID)
	}
	a.iso.Recover(ids)
	for _, ex := range adopted {
		a.recoverGPUs(a.ckpt.RunDir(agentID, ex.fw.id, ex.id, ex.containerID), ex.containerID)
	}
	for _, ex := range adopted {
		a.sup.watchRecovered(ex)
	}
	log.Info("recovered from checkpoints", zap.Int("frameworks", len(a.st.frameworks)),
		zap.Int("executors", len(adopted)), zap.Int("tasks", len(a.st.tasks)))
	return nil
}

// recoverExecutor rebuilds an executor and its tasks (and their update streams).
func (a *Agent) recoverExecutor(fw *framework, cex *checkpoint.Executor) *executor {
	eid := cex.Info.GetExecutorId().GetValue()
	ex := &executor{
		fw:           fw,
		id:           eid,
		info:         cex.Info,
		containerID:  cex.ContainerID,
		sandbox:      cex.Sandbox,
		command:      isCommandExecutor(cex.Info),
		state:        executorRegistering,
		pid:          cex.PID,
		hosted:       cex.Hosted,
		tasks:        make(map[string]*task),
		pendingKills: make(map[string]*mesos.KillPolicy),
		failReason:   mesos.TaskStatus_REASON_EXECUTOR_TERMINATED,
		recovered:    true,
	}
	for _, ct := range cex.Tasks {
		tid := ct.Task.GetTaskId().GetValue()
		key := ex.key(tid)
		if err := a.st.sum.Recover(key, ct.Records); err != nil {
			a.log.Warn("recover status updates", zap.String("framework_id", fw.id), zap.String("task_id", tid), zap.Error(err))
		}
		t := &task{ex: ex, info: taskInfoOf(ct.Task), state: mesos.TaskState_TASK_STAGING, launched: true}
		for _, r := range ct.Records {
			if r.Type != statusupdate.RecordUpdate {
				continue
			}
			var rec agorapb.StatusUpdateRecord
			if proto.Unmarshal(r.Update.Payload, &rec) != nil {
				continue
			}
			st := rec.GetStatus()
			st.Data = nil
			t.state = st.GetState()
			t.statuses = appendStatus(t.statuses, st)
		}
		if _, open := a.st.sum.Latest(key); !open && t.state.IsTerminal() {
			ex.completed = appendBounded(ex.completed, t.toTask(a.st.agentID, nil))
			continue
		}
		ex.tasks[tid] = t
		a.st.tasks[key] = t
	}
	return ex
}

// watchRecovered starts the re-registration timer of an adopted executor and waits for its
// container to end.
func (s supervisor) watchRecovered(ex *executor) {
	a := s.a
	timeout := a.cfg.ExecutorReregistrationTimeout
	ex.regTimer = a.afterFunc(timeout, func() {
		if ex.state != executorRegistering {
			return
		}
		a.log.Warn("recovered executor did not subscribe in time, killing it",
			zap.String("framework_id", ex.fw.id), zap.String("executor_id", ex.id), zap.Duration("timeout", timeout))
		ex.failReason = mesos.TaskStatus_REASON_EXECUTOR_REREGISTRATION_TIMEOUT
		ex.failMessage = fmt.Sprintf("Executor did not re-register within %v", timeout)
		a.sup.kill(ex)
	})
	cid := ex.containerID
	a.watchers.Add(1)
	go func() {
		defer a.watchers.Done()
		a.sup.wait(ex, cid)
	}()
}

// dropUndelivered ends the tasks of a recovered executor that are still staging and that
// the re-subscribing executor does not know: the agent died before delivering them (as
// Mesos: TASK_DROPPED for partition-aware frameworks, else TASK_LOST). Loop only.
func (a *Agent) dropUndelivered(ex *executor, known map[string]bool) {
	state := mesos.TaskState_TASK_LOST
	if slices.ContainsFunc(ex.fw.info.GetCapabilities(), func(c *mesos.FrameworkInfo_Capability) bool {
		return c.GetType() == mesos.FrameworkInfo_Capability_PARTITION_AWARE
	}) {
		state = mesos.TaskState_TASK_DROPPED
	}
	for _, t := range sortedByID(ex.tasks) {
		if t.state == mesos.TaskState_TASK_STAGING && !known[t.info.GetTaskId().GetValue()] {
			a.agentUpdate(t, state, mesos.TaskStatus_REASON_AGENT_RESTARTED, "Task launched during agent restart")
		}
	}
}

// killRecovered kills the live executors of a previous run (recover=cleanup) and waits a
// bounded time for them to go.
func (s supervisor) killRecovered(ctx context.Context, containers []containerizer.RecoveredContainer) {
	a := s.a
	if err := a.containerizer.Recover(ctx, containers); err != nil {
		a.log.Warn("recover containers for cleanup", zap.Error(err))
		return
	}
	wctx, cancel := context.WithTimeout(ctx, recoverCleanupWait)
	defer cancel()
	for _, c := range containers {
		if err := a.containerizer.Kill(wctx, c.ContainerID, syscall.SIGKILL); err != nil {
			a.log.Warn("kill executor", zap.String("container_id", c.ContainerID), zap.Error(err))
		}
	}
	for _, c := range containers {
		if _, err := a.containerizer.Wait(wctx, c.ContainerID); err != nil {
			a.log.Warn("executor did not go away", zap.String("container_id", c.ContainerID), zap.Error(err))
		}
	}
}

func recoveredContainers(cp *checkpoint.State) []containerizer.RecoveredContainer {
	var out []containerizer.RecoveredContainer
	for _, fw := range cp.Frameworks {
		for _, ex := range fw.Executors {
			out = append(out, containerOf(fw.Info.GetId().GetValue(), ex))
		}
	}
	return out
}

func containerOf(fid string, ex *checkpoint.Executor) containerizer.RecoveredContainer {
	return containerizer.RecoveredContainer{
		ContainerID: ex.ContainerID,
		FrameworkID: fid,
		ExecutorID:  ex.Info.GetExecutorId().GetValue(),
		Sandbox:     ex.Sandbox,
		PID:         ex.PID,
		StartTime:   ex.StartTime,
		Hosted:      ex.Hosted,
		Docker: isCommandExecutor(ex.Info) && slices.ContainsFunc(ex.Tasks, func(t *checkpoint.Task) bool {
			return isDocker(t.Task.GetContainer())
		}),
	}
}

// isCommandExecutor recognizes the ExecutorInfo the agent generates for a command task.
func isCommandExecutor(info *mesos.ExecutorInfo) bool {
	args := info.GetCommand().GetArguments()
	return info.GetSource() == info.GetExecutorId().GetValue() && len(args) == 2 && args[1] == "executor" &&
		strings.HasPrefix(info.GetName(), "Command Executor")
}

// taskInfoOf rebuilds the parts of a TaskInfo that a checkpointed Task keeps.
func taskInfoOf(t *mesos.Task) *mesos.TaskInfo {
	ti := &mesos.TaskInfo{
		Name:        proto.String(t.GetName()),
		TaskId:      t.GetTaskId(),
		AgentId:     t.GetAgentId(),
		Resources:   t.GetResources(),
		Labels:      t.GetLabels(),
		Discovery:   t.GetDiscovery(),
		Container:   t.GetContainer(),
		HealthCheck: t.GetHealthCheck(),
		KillPolicy:  t.GetKillPolicy(),
	}
	if t.User != nil {
		ti.Command = &mesos.CommandInfo{User: t.User}
	}
	return ti
}

// appendStatus keeps the latest maxStatuses statuses of a task.
func appendStatus(s []*mesos.TaskStatus, st *mesos.TaskStatus) []*mesos.TaskStatus {
	s = append(s, st)
	if len(s) > maxStatuses {
		s = append(s[:0:0], s[len(s)-maxStatuses:]...)
	}
	return s
}
