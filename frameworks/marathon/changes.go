package marathon

import (
	"errors"
	"fmt"
	"net/http"
	"sort"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/events"
	"github.com/agoracluster/agora/frameworks/marathon/groups"
	"github.com/agoracluster/agora/frameworks/marathon/launchqueue"
	"github.com/agoracluster/agora/frameworks/marathon/planner"
)

// reply is what an API call answers: a status, a JSON body (nil = none) and headers.
type reply struct {
	status int
	body   any
	header map[string]string
}

func msgReply(status int, format string, args ...any) reply {
	return reply{status: status, body: map[string]string{"message": fmt.Sprintf(format, args...)}}
}

func appNotFound(id string) reply {
	return msgReply(http.StatusNotFound, "App '%s' does not exist", id)
}

// deploymentResult is Marathon's answer to a change: {"version":…,"deploymentId":…}.
type deploymentResult struct {
	Version      string `json:"version"`
	DeploymentID string `json:"deploymentId"`
}

// errorReply maps decode and validation errors to Marathon's status codes.
func errorReply(err error) reply {
	var ve *app.ValidationError
	var me *app.MalformedError
	switch {
	case errors.As(err, &ve):
		return reply{status: http.StatusUnprocessableEntity, body: ve}
	case errors.As(err, &me):
		return msgReply(http.StatusBadRequest, "Invalid JSON: %s", me.Err.Error())
	case errors.Is(err, planner.ErrCycle):
		return reply{status: http.StatusUnprocessableEntity, body: map[string]any{
			"message": app.MsgObjectNotValid,
			"details": []app.Detail{{Path: "/", Errors: []string{"Dependency graph has cyclic dependencies."}}},
		}}
	case errors.Is(err, launchqueue.ErrNoServicePorts):
		return msgReply(http.StatusUnprocessableEntity, "%s", err.Error())
	}
	return msgReply(http.StatusInternalServerError, "%s", err.Error())
}

func (m *Marathon) specs(apps map[string]*app.App) map[string]planner.AppSpec {
	out := make(map[string]planner.AppSpec, len(apps))
	for id, a := range apps {
		out[id] = specOf(a)
	}
	return out
}

func (m *Marathon) otherApps(id string) []*app.App {
	var out []*app.App
	for oid, a := range m.apps {
		if oid != id {
			out = append(out, a)
		}
	}
	return out
}

// assignPorts gives a's service ports that ask for 0 free ports of the range.
func (m *Marathon) assignPorts(a *app.App) (*app.App, error) {
	r := launchqueue.ServicePorts{Min: m.cfg.ServicePortMin, Max: m.cfg.ServicePortMax}
	return r.Assign(a, m.otherApps(a.ID))
}

// stamp sets the version of next: a config change (or a restart) sets both timestamps,
// a scale only lastScalingAt.
func stamp(next, current *app.App, version string, restart bool) {
	next.Version = version
	if current == nil || restart || app.IsUpgrade(current, next) {
		next.VersionInfo = &app.VersionInfo{LastScalingAt: version, LastConfigChangeAt: version}
		return
	}
	cfg := current.Version
	if current.VersionInfo != nil && current.VersionInfo.LastConfigChangeAt != "" {
		cfg = current.VersionInfo.LastConfigChangeAt
	}
	next.VersionInfo = &app.VersionInfo{LastScalingAt: version, LastConfigChangeAt: cfg}
}

// lockedReply is Marathon's 409 for an app that a deployment holds.
func lockedReply(ids []string) reply {
	deps := make([]idJSON, 0, len(ids))
	for _, id := range ids {
		deps = append(deps, idJSON{id})
	}
	return reply{status: http.StatusConflict, body: map[string]any{
		"message":     fmt.Sprintf("App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/%s'.", ids[0]),
		"deployments": deps,
	}}
}

// deploy applies changes (app id → new definition, nil = delete) as one deployment.
// It returns the deployment's plan, or a reply with the error.
func (m *Marathon) deploy(changes map[string]*app.App, force bool, version string) (planner.Plan, *reply) {
	target := make(map[string]*app.App, len(m.apps)+len(changes))
	for id, a := range m.apps {
		target[id] = a
	}
	for id, a := range changes {
		if a == nil {
			delete(target, id)
		} else {
			target[id] = a
		}
	}
	targetSpecs := m.specs(target)
	for id, deps := range groups.EffectiveDependencies(groups.Build(target, m.metas)) {
		if s, ok := targetSpecs[id]; ok {
			s.Dependencies = deps
			targetSpecs[id] = s
		}
	}
	plan, err := planner.NewPlan(m.newID(), version, m.specs(m.apps), targetSpecs)
	if err != nil {
		r := errorReply(err)
		return planner.Plan{}, &r
	}
	var running []planner.Plan
	for _, d := range m.sortedDeployments() {
		running = append(running, d.Plan)
	}
	if conflicts := planner.Conflicts(plan, running); len(conflicts) > 0 {
		if !force {
			r := lockedReply(conflicts)
			return planner.Plan{}, &r
		}
		for _, id := range conflicts {
			m.log.Info("deployment cancelled by a forced change", zap.String("deployment_id", id))
			if d := m.deployments[id]; d != nil {
				m.publish(events.NewDeploymentFailed(m.eventPlan(d.Plan, d.Original), m.now()))
				delete(m.eventPlans, id)
			}
			delete(m.deployments, id)
			m.remove(deploymentKey(id))
		}
	}
	originals := map[string]*app.App{}
	for _, id := range plan.AffectedApps() {
		if a := m.apps[id]; a != nil {
			originals[id] = a
		}
	}
	ids := make([]string, 0, len(changes))
	for id := range changes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var stored []*app.App
	for _, id := range ids {
		a := changes[id]
		m.backoff.Reset(id)
		if a == nil {
			delete(m.apps, id)
			delete(m.failures, id)
			m.remove(appKey(id))
			m.publish(events.NewAppTerminated(id, m.now()))
			m.forgetAppVersions(id)
			continue
		}
		m.apps[id] = a
		m.persist(appKey(id), a)
		stored = append(stored, a)
	}
	m.storeRootVersion(version) // first: app versions it no longer names may be pruned
	for _, a := range stored {
		m.storeAppVersion(a)
	}
	if len(plan.Steps) > 0 {
		d := &deployment{Plan: plan, Original: originals, StartedAt: m.now()}
		m.deployments[plan.ID] = d
		m.persist(deploymentKey(plan.ID), d)
		ep := m.eventPlan(plan, originals)
		m.eventPlans[plan.ID] = ep
		m.publish(events.NewDeploymentInfo(ep, 0, m.now()))
		m.log.Info("deployment started", zap.String("deployment_id", plan.ID), zap.Stringer("plan", plan))
	}
	m.reconcile()
	return plan, nil
}

// createApp is POST /v2/apps.
func (m *Marathon) createApp(body []byte, force bool) reply {
	a, err := app.Parse(body, "/")
	if err != nil {
		return errorReply(err)
	}
	if _, ok := m.apps[a.ID]; ok {
		return msgReply(http.StatusConflict, "An app with id [%s] already exists.", a.ID)
	}
	if a, err = m.assignPorts(a); err != nil {
		return errorReply(err)
	}
	version := app.FormatTime(m.now())
	stamp(a, nil, version, true)
	plan, r := m.deploy(map[string]*app.App{a.ID: a}, force, version)
	if r != nil {
		return *r
	}
	out := m.renderApp(a, embeds{counts: true, tasks: true})
	out["deployments"] = []idJSON{{plan.ID}}
	return reply{status: http.StatusCreated, body: out, header: map[string]string{
		"Location": "/v2/apps" + a.ID, "Marathon-Deployment-Id": plan.ID,
	}}
}

// updateApp is PUT or PATCH /v2/apps/{id}: create (PUT only), roll back ({"version":…}) or
// update (see updateMode).
func (m *Marathon) updateApp(id string, body []byte, force bool, mode updateMode) reply {
	next, created, r := m.nextDefinition(id, body, mode)
	if r != nil {
		return *r
	}
	version := next.Version
	plan, r := m.deploy(map[string]*app.App{next.ID: next}, force, version)
	if r != nil {
		return *r
	}
	res := reply{status: http.StatusOK, body: deploymentResult{Version: version, DeploymentID: plan.ID},
		header: map[string]string{"Marathon-Deployment-Id": plan.ID}}
	if created {
		res.status = http.StatusCreated
		res.header["Location"] = "/v2/apps" + next.ID
	}
	return res
}

// nextDefinition computes the definition that a PUT/PATCH body asks for, stamped.
func (m *Marathon) nextDefinition(id string, body []byte, mode updateMode) (*app.App, bool, *reply) {
	version := app.FormatTime(m.now())
	current := m.apps[id]
	if v, ok := app.RollbackVersion(body); ok && mode.merge {
		if current == nil {
			r := appNotFound(id)
			return nil, false, &r
		}
		old, err := loadVersion(m.ctx, m.st, id, v)
		if err != nil {
			r := msgReply(http.StatusNotFound, "Version '%s' of app '%s' does not exist", v, id)
			return nil, false, &r
		}
		next := *old
		stamp(&next, current, version, false)
		if app.IsUpgrade(current, &next) && old.VersionInfo != nil {
			next.VersionInfo.LastConfigChangeAt = old.VersionInfo.LastConfigChangeAt
		}
		return &next, false, nil
	}
	if current == nil {
		if !mode.create {
			r := appNotFound(id)
			return nil, false, &r
		}
		a, err := app.Parse(withID(body, id), "/")
		if err != nil {
			r := errorReply(err)
			return nil, false, &r
		}
		if a.ID != id {
			a.ID = id
		}
		if a, err = m.assignPorts(a); err != nil {
			r := errorReply(err)
			return nil, false, &r
		}
		stamp(a, nil, version, true)
		return a, true, nil
	}
	next, err := mode.apply(current, id, body)
	if err != nil {
		r := errorReply(err)
		return nil, false, &r
	}
	if next, err = m.assignPorts(next); err != nil {
		r := errorReply(err)
		return nil, false, &r
	}
	stamp(next, current, version, false)
	return next, false, nil
}

// restartApp is POST /v2/apps/{id}/restart.
func (m *Marathon) restartApp(id string, force bool) reply {
	current := m.apps[id]
	if current == nil {
		return appNotFound(id)
	}
	next := *current
	version := app.FormatTime(m.now())
	stamp(&next, current, version, true)
	plan, r := m.deploy(map[string]*app.App{id: &next}, force, version)
	if r != nil {
		return *r
	}
	return reply{status: http.StatusOK, body: deploymentResult{Version: version, DeploymentID: plan.ID},
		header: map[string]string{"Marathon-Deployment-Id": plan.ID}}
}

// deleteApp is DELETE /v2/apps/{id}.
func (m *Marathon) deleteApp(id string, force bool) reply {
	if m.apps[id] == nil {
		return appNotFound(id)
	}
	version := app.FormatTime(m.now())
	plan, r := m.deploy(map[string]*app.App{id: nil}, force, version)
	if r != nil {
		return *r
	}
	return reply{status: http.StatusOK, body: deploymentResult{Version: version, DeploymentID: plan.ID},
		header: map[string]string{"Marathon-Deployment-Id": plan.ID}}
}

// killTasks kills tasks of apps (DELETE /v2/apps/{id}/tasks…, POST /v2/tasks/delete);
// with scale the apps are scaled down by the number killed.
func (m *Marathon) killTasks(ts []*task, scale, wipe, force bool) reply {
	now := m.now()
	if scale {
		byApp := map[string]int{}
		for _, t := range ts {
			if !t.Killing {
				byApp[t.AppID]++
			}
		}
		version := app.FormatTime(now)
		changes := map[string]*app.App{}
		for id, n := range byApp {
			cur := m.apps[id]
			if cur == nil {
				continue
			}
			next := *cur
			next.Instances = max(0, cur.Instances-n)
			stamp(&next, cur, version, false)
			changes[id] = &next
		}
		if !force {
			var locked []string
			for _, d := range m.sortedDeployments() {
				for _, id := range d.Plan.AffectedApps() {
					if _, ok := changes[id]; ok {
						locked = append(locked, d.Plan.ID)
						break
					}
				}
			}
			if len(locked) > 0 {
				return lockedReply(locked)
			}
		}
		// Kill first so that the scale deployment counts them out.
		for _, t := range ts {
			if !t.Killing {
				m.killTask(t, now)
			}
		}
		plan, r := m.deploy(changes, force, version)
		if r != nil {
			return *r
		}
		return reply{status: http.StatusOK, body: deploymentResult{Version: version, DeploymentID: plan.ID},
			header: map[string]string{"Marathon-Deployment-Id": plan.ID}}
	}
	out := make([]taskJSON, 0, len(ts))
	for _, t := range ts {
		out = append(out, m.renderTask(t))
		if wipe {
			m.expunged[t.ID] = true
			m.killTask(t, now)
			m.dropTask(t)
			continue
		}
		if !t.Killing {
			m.killTask(t, now)
		}
	}
	m.reconcile()
	return reply{status: http.StatusOK, body: map[string]any{"tasks": out}}
}

// cancelDeployment is DELETE /v2/deployments/{id}: roll back, or with force just stop.
func (m *Marathon) cancelDeployment(id string, force bool) reply {
	d := m.deployments[id]
	if d == nil {
		return msgReply(http.StatusNotFound, "DeploymentPlan %s does not exist", id)
	}
	m.publish(events.NewDeploymentFailed(m.eventPlan(d.Plan, d.Original), m.now()))
	delete(m.eventPlans, id)
	delete(m.deployments, id)
	m.remove(deploymentKey(id))
	if force {
		m.reconcile()
		return reply{status: http.StatusAccepted}
	}
	changes := map[string]*app.App{}
	for _, appID := range d.Plan.AffectedApps() {
		changes[appID] = d.Original[appID] // nil: created by the deployment, removed again
	}
	version := app.FormatTime(m.now())
	plan, r := m.deploy(changes, true, version)
	if r != nil {
		return *r
	}
	return reply{status: http.StatusOK, body: deploymentResult{Version: version, DeploymentID: plan.ID},
		header: map[string]string{"Marathon-Deployment-Id": plan.ID}}
}
