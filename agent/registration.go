package agent

import (
	"context"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/registration"
	"github.com/agoracluster/agora/agent/workload"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// The agent's side of its connection to the master (agent/registration).

// masterLink is the registration connection's Owner: it carries the connection's events
// onto the loop.
type masterLink struct{ a *Agent }

var _ registration.Owner = masterLink{}

// SubscribeCall implements registration.Owner.
func (l masterLink) SubscribeCall(ctx context.Context) (*agorapb.AgentCall, error) {
	var call *agorapb.AgentCall
	if err := l.a.query(ctx, func() { call = l.subscribeCall() }); err != nil {
		return nil, err
	}
	return call, nil
}

// Subscribed implements registration.Owner.
func (l masterLink) Subscribed(agentID, masterAddr string, info *mesos.MasterInfo) {
	l.a.send(func() { l.subscribed(agentID, masterAddr, info) })
}

// Disconnected implements registration.Owner.
func (l masterLink) Disconnected() { l.a.send(l.disconnected) }

// Event implements registration.Owner.
func (l masterLink) Event(ev *agorapb.AgentEvent) { l.a.send(func() { l.event(ev) }) }

// subscribeCall builds SUBSCRIBE with everything the agent runs. Loop only.
func (l masterLink) subscribeCall() *agorapb.AgentCall {
	a := l.a
	sub := &agorapb.AgentCall_Subscribe{
		AgentInfo: a.currentAgentInfo(),
		Version:   proto.String(a.cfg.Version),
	}
	if a.bootID != "" {
		sub.BootId = proto.String(a.bootID)
	}
	for _, fw := range workload.SortedByID(a.st.Frameworks) {
		sub.Frameworks = append(sub.Frameworks, fw.Info)
		for _, ex := range workload.SortedByID(fw.Executors) {
			if !ex.Gone() {
				sub.Executors = append(sub.Executors, ex.Info)
			}
			for _, t := range workload.SortedByID(ex.Tasks) {
				sub.Tasks = append(sub.Tasks, t.ToTask(a.st.AgentID, a.st.Updates))
			}
		}
	}
	call := &agorapb.AgentCall{Type: agorapb.AgentCall_SUBSCRIBE.Enum(), Subscribe: sub}
	if a.st.AgentID != "" {
		call.AgentId = &mesos.AgentID{Value: proto.String(a.st.AgentID)}
	}
	return call
}

// subscribed records a new subscription and resumes status updates. Loop only.
func (l masterLink) subscribed(agentID, masterAddr string, _ *mesos.MasterInfo) {
	a := l.a
	if a.st.AgentID != "" && a.st.AgentID != agentID {
		a.log.Warn("the master assigned a new agent id", zap.String("old_agent_id", a.st.AgentID), zap.String("agent_id", agentID))
	}
	a.st.AgentID = agentID
	a.st.masterAddr = masterAddr
	a.st.connected = true
	a.connected.Store(true)
	if err := a.ckpt.WriteAgent(a.currentAgentInfo(), a.bootID); err != nil {
		a.log.Warn("checkpoint agent info", zap.Error(err))
	}
	a.st.Updates.Resume(a.clock.Now())
}

// disconnected pauses status updates until the next subscription. Loop only.
func (l masterLink) disconnected() {
	a := l.a
	a.st.connected = false
	a.connected.Store(false)
	a.st.Updates.Pause()
}
