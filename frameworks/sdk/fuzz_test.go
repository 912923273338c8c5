package sdk

import (
	"bytes"
	"context"
	"testing"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
	"github.com/agoracluster/agora/recordio"
	"google.golang.org/protobuf/proto"
)

// FuzzEventStream feeds arbitrary event streams from a master through decoding and dispatch
// (without a subscription, so calls fail fast): nothing may panic.
func FuzzEventStream(f *testing.F) {
	seed := func(ev *scheduler.Event) {
		b, err := proto.Marshal(ev)
		if err != nil {
			f.Fatal(err)
		}
		var buf bytes.Buffer
		_ = recordio.NewWriter(&buf).WriteRecord(b)
		f.Add(buf.Bytes(), false)
		j, err := mesos.MarshalJSON(ev)
		if err != nil {
			f.Fatal(err)
		}
		buf.Reset()
		_ = recordio.NewWriter(&buf).WriteRecord(j)
		f.Add(buf.Bytes(), true)
	}
	seed(&scheduler.Event{Type: scheduler.Event_HEARTBEAT.Enum()})
	seed(&scheduler.Event{Type: scheduler.Event_OFFERS.Enum(), Offers: &scheduler.Event_Offers{Offers: []*mesos.Offer{{
		Id: OfferID("o"), FrameworkId: &mesos.FrameworkID{Value: proto.String("f")}, AgentId: AgentID("a"), Hostname: proto.String("h"),
	}}}})
	seed(&scheduler.Event{Type: scheduler.Event_UPDATE.Enum(), Update: &scheduler.Event_Update{Status: &mesos.TaskStatus{
		TaskId: TaskID("t"), State: mesos.TaskState_TASK_RUNNING.Enum(), Uuid: []byte("u"),
	}}})
	f.Add([]byte("3\n\x08\x02\x1a"), false) // OFFERS with a truncated payload
	f.Fuzz(func(t *testing.T, stream []byte, json bool) {
		c := validConfig()
		if json {
			c.Encoding = JSON
		}
		s, err := NewScheduler(c, NoopHandler{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		r := recordio.NewReader(bytes.NewReader(stream), 1<<16)
		for range 32 {
			rec, err := r.ReadRecord()
			if err != nil {
				return
			}
			ev := &scheduler.Event{}
			if s.codec.unmarshal(rec, ev) != nil {
				continue
			}
			s.dispatch(context.Background(), ev)
		}
	})
}
