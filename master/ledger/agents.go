package ledger

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/master/allocator"
	"github.com/agoracluster/agora/master/registry"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
	"github.com/agoracluster/agora/resources"
)

type agentState int

const (
	agentActive       agentState = iota // subscribed, stream open
	agentDisconnected                   // stream closed, within the ping timeout
	agentRecovered                      // known from the registry, not re-registered yet
	agentUnreachable                    // timed out; its tasks were reported lost/unreachable
)

func (s agentState) String() string {
	return [...]string{"active", "disconnected", "recovered", "unreachable"}[s]
}

// agent is an admitted agent.
type agent struct {
	id      string
	info    *mesos.AgentInfo // id set
	total   resources.Resources
	state   agentState
	version string

	sink     Sink
	streamID string

	registeredTime   time.Time
	reregisteredTime time.Time
	lastSeen         time.Time // last subscribe or call
	unreachableTime  time.Time

	tasks     map[string]*task                // by taskKey
	executors map[string]map[string]*executor // framework id -> executor id
	offers    map[string]*offer
	// gone holds the tasks the master reported lost when it marked the agent
	// unreachable; if the agent comes back with them they are killed.
	gone map[string]bool
	// pendingEvents are sent right after SUBSCRIBED on re-registration.
	pendingEvents []proto.Message

	// deactivated agents get no offers (DEACTIVATE_AGENT, DRAIN_AGENT); drain is
	// set while draining or drained, since drainStart.
	deactivated bool
	drain       *mesos.DrainInfo
	drainStart  time.Time
	// inverseOffers are the inverse offers made for the agent, by framework id
	// (answered ones stay, so that they are not made again).
	inverseOffers map[string]*inverseOffer
}

type executor struct {
	info *mesos.ExecutorInfo
	res  resources.Resources
}

func taskKey(fwID, taskID string) string { return fwID + "/" + taskID }

func newAgent(id string, info *mesos.AgentInfo, total resources.Resources) *agent {
	return &agent{
		id:        id,
		info:      info,
		total:     total,
		tasks:     map[string]*task{},
		executors: map[string]map[string]*executor{},
		offers:    map[string]*offer{},
		gone:      map[string]bool{},

		inverseOffers: map[string]*inverseOffer{},
	}
}

func (a *agent) send(ev proto.Message) {
	if a.sink != nil {
		a.sink.Send(ev)
	}
}

func (a *agent) hasFramework(fwID string) bool {
	if len(a.executors[fwID]) > 0 {
		return true
	}
	for _, t := range a.tasks {
		if t.frameworkID == fwID {
			return true
		}
	}
	return false
}

// usedBy is what a framework's tasks (non-terminal) and executors use on the agent.
func (a *agent) usedBy(fwID string) resources.Resources {
	var used resources.Resources
	for _, t := range a.tasks {
		if t.frameworkID == fwID && !t.recovered {
			used = used.Plus(t.res)
		}
	}
	for _, e := range a.executors[fwID] {
		used = used.Plus(e.res)
	}
	return used
}

func (a *agent) usedByFramework() map[string]resources.Resources {
	used := map[string]resources.Resources{}
	fws := map[string]bool{}
	for _, t := range a.tasks {
		fws[t.frameworkID] = true
	}
	for fwID := range a.executors {
		fws[fwID] = true
	}
	for fwID := range fws {
		if r := a.usedBy(fwID); !r.IsEmpty() {
			used[fwID] = r
		}
	}
	return used
}

func (a *agent) allocatorAgent() allocator.Agent {
	return allocator.Agent{
		Hostname:   a.info.GetHostname(),
		Attributes: resources.AttributeMap(a.info.GetAttributes()),
		Total:      a.total,
		Used:       a.usedByFramework(),
	}
}

// inAllocator reports whether the allocator currently holds the agent.
func (a *agent) inAllocator() bool { return a.state == agentActive || a.state == agentDisconnected }

// SubscribeAgent admits a new agent or re-admits a known one, reconciling the tasks it
// reports with the master's view. It returns the agent's id; an error means the
// subscription is rejected before any event is sent.
func (l *Ledger) SubscribeAgent(sink Sink, streamID string, sub *agorapb.AgentCall_Subscribe) (string, error) {
	now := l.now()
	info := proto.Clone(sub.GetAgentInfo()).(*mesos.AgentInfo)
	total, err := parseResources(info.GetResources())
	if err != nil {
		return "", badRequest("agent_info.resources: %v", err)
	}
	if err := l.agentMayRegister(info); err != nil {
		return "", err
	}
	id := info.GetId().GetValue()
	if id == "" {
		id = l.ids.agent()
	}
	info.Id = agentIDpb(id)
	var checkpoint *agorapb.AgentEvent
	if known := l.agents[id]; known != nil {
		total, checkpoint = l.reconcileCheckpointed(known, total)
	}
	// Resources are kept without allocation info and in normalized form.
	info.Resources = total.ToProto()

	a := l.agents[id]
	if a == nil {
		a = newAgent(id, info, total)
		a.registeredTime = now
		l.agents[id] = a
		l.note(zapcore.InfoLevel, "agent registered", zap.String("agent_id", id), zap.String("hostname", info.GetHostname()))
	} else {
		l.detachAgent(a)
		a.info, a.total = info, total
		a.reregisteredTime = now
		l.note(zapcore.InfoLevel, "agent re-registered", zap.String("agent_id", id), zap.String("previous_state", a.state.String()))
	}
	a.version = sub.GetVersion()
	eventsBefore := len(l.opEvents)
	l.reconcileAgentTasks(a, sub)
	a.state = agentActive
	a.sink, a.streamID, a.lastSeen = sink, streamID, now
	a.unreachableTime = time.Time{}
	l.alloc.AddAgent(id, a.allocatorAgent())
	if a.deactivated {
		l.alloc.DeactivateAgent(id)
	}
	if a.drain.GetState() == mesos.DrainState_DRAINING {
		l.killForDrain(a, func(m proto.Message) { a.pendingEvents = append(a.pendingEvents, m) })
		l.checkDrained(a)
	}
	l.dirty.markAgent(a.id)
	l.agentAdded(a, eventsBefore)
	sink.Send(&agorapb.AgentEvent{
		Type: agorapb.AgentEvent_SUBSCRIBED.Enum(),
		Subscribed: &agorapb.AgentEvent_Subscribed{
			AgentId:                  agentIDpb(id),
			HeartbeatIntervalSeconds: proto.Float64(l.cfg.AgentHeartbeat().Seconds()),
			MasterInfo:               proto.Clone(l.info).(*mesos.MasterInfo),
		},
	})
	if checkpoint != nil {
		sink.Send(checkpoint)
	}
	// Kills decided during reconciliation go after SUBSCRIBED.
	for _, ev := range a.pendingEvents {
		sink.Send(ev)
	}
	a.pendingEvents = nil
	l.requestAllocation()
	return id, nil
}

// reconcileCheckpointed settles a re-registering agent's dynamic reservations
// and persistent volumes. The master's view (kept in the registry) wins, as in
// Mesos: an operation the agent missed (it was down, or the event was lost) is
// applied to the resources it reported, and the agent is sent the checkpoint.
// When the agent's resources cannot hold the master's view (its flags
// changed), the agent's view is kept and the mismatch noted.
func (l *Ledger) reconcileCheckpointed(a *agent, reported resources.Resources) (resources.Resources, *agorapb.AgentEvent) {
	want, have := a.total.Checkpointed(), reported.Checkpointed()
	if want.Equal(have) {
		return reported, nil
	}
	base := reported.Minus(have).Plus(have.Bases())
	merged, err := resources.ApplyCheckpointed(base, want)
	if err != nil {
		l.note(zapcore.WarnLevel, "agent's resources cannot hold its reservations and volumes; keeping the agent's view",
			zap.String("agent_id", a.id), zap.Error(err))
		return reported, nil
	}
	return merged, checkpointEvent(merged)
}

// detachAgent closes a known agent's old stream, rescinds its offers and takes it
// out of the allocator, ready for re-admission.
func (l *Ledger) detachAgent(a *agent) {
	if a.sink != nil {
		a.sink.Close()
		a.sink = nil
	}
	for _, o := range sortedValues(a.offers) {
		l.removeOffer(o, 0, true)
	}
	if a.inAllocator() {
		l.alloc.RemoveAgent(a.id)
	}
}

// reconcileAgentTasks replaces the agent's tasks and executors by what it reports.
func (l *Ledger) reconcileAgentTasks(a *agent, sub *agorapb.AgentCall_Subscribe) {
	now := l.now()
	reported := map[string]*mesos.Task{}
	for _, t := range sub.GetTasks() {
		reported[taskKey(t.GetFrameworkId().GetValue(), t.GetTaskId().GetValue())] = t
	}
	fwInfos := map[string]*mesos.FrameworkInfo{}
	for _, fi := range sub.GetFrameworks() {
		fwInfos[fi.GetId().GetValue()] = fi
	}

	// Tasks the master knows on this agent but the agent does not: lost in flight.
	for _, key := range slices.Sorted(maps.Keys(a.tasks)) {
		t := a.tasks[key]
		if _, ok := reported[key]; ok {
			continue
		}
		fw := l.frameworks[t.frameworkID]
		if !t.state().IsTerminal() {
			state := mesos.TaskState_TASK_LOST
			if fw != nil && fw.partitionAware {
				state = mesos.TaskState_TASK_DROPPED
			}
			st := t.masterStatus(l.now(), state, mesos.TaskStatus_REASON_RECONCILIATION, "Task is unknown to the agent")
			t.setStatus(st, state)
			l.taskUpdated(t)
			if fw != nil {
				fw.send(updateEvent(st))
			}
		}
		l.removeTask(t)
	}

	// Partition-aware tasks the master holds as unreachable on this agent which the
	// agent no longer runs are gone.
	for _, fw := range sortedValues(l.frameworks) {
		for _, id := range slices.Sorted(maps.Keys(fw.unreachable)) {
			t := fw.unreachable[id]
			if t.agentID != a.id {
				continue
			}
			if _, ok := reported[taskKey(fw.id, id)]; ok {
				continue
			}
			st := t.masterStatus(l.now(), mesos.TaskState_TASK_GONE, mesos.TaskStatus_REASON_AGENT_REREGISTERED,
				"Task was not reported by its agent after the partition")
			t.setStatus(st, mesos.TaskState_TASK_GONE)
			l.taskUpdated(t)
			fw.send(updateEvent(st))
			delete(fw.unreachable, id)
			fw.appendCompleted(t, l.cfg.MaxCompletedTasksPerFramework)
		}
	}

	shutdown := map[string]bool{}
	for _, key := range slices.Sorted(maps.Keys(reported)) {
		rt := reported[key]
		fwID := rt.GetFrameworkId().GetValue()
		fw := l.frameworks[fwID]
		if fw == nil && l.completedFramework(fwID) != nil {
			shutdown[fwID] = true
			continue
		}
		if a.gone[key] && (fw == nil || !fw.partitionAware) {
			if !rt.GetState().IsTerminal() {
				a.pendingEvents = append(a.pendingEvents, killTaskEvent(fwID, rt.GetTaskId().GetValue(), nil))
			}
			continue
		}
		if fw == nil {
			info := fwInfos[fwID]
			if info == nil {
				info = &mesos.FrameworkInfo{User: proto.String(""), Name: proto.String(""), Id: frameworkIDpb(fwID)}
			}
			fw = l.recoverFramework(info, now.Add(l.cfg.recoveryGrace(failoverTimeout(info))))
		}
		if t := a.tasks[key]; t != nil {
			if !t.state().IsTerminal() && rt.State != nil {
				t.pb.State = rt.State
				t.recovered = t.recovered || rt.GetState().IsTerminal()
			}
			continue
		}
		delete(fw.unreachable, rt.GetTaskId().GetValue())
		t, err := taskFromReport(a.id, rt)
		if err != nil {
			l.note(zapcore.WarnLevel, "ignoring reported task with invalid resources", zap.String("agent_id", a.id),
				zap.String("task_id", rt.GetTaskId().GetValue()), zap.Error(err))
			continue
		}
		addTask(fw, a, t)
		l.taskAdded(t)
	}
	// Forget lost tasks the agent no longer reports; keep killing the others.
	for key := range a.gone {
		if _, ok := reported[key]; !ok {
			delete(a.gone, key)
		}
	}
	for _, fwID := range slices.Sorted(maps.Keys(shutdown)) {
		a.pendingEvents = append(a.pendingEvents, agentShutdownFramework(fwID))
	}

	clear(a.executors)
	for _, ei := range sub.GetExecutors() {
		fwID := ei.GetFrameworkId().GetValue()
		if l.frameworks[fwID] == nil {
			continue
		}
		res, err := parseResources(ei.GetResources())
		if err != nil {
			res = resources.Resources{}
		}
		a.addExecutor(fwID, proto.Clone(ei).(*mesos.ExecutorInfo), res)
	}
}

// addExecutor records an executor of a framework on the agent.
func (a *agent) addExecutor(fwID string, info *mesos.ExecutorInfo, res resources.Resources) {
	if a.executors[fwID] == nil {
		a.executors[fwID] = map[string]*executor{}
	}
	a.executors[fwID][info.GetExecutorId().GetValue()] = &executor{info: info, res: res}
}

// removeExecutor forgets an executor and returns its resources to the allocator;
// it reports whether the executor was known (command executors are not).
func (l *Ledger) removeExecutor(a *agent, fwID, execID string) bool {
	e := a.executors[fwID][execID]
	if e == nil {
		return false
	}
	delete(a.executors[fwID], execID)
	if len(a.executors[fwID]) == 0 {
		delete(a.executors, fwID)
	}
	if !e.res.IsEmpty() && a.inAllocator() && l.frameworks[fwID] != nil {
		l.alloc.Recover(fwID, a.id, e.res, 0, l.now())
		l.requestAllocation()
	}
	return true
}

// AgentDisconnected handles the end of an agent's stream; a stale stream is ignored.
func (l *Ledger) AgentDisconnected(id, streamID string) {
	a := l.agents[id]
	if a == nil || a.state != agentActive || a.streamID != streamID {
		return
	}
	a.sink = nil
	a.state = agentDisconnected
	for _, o := range sortedValues(a.offers) {
		l.removeOffer(o, 0, true)
	}
	l.alloc.DeactivateAgent(id)
	l.note(zapcore.InfoLevel, "agent disconnected", zap.String("agent_id", id))
}

// checkAgents marks silent agents unreachable and forgets long-unreachable ones.
func (l *Ledger) checkAgents(now time.Time) {
	for _, a := range sortedValues(l.agents) {
		switch a.state {
		case agentActive, agentDisconnected:
			if now.Sub(a.lastSeen) > l.cfg.agentTimeout() {
				l.markUnreachable(a, fmt.Sprintf("no heartbeat for %s", now.Sub(a.lastSeen).Round(time.Second)))
			}
		case agentRecovered:
			if now.Sub(a.lastSeen) > l.cfg.AgentReregisterTimeout {
				l.markUnreachable(a, "agent did not re-register after master failover")
			}
		case agentUnreachable:
			if now.Sub(a.unreachableTime) > l.cfg.AgentRemovalTimeout {
				l.forgetAgent(a)
				l.note(zapcore.InfoLevel, "unreachable agent removed", zap.String("agent_id", a.id))
			}
		}
	}
}

// forgetAgent removes an unreachable agent from the books and the registry; its
// unreachable tasks become completed.
func (l *Ledger) forgetAgent(a *agent) {
	for _, fw := range sortedValues(l.frameworks) {
		for _, id := range slices.Sorted(maps.Keys(fw.unreachable)) {
			if t := fw.unreachable[id]; t.agentID == a.id {
				delete(fw.unreachable, id)
				fw.appendCompleted(t, l.cfg.MaxCompletedTasksPerFramework)
			}
		}
	}
	delete(l.agents, a.id)
	l.dirty.markAgent(a.id)
}

// markUnreachable reports the agent's tasks as unreachable (partition-aware
// frameworks) or lost (others) and removes its resources from the allocator.
func (l *Ledger) markUnreachable(a *agent, why string) {
	now := l.now()
	l.note(zapcore.WarnLevel, "agent unreachable", zap.String("agent_id", a.id), zap.String("reason", why))
	if a.sink != nil {
		a.sink.Close()
		a.sink = nil
	}
	for _, o := range sortedValues(a.offers) {
		l.removeOffer(o, 0, true)
	}
	wasAllocated := a.inAllocator()
	msg := fmt.Sprintf("Agent %s is unreachable: %s", a.info.GetHostname(), why)
	for _, key := range slices.Sorted(maps.Keys(a.tasks)) {
		t := a.tasks[key]
		fw := l.frameworks[t.frameworkID]
		if t.state().IsTerminal() {
			l.removeTask(t)
			continue
		}
		state := mesos.TaskState_TASK_LOST
		if fw != nil && fw.partitionAware {
			state = mesos.TaskState_TASK_UNREACHABLE
		}
		st := t.masterStatus(l.now(), state, mesos.TaskStatus_REASON_AGENT_REMOVED, msg)
		st.UnreachableTime = &mesos.TimeInfo{Nanoseconds: proto.Int64(now.UnixNano())}
		t.setStatus(st, state)
		l.taskUpdated(t)
		if fw != nil {
			fw.send(updateEvent(st))
		}
		if state == mesos.TaskState_TASK_UNREACHABLE {
			t.recovered = true // its resources leave with the agent
			delete(a.tasks, key)
			delete(fw.tasks, t.id)
			fw.unreachable[t.id] = t
			continue
		}
		a.gone[key] = true
		t.recovered = true
		l.removeTask(t)
	}
	clear(a.executors)
	if wasAllocated {
		l.alloc.RemoveAgent(a.id)
	}
	a.state = agentUnreachable
	a.unreachableTime = now
	l.dirty.markAgent(a.id)
	l.agentRemoved(a.id)
	for _, fw := range sortedValues(l.frameworks) {
		fw.send(&scheduler.Event{Type: scheduler.Event_FAILURE.Enum(), Failure: &scheduler.Event_Failure{AgentId: agentIDpb(a.id)}})
	}
	l.requestAllocation()
}

// anyAgentRecovered reports whether an agent known from the registry has not
// re-registered yet (and is not unreachable).
func (l *Ledger) anyAgentRecovered() bool {
	for _, a := range l.agents {
		if a.state == agentRecovered {
			return true
		}
	}
	return false
}

// recoverAgent adds an agent known from the registry after a master restart.
func (l *Ledger) recoverAgent(rec *registry.AgentRecord) {
	info := rec.Info
	id := info.GetId().GetValue()
	total, err := parseResources(info.GetResources())
	if err != nil {
		l.note(zapcore.WarnLevel, "registry: agent with invalid resources", zap.String("agent_id", id), zap.Error(err))
	}
	a := newAgent(id, info, total)
	a.registeredTime = rec.RegisteredTime
	a.deactivated = rec.Deactivated
	if rec.Drain != nil {
		a.drain = proto.Clone(rec.Drain).(*mesos.DrainInfo)
		a.drainStart = rec.DrainStart
	}
	a.lastSeen = l.now()
	a.state = agentRecovered
	if !rec.UnreachableTime.IsZero() {
		a.state = agentUnreachable
		a.unreachableTime = rec.UnreachableTime
	}
	l.agents[id] = a
}

func agentShutdownFramework(fwID string) *agorapb.AgentEvent {
	return &agorapb.AgentEvent{
		Type:              agorapb.AgentEvent_SHUTDOWN_FRAMEWORK.Enum(),
		ShutdownFramework: &agorapb.AgentEvent_ShutdownFramework{FrameworkId: frameworkIDpb(fwID)},
	}
}

func killTaskEvent(fwID, taskID string, policy *mesos.KillPolicy) *agorapb.AgentEvent {
	return &agorapb.AgentEvent{
		Type: agorapb.AgentEvent_KILL_TASK.Enum(),
		KillTask: &agorapb.AgentEvent_KillTask{
			FrameworkId: frameworkIDpb(fwID), TaskId: taskIDpb(taskID), KillPolicy: policy,
		},
	}
}
