package ledger

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/protobuf/proto"

	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
	"github.com/agoracluster/agora/resources"
	"github.com/agoracluster/agora/security/acl"
)

// frameworkCall is one call of a subscribed framework's scheduler: the handlers of
// SchedulerCall act on the ledger for the framework that called.
type frameworkCall struct {
	l  *Ledger
	fw *framework
}

// SchedulerCall handles a scheduler call other than SUBSCRIBE, validated with
// ValidateSchedulerCall, on the stream streamID. A rejected call returns an error
// that matches ErrInvalid or ErrForbidden.
func (l *Ledger) SchedulerCall(call *scheduler.Call, streamID string) error {
	id := call.GetFrameworkId().GetValue()
	fw := l.frameworks[id]
	if fw == nil {
		if l.completedFramework(id) != nil {
			return forbidden("Framework %s has been removed", id)
		}
		return forbidden("Framework %s cannot be found", id)
	}
	if !fw.connected {
		return forbidden("Framework %s is not subscribed", id)
	}
	if streamID == "" {
		return badRequest("All non-subscribe calls should include the 'Mesos-Stream-Id' header")
	}
	if streamID != fw.streamID {
		return badRequest("The stream ID '%s' included in this request didn't match the stream ID currently associated with framework ID %s", streamID, id)
	}
	c := frameworkCall{l: l, fw: fw}
	switch call.GetType() {
	case scheduler.Call_TEARDOWN:
		l.removeFramework(fw)
	case scheduler.Call_ACCEPT:
		c.accept(call.GetAccept())
	case scheduler.Call_DECLINE:
		c.decline(call.GetDecline())
	case scheduler.Call_REVIVE:
		c.revive(call.GetRevive().GetRoles())
	case scheduler.Call_SUPPRESS:
		c.suppress(call.GetSuppress().GetRoles())
	case scheduler.Call_KILL:
		c.kill(call.GetKill())
	case scheduler.Call_SHUTDOWN:
		c.shutdownExecutor(call.GetShutdown())
	case scheduler.Call_ACKNOWLEDGE:
		c.acknowledge(call.GetAcknowledge())
	case scheduler.Call_RECONCILE:
		c.reconcile(call.GetReconcile())
	case scheduler.Call_MESSAGE:
		c.message(call.GetMessage())
	case scheduler.Call_REQUEST:
		// Resource requests are ignored, as by Mesos's DRF allocator.
	case scheduler.Call_ACCEPT_INVERSE_OFFERS:
		c.answerInverseOffers(call.GetAcceptInverseOffers().GetInverseOfferIds(), mesos.InverseOfferStatus_ACCEPT)
	case scheduler.Call_DECLINE_INVERSE_OFFERS:
		c.answerInverseOffers(call.GetDeclineInverseOffers().GetInverseOfferIds(), mesos.InverseOfferStatus_DECLINE)
	case scheduler.Call_ACKNOWLEDGE_OPERATION_STATUS, scheduler.Call_RECONCILE_OPERATIONS:
		l.note(zapcore.InfoLevel, "ignoring unsupported scheduler call", zap.String("framework_id", id), zap.String("type", call.GetType().String()))
	default:
		return badRequest("Unknown call type %s", call.GetType())
	}
	return nil
}

// accept carries out an ACCEPT call as Mesos does: the offers are validated as a
// whole; then each operation is validated and applied against the remaining offered
// resources; what is left is recovered with the call's filter.
func (c frameworkCall) accept(acc *scheduler.Call_Accept) {
	now := c.l.now()
	offers, err := c.validateOffers(acc.GetOfferIds())
	if err != nil {
		for _, o := range offers {
			c.l.removeOffer(o, 0, false)
		}
		state := mesos.TaskState_TASK_LOST
		if c.fw.partitionAware {
			state = mesos.TaskState_TASK_DROPPED
		}
		for _, op := range acc.GetOperations() {
			for _, ti := range operationTasks(op) {
				c.fw.send(updateEvent(&mesos.TaskStatus{
					TaskId:    ti.TaskId,
					State:     state.Enum(),
					Source:    mesos.TaskStatus_SOURCE_MASTER.Enum(),
					Reason:    mesos.TaskStatus_REASON_INVALID_OFFERS.Enum(),
					Message:   proto.String("Task launched with invalid offers: " + err.Error()),
					AgentId:   ti.AgentId,
					Timestamp: proto.Float64(unixSeconds(now)),
				}))
			}
		}
		c.l.note(zapcore.InfoLevel, "accept with invalid offers", zap.String("framework_id", c.fw.id), zap.Error(err))
		return
	}
	a := c.l.agents[offers[0].agentID]
	var remaining resources.Resources
	for _, o := range offers {
		remaining = remaining.Plus(o.res)
		delete(c.l.offers, o.id)
		delete(c.fw.offers, o.id)
		delete(a.offers, o.id)
	}
	for _, op := range acc.GetOperations() {
		switch op.GetType() {
		case mesos.Offer_Operation_LAUNCH:
			for _, ti := range op.GetLaunch().GetTaskInfos() {
				remaining = c.launchTask(a, ti, remaining)
			}
		case mesos.Offer_Operation_LAUNCH_GROUP:
			remaining = c.launchGroup(a, op.GetLaunchGroup(), remaining)
		case mesos.Offer_Operation_RESERVE, mesos.Offer_Operation_UNRESERVE,
			mesos.Offer_Operation_CREATE, mesos.Offer_Operation_DESTROY:
			kind, pbs, _ := operationResources(op)
			var err error
			remaining, err = c.applyOffered(a, kind, pbs, offers[0].role, remaining)
			c.operationDone(a, op, err)
		default:
			c.dropOperation(a, op)
		}
	}
	if !remaining.IsEmpty() {
		c.l.alloc.Recover(c.fw.id, a.id, remaining, refuseDuration(acc.GetFilters()), now)
	}
	c.l.requestAllocation()
}

// validateOffers checks that the offers exist, are the framework's and are on one
// agent. It returns the framework's valid offers even on error, so they can be
// recovered.
func (c frameworkCall) validateOffers(ids []*mesos.OfferID) ([]*offer, error) {
	var valid []*offer
	var errs []string
	seen := map[string]bool{}
	for _, oid := range ids {
		id := oid.GetValue()
		if seen[id] {
			errs = append(errs, fmt.Sprintf("Duplicate offer %s in offer list", id))
			continue
		}
		seen[id] = true
		o := c.l.offers[id]
		switch {
		case o == nil:
			errs = append(errs, fmt.Sprintf("Offer %s is no longer valid", id))
		case o.frameworkID != c.fw.id:
			errs = append(errs, fmt.Sprintf("Offer %s has invalid framework %s while framework %s is expected", id, o.frameworkID, c.fw.id))
		default:
			valid = append(valid, o)
		}
	}
	if len(ids) == 0 {
		errs = append(errs, "No offers specified")
	}
	for _, o := range valid[min(1, len(valid)):] {
		if o.agentID != valid[0].agentID {
			errs = append(errs, fmt.Sprintf("Aggregated offers must belong to one single agent. Offer %s uses agent %s and offer %s uses agent %s",
				valid[0].id, valid[0].agentID, o.id, o.agentID))
			break
		}
	}
	if len(errs) == 0 {
		if a := c.l.agents[valid[0].agentID]; a == nil || a.state != agentActive {
			errs = append(errs, fmt.Sprintf("Agent %s is not connected", valid[0].agentID))
		}
	}
	if len(errs) > 0 {
		return valid, errors.New(strings.Join(errs, "; "))
	}
	return valid, nil
}

// launchTask validates and launches one task of a LAUNCH; it returns what is left
// of the offered resources.
func (c frameworkCall) launchTask(a *agent, ti *mesos.TaskInfo, remaining resources.Resources) resources.Resources {
	need, newExec, err := validateTask(c.fw, a, ti, remaining)
	if err != nil {
		c.taskError(ti, mesos.TaskStatus_REASON_TASK_INVALID, err.Error())
		return remaining
	}
	if refused := c.runTasksRefusal(taskUser(c.fw, ti.GetCommand(), ti.GetExecutor())); refused != "" {
		c.taskError(ti, mesos.TaskStatus_REASON_TASK_UNAUTHORIZED, refused)
		return remaining
	}
	ti = proto.Clone(ti).(*mesos.TaskInfo)
	if ti.Executor != nil && ti.Executor.FrameworkId == nil {
		ti.Executor.FrameworkId = frameworkIDpb(c.fw.id)
	}
	if newExec != nil {
		a.addExecutor(c.fw.id, proto.Clone(ti.Executor).(*mesos.ExecutorInfo), newExec.res)
	}
	c.addLaunchedTask(a, ti, ti.Executor)
	a.send(runTaskEvent(c.fw, ti))
	return remaining.Minus(need)
}

// taskUser is the user a task runs as: its command's, else its executor's, else the
// framework's (Mesos's order for run_tasks).
func taskUser(fw *framework, cmd *mesos.CommandInfo, exec *mesos.ExecutorInfo) string {
	if u := cmd.GetUser(); u != "" {
		return u
	}
	if u := exec.GetCommand().GetUser(); u != "" {
		return u
	}
	return fw.info.GetUser()
}

// runTasksRefusal is why the ACLs' run_tasks refuse the framework a task that runs as user,
// "" when they allow it. Root is held to a rule explicit about it (acl.MayRunTasksAs), and
// so is a task that names no user: it runs as the agent's own user, root on an agent that
// runs as root.
func (c frameworkCall) runTasksRefusal(user string) string {
	if c.l.cfg.ACLs == nil {
		return ""
	}
	principal := c.fw.info.GetPrincipal()
	checked := user
	if checked == "" {
		checked = acl.Root
	}
	if c.l.cfg.ACLs().MayRunTasksAs(principal, checked) {
		return ""
	}
	who := "a framework without a principal"
	if principal != "" {
		who = fmt.Sprintf("principal '%s'", principal)
	}
	as := fmt.Sprintf("user '%s'", user)
	if user == "" {
		as = "the agent's own user (the task names no user; root on an agent that runs as root)"
	}
	if checked == acl.Root {
		return fmt.Sprintf("Not authorized to launch as %s: no rule of the ACLs' run_tasks allows %s to run tasks as root "+
			"(root needs a rule that names root among its users, or that allows any user to principals it names; permissive does not cover it)", as, who)
	}
	return fmt.Sprintf("Not authorized to launch as %s: the ACLs' run_tasks do not allow %s to run tasks as '%s'", as, who, user)
}

// launchGroup validates and launches a task group, all or nothing.
func (c frameworkCall) launchGroup(a *agent, lg *mesos.Offer_Operation_LaunchGroup, remaining resources.Resources) resources.Resources {
	need, newExec, err := validateTaskGroup(c.fw, a, lg, remaining)
	if err != nil {
		for _, ti := range lg.GetTaskGroup().GetTasks() {
			c.taskError(ti, mesos.TaskStatus_REASON_TASK_GROUP_INVALID, err.Error())
		}
		return remaining
	}
	for _, ti := range lg.GetTaskGroup().GetTasks() {
		if refused := c.runTasksRefusal(taskUser(c.fw, ti.GetCommand(), lg.GetExecutor())); refused != "" {
			for _, ti := range lg.GetTaskGroup().GetTasks() {
				c.taskError(ti, mesos.TaskStatus_REASON_TASK_GROUP_UNAUTHORIZED, refused)
			}
			return remaining
		}
	}
	exec := proto.Clone(lg.GetExecutor()).(*mesos.ExecutorInfo)
	if exec.FrameworkId == nil {
		exec.FrameworkId = frameworkIDpb(c.fw.id)
	}
	if newExec != nil {
		a.addExecutor(c.fw.id, proto.Clone(exec).(*mesos.ExecutorInfo), newExec.res)
	}
	group := proto.Clone(lg.GetTaskGroup()).(*mesos.TaskGroupInfo)
	for _, ti := range group.GetTasks() {
		c.addLaunchedTask(a, ti, exec)
	}
	a.send(runTaskGroupEvent(c.fw, exec, group))
	return remaining.Minus(need)
}

func (c frameworkCall) addLaunchedTask(a *agent, ti *mesos.TaskInfo, exec *mesos.ExecutorInfo) {
	res, _ := parseResources(ti.GetResources()) // validated
	pb := &mesos.Task{
		Name:        ti.Name,
		TaskId:      taskIDpb(ti.GetTaskId().GetValue()),
		FrameworkId: frameworkIDpb(c.fw.id),
		AgentId:     agentIDpb(a.id),
		State:       mesos.TaskState_TASK_STAGING.Enum(),
		Resources:   ti.GetResources(),
		Labels:      ti.Labels,
		Discovery:   ti.Discovery,
		Container:   ti.Container,
		HealthCheck: ti.HealthCheck,
		KillPolicy:  ti.KillPolicy,
		User:        c.fw.info.User,
	}
	if exec != nil {
		pb.ExecutorId = executorIDpb(exec.GetExecutorId().GetValue())
	}
	t := &task{id: ti.GetTaskId().GetValue(), frameworkID: c.fw.id, agentID: a.id, pb: pb, res: res}
	addTask(c.fw, a, t)
	c.l.taskAdded(t)
	c.l.stats.TasksLaunched++
}

// taskError reports a task the master refused to launch.
func (c frameworkCall) taskError(ti *mesos.TaskInfo, reason mesos.TaskStatus_Reason, msg string) {
	c.l.note(zapcore.InfoLevel, "task rejected", zap.String("framework_id", c.fw.id), zap.String("task_id", ti.GetTaskId().GetValue()), zap.String("reason", msg))
	c.fw.send(updateEvent(&mesos.TaskStatus{
		TaskId:    taskIDpb(ti.GetTaskId().GetValue()),
		State:     mesos.TaskState_TASK_ERROR.Enum(),
		Source:    mesos.TaskStatus_SOURCE_MASTER.Enum(),
		Reason:    reason.Enum(),
		Message:   proto.String(msg),
		AgentId:   ti.AgentId,
		Timestamp: proto.Float64(unixSeconds(c.l.now())),
	}))
}

// operationDone reports a RESERVE, UNRESERVE, CREATE or DESTROY: an error drops
// the operation (the ACCEPT's other operations proceed, as in Mesos); a framework
// that set an operation id learns the outcome through UPDATE_OPERATION_STATUS
// (OPERATION_FINISHED or OPERATION_ERROR with the reason).
func (c frameworkCall) operationDone(a *agent, op *mesos.Offer_Operation, err error) {
	state, msg := mesos.OperationState_OPERATION_FINISHED, ""
	if err != nil {
		state, msg = mesos.OperationState_OPERATION_ERROR, err.Error()
		c.l.note(zapcore.InfoLevel, "dropping invalid offer operation", zap.String("framework_id", c.fw.id),
			zap.String("agent_id", a.id), zap.String("operation", op.GetType().String()), zap.Error(err))
	} else {
		c.l.note(zapcore.InfoLevel, "applied offer operation", zap.String("framework_id", c.fw.id),
			zap.String("agent_id", a.id), zap.String("operation", op.GetType().String()))
	}
	if op.Id == nil {
		return
	}
	c.fw.send(&scheduler.Event{
		Type:                  scheduler.Event_UPDATE_OPERATION_STATUS.Enum(),
		UpdateOperationStatus: &scheduler.Event_UpdateOperationStatus{Status: operationStatus(op, a.id, state, msg)},
	})
}

// dropOperation refuses an operation the master does not support yet; a framework
// that set an operation id learns it through UPDATE_OPERATION_STATUS.
func (c frameworkCall) dropOperation(a *agent, op *mesos.Offer_Operation) {
	msg := fmt.Sprintf("Offer operation %s is not supported yet; dropped", op.GetType())
	c.l.note(zapcore.WarnLevel, "dropping unsupported offer operation", zap.String("framework_id", c.fw.id), zap.String("operation", op.GetType().String()))
	if op.Id == nil {
		return
	}
	c.fw.send(&scheduler.Event{
		Type: scheduler.Event_UPDATE_OPERATION_STATUS.Enum(),
		UpdateOperationStatus: &scheduler.Event_UpdateOperationStatus{Status: &mesos.OperationStatus{
			OperationId: op.Id,
			State:       mesos.OperationState_OPERATION_ERROR.Enum(),
			Message:     proto.String(msg),
			AgentId:     agentIDpb(a.id),
		}},
	})
}

func operationTasks(op *mesos.Offer_Operation) []*mesos.TaskInfo {
	switch op.GetType() {
	case mesos.Offer_Operation_LAUNCH:
		return op.GetLaunch().GetTaskInfos()
	case mesos.Offer_Operation_LAUNCH_GROUP:
		return op.GetLaunchGroup().GetTaskGroup().GetTasks()
	}
	return nil
}

func runTaskEvent(fw *framework, ti *mesos.TaskInfo) proto.Message {
	return &agorapb.AgentEvent{
		Type:    agorapb.AgentEvent_RUN_TASK.Enum(),
		RunTask: &agorapb.AgentEvent_RunTask{FrameworkInfo: proto.Clone(fw.info).(*mesos.FrameworkInfo), Task: ti},
	}
}

func runTaskGroupEvent(fw *framework, exec *mesos.ExecutorInfo, group *mesos.TaskGroupInfo) proto.Message {
	return &agorapb.AgentEvent{
		Type: agorapb.AgentEvent_RUN_TASK_GROUP.Enum(),
		RunTaskGroup: &agorapb.AgentEvent_RunTaskGroup{
			FrameworkInfo: proto.Clone(fw.info).(*mesos.FrameworkInfo), Executor: exec, TaskGroup: group,
		},
	}
}

// decline returns offers with the given filter.
func (c frameworkCall) decline(d *scheduler.Call_Decline) {
	refuse := refuseDuration(d.GetFilters())
	for _, oid := range d.GetOfferIds() {
		o := c.l.offers[oid.GetValue()]
		if o == nil || o.frameworkID != c.fw.id {
			continue
		}
		c.l.stats.OffersDeclined++
		c.l.removeOffer(o, refuse, false)
	}
}

// suppress and revive map to the allocator.
func (c frameworkCall) suppress(roles []string) {
	c.l.alloc.Suppress(c.fw.id, nilIfEmpty(roles))
}

func (c frameworkCall) revive(roles []string) {
	c.l.alloc.Revive(c.fw.id, nilIfEmpty(roles))
	c.l.requestAllocation()
}

func nilIfEmpty(roles []string) []string {
	if len(roles) == 0 {
		return nil
	}
	return roles
}

// acknowledge forwards a framework's acknowledgement to the agent; a terminal task
// whose last update is acknowledged becomes a completed task.
func (c frameworkCall) acknowledge(ack *scheduler.Call_Acknowledge) {
	agentID, taskID := ack.GetAgentId().GetValue(), ack.GetTaskId().GetValue()
	a := c.l.agents[agentID]
	if a == nil || a.state != agentActive {
		c.l.note(zapcore.InfoLevel, "dropping acknowledgement for an agent that is not connected",
			zap.String("framework_id", c.fw.id), zap.String("agent_id", agentID), zap.String("task_id", taskID))
		return
	}
	a.send(ackEvent(c.fw.id, taskID, ack.GetUuid()))
	t := a.tasks[taskKey(c.fw.id, taskID)]
	if t != nil && t.pb.GetStatusUpdateState().IsTerminal() && bytes.Equal(t.pb.GetStatusUpdateUuid(), ack.GetUuid()) {
		c.l.removeTask(t)
	}
}

// kill asks the task's agent to kill it; an unknown task is reconciled instead.
func (c frameworkCall) kill(k *scheduler.Call_Kill) {
	taskID := k.GetTaskId().GetValue()
	t := c.fw.tasks[taskID]
	if t == nil {
		c.l.note(zapcore.InfoLevel, "kill of unknown task; reconciling", zap.String("framework_id", c.fw.id), zap.String("task_id", taskID))
		c.reconcile(&scheduler.Call_Reconcile{Tasks: []*scheduler.Call_Reconcile_Task{{TaskId: k.TaskId, AgentId: k.AgentId}}})
		return
	}
	a := c.l.agents[t.agentID]
	if a == nil || a.state != agentActive {
		c.l.note(zapcore.InfoLevel, "cannot kill task on a disconnected agent", zap.String("framework_id", c.fw.id),
			zap.String("task_id", taskID), zap.String("agent_id", t.agentID))
		return
	}
	a.send(killTaskEvent(c.fw.id, taskID, k.GetKillPolicy()))
}

// reconcile answers explicit (listed tasks) and implicit (no tasks) reconciliation
// with each task's latest state.
func (c frameworkCall) reconcile(r *scheduler.Call_Reconcile) {
	send := func(t *task, state mesos.TaskState) {
		st := t.masterStatus(c.l.now(), state, mesos.TaskStatus_REASON_RECONCILIATION, "Reconciliation: Latest task state")
		if last := lastStatus(t); last != nil {
			st.Healthy = last.Healthy
			st.Labels = last.Labels
			st.ContainerStatus = last.ContainerStatus
			st.Data = last.Data
		}
		c.fw.send(updateEvent(st))
	}
	if len(r.GetTasks()) == 0 {
		for _, t := range sortedValues(c.fw.tasks) {
			send(t, t.state())
		}
		for _, id := range slices.Sorted(maps.Keys(c.fw.unreachable)) {
			send(c.fw.unreachable[id], mesos.TaskState_TASK_UNREACHABLE)
		}
		return
	}
	for _, rt := range r.GetTasks() {
		taskID, agentID := rt.GetTaskId().GetValue(), rt.GetAgentId().GetValue()
		if t := c.fw.tasks[taskID]; t != nil {
			send(t, t.state())
			continue
		}
		if t := c.fw.unreachable[taskID]; t != nil {
			send(t, mesos.TaskState_TASK_UNREACHABLE)
			continue
		}
		a := c.l.agents[agentID]
		if (a != nil && a.state == agentRecovered) || (agentID == "" && c.l.anyAgentRecovered()) {
			// As Mesos: after a failover the task may be on an agent that has
			// not re-registered yet; say nothing rather than TASK_LOST. The
			// agent comes back with it, or is marked unreachable (and its
			// tasks reported) once AgentReregisterTimeout passes.
			continue
		}
		state := mesos.TaskState_TASK_UNKNOWN
		if a != nil && a.state == agentUnreachable {
			state = mesos.TaskState_TASK_UNREACHABLE
		}
		if !c.fw.partitionAware {
			state = mesos.TaskState_TASK_LOST
		}
		unknown := &task{id: taskID, frameworkID: c.fw.id, agentID: agentID, pb: &mesos.Task{}}
		st := unknown.masterStatus(c.l.now(), state, mesos.TaskStatus_REASON_RECONCILIATION, "Reconciliation: Task is unknown")
		if agentID == "" {
			st.AgentId = nil
		}
		c.fw.send(updateEvent(st))
	}
}

func lastStatus(t *task) *mesos.TaskStatus {
	if n := len(t.pb.Statuses); n > 0 {
		return t.pb.Statuses[n-1]
	}
	return nil
}

// shutdownExecutor handles the scheduler's SHUTDOWN call as Mesos does: it forwards a
// SHUTDOWN_EXECUTOR event to the agent, which stops the executor and kills its tasks. The
// executor need not be known to the master (Mesos forwards the request anyway); an agent
// that is unknown or not active is logged and skipped.
func (c frameworkCall) shutdownExecutor(sh *scheduler.Call_Shutdown) {
	agentID := sh.GetAgentId().GetValue()
	execID := sh.GetExecutorId().GetValue()
	a := c.l.agents[agentID]
	if a == nil || a.state != agentActive {
		c.l.note(zapcore.WarnLevel, "cannot shut down executor: agent is not registered",
			zap.String("framework_id", c.fw.id), zap.String("agent_id", agentID), zap.String("executor_id", execID))
		return
	}
	c.l.note(zapcore.InfoLevel, "shutting down executor", zap.String("framework_id", c.fw.id),
		zap.String("agent_id", agentID), zap.String("executor_id", execID))
	a.send(&agorapb.AgentEvent{
		Type: agorapb.AgentEvent_SHUTDOWN_EXECUTOR.Enum(),
		ShutdownExecutor: &agorapb.AgentEvent_ShutdownExecutor{
			FrameworkId: frameworkIDpb(c.fw.id), ExecutorId: executorIDpb(execID),
		},
	})
}

// message relays scheduler data to an executor.
func (c frameworkCall) message(m *scheduler.Call_Message) {
	a := c.l.agents[m.GetAgentId().GetValue()]
	if a == nil || a.state != agentActive {
		return
	}
	a.send(&agorapb.AgentEvent{
		Type: agorapb.AgentEvent_FRAMEWORK_MESSAGE.Enum(),
		FrameworkMessage: &agorapb.AgentEvent_FrameworkMessage{
			FrameworkId: frameworkIDpb(c.fw.id), ExecutorId: m.ExecutorId, Data: m.Data,
		},
	})
}
