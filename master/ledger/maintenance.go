package ledger

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/protobuf/proto"

	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	maintpb "github.com/agoracluster/agora/proto/mesos/v1/maintenance"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
)

// Maintenance, as Mesos's maintenance primitives: operators schedule windows of
// unavailability for machines; a scheduled machine is DRAINING (its agents'
// offers carry the unavailability, and the frameworks running on them get inverse
// offers asking for the resources back), then DOWN (its agents are shut down and
// removed, and may not register) until it is brought UP again, which takes it off
// the schedule. A machine is matched to agents by hostname (case-insensitively),
// or, for a machine given by ip alone, by an agent whose hostname is that ip: the
// master does not learn its agents' addresses.
//
// Agent draining (Mesos 1.9's DRAIN_AGENT) and deactivation work on one agent:
// a deactivated agent gets no offers; a draining one also has its tasks killed
// (with at most the drain's grace period) and is DRAINED once it runs none.
// Both stay until REACTIVATE_AGENT. The schedule, the machines' modes and the
// agents' drain state are kept in the registry; the frameworks' answers to
// inverse offers are not (Mesos neither keeps them across failover).

// machine is a machine in maintenance: DRAINING or DOWN (machines that are UP are
// not kept).
type machine struct {
	id             *mesos.MachineID
	mode           mesos.MachineInfo_Mode
	unavailability *mesos.Unavailability
	// responses are the frameworks' latest answers to inverse offers for the
	// machine's agents, by framework id.
	responses map[string]*mesos.InverseOfferStatus
}

// inverseOffer is an outstanding inverse offer: a framework is asked to give up
// what it uses on a draining agent.
type inverseOffer struct {
	id          string
	frameworkID string
	agentID     string
	streamID    string // the framework's stream it was sent on
}

// machineKey identifies a machine: its hostname in lower case, or its ip when it
// has no hostname.
func machineKey(id *mesos.MachineID) string {
	if h := id.GetHostname(); h != "" {
		return strings.ToLower(h)
	}
	return id.GetIp()
}

func describeMachine(id *mesos.MachineID) string {
	switch {
	case id.GetHostname() != "" && id.GetIp() != "":
		return fmt.Sprintf("%s (%s)", id.GetHostname(), id.GetIp())
	case id.GetHostname() != "":
		return id.GetHostname()
	}
	return id.GetIp()
}

// validMachineID checks one machine id; field names it in the error.
func validMachineID(id *mesos.MachineID, field string) error {
	if id.GetHostname() == "" && id.GetIp() == "" {
		return badRequest("%s: a machine needs a 'hostname' or an 'ip'", field)
	}
	if ip := id.GetIp(); ip != "" && net.ParseIP(ip) == nil {
		return badRequest("%s.ip: %q is not an IP address", field, ip)
	}
	return nil
}

// ValidateSchedule checks a maintenance schedule as Mesos does: every window lists
// at least one valid machine and has an unavailability with a start and a
// non-negative duration, and no machine is in two windows (or twice in one).
func ValidateSchedule(s *maintpb.Schedule) error {
	seen := map[string]string{}
	for i, w := range s.GetWindows() {
		field := fmt.Sprintf("windows[%d]", i)
		if len(w.GetMachineIds()) == 0 {
			return badRequest("%s.machine_ids: a window needs at least one machine", field)
		}
		u := w.GetUnavailability()
		if u.GetStart() == nil || u.GetStart().Nanoseconds == nil {
			return badRequest("%s.unavailability.start: must be set", field)
		}
		if u.Duration != nil && u.GetDuration().GetNanoseconds() < 0 {
			return badRequest("%s.unavailability.duration: must not be negative", field)
		}
		for j, id := range w.GetMachineIds() {
			mf := fmt.Sprintf("%s.machine_ids[%d]", field, j)
			if err := validMachineID(id, mf); err != nil {
				return err
			}
			key := machineKey(id)
			if prev, ok := seen[key]; ok {
				return badRequest("%s: machine %s is already scheduled in %s; a machine may be in one window only", mf, describeMachine(id), prev)
			}
			seen[key] = mf
		}
	}
	return nil
}

// machineOf returns the maintenance machine an agent is on, nil when its machine is UP.
func (l *Ledger) machineOf(a *agent) *machine {
	if len(l.machines) == 0 {
		return nil
	}
	return l.machines[strings.ToLower(a.info.GetHostname())]
}

// agentsOn lists the known agents on machine m, by id.
func (l *Ledger) agentsOn(m *machine) []*agent {
	var out []*agent
	for _, a := range sortedValues(l.agents) {
		if l.machineOf(a) == m {
			out = append(out, a)
		}
	}
	return out
}

// UpdateSchedule replaces the maintenance schedule (UPDATE_MAINTENANCE_SCHEDULE,
// POST /maintenance/schedule). Machines new to it become DRAINING, machines left
// out become UP again; a DOWN machine cannot be left out. A bad schedule changes
// nothing.
func (l *Ledger) UpdateSchedule(s *maintpb.Schedule) error {
	if err := ValidateSchedule(s); err != nil {
		return err
	}
	next := map[string]*maintpb.Window{}
	ids := map[string]*mesos.MachineID{}
	for _, w := range s.GetWindows() {
		for _, id := range w.GetMachineIds() {
			next[machineKey(id)] = w
			ids[machineKey(id)] = id
		}
	}
	for _, key := range slices.Sorted(maps.Keys(l.machines)) {
		if m := l.machines[key]; m.mode == mesos.MachineInfo_DOWN && next[key] == nil {
			return badRequest("windows: machine %s is DOWN and cannot be removed from the schedule; bring it up first (/machine/up, STOP_MAINTENANCE)", describeMachine(m.id))
		}
	}
	for _, key := range slices.Sorted(maps.Keys(l.machines)) {
		if next[key] == nil {
			m := l.machines[key]
			delete(l.machines, key)
			l.machineChanged(m)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(next)) {
		u := next[key].GetUnavailability()
		m := l.machines[key]
		if m == nil {
			m = &machine{mode: mesos.MachineInfo_DRAINING, responses: map[string]*mesos.InverseOfferStatus{}}
			l.machines[key] = m
		} else if proto.Equal(m.unavailability, u) && proto.Equal(m.id, ids[key]) {
			continue
		}
		m.id = proto.Clone(ids[key]).(*mesos.MachineID)
		m.unavailability = proto.Clone(u).(*mesos.Unavailability)
		l.machineChanged(m)
	}
	l.schedule = proto.Clone(s).(*maintpb.Schedule)
	l.dirty.maintenance = true
	l.requestAllocation()
	l.note(zapcore.InfoLevel, "maintenance schedule updated", zap.Int("windows", len(s.GetWindows())), zap.Int("machines", len(next)))
	return nil
}

// machineChanged settles the agents of a machine whose mode or unavailability
// changed: their offers are rescinded (to be made again with the new
// unavailability, or not at all) and so are their inverse offers; the frameworks'
// answers are forgotten, so that they are asked again.
func (l *Ledger) machineChanged(m *machine) {
	clear(m.responses)
	for _, a := range sortedValues(l.agents) {
		if strings.ToLower(a.info.GetHostname()) != machineKey(m.id) {
			continue
		}
		for _, o := range sortedValues(a.offers) {
			l.removeOffer(o, 0, true)
		}
		l.rescindInverseOffers(a)
	}
}

// machinesFor resolves the machines of START/STOP_MAINTENANCE: each must be in
// maintenance, in mode want.
func (l *Ledger) machinesFor(ids []*mesos.MachineID, field string, want mesos.MachineInfo_Mode, wrongMode string) ([]*machine, error) {
	if len(ids) == 0 {
		return nil, badRequest("%s: list at least one machine", field)
	}
	var out []*machine
	for i, id := range ids {
		f := fmt.Sprintf("%s[%d]", field, i)
		if err := validMachineID(id, f); err != nil {
			return nil, err
		}
		m := l.machines[machineKey(id)]
		if m == nil {
			return nil, badRequest("%s: machine %s is not part of a maintenance schedule", f, describeMachine(id))
		}
		if m.mode != want {
			return nil, badRequest("%s: machine %s is %s: %s", f, describeMachine(id), m.mode, wrongMode)
		}
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out, nil
}

// StartMaintenance brings DRAINING machines DOWN (START_MAINTENANCE, POST
// /machine/down): their agents are shut down and removed, their tasks reported
// lost, and they may not register until the machine is UP.
func (l *Ledger) StartMaintenance(ids []*mesos.MachineID) error {
	ms, err := l.machinesFor(ids, "machines", mesos.MachineInfo_DRAINING, "only DRAINING machines can be brought down")
	if err != nil {
		return err
	}
	for _, m := range ms {
		m.mode = mesos.MachineInfo_DOWN
		m.responses = map[string]*mesos.InverseOfferStatus{}
		for _, a := range l.agentsOn(m) {
			l.removeAgentForMaintenance(a)
		}
		l.note(zapcore.InfoLevel, "machine down for maintenance", zap.String("machine", describeMachine(m.id)))
	}
	l.dirty.maintenance = true
	return nil
}

// StopMaintenance brings DOWN machines UP (STOP_MAINTENANCE, POST /machine/up):
// they leave the schedule (and windows left empty go) and their agents may
// register again.
func (l *Ledger) StopMaintenance(ids []*mesos.MachineID) error {
	ms, err := l.machinesFor(ids, "machines", mesos.MachineInfo_DOWN, "only DOWN machines can be brought up")
	if err != nil {
		return err
	}
	up := map[string]bool{}
	for _, m := range ms {
		key := machineKey(m.id)
		up[key] = true
		delete(l.machines, key)
		l.note(zapcore.InfoLevel, "machine up after maintenance", zap.String("machine", describeMachine(m.id)))
	}
	var windows []*maintpb.Window
	for _, w := range l.schedule.GetWindows() {
		w = proto.Clone(w).(*maintpb.Window)
		w.MachineIds = slices.DeleteFunc(w.MachineIds, func(id *mesos.MachineID) bool { return up[machineKey(id)] })
		if len(w.MachineIds) > 0 {
			windows = append(windows, w)
		}
	}
	l.schedule = &maintpb.Schedule{Windows: windows}
	l.dirty.maintenance = true
	l.requestAllocation()
	return nil
}

// removeAgentForMaintenance shuts an agent of a DOWN machine down and forgets it.
func (l *Ledger) removeAgentForMaintenance(a *agent) {
	a.send(&agorapb.AgentEvent{Type: agorapb.AgentEvent_SHUTDOWN.Enum()})
	l.rescindInverseOffers(a)
	if a.state != agentUnreachable {
		l.markUnreachable(a, "its machine is DOWN for maintenance")
	}
	l.forgetAgent(a)
	l.note(zapcore.InfoLevel, "agent removed: its machine is DOWN for maintenance", zap.String("agent_id", a.id))
}

// Schedule returns the maintenance schedule (GET_MAINTENANCE_SCHEDULE).
func (l *Ledger) Schedule() *maintpb.Schedule {
	if l.schedule == nil {
		return &maintpb.Schedule{}
	}
	return proto.Clone(l.schedule).(*maintpb.Schedule)
}

// MaintenanceStatus returns the machines in maintenance (GET_MAINTENANCE_STATUS):
// the DRAINING ones with the frameworks' answers to inverse offers, and the DOWN ones.
func (l *Ledger) MaintenanceStatus() *maintpb.ClusterStatus {
	st := &maintpb.ClusterStatus{}
	for _, key := range slices.Sorted(maps.Keys(l.machines)) {
		m := l.machines[key]
		id := proto.Clone(m.id).(*mesos.MachineID)
		if m.mode == mesos.MachineInfo_DOWN {
			st.DownMachines = append(st.DownMachines, id)
			continue
		}
		dm := &maintpb.ClusterStatus_DrainingMachine{Id: id}
		for _, fw := range slices.Sorted(maps.Keys(m.responses)) {
			dm.Statuses = append(dm.Statuses, proto.Clone(m.responses[fw]).(*mesos.InverseOfferStatus))
		}
		st.DrainingMachines = append(st.DrainingMachines, dm)
	}
	return st
}

// MachineInfos returns the machines in maintenance with their modes, as the
// registry keeps them.
func (l *Ledger) MachineInfos() []*mesos.MachineInfo {
	var out []*mesos.MachineInfo
	for _, key := range slices.Sorted(maps.Keys(l.machines)) {
		m := l.machines[key]
		out = append(out, &mesos.MachineInfo{
			Id: proto.Clone(m.id).(*mesos.MachineID), Mode: m.mode.Enum(),
			Unavailability: proto.Clone(m.unavailability).(*mesos.Unavailability),
		})
	}
	return out
}

// RecoverMaintenance loads the schedule and the machines' modes from the registry.
func (l *Ledger) RecoverMaintenance(s *maintpb.Schedule, machines []*mesos.MachineInfo) {
	if s != nil {
		l.schedule = proto.Clone(s).(*maintpb.Schedule)
	}
	for _, mi := range machines {
		if mi.GetId() == nil || (mi.GetMode() != mesos.MachineInfo_DRAINING && mi.GetMode() != mesos.MachineInfo_DOWN) {
			continue
		}
		l.machines[machineKey(mi.GetId())] = &machine{
			id: proto.Clone(mi.GetId()).(*mesos.MachineID), mode: mi.GetMode(),
			unavailability: mi.GetUnavailability(), responses: map[string]*mesos.InverseOfferStatus{},
		}
	}
}

// agentMayRegister refuses agents marked gone and agents whose machine is DOWN.
func (l *Ledger) agentMayRegister(info *mesos.AgentInfo) error {
	if id := info.GetId().GetValue(); l.goneAgents[id] {
		return forbidden("Agent %s has been marked gone and may not register again", id)
	}
	if m := l.machines[strings.ToLower(info.GetHostname())]; m != nil && m.mode == mesos.MachineInfo_DOWN {
		return forbidden("Agent on %s may not register: its machine is DOWN for maintenance", info.GetHostname())
	}
	return nil
}

// unavailabilityOf is what an offer of agent a carries: its machine's
// unavailability while DRAINING, else nothing.
func (l *Ledger) unavailabilityOf(a *agent) *mesos.Unavailability {
	if m := l.machineOf(a); m != nil && m.mode == mesos.MachineInfo_DRAINING && m.unavailability != nil {
		return proto.Clone(m.unavailability).(*mesos.Unavailability)
	}
	return nil
}

// sendInverseOffers asks each framework running something on an agent of a
// DRAINING machine, once, to give it back: one inverse offer per agent and
// framework, outstanding until it is answered or the machine's maintenance changes.
func (l *Ledger) sendInverseOffers() {
	// Inverse offers of frameworks or agents that are gone are forgotten, and so are
	// those sent on a framework's earlier stream (they are made again).
	for _, id := range slices.Sorted(maps.Keys(l.inverseOffers)) {
		io := l.inverseOffers[id]
		a := l.agents[io.agentID]
		if fw := l.frameworks[io.frameworkID]; a != nil && fw != nil && fw.streamID == io.streamID {
			continue
		}
		delete(l.inverseOffers, id)
		if a != nil {
			delete(a.inverseOffers, io.frameworkID)
		}
	}
	if len(l.machines) == 0 {
		return
	}
	batches := map[string][]*mesos.InverseOffer{}
	for _, a := range sortedValues(l.agents) {
		m := l.machineOf(a)
		if m == nil || m.mode != mesos.MachineInfo_DRAINING || a.state != agentActive {
			continue
		}
		for _, fw := range sortedValues(l.frameworks) {
			if !fw.connected || !a.hasFramework(fw.id) || a.inverseOffers[fw.id] != nil || m.responses[fw.id] != nil {
				continue
			}
			io := &inverseOffer{id: l.ids.offer(), frameworkID: fw.id, agentID: a.id, streamID: fw.streamID}
			a.inverseOffers[fw.id] = io
			l.inverseOffers[io.id] = io
			batches[fw.id] = append(batches[fw.id], &mesos.InverseOffer{
				Id: offerIDpb(io.id), FrameworkId: frameworkIDpb(fw.id), AgentId: agentIDpb(a.id),
				Unavailability: proto.Clone(m.unavailability).(*mesos.Unavailability),
				Resources:      a.usedBy(fw.id).ToProto(),
			})
		}
	}
	for _, fwID := range slices.Sorted(maps.Keys(batches)) {
		l.frameworks[fwID].send(&scheduler.Event{
			Type:          scheduler.Event_INVERSE_OFFERS.Enum(),
			InverseOffers: &scheduler.Event_InverseOffers{InverseOffers: batches[fwID]},
		})
	}
}

// rescindInverseOffers withdraws the agent's outstanding inverse offers and
// forgets the answered ones, so that they are asked again if still due.
func (l *Ledger) rescindInverseOffers(a *agent) {
	for _, fwID := range slices.Sorted(maps.Keys(a.inverseOffers)) {
		io := a.inverseOffers[fwID]
		delete(a.inverseOffers, fwID)
		if l.inverseOffers[io.id] == nil {
			continue // answered
		}
		delete(l.inverseOffers, io.id)
		if fw := l.frameworks[fwID]; fw != nil {
			fw.send(&scheduler.Event{
				Type:                scheduler.Event_RESCIND_INVERSE_OFFER.Enum(),
				RescindInverseOffer: &scheduler.Event_RescindInverseOffer{InverseOfferId: offerIDpb(io.id)},
			})
		}
	}
}

// answerInverseOffers records a framework's ACCEPT_INVERSE_OFFERS or
// DECLINE_INVERSE_OFFERS on the machines of the agents; ids that are not the
// framework's outstanding inverse offers are ignored, as Mesos does.
func (c frameworkCall) answerInverseOffers(ids []*mesos.OfferID, status mesos.InverseOfferStatus_Status) {
	l := c.l
	for _, id := range ids {
		io := l.inverseOffers[id.GetValue()]
		if io == nil || io.frameworkID != c.fw.id {
			l.note(zapcore.InfoLevel, "ignoring answer to an unknown inverse offer", zap.String("framework_id", c.fw.id), zap.String("inverse_offer_id", id.GetValue()))
			continue
		}
		delete(l.inverseOffers, io.id)
		a := l.agents[io.agentID]
		if a == nil {
			continue
		}
		if m := l.machineOf(a); m != nil {
			m.responses[c.fw.id] = &mesos.InverseOfferStatus{
				Status: status.Enum(), FrameworkId: frameworkIDpb(c.fw.id), Timestamp: timeInfo(l.now()),
			}
		}
	}
}

// findAgent resolves an operator call's agent id.
func (l *Ledger) findAgent(id, field string) (*agent, error) {
	if id == "" {
		return nil, badRequest("%s: must be set", field)
	}
	a := l.agents[id]
	if a == nil {
		return nil, badRequest("%s: unknown agent %s", field, id)
	}
	return a, nil
}

// deactivate keeps the agent out of offers: its outstanding offers are rescinded.
func (l *Ledger) deactivate(a *agent) {
	a.deactivated = true
	for _, o := range sortedValues(a.offers) {
		l.removeOffer(o, 0, true)
	}
	if a.inAllocator() {
		l.alloc.DeactivateAgent(a.id)
	}
	l.dirty.markAgent(a.id)
}

// DeactivateAgent is DEACTIVATE_AGENT: the agent gets no offers until it is
// reactivated; its tasks keep running.
func (l *Ledger) DeactivateAgent(id string) error {
	a, err := l.findAgent(id, "deactivate_agent.agent_id")
	if err != nil {
		return err
	}
	l.deactivate(a)
	l.note(zapcore.InfoLevel, "agent deactivated by the operator", zap.String("agent_id", id))
	return nil
}

// DrainAgent is DRAIN_AGENT: the agent is deactivated and its tasks are killed,
// each with a grace period of at most maxGrace (nil: the task's own kill
// policy); once it runs no task it is DRAINED, and with markGone then marked gone
// (see MarkAgentGone).
func (l *Ledger) DrainAgent(id string, maxGrace *mesos.DurationInfo, markGone bool) error {
	a, err := l.findAgent(id, "drain_agent.agent_id")
	if err != nil {
		return err
	}
	if maxGrace != nil && maxGrace.GetNanoseconds() < 0 {
		return badRequest("drain_agent.max_grace_period: must not be negative")
	}
	cfg := &mesos.DrainConfig{}
	if markGone {
		cfg.MarkGone = proto.Bool(true)
	}
	if maxGrace != nil {
		cfg.MaxGracePeriod = proto.Clone(maxGrace).(*mesos.DurationInfo)
	}
	a.drain = &mesos.DrainInfo{State: mesos.DrainState_DRAINING.Enum(), Config: cfg}
	a.drainStart = l.now()
	l.deactivate(a)
	l.killForDrain(a, a.send)
	l.checkDrained(a)
	l.note(zapcore.InfoLevel, "agent draining", zap.String("agent_id", id))
	return nil
}

// killForDrain sends a kill for each of the draining agent's running tasks.
func (l *Ledger) killForDrain(a *agent, send func(m proto.Message)) {
	for _, key := range slices.Sorted(maps.Keys(a.tasks)) {
		t := a.tasks[key]
		if t.state().IsTerminal() {
			continue
		}
		send(killTaskEvent(t.frameworkID, t.id, drainKillPolicy(t.pb.GetKillPolicy(), a.drain.GetConfig().GetMaxGracePeriod())))
	}
}

// drainKillPolicy is a task's kill policy with its grace period capped at max.
func drainKillPolicy(own *mesos.KillPolicy, max *mesos.DurationInfo) *mesos.KillPolicy {
	if max == nil {
		return own
	}
	kp := &mesos.KillPolicy{}
	if own != nil {
		kp = proto.Clone(own).(*mesos.KillPolicy)
	}
	if kp.GracePeriod == nil || kp.GetGracePeriod().GetNanoseconds() > max.GetNanoseconds() {
		kp.GracePeriod = proto.Clone(max).(*mesos.DurationInfo)
	}
	return kp
}

// checkDrained marks a draining agent DRAINED once it holds no task.
func (l *Ledger) checkDrained(a *agent) {
	if a.drain.GetState() != mesos.DrainState_DRAINING || len(a.tasks) > 0 {
		return
	}
	a.drain.State = mesos.DrainState_DRAINED.Enum()
	l.dirty.markAgent(a.id)
	l.note(zapcore.InfoLevel, "agent drained", zap.String("agent_id", a.id))
	if a.drain.GetConfig().GetMarkGone() {
		l.goneDue = true // marked gone at the next allocation, outside the caller's loops
		l.requestAllocation()
	}
}

// markDrainedGone marks gone the DRAINED agents whose drain asked for it.
func (l *Ledger) markDrainedGone() {
	if !l.goneDue {
		return
	}
	l.goneDue = false
	for _, a := range sortedValues(l.agents) {
		if a.drain.GetState() == mesos.DrainState_DRAINED && a.drain.GetConfig().GetMarkGone() {
			l.markGone(a, "drained with mark_gone")
		}
	}
}

// MarkAgentGone is MARK_AGENT_GONE: the agent is shut down and removed for good; its
// tasks are reported TASK_GONE_BY_OPERATOR (TASK_LOST to frameworks that are not
// partition-aware) and it may never register again. Marking a gone agent again is
// no error.
func (l *Ledger) MarkAgentGone(id string) error {
	if l.goneAgents[id] {
		return nil
	}
	a, err := l.findAgent(id, "mark_agent_gone.agent_id")
	if err != nil {
		return err
	}
	l.markGone(a, "marked gone by the operator")
	return nil
}

// markGone removes an agent for good.
func (l *Ledger) markGone(a *agent, why string) {
	now := l.now()
	a.send(&agorapb.AgentEvent{Type: agorapb.AgentEvent_SHUTDOWN.Enum()})
	if a.sink != nil {
		a.sink.Close()
		a.sink = nil
	}
	l.rescindInverseOffers(a)
	for _, o := range sortedValues(a.offers) {
		l.removeOffer(o, 0, true)
	}
	msg := fmt.Sprintf("Agent %s was %s", a.info.GetHostname(), why)
	for _, key := range slices.Sorted(maps.Keys(a.tasks)) {
		t := a.tasks[key]
		fw := l.frameworks[t.frameworkID]
		if !t.state().IsTerminal() {
			state := mesos.TaskState_TASK_LOST
			if fw != nil && fw.partitionAware {
				state = mesos.TaskState_TASK_GONE_BY_OPERATOR
			}
			st := t.masterStatus(now, state, mesos.TaskStatus_REASON_AGENT_REMOVED, msg)
			t.setStatus(st, state)
			l.taskUpdated(t)
			if fw != nil {
				fw.send(updateEvent(st))
			}
		}
		t.recovered = true // its resources leave with the agent
		l.removeTask(t)
	}
	clear(a.executors)
	if a.inAllocator() {
		l.alloc.RemoveAgent(a.id)
	}
	if a.state != agentUnreachable {
		l.agentRemoved(a.id)
	}
	l.forgetAgent(a)
	l.goneAgents[a.id] = true
	l.dirty.gone[a.id] = true
	for _, fw := range sortedValues(l.frameworks) {
		fw.send(&scheduler.Event{Type: scheduler.Event_FAILURE.Enum(), Failure: &scheduler.Event_Failure{AgentId: agentIDpb(a.id)}})
	}
	l.requestAllocation()
	l.note(zapcore.InfoLevel, "agent marked gone", zap.String("agent_id", a.id), zap.String("reason", why))
}

// GoneAgents lists the agents marked gone.
func (l *Ledger) GoneAgents() []string { return slices.Sorted(maps.Keys(l.goneAgents)) }

// RecoverGoneAgents loads the agents marked gone from the registry.
func (l *Ledger) RecoverGoneAgents(ids []string) {
	for _, id := range ids {
		l.goneAgents[id] = true
	}
}

// ReactivateAgent is REACTIVATE_AGENT: a deactivated (or draining, or drained)
// agent is offered again.
func (l *Ledger) ReactivateAgent(id string) error {
	a, err := l.findAgent(id, "reactivate_agent.agent_id")
	if err != nil {
		return err
	}
	if !a.deactivated {
		return badRequest("reactivate_agent.agent_id: agent %s is not deactivated", id)
	}
	a.deactivated = false
	a.drain = nil
	a.drainStart = time.Time{}
	if a.state == agentActive {
		l.alloc.ActivateAgent(a.id)
	}
	l.dirty.markAgent(a.id)
	l.requestAllocation()
	l.note(zapcore.InfoLevel, "agent reactivated by the operator", zap.String("agent_id", id))
	return nil
}
