package executorapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"

	executorpb "github.com/agoracluster/agora/proto/mesos/v1/executor"
	"github.com/agoracluster/agora/security/exectoken"
)

// acceptAll is a Backend that takes every call.
type acceptAll struct{ updates int }

func (b *acceptAll) Subscribe(context.Context, *executorpb.Call, *Conn) error { return nil }
func (b *acceptAll) Disconnected(*executorpb.Call, *Conn)                     {}
func (b *acceptAll) Update(context.Context, *executorpb.Call) error           { b.updates++; return nil }
func (b *acceptAll) Message(context.Context, *executorpb.Call) error          { return nil }
func (b *acceptAll) Heartbeat(context.Context, *executorpb.Call) error        { return nil }

func TestExecutorTokens(t *testing.T) {
	signer, err := exectoken.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	backend := &acceptAll{}
	h := &Handler{Backend: backend, Log: zap.NewNop(), Tokens: signer}
	call := `{"type":"HEARTBEAT","framework_id":{"value":"fw"},"executor_id":{"value":"ex"}}`
	for _, tt := range []struct {
		name, auth string
		want       int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"not a bearer token", "Basic Zm9vOmJhcg==", http.StatusUnauthorized},
		{"another executor's token", "Bearer " + signer.Token("fw", "other"), http.StatusForbidden},
		{"a forged token", "Bearer AAAA", http.StatusForbidden},
		{"its own token", "Bearer " + signer.Token("fw", "ex"), http.StatusAccepted},
	} {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/executor", strings.NewReader(call))
		req.Header.Set("Content-Type", "application/json")
		if tt.auth != "" {
			req.Header.Set("Authorization", tt.auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("%s: %d %s, want %d", tt.name, rec.Code, rec.Body, tt.want)
		}
	}
}
