package marathon

import (
	"net"
	"net/http"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/events"
	"github.com/agoracluster/agora/frameworks/marathon/groups"
	"github.com/agoracluster/agora/frameworks/marathon/planner"
)

// Event publishing from the loop. The bus never blocks.

func (m *Marathon) publish(ev events.Event) {
	if m.bus != nil {
		m.bus.Publish(ev)
	}
}

// eventPlan renders a plan for deployment events: the root group before and after.
func (m *Marathon) eventPlan(p planner.Plan, original map[string]*app.App) events.Plan {
	if ep, ok := m.eventPlans[p.ID]; ok {
		return ep
	}
	before := make(map[string]*app.App, len(m.apps))
	for id, a := range m.apps {
		before[id] = a
	}
	for _, id := range p.AffectedApps() {
		if o := original[id]; o != nil {
			before[id] = o
		} else {
			delete(before, id)
		}
	}
	return events.NewPlan(p, groups.Build(before, m.metas), groups.Build(m.apps, m.metas))
}

// apiPost publishes api_post_event for a changed app.
func (m *Marathon) apiPost(req *http.Request, appID string) {
	a := m.apps[appID]
	if a == nil {
		return
	}
	ip, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		ip = req.RemoteAddr
	}
	m.publish(events.NewAPIPost(ip, req.URL.RequestURI(), a, m.now()))
}

func (m *Marathon) publishStatus(t *task, state, message string) {
	now := m.now()
	ports := make([]int, len(t.Ports))
	for i, p := range t.Ports {
		ports[i] = int(p)
	}
	m.publish(events.NewStatusUpdate(t.AgentID, t.ID, state, message, t.AppID, t.Host, eventIPs(t), ports, t.AppVersion, now))
	m.publish(events.NewInstanceChanged(t.ID, events.Condition(state), t.AppID, t.AgentID, t.Host, t.AppVersion, now))
}

func (m *Marathon) publishHealth(t *task, healthy bool) {
	now := m.now()
	m.publish(events.NewHealthStatusChanged(t.AppID, t.ID, t.AppVersion, healthy, now))
	m.publish(events.NewInstanceHealthChanged(t.ID, t.AppID, t.AppVersion, &healthy, now))
}
