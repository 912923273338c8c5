package agent

import (
	"context"
	"errors"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/operatorapi"
	"github.com/agoracluster/agora/agent/workload"
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
	if s.a.st.AgentID != "" {
		info.Id = &mesos.AgentID{Value: proto.String(s.a.st.AgentID)}
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
	err := s.onLoop(ctx, func() {
		a := s.a
		tasks := st.GetTasks
		executor := func(ex *workload.Executor, completed bool) {
			e := &agentpb.Response_GetExecutors_Executor{ExecutorInfo: proto.Clone(ex.Info).(*mesos.ExecutorInfo)}
			if completed {
				st.GetExecutors.CompletedExecutors = append(st.GetExecutors.CompletedExecutors, e)
			} else {
				st.GetExecutors.Executors = append(st.GetExecutors.Executors, e)
			}
			for _, t := range workload.SortedByID(ex.Tasks) {
				mt := proto.Clone(t.ToTask(a.st.AgentID, a.st.Updates)).(*mesos.Task)
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
				tasks.CompletedTasks = append(tasks.CompletedTasks, proto.Clone(t).(*mesos.Task))
			}
		}
		for _, fw := range workload.SortedByID(a.st.Frameworks) {
			st.GetFrameworks.Frameworks = append(st.GetFrameworks.Frameworks,
				&agentpb.Response_GetFrameworks_Framework{FrameworkInfo: proto.Clone(fw.Info).(*mesos.FrameworkInfo)})
			for _, ex := range workload.SortedByID(fw.Executors) {
				executor(ex, false)
			}
			for _, ex := range fw.CompletedExecutors {
				executor(ex, true)
			}
		}
		for _, fw := range a.st.CompletedFrameworks {
			st.GetFrameworks.CompletedFrameworks = append(st.GetFrameworks.CompletedFrameworks,
				&agentpb.Response_GetFrameworks_Framework{FrameworkInfo: proto.Clone(fw.Info).(*mesos.FrameworkInfo)})
			for _, ex := range fw.CompletedExecutors {
				executor(ex, true)
			}
		}
	})
	return st, err
}

// Containers implements operatorapi.Source: the containers of the executors that run, with
// their cgroup statistics where the agent has them.
func (s operatorSource) Containers(ctx context.Context) ([]*agentpb.Response_GetContainers_Container, error) {
	var out []*agentpb.Response_GetContainers_Container
	err := s.onLoop(ctx, func() {
		for _, fw := range workload.SortedByID(s.a.st.Frameworks) {
			for _, ex := range workload.SortedByID(fw.Executors) {
				if ex.Gone() || ex.ContainerID == "" {
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
		for _, fw := range a.st.Frameworks {
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
		m["slave/frameworks_active"] = float64(len(a.st.Frameworks))
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
		m["slave/status_updates_pending"] = float64(a.st.Updates.PendingCount())
	})
	return m, err
}

// taskMetricName is a state as Mesos's metric suffix: TASK_RUNNING → running.
func taskMetricName(st mesos.TaskState) string {
	return strings.ToLower(strings.TrimPrefix(st.String(), "TASK_"))
}
