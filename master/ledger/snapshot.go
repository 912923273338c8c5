package ledger

import (
	"maps"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
)

// Snapshot is a read-only view of the ledger, for /state. It shares the ledger's
// records: read it on the goroutine that owns the ledger, before the next event.
type Snapshot struct {
	Info      *mesos.MasterInfo
	StartTime time.Time
	Now       time.Time // when the snapshot was taken
	// Agents are every known agent, sorted by id, unreachable ones included.
	Agents []AgentView
	// Frameworks are the registered frameworks, sorted by id.
	Frameworks []FrameworkView
	// CompletedFrameworks are the removed frameworks kept, sorted by id.
	CompletedFrameworks []FrameworkView
}

// AgentView is one agent in a Snapshot.
type AgentView struct {
	Info *mesos.AgentInfo
	// State is "active", "disconnected", "recovered" or "unreachable".
	State            string
	Version          string
	RegisteredTime   time.Time
	ReregisteredTime time.Time
	Total            resources.Resources
	Used             resources.Resources // by tasks and executors
	Offered          resources.Resources
	// Deactivated agents get no offers; Drain is set while draining or drained.
	Deactivated bool
	Drain       *mesos.DrainInfo
	DrainStart  time.Time
}

// FrameworkView is one framework in a Snapshot.
type FrameworkView struct {
	Info             *mesos.FrameworkInfo
	Roles            []string
	MultiRole        bool
	Active           bool // registered and connected
	Connected        bool
	Recovered        bool // known from the registry or an agent, not re-subscribed
	RegisteredTime   time.Time
	ReregisteredTime time.Time
	UnregisteredTime time.Time
	Tasks            []TaskView // sorted by id
	UnreachableTasks []TaskView // sorted by id
	CompletedTasks   []TaskView // oldest first
	Offers           []OfferView
	Executors        []ExecutorView
	Used             resources.Resources // by tasks and executors
	Offered          resources.Resources
}

// TaskView is one task in a Snapshot.
type TaskView struct {
	ID, FrameworkID, AgentID string
	Task                     *mesos.Task
	Resources                resources.Resources
	// Role is the role the task's resources are allocated to, for MULTI_ROLE
	// frameworks.
	Role string
}

// OfferView is one outstanding offer in a Snapshot.
type OfferView struct {
	ID, AgentID string
	Resources   resources.Resources
	Offer       *mesos.Offer // as the framework received it
}

// ExecutorView is one executor in a Snapshot.
type ExecutorView struct {
	ID, Name, AgentID string
	Resources         resources.Resources
	Info              *mesos.ExecutorInfo
}

// Snapshot returns the ledger's current view.
func (l *Ledger) Snapshot() *Snapshot {
	snap := &Snapshot{Info: l.info, StartTime: l.startTime, Now: l.now()}
	for _, a := range sortedValues(l.agents) {
		snap.Agents = append(snap.Agents, agentView(a))
	}
	for _, fw := range sortedValues(l.frameworks) {
		snap.Frameworks = append(snap.Frameworks, frameworkView(l.agents, fw, true))
	}
	for _, fw := range l.completedFrameworks {
		snap.CompletedFrameworks = append(snap.CompletedFrameworks, frameworkView(l.agents, fw, false))
	}
	slices.SortStableFunc(snap.CompletedFrameworks, func(a, b FrameworkView) int {
		return strings.Compare(a.Info.GetId().GetValue(), b.Info.GetId().GetValue())
	})
	return snap
}

func agentView(a *agent) AgentView {
	av := AgentView{
		Info: a.info, State: a.state.String(), Version: a.version,
		RegisteredTime: a.registeredTime, ReregisteredTime: a.reregisteredTime, Total: a.total,
		Deactivated: a.deactivated, DrainStart: a.drainStart,
	}
	if a.drain != nil {
		av.Drain = proto.Clone(a.drain).(*mesos.DrainInfo)
	}
	for _, t := range a.tasks {
		if !t.recovered {
			av.Used = av.Used.Plus(t.res)
		}
	}
	for _, execs := range a.executors {
		for _, e := range execs {
			av.Used = av.Used.Plus(e.res)
		}
	}
	for _, o := range a.offers {
		av.Offered = av.Offered.Plus(o.res)
	}
	return av
}

func taskView(t *task) TaskView {
	return TaskView{ID: t.id, FrameworkID: t.frameworkID, AgentID: t.agentID, Task: t.pb, Resources: t.res, Role: resourceRole(t.pb.GetResources())}
}

func frameworkView(agents map[string]*agent, fw *framework, registered bool) FrameworkView {
	fv := FrameworkView{
		Info: fw.info, Roles: fw.roles, MultiRole: fw.multiRole,
		Active: registered && fw.connected, Connected: fw.connected, Recovered: fw.recovered,
		RegisteredTime: fw.registeredTime, ReregisteredTime: fw.reregisteredTime, UnregisteredTime: fw.unregisteredTime,
	}
	for _, t := range sortedValues(fw.tasks) {
		fv.Tasks = append(fv.Tasks, taskView(t))
		if !t.recovered {
			fv.Used = fv.Used.Plus(t.res)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(fw.unreachable)) {
		fv.UnreachableTasks = append(fv.UnreachableTasks, taskView(fw.unreachable[id]))
	}
	for _, t := range fw.completed {
		fv.CompletedTasks = append(fv.CompletedTasks, taskView(t))
	}
	for _, o := range sortedValues(fw.offers) {
		ov := OfferView{ID: o.id, AgentID: o.agentID, Resources: o.res}
		if a := agents[o.agentID]; a != nil {
			ov.Offer = offerProto(fw, a, o)
		}
		fv.Offers = append(fv.Offers, ov)
		fv.Offered = fv.Offered.Plus(o.res)
	}
	for _, a := range sortedValues(agents) {
		execs := a.executors[fw.id]
		if len(execs) == 0 {
			continue
		}
		for _, execID := range slices.Sorted(maps.Keys(execs)) {
			e := execs[execID]
			fv.Executors = append(fv.Executors, ExecutorView{ID: execID, Name: e.info.GetName(), AgentID: a.id, Resources: e.res, Info: e.info})
			fv.Used = fv.Used.Plus(e.res)
		}
	}
	return fv
}

// Gauges are the ledger's sizes, for metrics.
type Gauges struct {
	Agents              map[string]int // by state
	Frameworks          map[string]int // "connected", "disconnected"
	Tasks               map[string]int // active tasks by state
	Offers              int
	CompletedFrameworks int
	Counters            Counters
}

// Gauges counts the ledger's agents, frameworks, tasks and offers.
func (l *Ledger) Gauges() Gauges {
	g := Gauges{Agents: map[string]int{}, Frameworks: map[string]int{}, Tasks: map[string]int{}, Counters: *l.stats}
	g.Counters.TasksEnded = maps.Clone(l.stats.TasksEnded)
	for _, st := range []agentState{agentActive, agentDisconnected, agentRecovered, agentUnreachable} {
		g.Agents[st.String()] = 0
	}
	for _, a := range l.agents {
		g.Agents[a.state.String()]++
	}
	g.Frameworks["connected"], g.Frameworks["disconnected"] = 0, 0
	for _, fw := range l.frameworks {
		if fw.connected {
			g.Frameworks["connected"]++
		} else {
			g.Frameworks["disconnected"]++
		}
		for _, t := range fw.tasks {
			g.Tasks[t.state().String()]++
		}
		if n := len(fw.unreachable); n > 0 {
			g.Tasks["TASK_UNREACHABLE"] += n
		}
	}
	g.Offers = len(l.offers)
	g.CompletedFrameworks = len(l.completedFrameworks)
	return g
}
