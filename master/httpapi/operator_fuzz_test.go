package httpapi

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/apicodec"
	"github.com/agoracluster/agora/master/ledger"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	masterpb "github.com/agoracluster/agora/proto/mesos/v1/master"
)

// directLoop runs functions on a real ledger under a mutex, as the master's loop would.
type directLoop struct {
	mu sync.Mutex
	l  *ledger.Ledger
}

func (d *directLoop) Do(_ context.Context, f func(*ledger.Ledger)) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	f(d.l)
	_ = d.l.TakeEffects()
	return nil
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// FuzzOperatorCall: no body, in either encoding, makes the operator API fail with a 5xx
// or answer 200 with something that does not decode.
func FuzzOperatorCall(f *testing.F) {
	for _, c := range []*masterpb.Call{
		{Type: masterpb.Call_GET_STATE.Enum()},
		{Type: masterpb.Call_UPDATE_WEIGHTS.Enum(), UpdateWeights: &masterpb.Call_UpdateWeights{WeightInfos: []*mesos.WeightInfo{{Role: proto.String("a"), Weight: proto.Float64(2)}}}},
		{Type: masterpb.Call_TEARDOWN.Enum(), Teardown: &masterpb.Call_Teardown{FrameworkId: &mesos.FrameworkID{Value: proto.String("x")}}},
	} {
		b, _ := proto.Marshal(c)
		f.Add(b, false)
		j, _ := mesos.MarshalJSON(c)
		f.Add(j, true)
	}
	f.Add([]byte(`{"type":"UPDATE_QUOTA","update_quota":{"quota_configs":[{"role":"a","limits":{"cpus":{"value":1e300}}}]}}`), true)
	f.Add([]byte(`{"type":"UPDATE_MAINTENANCE_SCHEDULE","update_maintenance_schedule":{"schedule":{"windows":[{"machine_ids":[{"hostname":"h","ip":"10.0.0.1"}],"unavailability":{"start":{"nanoseconds":1},"duration":{"nanoseconds":5}}}]}}}`), true)
	f.Add([]byte(`{"type":"START_MAINTENANCE","start_maintenance":{"machines":[{"hostname":"h"}]}}`), true)
	f.Add([]byte(`{"type":"DRAIN_AGENT","drain_agent":{"agent_id":{"value":"a"},"max_grace_period":{"nanoseconds":1},"mark_gone":true}}`), true)
	f.Add([]byte(`{"type":"SET_QUOTA","set_quota":{"quota_request":{"role":"r","guarantee":[{"name":"cpus","type":"SCALAR","scalar":{"value":-1}}]}}}`), true)
	info := &mesos.MasterInfo{Id: proto.String("M"), Ip: proto.Uint32(1), Port: proto.Uint32(5050), Hostname: proto.String("m")}
	f.Fuzz(func(t *testing.T, body []byte, asJSON bool) {
		loop := &directLoop{l: ledger.New(ledger.DefaultConfig(), fixedClock{time.Unix(1e9, 0)}, info, nil)}
		s := New(DefaultConfig(), loop, NewMetrics(loop), make(chan struct{}), zap.NewNop())
		c := apicodec.Protobuf
		if asJSON {
			c = apicodec.JSON
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // a SUBSCRIBE ends at once
		req := httptest.NewRequest(http.MethodPost, "/api/v1", bytes.NewReader(body)).WithContext(ctx)
		req.Header.Set("Content-Type", c.ContentType())
		req.Header.Set("Accept", c.ContentType())
		rec := httptest.NewRecorder()
		s.handleOperator(rec, req)
		if rec.Code >= 500 && rec.Code != http.StatusNotImplemented {
			t.Fatalf("%d %s for %q", rec.Code, rec.Body, body)
		}
		if rec.Code == http.StatusOK && rec.Body.Len() > 0 && rec.Header().Get("Content-Type") == c.ContentType() {
			if err := c.Unmarshal(rec.Body.Bytes(), &masterpb.Response{}); err != nil && !bytes.Contains(body, []byte("SUBSCRIBE")) {
				t.Fatalf("answer does not decode: %v", err)
			}
		}
	})
}
