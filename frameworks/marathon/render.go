package marathon

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/launchqueue"
)

// taskJSON is a task as Marathon's /v2/tasks and /v2/apps/{id}/tasks return it.
type taskJSON struct {
	AppID              string       `json:"appId"`
	HealthCheckResults []healthJSON `json:"healthCheckResults,omitempty"`
	Host               string       `json:"host"`
	ID                 string       `json:"id"`
	IPAddresses        []ipJSON     `json:"ipAddresses"`
	Ports              []uint64     `json:"ports"`
	ServicePorts       []int        `json:"servicePorts"`
	SlaveID            string       `json:"slaveId"`
	State              string       `json:"state"`
	StagedAt           string       `json:"stagedAt"`
	StartedAt          *string      `json:"startedAt"`
	Version            string       `json:"version"`
	LocalVolumes       []any        `json:"localVolumes"`
}

type ipJSON struct {
	IPAddress string `json:"ipAddress"`
	Protocol  string `json:"protocol"`
}

type healthJSON struct {
	Alive               bool    `json:"alive"`
	ConsecutiveFailures int     `json:"consecutiveFailures"`
	FirstSuccess        *string `json:"firstSuccess"`
	LastFailure         *string `json:"lastFailure"`
	LastSuccess         *string `json:"lastSuccess"`
	LastFailureCause    *string `json:"lastFailureCause"`
	InstanceID          string  `json:"instanceId"`
}

func optTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := app.FormatTime(t)
	return &s
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// servicePortsOf lists an app's service ports.
func servicePortsOf(a *app.App) []int {
	out := []int{}
	if a == nil {
		return out
	}
	if a.Container != nil && len(a.Container.PortMappings) > 0 {
		for _, pm := range a.Container.PortMappings {
			out = append(out, pm.ServicePort)
		}
		return out
	}
	for _, pd := range a.PortDefinitions {
		out = append(out, pd.Port)
	}
	return out
}

func (m *Marathon) renderTask(t *task) taskJSON {
	a := m.apps[t.AppID]
	j := taskJSON{
		AppID: t.AppID, Host: t.Host, ID: t.ID, IPAddresses: taskIPs(t), Ports: t.Ports,
		ServicePorts: servicePortsOf(a), SlaveID: t.AgentID, State: t.State,
		StagedAt: app.FormatTime(t.StagedAt), StartedAt: optTime(t.StartedAt), Version: t.AppVersion,
		LocalVolumes: []any{},
	}
	if j.Ports == nil {
		j.Ports = []uint64{}
	}
	if a != nil && len(a.HealthChecks) > 0 && t.Healthy != nil {
		j.HealthCheckResults = []healthJSON{{
			Alive: *t.Healthy, ConsecutiveFailures: t.ConsecutiveFailures,
			FirstSuccess: optTime(t.FirstSuccess), LastFailure: optTime(t.LastFailure),
			LastSuccess: optTime(t.LastSuccess), LastFailureCause: optString(t.LastFailureCause),
			InstanceID: t.ID,
		}}
	}
	return j
}

// tasksOf returns an app's tasks sorted by id; the slice is shared, do not modify it.
func (m *Marathon) tasksOf(appID string) []*task { return m.tasks.ofApp(appID) }

// counts are an app's task counts.
type counts struct {
	Staged, Running, Healthy, Unhealthy int
}

func (m *Marathon) countsOf(a *app.App, tasks []*task) counts {
	var c counts
	for _, t := range tasks {
		switch t.State {
		case stateRunning:
			c.Running++
		case stateStaging, stateStarting:
			c.Staged++
		}
		if len(a.HealthChecks) > 0 && t.Healthy != nil {
			if *t.Healthy {
				c.Healthy++
			} else {
				c.Unhealthy++
			}
		}
	}
	return c
}

// embeds says which extra fields an app response carries.
type embeds struct {
	counts, deployments, tasks, lastTaskFailure, taskStats, readiness bool
}

func parseEmbeds(values []string, prefix string) embeds {
	var e embeds
	for _, v := range values {
		for _, s := range strings.Split(v, ",") {
			switch strings.TrimPrefix(strings.TrimSpace(s), prefix) {
			case "counts":
				e.counts = true
			case "deployments":
				e.deployments = true
			case "tasks":
				e.tasks = true
			case "lastTaskFailure":
				e.lastTaskFailure = true
			case "taskStats":
				e.taskStats = true
			case "readiness":
				e.readiness = true
			}
		}
	}
	return e
}

type idJSON struct {
	ID string `json:"id"`
}

// deploymentsOf lists the ids of deployments touching an app.
func (m *Marathon) deploymentsOf(appID string) []idJSON {
	out := []idJSON{}
	for _, d := range m.sortedDeployments() {
		for _, id := range d.Plan.AffectedApps() {
			if id == appID {
				out = append(out, idJSON{d.Plan.ID})
				break
			}
		}
	}
	return out
}

// renderApp renders an app with the requested embeds as a JSON object.
func (m *Marathon) renderApp(a *app.App, e embeds) map[string]any {
	b, _ := app.Render(a)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	m.addEmbeds(out, a, e)
	return out
}

// renderAppJSON is renderApp for responses that are only written out: the definition's
// fields are raw JSON, cached per app version, and encode to the very bytes renderApp's
// values do (each is the canonical encoding of the decoded value).
func (m *Marathon) renderAppJSON(a *app.App, e embeds) map[string]any {
	c := m.appJSON[a.ID]
	if c == nil || c.app != a || c.version != a.Version {
		c = &renderedApp{app: a, version: a.Version, fields: canonicalFields(a)}
		m.appJSON[a.ID] = c
	}
	out := make(map[string]any, len(c.fields)+8)
	for k, v := range c.fields {
		out[k] = v
	}
	withTasks := e.tasks
	e.tasks = false
	m.addEmbeds(out, a, e)
	if withTasks {
		ts := m.tasksOf(a.ID)
		raw := make([]json.RawMessage, len(ts))
		for i, t := range ts {
			raw[i] = m.renderedTask(t, a)
		}
		out["tasks"] = raw
	}
	return out
}

// appendAppJSON appends renderAppJSON(a, e) encoded as json.Marshal would encode it (keys
// sorted), without encoding/json re-checking every cached raw value.
func (m *Marathon) appendAppJSON(dst []byte, a *app.App, e embeds) []byte {
	fields := m.renderAppJSON(a, e)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		kb, _ := json.Marshal(k)
		dst = append(dst, kb...)
		dst = append(dst, ':')
		switch v := fields[k].(type) {
		case json.RawMessage:
			dst = append(dst, v...)
		case []json.RawMessage:
			dst = append(dst, '[')
			for j, r := range v {
				if j > 0 {
					dst = append(dst, ',')
				}
				dst = append(dst, r...)
			}
			dst = append(dst, ']')
		default:
			b, _ := json.Marshal(v)
			dst = append(dst, b...)
		}
	}
	return append(dst, '}')
}

// renderedTask is renderTask encoded, cached until the task or its app changes.
func (m *Marathon) renderedTask(t *task, a *app.App) json.RawMessage {
	if t.rendered == nil || t.renderedApp != a || a != nil && t.renderedVersion != a.Version {
		t.rendered, _ = json.Marshal(m.renderTask(t))
		t.renderedApp = a
		if a != nil {
			t.renderedVersion = a.Version
		}
	}
	return t.rendered
}

// renderedApp is an app definition rendered as canonical raw JSON fields.
type renderedApp struct {
	app     *app.App
	version string
	fields  map[string]json.RawMessage
}

func canonicalFields(a *app.App) map[string]json.RawMessage {
	b, _ := app.Render(a)
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(b, &raw)
	for k, v := range raw {
		var val any
		if json.Unmarshal(v, &val) != nil {
			continue
		}
		if c, err := json.Marshal(val); err == nil {
			raw[k] = c
		}
	}
	return raw
}

// forgetRenderedApps drops cached renderings of apps that are gone.
func (m *Marathon) forgetRenderedApps() {
	for id := range m.appJSON {
		if m.apps[id] == nil {
			delete(m.appJSON, id)
		}
	}
}

// addEmbeds adds the requested embeds to a rendered app.
func (m *Marathon) addEmbeds(out map[string]any, a *app.App, e embeds) {
	tasks := m.tasksOf(a.ID)
	if e.counts {
		c := m.countsOf(a, tasks)
		out["tasksStaged"], out["tasksRunning"] = c.Staged, c.Running
		out["tasksHealthy"], out["tasksUnhealthy"] = c.Healthy, c.Unhealthy
	}
	if e.deployments {
		out["deployments"] = m.deploymentsOf(a.ID)
	}
	if e.tasks {
		ts := make([]taskJSON, 0, len(tasks))
		for _, t := range tasks {
			ts = append(ts, m.renderTask(t))
		}
		out["tasks"] = ts
	}
	if e.lastTaskFailure {
		if f := m.failures[a.ID]; f != nil {
			out["lastTaskFailure"] = f
		}
	}
	if e.readiness {
		out["readinessCheckResults"] = m.readinessResultsOf(a.ID, m.deployingApps())
	}
	if e.taskStats {
		out["taskStats"] = m.taskStats(a, tasks)
	}
}

func (m *Marathon) taskStats(a *app.App, tasks []*task) map[string]any {
	if len(tasks) == 0 {
		return map[string]any{}
	}
	now := m.now()
	c := m.countsOf(a, tasks)
	var lives []float64
	for _, t := range tasks {
		if !t.StartedAt.IsZero() {
			lives = append(lives, now.Sub(t.StartedAt).Seconds())
		}
	}
	stats := map[string]any{
		"counts": map[string]int{"staged": c.Staged, "running": c.Running, "healthy": c.Healthy, "unhealthy": c.Unhealthy},
	}
	if len(lives) > 0 {
		sort.Float64s(lives)
		sum := 0.0
		for _, l := range lives {
			sum += l
		}
		stats["lifeTime"] = map[string]float64{"averageSeconds": sum / float64(len(lives)), "medianSeconds": lives[len(lives)/2]}
	}
	return map[string]any{"totalSummary": map[string]any{"stats": stats}}
}

// queueJSON is one entry of GET /v2/queue.
type queueJSON struct {
	App                    map[string]any    `json:"app"`
	Count                  int               `json:"count"`
	Delay                  launchqueue.Info  `json:"delay"`
	Since                  string            `json:"since"`
	ProcessedOffersSummary offersSummaryJSON `json:"processedOffersSummary"`
	LastUnusedOffers       []unusedOfferJSON `json:"lastUnusedOffers"`
}

type offersSummaryJSON struct {
	ProcessedOffersCount       int                 `json:"processedOffersCount"`
	UnusedOffersCount          int                 `json:"unusedOffersCount"`
	LastUnusedOfferAt          *string             `json:"lastUnusedOfferAt"`
	LastUsedOfferAt            *string             `json:"lastUsedOfferAt"`
	RejectSummaryLastOffers    []reasonSummaryJSON `json:"rejectSummaryLastOffers"`
	RejectSummaryLaunchAttempt []reasonSummaryJSON `json:"rejectSummaryLaunchAttempt"`
}

type reasonSummaryJSON struct {
	Reason    string `json:"reason"`
	Declined  int    `json:"declined"`
	Processed int    `json:"processed"`
}

type unusedOfferJSON struct {
	Offer     offerJSON `json:"offer"`
	Timestamp string    `json:"timestamp"`
	Reason    []string  `json:"reason"`
}

type offerJSON struct {
	ID         string `json:"id"`
	AgentID    string `json:"agentId"`
	Hostname   string `json:"hostname"`
	Resources  []any  `json:"resources"`
	Attributes []any  `json:"attributes"`
}

// summarize renders reason counts as Marathon's funnel: each reason's processed count is
// what reached that check.
func summarize(r reasonCounts) []reasonSummaryJSON {
	out := make([]reasonSummaryJSON, 0, len(reasonOrder))
	left := r.Processed
	for _, reason := range reasonOrder {
		d := r.Declined[reason]
		out = append(out, reasonSummaryJSON{Reason: reason, Declined: d, Processed: left})
		left -= d
	}
	return out
}

func (m *Marathon) renderQueue() []queueJSON {
	now := m.now()
	ids := make([]string, 0, len(m.queue))
	for id := range m.queue {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := []queueJSON{}
	for _, id := range ids {
		q := m.queue[id]
		a := m.apps[id]
		if a == nil || q.Count <= 0 {
			continue
		}
		s := q.Stats
		j := queueJSON{
			App:   m.renderApp(a, embeds{}),
			Count: q.Count,
			Delay: m.backoff.Info(launchqueue.Key{AppID: id, Version: q.Version}, true, now),
			Since: app.FormatTime(q.Since),
			ProcessedOffersSummary: offersSummaryJSON{
				ProcessedOffersCount: s.Processed, UnusedOffersCount: s.Unused,
				LastUnusedOfferAt: optTime(s.LastUnusedAt), LastUsedOfferAt: optTime(s.LastUsedAt),
				RejectSummaryLastOffers: summarize(s.Last), RejectSummaryLaunchAttempt: summarize(s.Attempt),
			},
			LastUnusedOffers: []unusedOfferJSON{},
		}
		for _, u := range s.LastUnused {
			j.LastUnusedOffers = append(j.LastUnusedOffers, unusedOfferJSON{
				Offer:     offerJSON{ID: u.OfferID, AgentID: u.AgentID, Hostname: u.Hostname, Resources: []any{}, Attributes: []any{}},
				Timestamp: app.FormatTime(u.At), Reason: u.Reasons,
			})
		}
		out = append(out, j)
	}
	return out
}

// endpointsText renders running tasks in the text/plain form HAProxy bridges read:
// "<app id>\t<service port>\t<host>:<port>\t…" per service port of each app.
func (m *Marathon) endpointsText() string {
	var b strings.Builder
	ids := make([]string, 0, len(m.apps))
	for id := range m.apps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		a := m.apps[id]
		var running []*task
		for _, t := range m.tasksOf(id) {
			if t.State == stateRunning {
				running = append(running, t)
			}
		}
		clean := TaskIDPrefix(id)
		sps := servicePortsOf(a)
		if len(sps) == 0 {
			b.WriteString(clean + "\t \t")
			for _, t := range running {
				b.WriteString(t.Host + "\t")
			}
			b.WriteString("\n")
			continue
		}
		for i, sp := range sps {
			b.WriteString(clean + "\t" + strconv.Itoa(sp) + "\t")
			for _, t := range running {
				if i < len(t.Ports) {
					b.WriteString(t.Host + ":" + strconv.FormatUint(t.Ports[i], 10) + "\t")
				}
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}
