package agent

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	executorpb "github.com/agoracluster/agora/proto/mesos/v1/executor"
)

func TestExecutorAPIErrors(t *testing.T) {
	fm := newFakeMaster(t)
	ta := startAgent(t, fm.addr(), nil)
	waitSubscribed(t, fm, 1)
	subscribeJSON := `{"type":"SUBSCRIBE","framework_id":{"value":"fw"},"executor_id":{"value":"ex"},"subscribe":{}}`
	pbSubscribe, _ := proto.Marshal(&executorpb.Call{Type: executorpb.Call_SUBSCRIBE.Enum(),
		FrameworkId: &mesos.FrameworkID{Value: proto.String("fw")}, ExecutorId: &mesos.ExecutorID{Value: proto.String("ex")},
		Subscribe: &executorpb.Call_Subscribe{}})
	tests := []struct {
		name        string
		method      string
		contentType string
		accept      string
		body        string
		want        int
		wantMsg     string
	}{
		{"wrong method", http.MethodGet, "application/json", "", "", http.StatusMethodNotAllowed, "POST"},
		{"unsupported content type", http.MethodPost, "text/plain", "", subscribeJSON, http.StatusUnsupportedMediaType, "Content-Type"},
		{"malformed json", http.MethodPost, "application/json", "", "{", http.StatusBadRequest, "parse"},
		{"missing required ids", http.MethodPost, "application/json", "", `{"type":"HEARTBEAT"}`, http.StatusBadRequest, "parse"},
		{"subscribe without body", http.MethodPost, "application/json", "",
			`{"type":"SUBSCRIBE","framework_id":{"value":"fw"},"executor_id":{"value":"ex"}}`, http.StatusBadRequest, "subscribe"},
		{"not acceptable", http.MethodPost, "application/json", "text/html", subscribeJSON, http.StatusNotAcceptable, "Accept"},
		{"unknown framework", http.MethodPost, "application/json", "application/json", subscribeJSON, http.StatusBadRequest, "cannot be found"},
		{"unknown framework protobuf", http.MethodPost, "application/x-protobuf", "", string(pbSubscribe), http.StatusBadRequest, "cannot be found"},
		{"update without uuid", http.MethodPost, "application/json", "",
			`{"type":"UPDATE","framework_id":{"value":"fw"},"executor_id":{"value":"ex"},"update":{"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING"}}}`,
			http.StatusBadRequest, "uuid"},
		{"heartbeat of unknown executor", http.MethodPost, "application/json", "",
			`{"type":"HEARTBEAT","framework_id":{"value":"fw"},"executor_id":{"value":"ex"}}`, http.StatusBadRequest, "cannot be found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, ta.url+"/api/v1/executor", bytes.NewBufferString(tt.body))
			req.Header.Set("Content-Type", tt.contentType)
			if tt.accept != "" {
				req.Header.Set("Accept", tt.accept)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			msg, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.want || !strings.Contains(string(msg), tt.wantMsg) {
				t.Fatalf("got %d %q, want %d containing %q", resp.StatusCode, msg, tt.want, tt.wantMsg)
			}
		})
	}
}
