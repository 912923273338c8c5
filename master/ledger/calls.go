package ledger

import (
	"go.uber.org/zap"

	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
)

// schedulerCall dispatches a validated scheduler call other than SUBSCRIBE. The
// returned error is an *apiError carrying the HTTP status.
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
	switch call.GetType() {
	case scheduler.Call_TEARDOWN:
		l.removeFramework(fw)
	case scheduler.Call_ACCEPT:
		l.accept(fw, call.GetAccept())
	case scheduler.Call_DECLINE:
		l.decline(fw, call.GetDecline())
	case scheduler.Call_REVIVE:
		l.revive(fw, call.GetRevive().GetRoles())
	case scheduler.Call_SUPPRESS:
		l.suppress(fw, call.GetSuppress().GetRoles())
	case scheduler.Call_KILL:
		l.kill(fw, call.GetKill())
	case scheduler.Call_SHUTDOWN:
		l.shutdownExecutor(fw, call.GetShutdown())
	case scheduler.Call_ACKNOWLEDGE:
		l.acknowledge(fw, call.GetAcknowledge())
	case scheduler.Call_RECONCILE:
		l.reconcile(fw, call.GetReconcile())
	case scheduler.Call_MESSAGE:
		l.message(fw, call.GetMessage())
	case scheduler.Call_REQUEST:
		// Resource requests are ignored, as by Mesos's DRF allocator.
	case scheduler.Call_ACCEPT_INVERSE_OFFERS, scheduler.Call_DECLINE_INVERSE_OFFERS,
		scheduler.Call_ACKNOWLEDGE_OPERATION_STATUS, scheduler.Call_RECONCILE_OPERATIONS:
		l.log.Info("ignoring unsupported scheduler call", zap.String("framework_id", id), zap.String("type", call.GetType().String()))
	default:
		return badRequest("Unknown call type %s", call.GetType())
	}
	return nil
}
