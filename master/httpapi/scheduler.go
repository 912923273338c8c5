package httpapi

import (
	"context"
	"net/http"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/apicodec"
	"github.com/agoracluster/agora/master/ledger"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
)

var schedulerHeartbeat = &scheduler.Event{Type: scheduler.Event_HEARTBEAT.Enum()}

// handleScheduler serves POST /api/v1/scheduler, the Mesos v1 scheduler API.
func (s *Server) handleScheduler(w http.ResponseWriter, r *http.Request) {
	c, body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	call := &scheduler.Call{}
	if err := c.Unmarshal(body, call); err != nil {
		s.metrics.invalidSchedulerCalls.Inc()
		httpError(w, http.StatusBadRequest, "Failed to parse body into Call protobuf: "+err.Error())
		return
	}
	if err := ledger.ValidateSchedulerCall(call); err != nil {
		s.metrics.invalidSchedulerCalls.Inc()
		httpError(w, http.StatusBadRequest, "Failed to validate scheduler::Call: "+err.Error())
		return
	}
	s.metrics.schedulerCalls.WithLabelValues(call.GetType().String()).Inc()
	if call.GetType() == scheduler.Call_SUBSCRIBE {
		s.subscribeScheduler(w, r, call)
		return
	}
	streamID := r.Header.Get(StreamIDHeader)
	s.answerCall(w, r, func(l *ledger.Ledger) error { return l.SchedulerCall(call, streamID) })
}

func (s *Server) subscribeScheduler(w http.ResponseWriter, r *http.Request, call *scheduler.Call) {
	out, err := apicodec.ForResponse(r.Header.Get("Accept"))
	if err != nil {
		httpError(w, http.StatusNotAcceptable, err.Error())
		return
	}
	if r.Header.Get(StreamIDHeader) != "" {
		httpError(w, http.StatusBadRequest, "Subscribe calls should not include the 'Mesos-Stream-Id' header")
		return
	}
	if err := s.authorizeSubscribe(callerOf(r.Context()).principal, call.GetSubscribe().GetFrameworkInfo()); err != nil {
		writeError(w, err)
		return
	}
	streamID := uuid.NewString()
	stream := newHTTPStream(out)
	var fwID string
	if err := s.loop.Do(r.Context(), func(l *ledger.Ledger) { fwID = l.SubscribeFramework(stream, streamID, call.GetSubscribe()) }); err != nil {
		writeError(w, err)
		return
	}
	startStream(w, out, streamID)
	stream.serve(w, r, s.stop, proto.Message(schedulerHeartbeat), s.cfg.FrameworkHeartbeatInterval)
	// Whoever ended the stream, the framework is no longer connected through it;
	// the ledger ignores this when the stream was already replaced or removed.
	if s.stopping() {
		return // a restarting master keeps its registry as it was
	}
	_ = s.loop.Do(context.Background(), func(l *ledger.Ledger) { l.FrameworkDisconnected(fwID, streamID) })
}
