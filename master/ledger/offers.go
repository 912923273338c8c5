package ledger

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
	"github.com/agoracluster/agora/resources"
)

// defaultRefuse is Filters.refuse_seconds' default.
const defaultRefuse = 5 * time.Second

// offer is an outstanding offer: its resources count as allocated to the framework
// until they are accepted (then used by tasks) or recovered.
type offer struct {
	id          string
	frameworkID string
	agentID     string
	role        string
	res         resources.Resources
	created     time.Time
}

// allocate runs one allocation cycle and sends the resulting offers.
func (l *Ledger) Allocate() {
	now := l.now()
	l.allocPending = false
	batches := map[string][]*mesos.Offer{}
	for _, ao := range l.alloc.Allocate(now) {
		fw := l.frameworks[ao.FrameworkID]
		a := l.agents[ao.AgentID]
		if fw == nil || !fw.connected || a == nil || a.state != agentActive {
			l.alloc.Recover(ao.FrameworkID, ao.AgentID, ao.Resources, 0, now)
			continue
		}
		o := &offer{id: l.newOfferID(), frameworkID: fw.id, agentID: a.id, role: ao.Role, res: ao.Resources, created: now}
		l.offers[o.id] = o
		fw.offers[o.id] = o
		a.offers[o.id] = o
		batches[fw.id] = append(batches[fw.id], l.offerProto(fw, a, o))
		l.stats.OffersSent++
	}
	for _, fwID := range slices.Sorted(maps.Keys(batches)) {
		l.frameworks[fwID].send(&scheduler.Event{
			Type:   scheduler.Event_OFFERS.Enum(),
			Offers: &scheduler.Event_Offers{Offers: batches[fwID]},
		})
	}
}

func (l *Ledger) offerProto(fw *framework, a *agent, o *offer) *mesos.Offer {
	pb := &mesos.Offer{
		Id:          offerIDpb(o.id),
		FrameworkId: frameworkIDpb(fw.id),
		AgentId:     agentIDpb(a.id),
		Hostname:    proto.String(a.info.GetHostname()),
		Attributes:  cloneAttributes(a.info.GetAttributes()),
	}
	if fw.multiRole {
		pb.Resources = o.res.ToProtoAllocated(o.role)
		pb.AllocationInfo = &mesos.Resource_AllocationInfo{Role: proto.String(o.role)}
	} else {
		pb.Resources = o.res.ToProto()
	}
	for _, execID := range slices.Sorted(maps.Keys(a.executors[fw.id])) {
		pb.ExecutorIds = append(pb.ExecutorIds, executorIDpb(execID))
	}
	return pb
}

func cloneAttributes(in []*mesos.Attribute) []*mesos.Attribute {
	out := make([]*mesos.Attribute, len(in))
	for i, at := range in {
		out[i] = proto.Clone(at).(*mesos.Attribute)
	}
	return out
}

// removeOffer withdraws an offer and returns its resources to the allocator with a
// refuse filter; rescind tells the framework.
func (l *Ledger) removeOffer(o *offer, refuse time.Duration, rescind bool) {
	delete(l.offers, o.id)
	fw := l.frameworks[o.frameworkID]
	if fw != nil {
		delete(fw.offers, o.id)
	}
	a := l.agents[o.agentID]
	if a != nil {
		delete(a.offers, o.id)
	}
	l.alloc.RecoverRole(o.frameworkID, o.agentID, o.role, o.res, refuse, l.now())
	l.requestAllocation()
	if rescind && fw != nil {
		l.stats.OffersRescinded++
		fw.send(&scheduler.Event{Type: scheduler.Event_RESCIND.Enum(), Rescind: &scheduler.Event_Rescind{OfferId: offerIDpb(o.id)}})
	}
}

// checkOffers rescinds offers older than the offer timeout.
func (l *Ledger) checkOffers(now time.Time) {
	if l.cfg.OfferTimeout <= 0 {
		return
	}
	for _, id := range slices.Sorted(maps.Keys(l.offers)) {
		o := l.offers[id]
		if now.Sub(o.created) >= l.cfg.OfferTimeout {
			l.removeOffer(o, 0, true)
		}
	}
}

func refuseDuration(f *mesos.Filters) time.Duration {
	if f == nil || f.RefuseSeconds == nil {
		return defaultRefuse
	}
	secs := f.GetRefuseSeconds()
	if secs <= 0 || secs != secs { // negative or NaN: no filter
		return 0
	}
	const maxSecs = 365 * 24 * 3600.0
	if secs > maxSecs {
		secs = maxSecs
	}
	return time.Duration(secs * float64(time.Second))
}

// decline returns offers with the given filter.
func (l *Ledger) decline(fw *framework, d *scheduler.Call_Decline) {
	refuse := refuseDuration(d.GetFilters())
	for _, oid := range d.GetOfferIds() {
		o := l.offers[oid.GetValue()]
		if o == nil || o.frameworkID != fw.id {
			continue
		}
		l.stats.OffersDeclined++
		l.removeOffer(o, refuse, false)
	}
}

// accept carries out an ACCEPT call as Mesos does: the offers are validated as a
// whole; then each operation is validated and applied against the remaining offered
// resources; what is left is recovered with the call's filter.
func (l *Ledger) accept(fw *framework, acc *scheduler.Call_Accept) {
	now := l.now()
	offers, err := l.validateOffers(fw, acc.GetOfferIds())
	if err != nil {
		for _, o := range offers {
			l.removeOffer(o, 0, false)
		}
		state := mesos.TaskState_TASK_LOST
		if fw.partitionAware {
			state = mesos.TaskState_TASK_DROPPED
		}
		for _, op := range acc.GetOperations() {
			for _, ti := range operationTasks(op) {
				fw.send(updateEvent(&mesos.TaskStatus{
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
		l.log.Info("accept with invalid offers", zap.String("framework_id", fw.id), zap.Error(err))
		return
	}
	a := l.agents[offers[0].agentID]
	var remaining resources.Resources
	for _, o := range offers {
		remaining = remaining.Plus(o.res)
		delete(l.offers, o.id)
		delete(fw.offers, o.id)
		delete(a.offers, o.id)
	}
	for _, op := range acc.GetOperations() {
		switch op.GetType() {
		case mesos.Offer_Operation_LAUNCH:
			for _, ti := range op.GetLaunch().GetTaskInfos() {
				remaining = l.launchTask(fw, a, ti, remaining)
			}
		case mesos.Offer_Operation_LAUNCH_GROUP:
			remaining = l.launchGroup(fw, a, op.GetLaunchGroup(), remaining)
		default:
			l.dropOperation(fw, a, op)
		}
	}
	if !remaining.IsEmpty() {
		l.alloc.Recover(fw.id, a.id, remaining, refuseDuration(acc.GetFilters()), now)
	}
	l.requestAllocation()
}

// dropOperation refuses an operation the master does not support yet; a framework
// that set an operation id learns it through UPDATE_OPERATION_STATUS.
func (l *Ledger) dropOperation(fw *framework, a *agent, op *mesos.Offer_Operation) {
	msg := fmt.Sprintf("Offer operation %s is not supported yet; dropped", op.GetType())
	l.log.Warn("dropping unsupported offer operation", zap.String("framework_id", fw.id), zap.String("operation", op.GetType().String()))
	if op.Id == nil {
		return
	}
	fw.send(&scheduler.Event{
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

// validateOffers checks that the offers exist, are the framework's and are on one
// agent. It returns the framework's valid offers even on error, so they can be
// recovered.
func (l *Ledger) validateOffers(fw *framework, ids []*mesos.OfferID) ([]*offer, error) {
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
		o := l.offers[id]
		switch {
		case o == nil:
			errs = append(errs, fmt.Sprintf("Offer %s is no longer valid", id))
		case o.frameworkID != fw.id:
			errs = append(errs, fmt.Sprintf("Offer %s has invalid framework %s while framework %s is expected", id, o.frameworkID, fw.id))
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
		if a := l.agents[valid[0].agentID]; a == nil || a.state != agentActive {
			errs = append(errs, fmt.Sprintf("Agent %s is not connected", valid[0].agentID))
		}
	}
	if len(errs) > 0 {
		return valid, errors.New(strings.Join(errs, "; "))
	}
	return valid, nil
}

// taskError reports a task the master refused to launch.
func (l *Ledger) taskError(fw *framework, ti *mesos.TaskInfo, reason mesos.TaskStatus_Reason, msg string) {
	l.log.Info("task rejected", zap.String("framework_id", fw.id), zap.String("task_id", ti.GetTaskId().GetValue()), zap.String("reason", msg))
	fw.send(updateEvent(&mesos.TaskStatus{
		TaskId:    taskIDpb(ti.GetTaskId().GetValue()),
		State:     mesos.TaskState_TASK_ERROR.Enum(),
		Source:    mesos.TaskStatus_SOURCE_MASTER.Enum(),
		Reason:    reason.Enum(),
		Message:   proto.String(msg),
		AgentId:   ti.AgentId,
		Timestamp: proto.Float64(unixSeconds(l.now())),
	}))
}

// launchTask validates and launches one task of a LAUNCH; it returns what is left
// of the offered resources.
func (l *Ledger) launchTask(fw *framework, a *agent, ti *mesos.TaskInfo, remaining resources.Resources) resources.Resources {
	need, newExec, err := l.validateTask(fw, a, ti, remaining)
	if err != nil {
		l.taskError(fw, ti, mesos.TaskStatus_REASON_TASK_INVALID, err.Error())
		return remaining
	}
	ti = proto.Clone(ti).(*mesos.TaskInfo)
	if ti.Executor != nil && ti.Executor.FrameworkId == nil {
		ti.Executor.FrameworkId = frameworkIDpb(fw.id)
	}
	if newExec != nil {
		l.addExecutor(a, fw.id, proto.Clone(ti.Executor).(*mesos.ExecutorInfo), newExec.res)
	}
	l.addLaunchedTask(fw, a, ti, ti.Executor)
	a.send(runTaskEvent(fw, ti))
	return remaining.Minus(need)
}

// launchGroup validates and launches a task group, all or nothing.
func (l *Ledger) launchGroup(fw *framework, a *agent, lg *mesos.Offer_Operation_LaunchGroup, remaining resources.Resources) resources.Resources {
	need, newExec, err := l.validateTaskGroup(fw, a, lg, remaining)
	if err != nil {
		for _, ti := range lg.GetTaskGroup().GetTasks() {
			l.taskError(fw, ti, mesos.TaskStatus_REASON_TASK_GROUP_INVALID, err.Error())
		}
		return remaining
	}
	exec := proto.Clone(lg.GetExecutor()).(*mesos.ExecutorInfo)
	if exec.FrameworkId == nil {
		exec.FrameworkId = frameworkIDpb(fw.id)
	}
	if newExec != nil {
		l.addExecutor(a, fw.id, proto.Clone(exec).(*mesos.ExecutorInfo), newExec.res)
	}
	group := proto.Clone(lg.GetTaskGroup()).(*mesos.TaskGroupInfo)
	for _, ti := range group.GetTasks() {
		l.addLaunchedTask(fw, a, ti, exec)
	}
	a.send(runTaskGroupEvent(fw, exec, group))
	return remaining.Minus(need)
}

func (l *Ledger) addLaunchedTask(fw *framework, a *agent, ti *mesos.TaskInfo, exec *mesos.ExecutorInfo) {
	res, _ := parseResources(ti.GetResources()) // validated
	pb := &mesos.Task{
		Name:        ti.Name,
		TaskId:      taskIDpb(ti.GetTaskId().GetValue()),
		FrameworkId: frameworkIDpb(fw.id),
		AgentId:     agentIDpb(a.id),
		State:       mesos.TaskState_TASK_STAGING.Enum(),
		Resources:   ti.GetResources(),
		Labels:      ti.Labels,
		Discovery:   ti.Discovery,
		Container:   ti.Container,
		HealthCheck: ti.HealthCheck,
		KillPolicy:  ti.KillPolicy,
		User:        fw.info.User,
	}
	if exec != nil {
		pb.ExecutorId = executorIDpb(exec.GetExecutorId().GetValue())
	}
	t := &task{id: ti.GetTaskId().GetValue(), frameworkID: fw.id, agentID: a.id, pb: pb, res: res}
	l.addTask(fw, a, t)
	l.stats.TasksLaunched++
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
