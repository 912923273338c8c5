package loop

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/constraints"
	"github.com/agoracluster/agora/frameworks/marathon/events"
	"github.com/agoracluster/agora/frameworks/marathon/groups"
	"github.com/agoracluster/agora/frameworks/marathon/launchqueue"
	"github.com/agoracluster/agora/frameworks/marathon/planner"
	"github.com/agoracluster/agora/frameworks/marathon/tasks"
)

// Deployment is a running deployment. Persisted under deployments/<id>.
type Deployment struct {
	Plan      planner.Plan        `json:"plan"`
	Step      int                 `json:"step"`
	Original  map[string]*app.App `json:"originalApps"` // definitions before, for rollback
	StartedAt time.Time           `json:"startedAt"`
}

// TaskFailure is an app's lastTaskFailure, as Marathon renders it.
type TaskFailure struct {
	AppID     string `json:"appId"`
	Host      string `json:"host"`
	Message   string `json:"message"`
	State     string `json:"state"`
	TaskID    string `json:"taskId"`
	Timestamp string `json:"timestamp"`
	Version   string `json:"version"`
	SlaveID   string `json:"slaveId"`
}

// state is what the loop owns.
type state struct {
	apps        map[string]*app.App
	deployments map[string]*Deployment
	tasks       *tasks.Index
	queue       map[string]*launchqueue.Entry
	backoff     *launchqueue.Backoff
	failures    map[string]*TaskFailure
	agents      map[string]constraints.Agent // agent id → hostname and attributes, from offers
	expunged    map[string]bool              // task ids forgotten; killed if they come back
	metas       map[string]groups.Meta       // group metadata (dependencies, empty groups)
	eventPlans  map[string]events.Plan       // deployment plans as events render them
	// draining are the agents on machines in maintenance (from inverse offers and from
	// offers with an unavailability): tasks move off them and their offers are declined.
	draining map[string]bool
}

func specOf(a *app.App) planner.AppSpec { return planner.SpecFromApp(a) }

// plannerTasks is the planner's view of an app's tasks, by task id. The slice is shared
// (see tasks.Index.PlannerOf): the planner only reads it.
func (s *state) plannerTasks(appID string) []planner.Task {
	a := s.apps[appID]
	checks := a != nil && len(a.HealthChecks) > 0
	return s.tasks.PlannerOf(appID, checks, func(t *tasks.Task) planner.Task { return t.PlannerView(s.apps[t.AppID]) })
}

// plannerState is the planner's view of the given apps: their tasks and launch queues.
// The planner looks at nothing else of a deployment than the apps it affects.
func (s *state) plannerState(appIDs []string) planner.State {
	st := planner.State{Queued: map[string]planner.Queued{}}
	if len(appIDs) == 1 {
		st.Tasks = s.plannerTasks(appIDs[0]) // shared, not copied: the planner only reads it
	}
	for _, id := range appIDs {
		if len(appIDs) > 1 {
			st.Tasks = append(st.Tasks, s.plannerTasks(id)...)
		}
		if q := s.queue[id]; q != nil {
			st.Queued[id] = planner.Queued{Version: q.Version, Count: q.Count}
		}
	}
	return st
}

// sortedDeployments returns the running deployments, oldest first.
func (s *state) sortedDeployments() []*Deployment {
	out := slices.Collect(maps.Values(s.deployments))
	slices.SortFunc(out, func(a, b *Deployment) int {
		return cmp.Or(cmp.Compare(a.Plan.Version, b.Plan.Version), cmp.Compare(a.Plan.ID, b.Plan.ID))
	})
	return out
}

// deployingApps maps the apps that running deployments change to the deployment's id.
func (s *state) deployingApps() map[string]string {
	out := map[string]string{}
	for _, d := range s.deployments {
		for _, id := range d.Plan.AffectedApps() {
			out[id] = d.Plan.ID
		}
	}
	return out
}

// placements lists where the app's live tasks run, for constraints.
func (s *state) placements(appID string) []constraints.Placement {
	var out []constraints.Placement
	for _, t := range s.tasks.OfApp(appID) {
		if t.Killing {
			continue
		}
		a, ok := s.agents[t.AgentID]
		if !ok {
			a = constraints.Agent{Hostname: t.Host}
		}
		out = append(out, a)
	}
	return out
}

// otherApps lists every app but id.
func (s *state) otherApps(id string) []*app.App {
	var out []*app.App
	for oid, a := range s.apps {
		if oid != id {
			out = append(out, a)
		}
	}
	return out
}

// eventPlan renders a plan for deployment events: the root group before and after.
func (s *state) eventPlan(p planner.Plan, original map[string]*app.App) events.Plan {
	if ep, ok := s.eventPlans[p.ID]; ok {
		return ep
	}
	before := maps.Clone(s.apps)
	for _, id := range p.AffectedApps() {
		if o := original[id]; o != nil {
			before[id] = o
		} else {
			delete(before, id)
		}
	}
	return events.NewPlan(p, groups.Build(before, s.metas), groups.Build(s.apps, s.metas))
}
