package stateapi

import (
	"github.com/agoracluster/agora/agent/workload"
	"github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
)

// Agent is what /state shows of the agent beside its workload.
type Agent struct {
	Info      *mesos.AgentInfo // without id
	Version   string
	Master    string // the master's address, "" before the first subscription
	Connected bool
}

// Render renders /state from the agent's workload as v may see it. On the agent's loop
// only.
func Render(w *workload.State, a Agent, v workload.Viewer) State {
	st := State{
		ID:                  w.AgentID,
		Hostname:            a.Info.GetHostname(),
		Port:                a.Info.GetPort(),
		Version:             a.Version,
		Master:              a.Master,
		Connected:           a.Connected,
		Resources:           ResourceMap(a.Info.GetResources()),
		Attributes:          resources.AttributeMap(a.Info.GetAttributes()),
		Frameworks:          []FrameworkState{},
		CompletedFrameworks: []FrameworkState{},
	}
	for _, fw := range workload.SortedByID(w.Frameworks) {
		if v.Framework(fw.Info) {
			st.Frameworks = append(st.Frameworks, frameworkOf(w.AgentID, fw, v))
		}
	}
	for _, fw := range w.CompletedFrameworks {
		if v.Framework(fw.Info) {
			st.CompletedFrameworks = append(st.CompletedFrameworks, frameworkOf(w.AgentID, fw, v))
		}
	}
	return st
}

func frameworkOf(agentID string, fw *workload.Framework, v workload.Viewer) FrameworkState {
	fs := FrameworkState{
		ID: fw.ID, Name: fw.Info.GetName(), User: fw.Info.GetUser(), Role: fw.Info.GetRole(),
		Executors: []ExecutorState{}, CompletedExecutors: []ExecutorState{},
	}
	for _, ex := range workload.SortedByID(fw.Executors) {
		if v.Executor(fw.Info, ex.Info) {
			fs.Executors = append(fs.Executors, executorOf(agentID, fw, ex, v))
		}
	}
	for _, ex := range fw.CompletedExecutors {
		if v.Executor(fw.Info, ex.Info) {
			fs.CompletedExecutors = append(fs.CompletedExecutors, executorOf(agentID, fw, ex, v))
		}
	}
	return fs
}

func executorOf(agentID string, fw *workload.Framework, ex *workload.Executor, v workload.Viewer) ExecutorState {
	es := ExecutorState{
		ID: ex.ID, Name: ex.Info.GetName(), Source: ex.Info.GetSource(), Container: ex.ContainerID,
		Directory: ex.Sandbox, State: ex.State.String(), PID: ex.PID,
		Tasks: []TaskState{}, QueuedTasks: []TaskState{}, CompletedTasks: []TaskState{},
	}
	for _, t := range workload.SortedByID(ex.Tasks) {
		task := t.ToTask(agentID, nil)
		if !v.Task(fw.Info, task) {
			continue
		}
		ts := TaskOf(task)
		if t.Launched || t.State.IsTerminal() {
			es.Tasks = append(es.Tasks, ts)
		} else {
			es.QueuedTasks = append(es.QueuedTasks, ts)
		}
	}
	for _, t := range ex.Completed {
		if v.Task(fw.Info, t) {
			es.CompletedTasks = append(es.CompletedTasks, TaskOf(t))
		}
	}
	return es
}

// ExecutorsOf lists the executors whose container runs that v may see, for
// /monitor/statistics. On the agent's loop only.
func ExecutorsOf(w *workload.State, v workload.Viewer) []ExecutorStatistics {
	var out []ExecutorStatistics
	for _, fw := range w.Frameworks {
		for _, ex := range fw.Executors {
			if ex.Gone() || !v.Framework(fw.Info) || !v.Executor(fw.Info, ex.Info) {
				continue
			}
			out = append(out, ExecutorStatistics{ExecutorID: ex.ID, ExecutorName: ex.Info.GetName(),
				FrameworkID: fw.ID, Source: ex.Info.GetSource(), ContainerID: ex.ContainerID})
		}
	}
	return out
}

// MetricsOf counts the workload's tasks, executors and pending updates. On the agent's loop
// only.
func MetricsOf(w *workload.State, connected bool) Metrics {
	m := Metrics{TasksByState: map[string]int{}, Connected: connected}
	for _, fw := range w.Frameworks {
		for _, ex := range fw.Executors {
			if !ex.Gone() {
				m.Executors++
			}
			for _, t := range ex.Tasks {
				m.TasksByState[t.State.String()]++
			}
			for _, t := range ex.Completed {
				m.TasksByState[t.GetState().String()]++
			}
		}
	}
	m.PendingUpdates = w.Updates.PendingCount()
	return m
}
