package recovery

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/checkpoint"
	"github.com/agoracluster/agora/agent/containerizer"
	"github.com/agoracluster/agora/agent/statusupdate"
	"github.com/agoracluster/agora/agent/workload"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// Action is what a restarting agent does with the checkpoints of its previous run.
type Action int

const (
	// Reconnect rebuilds the previous run's workload, adopts its live executors and
	// registers under the old agent id.
	Reconnect Action = iota
	// Cleanup kills every executor of the previous run and registers as a new agent
	// (--recover=cleanup).
	Cleanup
	// Rebooted: the host rebooted since (another boot id), every process of the previous
	// run is gone, and the agent registers as a new agent after killing leftovers.
	Rebooted
)

// Decide is what to do with the checkpoints cp of the previous run, on a host whose boot id
// is bootID ("" when unknown), with --recover=cleanup when cleanup is set.
func Decide(cp *checkpoint.State, bootID string, cleanup bool) Action {
	switch {
	case cp.BootID != "" && bootID != "" && cp.BootID != bootID:
		return Rebooted
	case cleanup:
		return Cleanup
	default:
		return Reconnect
	}
}

// Rebuilt is what Rebuild found.
type Rebuilt struct {
	// Adopted are the executors whose containers may still run, and Containers those
	// containers, for the containerizer to recover (the same order).
	Adopted    []*workload.Executor
	Containers []containerizer.RecoveredContainer
	// Gone are the container ids of executors without tasks whose process is gone.
	Gone []string
	// Warnings are the status update streams that could not be recovered.
	Warnings []error
}

// Rebuild rebuilds the frameworks, executors and tasks of cp, and their status update
// streams, into w (empty, before the agent's loop starts). alive tells whether an
// executor's process still runs; an executor without tasks whose process is gone is kept
// as completed, not adopted. (A hosted executor's liveness is the executor host's to tell:
// it is always adopted, and the containerizer's Recover asks the host.)
func Rebuild(w *workload.State, cp *checkpoint.State, alive func(containerizer.RecoveredContainer) bool) Rebuilt {
	var rb Rebuilt
	w.AgentID = cp.Agent.GetId().GetValue()
	for _, cfw := range cp.Frameworks {
		fw := &workload.Framework{ID: cfw.Info.GetId().GetValue(), Info: cfw.Info, Executors: make(map[string]*workload.Executor)}
		for _, cex := range cfw.Executors {
			ex := rebuildExecutor(w, fw, cex, &rb)
			c := ContainerOf(fw.ID, cex)
			if len(ex.Tasks) == 0 && !cex.Hosted && !alive(c) {
				ex.State = workload.ExecutorTerminated
				fw.CompletedExecutors = workload.AppendBounded(fw.CompletedExecutors, ex)
				rb.Gone = append(rb.Gone, ex.ContainerID)
				continue
			}
			fw.Executors[ex.ID] = ex
			rb.Containers = append(rb.Containers, c)
			rb.Adopted = append(rb.Adopted, ex)
		}
		if len(fw.Executors) > 0 {
			w.Frameworks[fw.ID] = fw
		}
	}
	return rb
}

// rebuildExecutor rebuilds an executor and its tasks (and their update streams).
func rebuildExecutor(w *workload.State, fw *workload.Framework, cex *checkpoint.Executor, rb *Rebuilt) *workload.Executor {
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
		if err := w.Updates.Recover(key, ct.Records); err != nil {
			rb.Warnings = append(rb.Warnings, fmt.Errorf("task %s of framework %s: %w", tid, fw.ID, err))
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
		if _, open := w.Updates.Latest(key); !open && t.State.IsTerminal() {
			ex.Completed = workload.AppendBounded(ex.Completed, t.ToTask(w.AgentID, nil))
			continue
		}
		ex.Tasks[tid] = t
		w.Tasks[key] = t
	}
	return ex
}

// Undelivered are the tasks of a recovered executor that are still staging and that the
// re-subscribing executor does not know (known holds the task ids it reports): the agent
// died before delivering them. They end in state (as Mesos: TASK_DROPPED for
// partition-aware frameworks, else TASK_LOST) with REASON_AGENT_RESTARTED.
func Undelivered(ex *workload.Executor, known map[string]bool) (tasks []*workload.Task, state mesos.TaskState) {
	state = mesos.TaskState_TASK_LOST
	if slices.ContainsFunc(ex.Framework.Info.GetCapabilities(), func(c *mesos.FrameworkInfo_Capability) bool {
		return c.GetType() == mesos.FrameworkInfo_Capability_PARTITION_AWARE
	}) {
		state = mesos.TaskState_TASK_DROPPED
	}
	for _, t := range workload.SortedByID(ex.Tasks) {
		if t.State == mesos.TaskState_TASK_STAGING && !known[t.Info.GetTaskId().GetValue()] {
			tasks = append(tasks, t)
		}
	}
	return tasks, state
}

// Containers are the containers of every executor in cp.
func Containers(cp *checkpoint.State) []containerizer.RecoveredContainer {
	var out []containerizer.RecoveredContainer
	for _, fw := range cp.Frameworks {
		for _, ex := range fw.Executors {
			out = append(out, ContainerOf(fw.Info.GetId().GetValue(), ex))
		}
	}
	return out
}

// ContainerOf is the container of a checkpointed executor of framework fid.
func ContainerOf(fid string, ex *checkpoint.Executor) containerizer.RecoveredContainer {
	return containerizer.RecoveredContainer{
		ContainerID: ex.ContainerID,
		FrameworkID: fid,
		ExecutorID:  ex.Info.GetExecutorId().GetValue(),
		Sandbox:     ex.Sandbox,
		PID:         ex.PID,
		StartTime:   ex.StartTime,
		Hosted:      ex.Hosted,
		Docker: isCommandExecutor(ex.Info) && slices.ContainsFunc(ex.Tasks, func(t *checkpoint.Task) bool {
			return containerizer.IsDocker(t.Task.GetContainer())
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
