package api

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/health"
	"github.com/agoracluster/agora/frameworks/marathon/launchqueue"
	"github.com/agoracluster/agora/frameworks/marathon/loop"
	"github.com/agoracluster/agora/frameworks/marathon/matching"
	"github.com/agoracluster/agora/frameworks/marathon/planner"
	"github.com/agoracluster/agora/frameworks/marathon/readiness"
	"github.com/agoracluster/agora/frameworks/marathon/taskinfo"
	"github.com/agoracluster/agora/frameworks/marathon/tasks"
)

// State is what rendering reads of the framework state: loop.View, on the loop.
type State interface {
	Now() time.Time
	App(id string) *app.App
	AppIDs() []string
	TasksOf(appID string) []*tasks.Task
	Deployments() []*loop.Deployment
	Deploying() map[string]string
	LastTaskFailure(appID string) *loop.TaskFailure
	ReadinessResults(appID string, deploying map[string]string) []readiness.Result
}

var _ State = loop.View{}

// taskJSON is a task as Marathon's /v2/tasks and /v2/apps/{id}/tasks return it.
type taskJSON struct {
	AppID              string            `json:"appId"`
	HealthCheckResults []healthJSON      `json:"healthCheckResults,omitempty"`
	Host               string            `json:"host"`
	ID                 string            `json:"id"`
	IPAddresses        []tasks.IPAddress `json:"ipAddresses"`
	Ports              []uint64          `json:"ports"`
	ServicePorts       []int             `json:"servicePorts"`
	SlaveID            string            `json:"slaveId"`
	State              string            `json:"state"`
	StagedAt           string            `json:"stagedAt"`
	StartedAt          *string           `json:"startedAt"`
	Version            string            `json:"version"`
	LocalVolumes       []any             `json:"localVolumes"`
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

// queueJSON is one entry of GET /v2/queue.
type queueJSON struct {
	App map[string]any `json:"app,omitempty"`
	Pod *app.Pod       `json:"pod,omitempty"` // a pod's entry has its definition instead of an app

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
func summarize(r launchqueue.ReasonCounts) []reasonSummaryJSON {
	out := make([]reasonSummaryJSON, 0, len(matching.ReasonOrder))
	left := r.Processed
	for _, reason := range matching.ReasonOrder {
		d := r.Declined[reason]
		out = append(out, reasonSummaryJSON{Reason: reason, Declined: d, Processed: left})
		left -= d
	}
	return out
}

// renderTask renders t, a task of a (nil when the app is gone).
func renderTask(t *tasks.Task, a *app.App) taskJSON {
	j := taskJSON{
		AppID: t.AppID, Host: t.Host, ID: t.ID, IPAddresses: t.IPAddresses, Ports: t.Ports,
		ServicePorts: servicePortsOf(a), SlaveID: t.AgentID, State: t.State,
		StagedAt: app.FormatTime(t.StagedAt), StartedAt: optTime(t.StartedAt), Version: t.AppVersion,
		LocalVolumes: []any{},
	}
	if j.IPAddresses == nil {
		j.IPAddresses = []tasks.IPAddress{}
	}
	if j.Ports == nil {
		j.Ports = []uint64{}
	}
	for _, st := range t.HealthResults(a) {
		j.HealthCheckResults = append(j.HealthCheckResults, healthJSON{
			Alive: *st.Healthy, ConsecutiveFailures: st.ConsecutiveFailures,
			FirstSuccess: optTime(st.FirstSuccess), LastFailure: optTime(st.LastFailure),
			LastSuccess: optTime(st.LastSuccess), LastFailureCause: optString(st.LastFailureCause),
			InstanceID: t.ID,
		})
	}
	return j
}

// counts are an app's task counts.
type counts struct {
	Staged, Running, Healthy, Unhealthy int
}

func countsOf(a *app.App, ts []*tasks.Task) counts {
	var c counts
	for _, t := range ts {
		switch t.State {
		case tasks.StateRunning:
			c.Running++
		case tasks.StateStaging, tasks.StateStarting:
			c.Staged++
		}
		if rs := t.HealthResults(a); len(rs) > 0 {
			if t.HealthyFor(a) {
				c.Healthy++
			} else if slices.ContainsFunc(rs, func(st health.Status) bool { return !*st.Healthy }) {
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

// deploymentsOf lists the ids of deployments touching an app.
func deploymentsOf(st State, appID string) []idJSON {
	out := []idJSON{}
	for _, d := range st.Deployments() {
		if slices.Contains(d.Plan.AffectedApps(), appID) {
			out = append(out, idJSON{d.Plan.ID})
		}
	}
	return out
}

// addEmbeds adds the requested embeds to a rendered app.
func addEmbeds(st State, out map[string]any, a *app.App, e embeds) {
	ts := st.TasksOf(a.ID)
	if e.counts {
		c := countsOf(a, ts)
		out["tasksStaged"], out["tasksRunning"] = c.Staged, c.Running
		out["tasksHealthy"], out["tasksUnhealthy"] = c.Healthy, c.Unhealthy
	}
	if e.deployments {
		out["deployments"] = deploymentsOf(st, a.ID)
	}
	if e.tasks {
		rendered := make([]taskJSON, 0, len(ts))
		for _, t := range ts {
			rendered = append(rendered, renderTask(t, st.App(t.AppID)))
		}
		out["tasks"] = rendered
	}
	if e.lastTaskFailure {
		if f := st.LastTaskFailure(a.ID); f != nil {
			out["lastTaskFailure"] = f
		}
	}
	if e.readiness {
		out["readinessCheckResults"] = st.ReadinessResults(a.ID, st.Deploying())
	}
	if e.taskStats {
		out["taskStats"] = taskStats(st.Now(), a, ts)
	}
}

func taskStats(now time.Time, a *app.App, ts []*tasks.Task) map[string]any {
	if len(ts) == 0 {
		return map[string]any{}
	}
	c := countsOf(a, ts)
	var lives []float64
	for _, t := range ts {
		if !t.StartedAt.IsZero() {
			lives = append(lives, now.Sub(t.StartedAt).Seconds())
		}
	}
	stats := map[string]any{
		"counts": map[string]int{"staged": c.Staged, "running": c.Running, "healthy": c.Healthy, "unhealthy": c.Unhealthy},
	}
	if len(lives) > 0 {
		slices.Sort(lives)
		sum := 0.0
		for _, l := range lives {
			sum += l
		}
		stats["lifeTime"] = map[string]float64{"averageSeconds": sum / float64(len(lives)), "medianSeconds": lives[len(lives)/2]}
	}
	return map[string]any{"totalSummary": map[string]any{"stats": stats}}
}

// deploymentInfo renders a running deployment for /v2/deployments, with the readiness
// results of the apps its current step changes.
func deploymentInfo(st State, d *loop.Deployment, deploying map[string]string) planner.DeploymentInfo {
	info := d.Plan.Info(d.Step)
	for i, ca := range info.CurrentActions {
		rs := st.ReadinessResults(ca.App, deploying)
		out := make([]any, len(rs))
		for j, r := range rs {
			out[j] = r
		}
		info.CurrentActions[i].ReadinessCheckResults = out
	}
	return info
}

// endpointsText renders running tasks in the text/plain form HAProxy bridges read:
// "<app id>\t<service port>\t<host>:<port>\t…" per service port of each app.
func endpointsText(st State) string {
	var b strings.Builder
	for _, id := range st.AppIDs() {
		a := st.App(id)
		var running []*tasks.Task
		for _, t := range st.TasksOf(id) {
			if t.State == tasks.StateRunning {
				running = append(running, t)
			}
		}
		clean := taskinfo.TaskIDPrefix(id)
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

// endpointsTextFor is endpointsText's lines of one app.
func endpointsTextFor(st State, id string) string {
	var b strings.Builder
	for _, line := range strings.Split(endpointsText(st), "\n") {
		if strings.HasPrefix(line, taskinfo.TaskIDPrefix(id)+"\t") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// renderer renders apps and caches what does not change between requests: the app
// definitions as canonical raw JSON per app version, and tasks per task revision. It is
// used on the loop (inside Framework.Do); the lock only makes that no precondition.
type renderer struct {
	mu   sync.Mutex
	apps map[string]*renderedApp // by app id
}

// renderedApp is an app definition rendered as canonical raw JSON fields, with its tasks
// rendered.
type renderedApp struct {
	app     *app.App
	version string
	fields  map[string]json.RawMessage
	tasks   map[string]renderedTask // by task id; nil until tasks are rendered
}

// renderedTask is a task rendered at a revision.
type renderedTask struct {
	task *tasks.Task
	rev  uint64
	raw  json.RawMessage
}

func newRenderer() *renderer { return &renderer{apps: map[string]*renderedApp{}} }

// app renders an app with the requested embeds as a JSON object.
func (r *renderer) app(st State, a *app.App, e embeds) map[string]any {
	b, _ := app.Render(a)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	addEmbeds(st, out, a, e)
	return out
}

// appJSON is app for responses that are only written out: the definition's fields are
// raw JSON, cached per app version, and encode to the very bytes app's values do (each
// is the canonical encoding of the decoded value).
func (r *renderer) appJSON(st State, a *app.App, e embeds) map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.appJSONLocked(st, a, e)
}

func (r *renderer) appJSONLocked(st State, a *app.App, e embeds) map[string]any {
	c := r.apps[a.ID]
	if c == nil || c.app != a || c.version != a.Version {
		c = &renderedApp{app: a, version: a.Version, fields: canonicalFields(a)}
		r.apps[a.ID] = c
	}
	out := make(map[string]any, len(c.fields)+8)
	for k, v := range c.fields {
		out[k] = v
	}
	withTasks := e.tasks
	e.tasks = false
	addEmbeds(st, out, a, e)
	if withTasks {
		ts := st.TasksOf(a.ID)
		if c.tasks == nil {
			c.tasks = make(map[string]renderedTask, len(ts))
		}
		raw := make([]json.RawMessage, len(ts))
		for i, t := range ts {
			raw[i] = c.task(t)
		}
		if len(c.tasks) > len(ts) { // tasks ended: forget their renderings
			live := make(map[string]renderedTask, len(ts))
			for _, t := range ts {
				live[t.ID] = c.tasks[t.ID]
			}
			c.tasks = live
		}
		out["tasks"] = raw
	}
	return out
}

// task is t rendered, cached until the task changes.
func (c *renderedApp) task(t *tasks.Task) json.RawMessage {
	if rt, ok := c.tasks[t.ID]; ok && rt.task == t && rt.rev == t.Rev() {
		return rt.raw
	}
	raw, _ := json.Marshal(renderTask(t, c.app))
	c.tasks[t.ID] = renderedTask{task: t, rev: t.Rev(), raw: raw}
	return raw
}

// appendAppJSON appends appJSON(st, a, e) encoded as json.Marshal would encode it (keys
// sorted), without encoding/json re-checking every cached raw value.
func (r *renderer) appendAppJSON(dst []byte, st State, a *app.App, e embeds) []byte {
	r.mu.Lock()
	fields := r.appJSONLocked(st, a, e)
	r.mu.Unlock()
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
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
			for j, raw := range v {
				if j > 0 {
					dst = append(dst, ',')
				}
				dst = append(dst, raw...)
			}
			dst = append(dst, ']')
		default:
			b, _ := json.Marshal(v)
			dst = append(dst, b...)
		}
	}
	return append(dst, '}')
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

// forgetGone drops cached renderings of apps that are gone.
func (r *renderer) forgetGone(st State) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id := range r.apps {
		if st.App(id) == nil {
			delete(r.apps, id)
		}
	}
}

// queue renders GET /v2/queue.
func (r *renderer) queue(v loop.View) []queueJSON {
	out := []queueJSON{}
	for _, q := range v.Queue() {
		s := q.Entry.Stats
		j := queueJSON{
			Count: q.Entry.Count,
			Delay: q.Delay,
			Since: app.FormatTime(q.Entry.Since),
			ProcessedOffersSummary: offersSummaryJSON{
				ProcessedOffersCount: s.Processed, UnusedOffersCount: s.Unused,
				LastUnusedOfferAt: optTime(s.LastUnusedAt), LastUsedOfferAt: optTime(s.LastUsedAt),
				RejectSummaryLastOffers: summarize(s.Last), RejectSummaryLaunchAttempt: summarize(s.Attempt),
			},
			LastUnusedOffers: []unusedOfferJSON{},
		}
		if q.App.Pod != nil {
			j.Pod = q.App.Pod
		} else {
			j.App = r.app(v, q.App, embeds{})
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
