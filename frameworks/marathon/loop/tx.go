package loop

import (
	"encoding/json"
	"maps"
	"slices"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/events"
	"github.com/agoracluster/agora/frameworks/marathon/groups"
	"github.com/agoracluster/agora/frameworks/marathon/launchqueue"
	"github.com/agoracluster/agora/frameworks/marathon/persist"
	"github.com/agoracluster/agora/frameworks/marathon/planner"
	"github.com/agoracluster/agora/frameworks/marathon/tasks"
)

// Tx is the API's handle on the loop during one Do call: View reads the state, the other
// methods change it. A change computes the target definitions, stamps their versions,
// stores them and starts one deployment (see deploy), then reconciles; errors are
// *NotFoundError, *ConflictError, *LockedError, or the decode and validation errors of
// the app, groups, planner and launchqueue packages.
type Tx struct{ l *Loop }

// View reads the state.
func (tx *Tx) View() View { return View{l: tx.l} }

// Origin is the request a change came with, for api_post_event.
type Origin struct {
	IP  string // the client's address
	URI string // the request URI
}

// Deployed is what a change did: the version it stamped and the deployment it started
// (a deployment without steps is not kept running).
type Deployed struct {
	Version      string
	DeploymentID string
	Created      bool // the change created the app (PUT of an unknown app)
}

// apiPost publishes api_post_event for a changed app.
func (tx *Tx) apiPost(o Origin, appID string) {
	if a := tx.l.s.apps[appID]; a != nil {
		tx.l.publish(events.NewAPIPost(o.IP, o.URI, a, tx.l.now()))
	}
}

// withID sets "id" in a JSON object body (PUT /v2/apps/{id} takes the id from the path).
func withID(body []byte, id string) []byte {
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil || obj == nil {
		return body
	}
	raw, _ := json.Marshal(id)
	obj["id"] = raw
	out, err := json.Marshal(obj)
	if err != nil {
		return body
	}
	return out
}

// stamp sets the version of next: a config change (or a restart) sets both timestamps,
// a scale only lastScalingAt.
func stamp(next, current *app.App, version string, restart bool) {
	next.Version = version
	if next.Pod != nil {
		pd := *next.Pod
		pd.Version = version
		next.Pod = &pd
	}
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

func specs(apps map[string]*app.App) map[string]planner.AppSpec {
	out := make(map[string]planner.AppSpec, len(apps))
	for id, a := range apps {
		out[id] = specOf(a)
	}
	return out
}

// assignPorts gives a's service ports that ask for 0 free ports of the range.
func (tx *Tx) assignPorts(a *app.App) (*app.App, error) {
	r := launchqueue.ServicePorts{Min: tx.l.cfg.ServicePortMin, Max: tx.l.cfg.ServicePortMax}
	return r.Assign(a, tx.l.s.otherApps(a.ID))
}

// cancel ends a running deployment without rolling it back.
func (tx *Tx) cancel(d *Deployment) {
	l, s := tx.l, &tx.l.s
	l.publish(events.NewDeploymentFailed(s.eventPlan(d.Plan, d.Original), l.now()))
	delete(s.eventPlans, d.Plan.ID)
	delete(s.deployments, d.Plan.ID)
	l.db.Delete(l.ctx, persist.DeploymentKey(d.Plan.ID))
}

// deploy applies changes (app id → new definition, nil = delete) as one deployment.
func (tx *Tx) deploy(changes map[string]*app.App, force bool, version string) (Deployed, error) {
	l, s := tx.l, &tx.l.s
	target := maps.Clone(s.apps)
	for id, a := range changes {
		if a == nil {
			delete(target, id)
		} else {
			target[id] = a
		}
	}
	targetSpecs := specs(target)
	for id, deps := range groups.EffectiveDependencies(groups.Build(target, s.metas)) {
		if sp, ok := targetSpecs[id]; ok {
			sp.Dependencies = deps
			targetSpecs[id] = sp
		}
	}
	plan, err := planner.NewPlan(l.newID(), version, specs(s.apps), targetSpecs)
	if err != nil {
		return Deployed{}, err
	}
	var running []planner.Plan
	for _, d := range s.sortedDeployments() {
		running = append(running, d.Plan)
	}
	if conflicts := planner.Conflicts(plan, running); len(conflicts) > 0 {
		if !force {
			return Deployed{}, &LockedError{Deployments: conflicts}
		}
		for _, id := range conflicts {
			l.log.Info("deployment cancelled by a forced change", zap.String("deployment_id", id))
			if d := s.deployments[id]; d != nil {
				tx.cancel(d)
				continue
			}
			delete(s.deployments, id)
			l.db.Delete(l.ctx, persist.DeploymentKey(id))
		}
	}
	originals := map[string]*app.App{}
	for _, id := range plan.AffectedApps() {
		if a := s.apps[id]; a != nil {
			originals[id] = a
		}
	}
	var stored []*app.App
	for _, id := range slices.Sorted(maps.Keys(changes)) {
		a := changes[id]
		s.backoff.Reset(id)
		if a == nil {
			delete(s.apps, id)
			delete(s.failures, id)
			l.db.Delete(l.ctx, persist.AppKey(id))
			l.publish(events.NewAppTerminated(id, l.now()))
			l.db.ForgetAppVersions(l.ctx, id)
			continue
		}
		s.apps[id] = a
		l.db.Put(l.ctx, persist.AppKey(id), a)
		stored = append(stored, a)
	}
	l.db.StoreRootVersion(l.ctx, version, s.metas, s.apps) // first: app versions it no longer names may be pruned
	for _, a := range stored {
		l.db.StoreAppVersion(l.ctx, a)
	}
	if len(plan.Steps) > 0 {
		d := &Deployment{Plan: plan, Original: originals, StartedAt: l.now()}
		s.deployments[plan.ID] = d
		l.db.Put(l.ctx, persist.DeploymentKey(plan.ID), d)
		ep := s.eventPlan(plan, originals)
		s.eventPlans[plan.ID] = ep
		l.publish(events.NewDeploymentInfo(ep, 0, l.now()))
		l.log.Info("deployment started", zap.String("deployment_id", plan.ID), zap.Stringer("plan", plan))
	}
	l.reconcile()
	return Deployed{Version: version, DeploymentID: plan.ID}, nil
}

// CreateApp is POST /v2/apps: a new app from its definition.
func (tx *Tx) CreateApp(body []byte, force bool, o Origin) (*app.App, Deployed, error) {
	a, err := app.Parse(body, "/")
	if err != nil {
		return nil, Deployed{}, err
	}
	if cur, ok := tx.l.s.apps[a.ID]; ok {
		if cur.Pod != nil {
			return nil, Deployed{}, podNotApp(a.ID)
		}
		return nil, Deployed{}, &ConflictError{Message: "An app with id [" + a.ID + "] already exists."}
	}
	if a, err = tx.assignPorts(a); err != nil {
		return nil, Deployed{}, err
	}
	version := app.FormatTime(tx.l.now())
	stamp(a, nil, version, true)
	d, err := tx.deploy(map[string]*app.App{a.ID: a}, force, version)
	if err != nil {
		return nil, Deployed{}, err
	}
	tx.apiPost(o, a.ID)
	return a, d, nil
}

// UpdateMode is how a PUT or PATCH of /v2/apps changes an app, as Marathon 1.5+ does it:
//   - PATCH merges the body into the current definition (fields the body leaves out keep
//     their value) and never creates an app;
//   - PUT merges the same way by default (query parameter partialUpdate=true, Marathon's
//     default for compatibility) and creates the app when it does not exist;
//   - PUT with partialUpdate=false replaces the whole definition: the body is read as a
//     new app definition (with the id from the path), so fields it leaves out take their
//     defaults; a body of only {"version": …} is then no rollback but an app without a
//     command, refused as Marathon refuses it.
type UpdateMode struct {
	Create bool // an unknown app is created (PUT), else 404 (PATCH)
	Merge  bool // the body is merged into the current definition, else it replaces it
}

// apply computes the next definition of the existing app current (id) from body; the
// result carries current's version stamps for the caller to re-stamp.
func (u UpdateMode) apply(current *app.App, id string, body []byte) (*app.App, error) {
	if u.Merge {
		return app.Update(current, body)
	}
	next, err := app.Parse(withID(body, id), "/")
	if err != nil {
		return nil, err
	}
	next.ID = id
	next.Version, next.VersionInfo = current.Version, current.VersionInfo
	return next, nil
}

// UpdateApp is PUT or PATCH /v2/apps/{id}: create (PUT only), roll back ({"version":…})
// or update (see UpdateMode).
func (tx *Tx) UpdateApp(id string, body []byte, mode UpdateMode, force bool, o Origin) (Deployed, error) {
	next, created, err := tx.nextDefinition(id, body, mode)
	if err != nil {
		return Deployed{}, err
	}
	d, err := tx.deploy(map[string]*app.App{next.ID: next}, force, next.Version)
	if err != nil {
		return Deployed{}, err
	}
	d.Created = created
	tx.apiPost(o, id)
	return d, nil
}

// AppUpdate is one item of PUT /v2/apps: the app's (canonical) id and its body.
type AppUpdate struct {
	ID   string
	Body []byte
}

// UpdateApps is PUT or PATCH /v2/apps with an array of (partial) definitions: one
// deployment.
func (tx *Tx) UpdateApps(items []AppUpdate, mode UpdateMode, force bool, o Origin) (Deployed, error) {
	changes := map[string]*app.App{}
	version := app.FormatTime(tx.l.now())
	for _, item := range items {
		next, _, err := tx.nextDefinition(item.ID, item.Body, mode)
		if err != nil {
			return Deployed{}, err
		}
		changes[item.ID] = next
		version = next.Version
	}
	d, err := tx.deploy(changes, force, version)
	if err != nil {
		return Deployed{}, err
	}
	for id := range changes {
		tx.apiPost(o, id)
	}
	return d, nil
}

// nextDefinition computes the definition that a PUT/PATCH body asks for, stamped; created
// says that the app is new.
func (tx *Tx) nextDefinition(id string, body []byte, mode UpdateMode) (next *app.App, created bool, err error) {
	l := tx.l
	version := app.FormatTime(l.now())
	current := l.s.apps[id]
	if current != nil && current.Pod != nil {
		return nil, false, podNotApp(id)
	}
	if v, ok := app.RollbackVersion(body); ok && mode.Merge {
		if current == nil {
			return nil, false, appNotFound(id)
		}
		old, err := l.db.AppVersion(l.ctx, id, v)
		if err != nil {
			return nil, false, notFound("Version '%s' of app '%s' does not exist", v, id)
		}
		next := *old
		stamp(&next, current, version, false)
		if app.IsUpgrade(current, &next) && old.VersionInfo != nil {
			next.VersionInfo.LastConfigChangeAt = old.VersionInfo.LastConfigChangeAt
		}
		return &next, false, nil
	}
	if current == nil {
		if !mode.Create {
			return nil, false, appNotFound(id)
		}
		a, err := app.Parse(withID(body, id), "/")
		if err != nil {
			return nil, false, err
		}
		a.ID = id
		if a, err = tx.assignPorts(a); err != nil {
			return nil, false, err
		}
		stamp(a, nil, version, true)
		return a, true, nil
	}
	if next, err = mode.apply(current, id, body); err != nil {
		return nil, false, err
	}
	if next, err = tx.assignPorts(next); err != nil {
		return nil, false, err
	}
	stamp(next, current, version, false)
	return next, false, nil
}

// RestartApp is POST /v2/apps/{id}/restart.
func (tx *Tx) RestartApp(id string, force bool) (Deployed, error) {
	current := tx.l.s.appOnly(id)
	if current == nil {
		return Deployed{}, appNotFound(id)
	}
	next := *current
	version := app.FormatTime(tx.l.now())
	stamp(&next, current, version, true)
	return tx.deploy(map[string]*app.App{id: &next}, force, version)
}

// DeleteApp is DELETE /v2/apps/{id}.
func (tx *Tx) DeleteApp(id string, force bool) (Deployed, error) {
	if tx.l.s.appOnly(id) == nil {
		return Deployed{}, appNotFound(id)
	}
	return tx.deploy(map[string]*app.App{id: nil}, force, app.FormatTime(tx.l.now()))
}

// AppVersions lists the stored versions of an app, oldest first.
func (tx *Tx) AppVersions(id string) ([]string, error) {
	if tx.l.s.appOnly(id) == nil {
		return nil, appNotFound(id)
	}
	return tx.l.db.AppVersions(tx.l.ctx, id)
}

// AppVersion is one stored version of an app.
func (tx *Tx) AppVersion(id, version string) (*app.App, error) {
	if tx.l.s.appOnly(id) == nil {
		return nil, appNotFound(id)
	}
	a, err := tx.l.db.AppVersion(tx.l.ctx, id, version)
	if err != nil {
		return nil, notFound("Version '%s' of app '%s' does not exist", version, id)
	}
	return a, nil
}

// ResetDelay is DELETE /v2/queue/{id}/delay: the app's launch back-off ends.
func (tx *Tx) ResetDelay(appID string) error {
	l := tx.l
	if l.s.apps[appID] == nil {
		return appNotFound(appID)
	}
	l.s.backoff.Reset(appID)
	l.needRevive = true
	l.reconcile()
	return nil
}

// CancelDeployment is DELETE /v2/deployments/{id}: roll back, or with force just stop
// (then the result is nil).
func (tx *Tx) CancelDeployment(id string, force bool) (*Deployed, error) {
	d := tx.l.s.deployments[id]
	if d == nil {
		return nil, notFound("DeploymentPlan %s does not exist", id)
	}
	tx.cancel(d)
	if force {
		tx.l.reconcile()
		return nil, nil
	}
	changes := map[string]*app.App{}
	for _, appID := range d.Plan.AffectedApps() {
		changes[appID] = d.Original[appID] // nil: created by the deployment, removed again
	}
	res, err := tx.deploy(changes, true, app.FormatTime(tx.l.now()))
	if err != nil {
		return nil, err
	}
	return &res, nil
}

// Killed is what KillTasks did: the tasks it killed, or with scale the deployment that
// scales their apps down.
type Killed struct {
	Tasks    []*tasks.Task
	Deployed *Deployed
}

// KillOptions are the query parameters of a kill.
type KillOptions struct {
	Scale bool // scale the apps down by the tasks killed
	Wipe  bool // forget the tasks at once
	Force bool // cancel deployments that hold the apps
}

// KillAppTasks is DELETE /v2/apps/{id}/tasks[/{task id}]: one task of the app, or those
// on host ("" and "*" = all).
func (tx *Tx) KillAppTasks(appID, taskID, host string, opt KillOptions) (Killed, error) {
	s := &tx.l.s
	if s.appOnly(appID) == nil {
		return Killed{}, appNotFound(appID)
	}
	var ts []*tasks.Task
	if taskID != "" {
		t := s.tasks.Get(taskID)
		if t == nil || t.AppID != appID {
			return Killed{}, notFound("Task '%s' does not exist", taskID)
		}
		ts = []*tasks.Task{t}
	} else {
		for _, t := range s.tasks.OfApp(appID) {
			if host == "" || host == "*" || t.Host == host {
				ts = append(ts, t)
			}
		}
	}
	return tx.killTasks(ts, opt)
}

// KillTasks is POST /v2/tasks/delete: the tasks with the given ids (unknown ones are
// left out).
func (tx *Tx) KillTasks(ids []string, opt KillOptions) (Killed, error) {
	var ts []*tasks.Task
	for _, id := range ids {
		if t := tx.l.s.tasks.Get(id); t != nil {
			ts = append(ts, t)
		}
	}
	return tx.killTasks(ts, opt)
}

// killTasks kills tasks of apps; with scale the apps are scaled down by the number killed.
func (tx *Tx) killTasks(ts []*tasks.Task, opt KillOptions) (Killed, error) {
	l, s := tx.l, &tx.l.s
	now := l.now()
	if opt.Scale {
		byApp := map[string]int{}
		for _, t := range ts {
			if !t.Killing {
				byApp[t.AppID]++
			}
		}
		version := app.FormatTime(now)
		changes := map[string]*app.App{}
		for id, n := range byApp {
			cur := s.apps[id]
			if cur == nil {
				continue
			}
			next := *cur
			next.Instances = max(0, cur.Instances-n)
			if cur.Pod != nil {
				pd := *cur.Pod
				pd.Scaling.Instances = next.Instances
				next.Pod = &pd
			}
			stamp(&next, cur, version, false)
			changes[id] = &next
		}
		if !opt.Force {
			var locked []string
			for _, d := range s.sortedDeployments() {
				if slices.ContainsFunc(d.Plan.AffectedApps(), func(id string) bool { _, ok := changes[id]; return ok }) {
					locked = append(locked, d.Plan.ID)
				}
			}
			if len(locked) > 0 {
				return Killed{}, &LockedError{Deployments: locked}
			}
		}
		// Kill first so that the scale deployment counts them out.
		for _, t := range ts {
			if !t.Killing {
				l.killTask(t, now)
			}
		}
		d, err := tx.deploy(changes, opt.Force, version)
		if err != nil {
			return Killed{}, err
		}
		return Killed{Deployed: &d}, nil
	}
	for _, t := range ts {
		if opt.Wipe {
			s.expunged[t.ID] = true
			l.killTask(t, now)
			l.dropTask(t)
			continue
		}
		if !t.Killing {
			l.killTask(t, now)
		}
	}
	l.reconcile()
	return Killed{Tasks: ts}, nil
}
