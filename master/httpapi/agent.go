package httpapi

import (
	"context"
	"net/http"

	"github.com/google/uuid"

	"github.com/agoracluster/agora/apicodec"
	"github.com/agoracluster/agora/master/ledger"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
)

var agentHeartbeat = &agorapb.AgentEvent{Type: agorapb.AgentEvent_HEARTBEAT.Enum()}

// handleAgent serves POST /api/v1/agent, the master side of the agent protocol.
func (s *Server) handleAgent(w http.ResponseWriter, r *http.Request) {
	c, body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	call := &agorapb.AgentCall{}
	if err := c.Unmarshal(body, call); err != nil {
		httpError(w, http.StatusBadRequest, "Failed to parse body into AgentCall: "+err.Error())
		return
	}
	if err := ledger.ValidateAgentCall(call); err != nil {
		httpError(w, http.StatusBadRequest, "Failed to validate AgentCall: "+err.Error())
		return
	}
	if call.GetType() == agorapb.AgentCall_SUBSCRIBE {
		if info := call.GetSubscribe().GetAgentInfo(); info.Id == nil && call.AgentId != nil {
			info.Id = call.AgentId
		}
		s.subscribeAgent(w, r, c, call)
		return
	}
	streamID := r.Header.Get(StreamIDHeader)
	s.answerCall(w, r, func(l *ledger.Ledger) error { return l.AgentCall(call, streamID) })
}

func (s *Server) subscribeAgent(w http.ResponseWriter, r *http.Request, in apicodec.Codec, call *agorapb.AgentCall) {
	out := in
	if accept := r.Header.Get("Accept"); accept != "" && accept != "*/*" {
		var err error
		if out, err = apicodec.ForResponse(accept); err != nil {
			httpError(w, http.StatusNotAcceptable, err.Error())
			return
		}
	}
	streamID := uuid.NewString()
	stream := newHTTPStream(out)
	var agentID string
	var subErr error
	if err := s.loop.Do(r.Context(), func(l *ledger.Ledger) {
		agentID, subErr = l.SubscribeAgent(stream, streamID, call.GetSubscribe())
	}); err != nil {
		writeError(w, err)
		return
	}
	if subErr != nil {
		writeError(w, subErr)
		return
	}
	startStream(w, out, streamID)
	stream.serve(w, r, s.stop, agentHeartbeat, s.cfg.AgentHeartbeatInterval)
	if s.stopping() {
		return // a restarting master keeps its registry as it was
	}
	_ = s.loop.Do(context.Background(), func(l *ledger.Ledger) { l.AgentDisconnected(agentID, streamID) })
}
