package master

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/apicodec"
	"github.com/agoracluster/agora/master/httpapi"
	"github.com/agoracluster/agora/master/mastertest"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
)

func TestAgentAPIStatusCodes(t *testing.T) {
	tm := startMaster(t, nil)
	sub := mustMarshal(t, apicodec.Protobuf, &agorapb.AgentCall{Type: agorapb.AgentCall_SUBSCRIBE.Enum(), Subscribe: &agorapb.AgentCall_Subscribe{
		AgentInfo: &mesos.AgentInfo{Hostname: proto.String("a"), Resources: resources.MustParse("cpus:1;mem:64").ToProto()},
	}})
	// Without Accept the stream uses the request's content type.
	es := openStream(t, tm.post("/api/v1/agent", map[string]string{"Content-Type": apicodec.MediaProtobuf}, sub))
	if es.codec != apicodec.Protobuf {
		t.Errorf("stream codec %v, want protobuf", es.codec)
	}
	ev := &agorapb.AgentEvent{}
	es.next(ev, func() bool { return ev.GetType() == agorapb.AgentEvent_SUBSCRIBED })
	agentID := ev.GetSubscribed().GetAgentId().GetValue()
	hb := func(id string) []byte {
		return mustMarshal(t, apicodec.JSON, &agorapb.AgentCall{AgentId: mastertest.AgentID(id), Type: agorapb.AgentCall_HEARTBEAT.Enum()})
	}
	json := map[string]string{"Content-Type": apicodec.MediaJSON}
	tests := []struct {
		name    string
		method  string
		headers map[string]string
		body    []byte
		code    int
		message string
	}{
		{"GET", http.MethodGet, nil, nil, 405, "POST"},
		{"no content type", "", map[string]string{}, sub, 415, "Content-Type"},
		{"malformed", "", json, []byte("{"), 400, "Failed to parse"},
		{"no type", "", json, []byte(`{}`), 400, "'type'"},
		{"no agent id", "", json, []byte(`{"type":"HEARTBEAT"}`), 400, "agent_id"},
		{"status update without update", "", json, []byte(`{"type":"STATUS_UPDATE","agent_id":{"value":"x"}}`), 400, "status_update"},
		{"invalid resources", "", json, []byte(`{"type":"SUBSCRIBE","subscribe":{"agent_info":{"hostname":"h","resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":-1}}]}}}`), 400, "resources"},
		{"unknown agent", "", map[string]string{"Content-Type": apicodec.MediaJSON, httpapi.StreamIDHeader: es.streamID}, hb("nope"), 400, "not registered"},
		{"wrong stream", "", map[string]string{"Content-Type": apicodec.MediaJSON, httpapi.StreamIDHeader: "x"}, hb(agentID), 400, "stream ID"},
		{"heartbeat", "", map[string]string{"Content-Type": apicodec.MediaJSON, httpapi.StreamIDHeader: es.streamID}, hb(agentID), 202, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			req, _ := http.NewRequest(method, tm.url+"/api/v1/agent", bytes.NewReader(tt.body))
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			resp, err := tm.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.code || !strings.Contains(string(b), tt.message) {
				t.Errorf("got %d %q, want %d containing %q", resp.StatusCode, b, tt.code, tt.message)
			}
		})
	}
}
