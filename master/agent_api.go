package master

import (
	"context"
	"github.com/agoracluster/agora/apicodec"
	"net/http"

	"github.com/google/uuid"

	agorapb "github.com/agoracluster/agora/proto/agora/v1"
)

var agentHeartbeat = &agorapb.AgentEvent{Type: agorapb.AgentEvent_HEARTBEAT.Enum()}

// handleAgent serves POST /api/v1/agent, the master side of the agent protocol.
func (m *Master) handleAgent(w http.ResponseWriter, r *http.Request) {
	c, body, ok := m.readBody(w, r)
	if !ok {
		return
	}
	call := &agorapb.AgentCall{}
	if err := c.Unmarshal(body, call); err != nil {
		httpError(w, http.StatusBadRequest, "Failed to parse body into AgentCall: "+err.Error())
		return
	}
	if err := validateAgentCall(call); err != nil {
		httpError(w, http.StatusBadRequest, "Failed to validate AgentCall: "+err.Error())
		return
	}
	if call.GetType() == agorapb.AgentCall_SUBSCRIBE {
		if info := call.GetSubscribe().GetAgentInfo(); info.Id == nil && call.AgentId != nil {
			info.Id = call.AgentId
		}
		m.subscribeAgent(w, r, c, call)
		return
	}
	streamID := r.Header.Get(streamIDHeader)
	m.answerCall(w, r, func(s *state) error { return s.agentCall(call, streamID) })
}

func (m *Master) subscribeAgent(w http.ResponseWriter, r *http.Request, in apicodec.Codec, call *agorapb.AgentCall) {
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
	if err := m.exec(r.Context(), func(s *state) {
		agentID, subErr = s.subscribeAgent(stream, streamID, call.GetSubscribe())
	}); err != nil {
		writeError(w, err)
		return
	}
	if subErr != nil {
		writeError(w, subErr)
		return
	}
	startStream(w, out, streamID)
	stream.serve(w, r, m.stop, agentHeartbeat, m.cfg.agentHeartbeat())
	if m.stopping() {
		return // a restarting master keeps its registry as it was
	}
	_ = m.exec(context.Background(), func(s *state) { s.agentDisconnected(agentID, streamID) })
}
