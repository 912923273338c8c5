package loop

import (
	"maps"
	"slices"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/pod"
	"github.com/agoracluster/agora/frameworks/marathon/tasks"
)

// A pod is kept as an app record that carries it (pod.AsApp): deployments, scaling,
// versions, constraints and health work for it as for an app. The app routes do not see
// such records, and the pod routes see nothing else.

// appOnly is the app with id id; nil when there is none or id is a pod's.
func (s *state) appOnly(id string) *app.App {
	if a := s.apps[id]; a != nil && a.Pod == nil {
		return a
	}
	return nil
}

// podRecord is the record of the pod with id id; nil when there is none.
func (s *state) podRecord(id string) *app.App {
	if a := s.apps[id]; a != nil && a.Pod != nil {
		return a
	}
	return nil
}

func podNotApp(id string) error {
	return &ConflictError{Message: "A pod with id [" + id + "] already exists: pods are changed through /v2/pods."}
}

func podNotFound(id string) error { return notFound("Pod '%s' does not exist", id) }

// CreatePod is POST /v2/pods: a new pod from its (decoded) definition.
func (tx *Tx) CreatePod(p *app.Pod, force bool, o Origin) (*app.Pod, Deployed, error) {
	if cur := tx.l.s.apps[p.ID]; cur != nil {
		if cur.Pod != nil {
			return nil, Deployed{}, &ConflictError{Message: "A pod with id [" + p.ID + "] already exists."}
		}
		return nil, Deployed{}, &ConflictError{Message: "An app with id [" + p.ID + "] already exists."}
	}
	return tx.putPod(nil, p, force, o)
}

// UpdatePod is PUT /v2/pods/{id}: the pod's new definition (a pod not there is created;
// created says so).
func (tx *Tx) UpdatePod(p *app.Pod, force bool, o Origin) (out *app.Pod, created bool, d Deployed, err error) {
	if cur := tx.l.s.apps[p.ID]; cur != nil && cur.Pod == nil {
		return nil, false, Deployed{}, &ConflictError{Message: "An app with id [" + p.ID + "] already exists."}
	}
	cur := tx.l.s.podRecord(p.ID)
	out, d, err = tx.putPod(cur, p, force, o)
	return out, cur == nil, d, err
}

func (tx *Tx) putPod(cur *app.App, p *app.Pod, force bool, o Origin) (*app.Pod, Deployed, error) {
	next := pod.AsApp(p)
	version := app.FormatTime(tx.l.now())
	stamp(next, cur, version, cur == nil)
	d, err := tx.deploy(map[string]*app.App{p.ID: next}, force, version)
	if err != nil {
		return nil, Deployed{}, err
	}
	tx.apiPost(o, p.ID)
	return next.Pod, d, nil
}

// DeletePod is DELETE /v2/pods/{id}.
func (tx *Tx) DeletePod(id string, force bool) (Deployed, error) {
	if tx.l.s.podRecord(id) == nil {
		return Deployed{}, podNotFound(id)
	}
	return tx.deploy(map[string]*app.App{id: nil}, force, app.FormatTime(tx.l.now()))
}

// PodVersions lists the stored versions of a pod, oldest first.
func (tx *Tx) PodVersions(id string) ([]string, error) {
	if tx.l.s.podRecord(id) == nil {
		return nil, podNotFound(id)
	}
	return tx.l.db.AppVersions(tx.l.ctx, id)
}

// PodVersion is one stored version of a pod.
func (tx *Tx) PodVersion(id, version string) (*app.Pod, error) {
	if tx.l.s.podRecord(id) == nil {
		return nil, podNotFound(id)
	}
	a, err := tx.l.db.AppVersion(tx.l.ctx, id, version)
	if err != nil || a.Pod == nil {
		return nil, notFound("Version '%s' of pod '%s' does not exist", version, id)
	}
	return a.Pod, nil
}

// KillPodInstances is DELETE /v2/pods/{id}::instances[/{instance}]: the instances are
// killed (and replaced, as the pod still wants them). An id that is no instance of the
// pod is a NotFoundError naming it; nothing is killed then.
func (tx *Tx) KillPodInstances(id string, instanceIDs []string) ([]*tasks.Task, error) {
	s := &tx.l.s
	if s.podRecord(id) == nil {
		return nil, podNotFound(id)
	}
	var ts []*tasks.Task
	for _, iid := range instanceIDs {
		t := s.tasks.Get(iid)
		if t == nil || t.AppID != id || t.Pod == nil {
			return nil, notFound("Instance '%s' of pod '%s' does not exist", iid, id)
		}
		ts = append(ts, t)
	}
	k, err := tx.killTasks(ts, KillOptions{})
	return k.Tasks, err
}

// PodIDs lists the ids of every pod, sorted.
func (v View) PodIDs() []string {
	var out []string
	for id, a := range v.l.s.apps {
		if a.Pod != nil {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// PodRecord is the app record of the pod with id id (its Pod the definition); nil when
// there is none.
func (v View) PodRecord(id string) *app.App { return v.l.s.podRecord(id) }

// appsOnly is apps without the pods' records.
func appsOnly(apps map[string]*app.App) map[string]*app.App {
	out := maps.Clone(apps)
	maps.DeleteFunc(out, func(_ string, a *app.App) bool { return a.Pod != nil })
	return out
}
