package agent

import (
	"context"
	"errors"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/operatorapi"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	agentpb "github.com/agoracluster/agora/proto/mesos/v1/agent"
	"github.com/agoracluster/agora/resources"
)

// operatorSource is the operator API's Source: it renders the agent's state as the Mesos
// v1 agent API's messages, on the loop.
type operatorSource struct{ a *Agent }

var _ operatorapi.Source = operatorSource{}

func (s operatorSource) onLoop(ctx context.Context, fn func()) error {
	err := s.a.query(ctx, fn)
	if errors.Is(err, errStopped) {
		return operatorapi.ErrUnavailable
	}
	return err
}

// Debug implements operatorapi.Source.
func (s operatorSource) Debug() bool { return s.a.log.Core().Enabled(zapcore.DebugLevel) }

// info is the agent's AgentInfo with its id. Loop only.
func (s operatorSource) info() *mesos.AgentInfo {
	info := proto.Clone(s.a.info).(*mesos.AgentInfo)
	if s.a.st.agentID != "" {
		info.Id = &mesos.AgentID{Value: proto.String(s.a.st.agentID)}
	}
	return info
}

// Info implements operatorapi.Source.
func (s operatorSource) Info(ctx context.Context) (*mesos.AgentInfo, error) {
	var info *mesos.AgentInfo
	err := s.onLoop(ctx, func() { info = s.info() })
	return info, err
}

// State implements operatorapi.Source: Mesos's task lists are queued (waiting for their
// executor), launched (running), terminated (terminal, update not yet acknowledged) and
// completed.
func (s operatorSource) State(ctx context.Context) (*agentpb.Response_GetState, error) {
	st := &agentpb.Response_GetState{
		GetTasks:      &agentpb.Response_GetTasks{},
		GetExecutors:  &agentpb.Response_GetExecutors{},
		GetFrameworks: &agentpb.Response_GetFrameworks{},
	}
	v := s.a.viewerOf(ctx)
	err := s.onLoop(ctx, func() {
		a := s.a
		tasks := st.GetTasks
		executor := func(fw *framework, ex *executor, completed bool) {
			if v.executor(fw.info, ex.info) {
				e := &agentpb.Response_GetExecutors_Executor{ExecutorInfo: proto.Clone(ex.info).(*mesos.ExecutorInfo)}
				if completed {
					st.GetExecutors.CompletedExecutors = append(st.GetExecutors.CompletedExecutors, e)
				} else {
					st.GetExecutors.Executors = append(st.GetExecutors.Executors, e)
				}
			}
			for _, t := range sortedByID(ex.tasks) {
				task := t.toTask(a.st.agentID, a.st.sum)
				if !v.task(fw.info, task) {
					continue
				}
				mt := proto.Clone(task).(*mesos.Task)
				switch {
				case t.state.IsTerminal():
					tasks.TerminatedTasks = append(tasks.TerminatedTasks, mt)
				case t.launched:
					tasks.LaunchedTasks = append(tasks.LaunchedTasks, mt)
				default:
					tasks.QueuedTasks = append(tasks.QueuedTasks, mt)
				}
			}
			for _, t := range ex.completed {
				if v.task(fw.info, t) {
					tasks.CompletedTasks = append(tasks.CompletedTasks, proto.Clone(t).(*mesos.Task))
				}
			}
		}
		// What the ACLs keep from the caller is left out, as Mesos's agent does: a
		// framework it may not view, with everything under it, then executors and tasks
		// one by one.
		for _, fw := range sortedByID(a.st.frameworks) {
			if !v.framework(fw.info) {
				continue
			}
			st.GetFrameworks.Frameworks = append(st.GetFrameworks.Frameworks,
				&agentpb.Response_GetFrameworks_Framework{FrameworkInfo: proto.Clone(fw.info).(*mesos.FrameworkInfo)})
			for _, ex := range sortedByID(fw.executors) {
				executor(fw, ex, false)
			}
			for _, ex := range fw.completedExecutors {
				executor(fw, ex, true)
			}
		}
		for _, fw := range a.st.completedFrameworks {
			if !v.framework(fw.info) {
				continue
			}
			st.GetFrameworks.CompletedFrameworks = append(st.GetFrameworks.CompletedFrameworks,
				&agentpb.Response_GetFrameworks_Framework{FrameworkInfo: proto.Clone(fw.info).(*mesos.FrameworkInfo)})
			for _, ex := range fw.completedExecutors {
				executor(fw, ex, true)
			}
		}
	})
	return st, err
}

// Containers implements operatorapi.Source: the containers of the executors that run, with
// their cgroup statistics where the agent has them.
func (s operatorSource) Containers(ctx context.Context) ([]*agentpb.Response_GetContainers_Container, error) {
	var out []*agentpb.Response_GetContainers_Container
	v := s.a.viewerOf(ctx)
	err := s.onLoop(ctx, func() {
		for _, fw := range sortedByID(s.a.st.frameworks) {
			for _, ex := range sortedByID(fw.executors) {
				if ex.gone() || ex.containerID == "" || !v.framework(fw.info) || !v.executor(fw.info, ex.info) {
					continue
				}
				cid := &mesos.ContainerID{Value: proto.String(ex.containerID)}
				c := &agentpb.Response_GetContainers_Container{
					FrameworkId:     &mesos.FrameworkID{Value: proto.String(fw.id)},
					ExecutorId:      &mesos.ExecutorID{Value: proto.String(ex.id)},
					ExecutorName:    proto.String(ex.info.GetName()),
					ContainerId:     cid,
					ContainerStatus: &mesos.ContainerStatus{ContainerId: cid},
				}
				if ex.pid > 0 {
					c.ContainerStatus.ExecutorPid = proto.Uint32(uint32(ex.pid))
				}
				out = append(out, c)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	// Statistics are read off the loop: they come from the cgroup files.
	now := float64(time.Now().UnixNano()) / 1e9
	for _, c := range out {
		u, ok := stateSource{s.a}.Usage(c.GetContainerId().GetValue())
		if !ok {
			continue
		}
		c.ResourceStatistics = &mesos.ResourceStatistics{
			Timestamp:             proto.Float64(now),
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
	return out, nil
}

// Metrics implements operatorapi.Source with Mesos's slave/… names.
func (s operatorSource) Metrics(ctx context.Context) (map[string]float64, error) {
	m := map[string]float64{}
	err := s.onLoop(ctx, func() {
		a := s.a
		byState := map[mesos.TaskState]float64{}
		var used resources.Resources
		executors := 0.0
		for _, fw := range a.st.frameworks {
			for _, ex := range fw.executors {
				if !ex.gone() {
					executors++
					if r, err := resources.FromProto(ex.info.GetResources()); err == nil {
						used = used.Plus(r)
					}
				}
				for _, t := range ex.tasks {
					byState[t.state]++
					if !t.state.IsTerminal() {
						if r, err := resources.FromProto(t.info.GetResources()); err == nil {
							used = used.Plus(r)
						}
					}
				}
				for _, t := range ex.completed {
					byState[t.GetState()]++
				}
			}
			for _, ex := range fw.completedExecutors {
				for _, t := range ex.completed {
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
		m["slave/frameworks_active"] = float64(len(a.st.frameworks))
		m["slave/registered"] = 0
		if a.st.connected {
			m["slave/registered"] = 1
		}
		total, err := resources.FromProto(a.info.GetResources())
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
		m["slave/status_updates_pending"] = float64(a.st.sum.PendingCount())
	})
	return m, err
}

// taskMetricName is a state as Mesos's metric suffix: TASK_RUNNING → running.
func taskMetricName(st mesos.TaskState) string {
	return strings.ToLower(strings.TrimPrefix(st.String(), "TASK_"))
}
