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
	"github.com/agoracluster/agora/agent/workload"
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

	a.st.AgentID = agentID
	var recovered []containerizer.RecoveredContainer
	var adopted []*workload.Executor
	for _, cfw := range cp.Frameworks {
		fw := &workload.Framework{ID: cfw.Info.GetId().GetValue(), Info: cfw.Info, Executors: make(map[string]*workload.Executor)}
		for _, cex := range cfw.Executors {
			ex := a.recoverExecutor(fw, cex)
			// (A hosted executor's liveness is the host's to tell: Recover asks it.)
			if len(ex.Tasks) == 0 && !cex.Hosted && !containerizer.ExecutorAlive(containerOf(fw.ID, cex)) {
				ex.State = workload.ExecutorTerminated
				fw.CompletedExecutors = workload.AppendBounded(fw.CompletedExecutors, ex)
				a.iso.Release(ex.ContainerID)
				continue
			}
			fw.Executors[ex.ID] = ex
			recovered = append(recovered, containerOf(fw.ID, cex))
			adopted = append(adopted, ex)
		}
		if len(fw.Executors) > 0 {
			a.st.Frameworks[fw.ID] = fw
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
		a.recoverGPUs(a.ckpt.RunDir(agentID, ex.Framework.ID, ex.ID, ex.ContainerID), ex.ContainerID)
	}
	for _, ex := range adopted {
		a.sup.watchRecovered(ex)
	}
	log.Info("recovered from checkpoints", zap.Int("frameworks", len(a.st.Frameworks)),
		zap.Int("executors", len(adopted)), zap.Int("tasks", len(a.st.Tasks)))
	return nil
}

// recoverExecutor rebuilds an executor and its tasks (and their update streams).
func (a *Agent) recoverExecutor(fw *workload.Framework, cex *checkpoint.Executor) *workload.Executor {
	eid := cex.Info.GetExecutorId().GetValue()
	ex := &workload.Executor{
		Framework:    fw,
		ID:           eid,
		Info:         cex.Info,
		ContainerID:  cex.ContainerID,
		Sandbox:      cex.Sandbox,
		Command:      isCommandExecutor(cex.Info),
		State:        workload.ExecutorRegistering,
		PID:          cex.PID,
		Hosted:       cex.Hosted,
		Tasks:        make(map[string]*workload.Task),
		PendingKills: make(map[string]*mesos.KillPolicy),
		FailReason:   mesos.TaskStatus_REASON_EXECUTOR_TERMINATED,
		Recovered:    true,
	}
	for _, ct := range cex.Tasks {
		tid := ct.Task.GetTaskId().GetValue()
		key := ex.Key(tid)
		if err := a.st.Updates.Recover(key, ct.Records); err != nil {
			a.log.Warn("recover status updates", zap.String("framework_id", fw.ID), zap.String("task_id", tid), zap.Error(err))
		}
		t := &workload.Task{Executor: ex, Info: taskInfoOf(ct.Task), State: mesos.TaskState_TASK_STAGING, Launched: true}
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
			t.State = st.GetState()
			t.Statuses = workload.AppendStatus(t.Statuses, st)
		}
		if _, open := a.st.Updates.Latest(key); !open && t.State.IsTerminal() {
			ex.Completed = workload.AppendBounded(ex.Completed, t.ToTask(a.st.AgentID, nil))
			continue
		}
		ex.Tasks[tid] = t
		a.st.Tasks[key] = t
	}
	return ex
}

// watchRecovered starts the re-registration timer of an adopted executor and waits for its
// container to end.
func (s supervisor) watchRecovered(ex *workload.Executor) {
	a := s.a
	timeout := a.cfg.ExecutorReregistrationTimeout
	ex.RegTimer = a.afterFunc(timeout, func() {
		if ex.State != workload.ExecutorRegistering {
			return
		}
		a.log.Warn("recovered executor did not subscribe in time, killing it",
			zap.String("framework_id", ex.Framework.ID), zap.String("executor_id", ex.ID), zap.Duration("timeout", timeout))
		ex.FailReason = mesos.TaskStatus_REASON_EXECUTOR_REREGISTRATION_TIMEOUT
		ex.FailMessage = fmt.Sprintf("Executor did not re-register within %v", timeout)
		a.sup.kill(ex)
	})
	cid := ex.ContainerID
	a.watchers.Add(1)
	go func() {
		defer a.watchers.Done()
		a.sup.wait(ex, cid)
	}()
}

// dropUndelivered ends the tasks of a recovered executor that are still staging and that
// the re-subscribing executor does not know: the agent died before delivering them (as
// Mesos: TASK_DROPPED for partition-aware frameworks, else TASK_LOST). Loop only.
func (a *Agent) dropUndelivered(ex *workload.Executor, known map[string]bool) {
	state := mesos.TaskState_TASK_LOST
	if slices.ContainsFunc(ex.Framework.Info.GetCapabilities(), func(c *mesos.FrameworkInfo_Capability) bool {
		return c.GetType() == mesos.FrameworkInfo_Capability_PARTITION_AWARE
	}) {
		state = mesos.TaskState_TASK_DROPPED
	}
	for _, t := range workload.SortedByID(ex.Tasks) {
		if t.State == mesos.TaskState_TASK_STAGING && !known[t.Info.GetTaskId().GetValue()] {
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
