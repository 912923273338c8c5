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
	"github.com/agoracluster/agora/resources"
)

// routes is the agent's HTTP API: the executor API, the files API and the state endpoints,
// each a package of its own reading the agent through a narrow interface, behind the
// agent's authentication (what each caller sees is decided by the sources, per request).
func (a *Agent) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/v1/executor", &executorapi.Handler{Backend: executorCalls{a}, HeartbeatInterval: a.cfg.ExecutorHeartbeatInterval, Log: a.log, Tokens: a.tokens})
	mux.Handle("/files/", files.Handler(a.cfg.WorkDir, a.accessSandbox))
	(&operatorapi.Handler{Src: operatorSource{a}, WorkDir: a.cfg.WorkDir, Version: a.cfg.Version, Flags: a.cfg.Flags,
		Authenticate: a.authenticateOperator, Access: a.accessSandbox, Authorize: a.authorize, LogLevel: a.cfg.LogLevel}).Register(mux)
	mux.Handle("/", stateapi.Handler(stateSource{a}, time.Now))
	return a.secure(a.guardEndpoints(mux))
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
	v := s.a.viewerOf(ctx)
	err := s.onLoop(ctx, func() { st = s.snapshot(v) })
	return st, err
}

// Executors implements stateapi.Source.
func (s stateSource) Executors(ctx context.Context) ([]stateapi.ExecutorStatistics, error) {
	var out []stateapi.ExecutorStatistics
	v := s.a.viewerOf(ctx)
	err := s.onLoop(ctx, func() {
		for _, fw := range s.a.st.frameworks {
			for _, ex := range fw.executors {
				if ex.gone() || !v.framework(fw.info) || !v.executor(fw.info, ex.info) {
					continue
				}
				out = append(out, stateapi.ExecutorStatistics{ExecutorID: ex.id, ExecutorName: ex.info.GetName(),
					FrameworkID: fw.id, Source: ex.info.GetSource(), ContainerID: ex.containerID})
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
		for _, fw := range s.a.st.frameworks {
			for _, ex := range fw.executors {
				if !ex.gone() {
					m.Executors++
				}
				for _, t := range ex.tasks {
					m.TasksByState[t.state.String()]++
				}
				for _, t := range ex.completed {
					m.TasksByState[t.GetState().String()]++
				}
			}
		}
		m.PendingUpdates = s.a.st.sum.PendingCount()
		m.Connected = s.a.st.connected
	})
	return m, err
}

// snapshot renders /state as v may see it. Loop only.
func (s stateSource) snapshot(v viewer) stateapi.State {
	a := s.a
	st := stateapi.State{
		ID:                  a.st.agentID,
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
	for _, fw := range sortedByID(a.st.frameworks) {
		if v.framework(fw.info) {
			st.Frameworks = append(st.Frameworks, s.framework(v, fw))
		}
	}
	for _, fw := range a.st.completedFrameworks {
		if v.framework(fw.info) {
			st.CompletedFrameworks = append(st.CompletedFrameworks, s.framework(v, fw))
		}
	}
	return st
}

func (s stateSource) framework(v viewer, fw *framework) stateapi.FrameworkState {
	fs := stateapi.FrameworkState{
		ID: fw.id, Name: fw.info.GetName(), User: fw.info.GetUser(), Role: fw.info.GetRole(),
		Executors: []stateapi.ExecutorState{}, CompletedExecutors: []stateapi.ExecutorState{},
	}
	for _, ex := range sortedByID(fw.executors) {
		if v.executor(fw.info, ex.info) {
			fs.Executors = append(fs.Executors, s.executor(v, fw, ex))
		}
	}
	for _, ex := range fw.completedExecutors {
		if v.executor(fw.info, ex.info) {
			fs.CompletedExecutors = append(fs.CompletedExecutors, s.executor(v, fw, ex))
		}
	}
	return fs
}

func (s stateSource) executor(v viewer, fw *framework, ex *executor) stateapi.ExecutorState {
	es := stateapi.ExecutorState{
		ID: ex.id, Name: ex.info.GetName(), Source: ex.info.GetSource(), Container: ex.containerID,
		Directory: ex.sandbox, State: ex.state.String(), PID: ex.pid,
		Tasks: []stateapi.TaskState{}, QueuedTasks: []stateapi.TaskState{}, CompletedTasks: []stateapi.TaskState{},
	}
	for _, t := range sortedByID(ex.tasks) {
		task := t.toTask(s.a.st.agentID, nil)
		if !v.task(fw.info, task) {
			continue
		}
		ts := stateapi.TaskOf(task)
		if t.launched || t.state.IsTerminal() {
			es.Tasks = append(es.Tasks, ts)
		} else {
			es.QueuedTasks = append(es.QueuedTasks, ts)
		}
	}
	for _, t := range ex.completed {
		if v.task(fw.info, t) {
			es.CompletedTasks = append(es.CompletedTasks, stateapi.TaskOf(t))
		}
	}
	return es
}
