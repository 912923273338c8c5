package agent

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/agoracluster/agora/agent/executorapi"
	"github.com/agoracluster/agora/agent/files"
	"github.com/agoracluster/agora/agent/operatorapi"
	"github.com/agoracluster/agora/agent/stateapi"
	"github.com/agoracluster/agora/agent/workload"
	"github.com/agoracluster/agora/resources"
)

// routes is the agent's HTTP API: the executor API, the files API and the state endpoints,
// each a package of its own reading the agent through a narrow interface.
func (a *Agent) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/v1/executor", &executorapi.Handler{Backend: executorCalls{a}, HeartbeatInterval: a.cfg.ExecutorHeartbeatInterval, Log: a.log, Tokens: a.tokens})
	mux.Handle("/files/", files.Handler(a.cfg.WorkDir))
	(&operatorapi.Handler{Src: operatorSource{a}, WorkDir: a.cfg.WorkDir, Version: a.cfg.Version, Flags: a.cfg.Flags}).Register(mux)
	mux.Handle("/", stateapi.Handler(stateSource{a}, time.Now))
	return mux
}

// stateSource is the state endpoints' Source.
type stateSource struct{ a *Agent }

var _ stateapi.Source = stateSource{}

// onLoop runs fn on the loop; a stopped agent is stateapi.ErrUnavailable.
func (s stateSource) onLoop(ctx context.Context, fn func()) error {
	err := s.a.query(ctx, fn)
	if errors.Is(err, errStopped) {
		return stateapi.ErrUnavailable
	}
	return err
}

// Connected implements stateapi.Source.
func (s stateSource) Connected() bool { return s.a.connected.Load() }

// State implements stateapi.Source.
func (s stateSource) State(ctx context.Context) (stateapi.State, error) {
	var st stateapi.State
	err := s.onLoop(ctx, func() { st = s.snapshot() })
	return st, err
}

// Executors implements stateapi.Source.
func (s stateSource) Executors(ctx context.Context) ([]stateapi.ExecutorStatistics, error) {
	var out []stateapi.ExecutorStatistics
	err := s.onLoop(ctx, func() {
		for _, fw := range s.a.st.Frameworks {
			for _, ex := range fw.Executors {
				if ex.Gone() {
					continue
				}
				out = append(out, stateapi.ExecutorStatistics{ExecutorID: ex.ID, ExecutorName: ex.Info.GetName(),
					FrameworkID: fw.ID, Source: ex.Info.GetSource(), ContainerID: ex.ContainerID})
			}
		}
	})
	return out, err
}

// Usage implements stateapi.Source: the container's cgroup statistics.
func (s stateSource) Usage(containerID string) (stateapi.ResourceStatistics, bool) {
	iso := s.a.iso
	st, ok := iso.Stats(containerID)
	if !ok {
		return stateapi.ResourceStatistics{}, false
	}
	cpus := st.CPULimit
	if l, ok := iso.Limits(containerID); ok && l.CPUs > 0 {
		cpus = l.CPUs
	}
	return stateapi.ResourceStatistics{
		CPUsUserTimeSecs:      st.CPUUserSeconds,
		CPUsSystemTimeSecs:    st.CPUSystemSeconds,
		CPUsLimit:             cpus,
		CPUsNrPeriods:         st.CPUPeriods,
		CPUsNrThrottled:       st.CPUThrottled,
		CPUsThrottledTimeSecs: st.CPUThrottledSecs,
		MemRSSBytes:           st.MemRSSBytes,
		MemTotalBytes:         st.MemUsageBytes,
		MemLimitBytes:         st.MemLimitBytes,
		MemOOMKills:           st.OOMKills,
	}, true
}

// Metrics implements stateapi.Source.
func (s stateSource) Metrics(ctx context.Context) (stateapi.Metrics, error) {
	m := stateapi.Metrics{TasksByState: map[string]int{}}
	err := s.onLoop(ctx, func() {
		for _, fw := range s.a.st.Frameworks {
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
		m.PendingUpdates = s.a.st.Updates.PendingCount()
		m.Connected = s.a.st.connected
	})
	return m, err
}

// snapshot renders /state. Loop only.
func (s stateSource) snapshot() stateapi.State {
	a := s.a
	st := stateapi.State{
		ID:                  a.st.AgentID,
		Hostname:            a.info.GetHostname(),
		Port:                a.info.GetPort(),
		Version:             a.cfg.Version,
		Master:              a.st.masterAddr,
		Connected:           a.st.connected,
		Resources:           stateapi.ResourceMap(a.info.GetResources()),
		Attributes:          resources.AttributeMap(a.info.GetAttributes()),
		Frameworks:          []stateapi.FrameworkState{},
		CompletedFrameworks: []stateapi.FrameworkState{},
	}
	for _, fw := range workload.SortedByID(a.st.Frameworks) {
		st.Frameworks = append(st.Frameworks, s.framework(fw))
	}
	for _, fw := range a.st.CompletedFrameworks {
		st.CompletedFrameworks = append(st.CompletedFrameworks, s.framework(fw))
	}
	return st
}

func (s stateSource) framework(fw *workload.Framework) stateapi.FrameworkState {
	fs := stateapi.FrameworkState{
		ID: fw.ID, Name: fw.Info.GetName(), User: fw.Info.GetUser(), Role: fw.Info.GetRole(),
		Executors: []stateapi.ExecutorState{}, CompletedExecutors: []stateapi.ExecutorState{},
	}
	for _, ex := range workload.SortedByID(fw.Executors) {
		fs.Executors = append(fs.Executors, s.executor(ex))
	}
	for _, ex := range fw.CompletedExecutors {
		fs.CompletedExecutors = append(fs.CompletedExecutors, s.executor(ex))
	}
	return fs
}

func (s stateSource) executor(ex *workload.Executor) stateapi.ExecutorState {
	es := stateapi.ExecutorState{
		ID: ex.ID, Name: ex.Info.GetName(), Source: ex.Info.GetSource(), Container: ex.ContainerID,
		Directory: ex.Sandbox, State: ex.State.String(), PID: ex.PID,
		Tasks: []stateapi.TaskState{}, QueuedTasks: []stateapi.TaskState{}, CompletedTasks: []stateapi.TaskState{},
	}
	for _, t := range workload.SortedByID(ex.Tasks) {
		ts := stateapi.TaskOf(t.ToTask(s.a.st.AgentID, nil))
		if t.Launched || t.State.IsTerminal() {
			es.Tasks = append(es.Tasks, ts)
		} else {
			es.QueuedTasks = append(es.QueuedTasks, ts)
		}
	}
	for _, t := range ex.Completed {
		es.CompletedTasks = append(es.CompletedTasks, stateapi.TaskOf(t))
	}
	return es
}
