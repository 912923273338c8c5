package agent

import (
	"context"
	"errors"
	"net/http"

	"go.uber.org/zap/zapcore"

	"github.com/agoracluster/agora/agent/executorapi"
	"github.com/agoracluster/agora/agent/files"
	"github.com/agoracluster/agora/agent/operatorapi"
	"github.com/agoracluster/agora/agent/stateapi"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	agentpb "github.com/agoracluster/agora/proto/mesos/v1/agent"
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
	mux.Handle("/", stateapi.Handler(stateSource{a}, a.clock.Now))
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
	err := s.onLoop(ctx, func() {
		a := s.a
		st = stateapi.Render(&a.st.State, stateapi.Agent{Info: a.info, Version: a.cfg.Version, Master: a.st.masterAddr, Connected: a.st.connected}, v)
	})
	return st, err
}

// Executors implements stateapi.Source.
func (s stateSource) Executors(ctx context.Context) ([]stateapi.ExecutorStatistics, error) {
	var out []stateapi.ExecutorStatistics
	v := s.a.viewerOf(ctx)
	err := s.onLoop(ctx, func() { out = stateapi.ExecutorsOf(&s.a.st.State, v) })
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
	var m stateapi.Metrics
	err := s.onLoop(ctx, func() { m = stateapi.MetricsOf(&s.a.st.State, s.a.st.connected) })
	return m, err
}

// operatorSource is the operator API's Source: the agent's workload rendered as the Mesos
// v1 agent API's messages, on the loop.
type operatorSource struct{ a *Agent }

var _ operatorapi.Source = operatorSource{}

// onLoop runs fn on the loop; a stopped agent is operatorapi.ErrUnavailable.
func (s operatorSource) onLoop(ctx context.Context, fn func()) error {
	err := s.a.query(ctx, fn)
	if errors.Is(err, errStopped) {
		return operatorapi.ErrUnavailable
	}
	return err
}

// Debug implements operatorapi.Source.
func (s operatorSource) Debug() bool { return s.a.log.Core().Enabled(zapcore.DebugLevel) }

// Info implements operatorapi.Source.
func (s operatorSource) Info(ctx context.Context) (*mesos.AgentInfo, error) {
	var info *mesos.AgentInfo
	err := s.onLoop(ctx, func() { info = s.a.currentAgentInfo() })
	return info, err
}

// State implements operatorapi.Source.
func (s operatorSource) State(ctx context.Context) (*agentpb.Response_GetState, error) {
	var st *agentpb.Response_GetState
	v := s.a.viewerOf(ctx)
	err := s.onLoop(ctx, func() { st = operatorapi.StateOf(&s.a.st.State, v) })
	return st, err
}

// Containers implements operatorapi.Source: the containers of the executors that run, with
// their cgroup statistics where the agent has them (read off the loop).
func (s operatorSource) Containers(ctx context.Context) ([]*agentpb.Response_GetContainers_Container, error) {
	var out []*agentpb.Response_GetContainers_Container
	v := s.a.viewerOf(ctx)
	if err := s.onLoop(ctx, func() { out = operatorapi.ContainersOf(&s.a.st.State, v) }); err != nil {
		return nil, err
	}
	now := s.a.clock.Now()
	for _, c := range out {
		if u, ok := (stateSource{s.a}).Usage(c.GetContainerId().GetValue()); ok {
			c.ResourceStatistics = operatorapi.Statistics(u, now)
		}
	}
	return out, nil
}

// Metrics implements operatorapi.Source with Mesos's slave/… names.
func (s operatorSource) Metrics(ctx context.Context) (map[string]float64, error) {
	var m map[string]float64
	err := s.onLoop(ctx, func() { m = operatorapi.MetricsOf(&s.a.st.State, s.a.info, s.a.st.connected) })
	return m, err
}
