package operatorapi

import (
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/stateapi"
	"github.com/agoracluster/agora/agent/workload"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	agentpb "github.com/agoracluster/agora/proto/mesos/v1/agent"
	"github.com/agoracluster/agora/resources"
)

// The operator API's answers rendered from the agent's workload, on the agent's loop.

// StateOf is GET_STATE's answer: Mesos's task lists are queued (waiting for their
// executor), launched (running), terminated (terminal, update not yet acknowledged) and
// completed. What v may not see is left out, as Mesos's agent does: a framework it may not
// view with everything under it, then executors and tasks one by one. On the agent's loop
// only.
func StateOf(w *workload.State, v workload.Viewer) *agentpb.Response_GetState {
	st := &agentpb.Response_GetState{
		GetTasks:      &agentpb.Response_GetTasks{},
		GetExecutors:  &agentpb.Response_GetExecutors{},
		GetFrameworks: &agentpb.Response_GetFrameworks{},
	}
	tasks := st.GetTasks
	executor := func(fw *workload.Framework, ex *workload.Executor, completed bool) {
		if v.Executor(fw.Info, ex.Info) {
			e := &agentpb.Response_GetExecutors_Executor{ExecutorInfo: proto.Clone(ex.Info).(*mesos.ExecutorInfo)}
			if completed {
				st.GetExecutors.CompletedExecutors = append(st.GetExecutors.CompletedExecutors, e)
			} else {
				st.GetExecutors.Executors = append(st.GetExecutors.Executors, e)
			}
		}
		for _, t := range workload.SortedByID(ex.Tasks) {
			task := t.ToTask(w.AgentID, w.Updates)
			if !v.Task(fw.Info, task) {
				continue
			}
			mt := proto.Clone(task).(*mesos.Task)
			switch {
			case t.State.IsTerminal():
				tasks.TerminatedTasks = append(tasks.TerminatedTasks, mt)
			case t.Launched:
				tasks.LaunchedTasks = append(tasks.LaunchedTasks, mt)
			default:
				tasks.QueuedTasks = append(tasks.QueuedTasks, mt)
			}
		}
		for _, t := range ex.Completed {
			if v.Task(fw.Info, t) {
				tasks.CompletedTasks = append(tasks.CompletedTasks, proto.Clone(t).(*mesos.Task))
			}
		}
	}
	for _, fw := range workload.SortedByID(w.Frameworks) {
		if !v.Framework(fw.Info) {
			continue
		}
		st.GetFrameworks.Frameworks = append(st.GetFrameworks.Frameworks,
			&agentpb.Response_GetFrameworks_Framework{FrameworkInfo: proto.Clone(fw.Info).(*mesos.FrameworkInfo)})
		for _, ex := range workload.SortedByID(fw.Executors) {
			executor(fw, ex, false)
		}
		for _, ex := range fw.CompletedExecutors {
			executor(fw, ex, true)
		}
	}
	for _, fw := range w.CompletedFrameworks {
		if !v.Framework(fw.Info) {
			continue
		}
		st.GetFrameworks.CompletedFrameworks = append(st.GetFrameworks.CompletedFrameworks,
			&agentpb.Response_GetFrameworks_Framework{FrameworkInfo: proto.Clone(fw.Info).(*mesos.FrameworkInfo)})
		for _, ex := range fw.CompletedExecutors {
			executor(fw, ex, true)
		}
	}
	return st
}

// ContainersOf lists the containers of the executors that run that v may see, without
// their statistics. On the agent's loop only.
func ContainersOf(w *workload.State, v workload.Viewer) []*agentpb.Response_GetContainers_Container {
	var out []*agentpb.Response_GetContainers_Container
	for _, fw := range workload.SortedByID(w.Frameworks) {
		for _, ex := range workload.SortedByID(fw.Executors) {
			if ex.Gone() || ex.ContainerID == "" || !v.Framework(fw.Info) || !v.Executor(fw.Info, ex.Info) {
				continue
			}
			cid := &mesos.ContainerID{Value: proto.String(ex.ContainerID)}
			c := &agentpb.Response_GetContainers_Container{
				FrameworkId:     &mesos.FrameworkID{Value: proto.String(fw.ID)},
				ExecutorId:      &mesos.ExecutorID{Value: proto.String(ex.ID)},
				ExecutorName:    proto.String(ex.Info.GetName()),
				ContainerId:     cid,
				ContainerStatus: &mesos.ContainerStatus{ContainerId: cid},
			}
			if ex.PID > 0 {
				c.ContainerStatus.ExecutorPid = proto.Uint32(uint32(ex.PID))
			}
			out = append(out, c)
		}
	}
	return out
}

// Statistics is a container's usage (from its cgroup) as Mesos's ResourceStatistics,
// stamped now.
func Statistics(u stateapi.ResourceStatistics, now time.Time) *mesos.ResourceStatistics {
	return &mesos.ResourceStatistics{
		Timestamp:             proto.Float64(float64(now.UnixNano()) / 1e9),
		CpusUserTimeSecs:      proto.Float64(u.CPUsUserTimeSecs),
		CpusSystemTimeSecs:    proto.Float64(u.CPUsSystemTimeSecs),
		CpusLimit:             proto.Float64(u.CPUsLimit),
		CpusNrPeriods:         proto.Uint32(uint32(u.CPUsNrPeriods)),
		CpusNrThrottled:       proto.Uint32(uint32(u.CPUsNrThrottled)),
		CpusThrottledTimeSecs: proto.Float64(u.CPUsThrottledTimeSecs),
		MemTotalBytes:         proto.Uint64(u.MemTotalBytes),
		MemLimitBytes:         proto.Uint64(u.MemLimitBytes),
		MemRssBytes:           proto.Uint64(u.MemRSSBytes),
	}
}

// MetricsOf is the agent's figures under Mesos's slave/… names: the workload's tasks,
// executors and used resources against the agent's total (info's resources). On the
// agent's loop only.
func MetricsOf(w *workload.State, info *mesos.AgentInfo, connected bool) map[string]float64 {
	m := map[string]float64{}
	byState := map[mesos.TaskState]float64{}
	var used resources.Resources
	executors := 0.0
	for _, fw := range w.Frameworks {
		for _, ex := range fw.Executors {
			if !ex.Gone() {
				executors++
				if r, err := resources.FromProto(ex.Info.GetResources()); err == nil {
					used = used.Plus(r)
				}
			}
			for _, t := range ex.Tasks {
				byState[t.State]++
				if !t.State.IsTerminal() {
					if r, err := resources.FromProto(t.Info.GetResources()); err == nil {
						used = used.Plus(r)
					}
				}
			}
			for _, t := range ex.Completed {
				byState[t.GetState()]++
			}
		}
		for _, ex := range fw.CompletedExecutors {
			for _, t := range ex.Completed {
				byState[t.GetState()]++
			}
		}
	}
	for _, st := range []mesos.TaskState{
		mesos.TaskState_TASK_STAGING, mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_RUNNING,
		mesos.TaskState_TASK_KILLING, mesos.TaskState_TASK_FINISHED, mesos.TaskState_TASK_FAILED,
		mesos.TaskState_TASK_KILLED, mesos.TaskState_TASK_LOST, mesos.TaskState_TASK_GONE,
	} {
		m["slave/tasks_"+taskMetricName(st)] = byState[st]
	}
	m["slave/executors_running"] = executors
	m["slave/frameworks_active"] = float64(len(w.Frameworks))
	m["slave/registered"] = 0
	if connected {
		m["slave/registered"] = 1
	}
	total, err := resources.FromProto(info.GetResources())
	if err != nil {
		total = resources.Resources{}
	}
	for _, name := range []string{"cpus", "mem", "disk", "gpus"} {
		t, u := total.Scalar(name), used.Scalar(name)
		m["slave/"+name+"_total"] = t
		m["slave/"+name+"_used"] = u
		m["slave/"+name+"_percent"] = 0
		if t > 0 {
			m["slave/"+name+"_percent"] = u / t
		}
	}
	m["slave/status_updates_pending"] = float64(w.Updates.PendingCount())
	return m
}

// taskMetricName is a state as Mesos's metric suffix: TASK_RUNNING → running.
func taskMetricName(st mesos.TaskState) string {
	return strings.ToLower(strings.TrimPrefix(st.String(), "TASK_"))
}
