package master

import (
	"context"
	"github.com/agoracluster/agora/apicodec"
	"net/http"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
)

const streamIDHeader = "Mesos-Stream-Id"

var schedulerHeartbeat = &scheduler.Event{Type: scheduler.Event_HEARTBEAT.Enum()}

// handleScheduler serves POST /api/v1/scheduler, the Mesos v1 scheduler API.
func (m *Master) handleScheduler(w http.ResponseWriter, r *http.Request) {
	c, body, ok := m.readBody(w, r)
	if !ok {
		return
	}
	call := &scheduler.Call{}
	if err := c.Unmarshal(body, call); err != nil {
		m.metrics.invalidSchedulerCalls.Inc()
		httpError(w, http.StatusBadRequest, "Failed to parse body into Call protobuf: "+err.Error())
		return
	}
	if err := validateSchedulerCall(call); err != nil {
		m.metrics.invalidSchedulerCalls.Inc()
		httpError(w, http.StatusBadRequest, "Failed to validate scheduler::Call: "+err.Error())
		return
	}
	m.metrics.schedulerCalls.WithLabelValues(call.GetType().String()).Inc()
	if call.GetType() == scheduler.Call_SUBSCRIBE {
		m.subscribeScheduler(w, r, call)
		return
	}
	streamID := r.Header.Get(streamIDHeader)
	m.answerCall(w, r, func(s *state) error { return s.schedulerCall(call, streamID) })
}

func (m *Master) subscribeScheduler(w http.ResponseWriter, r *http.Request, call *scheduler.Call) {
	out, err := apicodec.ForResponse(r.Header.Get("Accept"))
	if err != nil {
		httpError(w, http.StatusNotAcceptable, err.Error())
		return
	}
	if r.Header.Get(streamIDHeader) != "" {
		httpError(w, http.StatusBadRequest, "Subscribe calls should not include the 'Mesos-Stream-Id' header")
		return
	}
	streamID := uuid.NewString()
	stream := newHTTPStream(out)
	var fwID string
	if err := m.exec(r.Context(), func(s *state) { fwID = s.subscribeFramework(stream, streamID, call.GetSubscribe()) }); err != nil {
		writeError(w, err)
		return
	}
	startStream(w, out, streamID)
	stream.serve(w, r, m.stop, proto.Message(schedulerHeartbeat), m.cfg.FrameworkHeartbeatInterval)
	// Whoever ended the stream, the framework is no longer connected through it;
	// the state ignores this when the stream was already replaced or removed.
	if m.stopping() {
		return // a restarting master keeps its registry as it was
	}
	_ = m.exec(context.Background(), func(s *state) { s.frameworkDisconnected(fwID, streamID) })
}
