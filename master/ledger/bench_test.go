package ledger

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/master/mastertest"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
	"github.com/agoracluster/agora/resources"
)

// nopSink discards events (encoding is measured by the HTTP path, not here).
type nopSink struct{}

func (nopSink) Send(proto.Message) {}
func (nopSink) Close()             {}

// BenchmarkOfferAcceptCycle measures the ledger's part of launching tasks: an
// allocation cycle over the cluster, then one ACCEPT with one task per offer, then
// the tasks finishing.
func BenchmarkOfferAcceptCycle(b *testing.B) {
	for _, agents := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("agents=%d", agents), func(b *testing.B) {
			clock := &fakeClock{t: time.Unix(0, 0)}
			info := &mesos.MasterInfo{Id: proto.String("M"), Ip: proto.Uint32(1), Port: proto.Uint32(5050)}
			s := New(DefaultConfig(), clock, info, nil)
			total := resources.MustParse("cpus:8;mem:16384").ToProto()
			for i := range agents {
				if _, err := s.SubscribeAgent(nopSink{}, fmt.Sprint("a", i), &agorapb.AgentCall_Subscribe{
					AgentInfo: &mesos.AgentInfo{Hostname: proto.String(fmt.Sprint("host", i)), Resources: total},
				}); err != nil {
					b.Fatal(err)
				}
			}
			fwID := s.SubscribeFramework(nopSink{}, "s", &scheduler.Call_Subscribe{FrameworkInfo: mastertest.FrameworkInfo("bench")})
			b.ReportAllocs()
			b.ResetTimer()
			n := 0
			for range b.N {
				s.Allocate()
				var launched []*task
				ids := slices.AppendSeq(make([]string, 0, len(s.offers)), maps.Keys(s.offers))
				slices.Sort(ids)
				for _, id := range ids {
					o := s.offers[id]
					n++
					c := mastertest.LaunchCall([]*mesos.OfferID{offerIDpb(id)}, mastertest.CommandTask(fmt.Sprint("t", n), o.agentID, "cpus:1;mem:128"))
					c.FrameworkId = frameworkIDpb(fwID)
					if err := s.SchedulerCall(c, "s"); err != nil {
						b.Fatal(err)
					}
					launched = append(launched, s.frameworks[fwID].tasks[fmt.Sprint("t", n)])
				}
				for _, t := range launched {
					a := s.agents[t.agentID]
					if err := s.AgentCall(mastertest.StatusUpdateCall(a.id, fwID, t.id, mesos.TaskState_TASK_FINISHED, nil), a.streamID); err != nil {
						b.Fatal(err)
					}
				}
				clock.advance(6 * time.Second)
			}
		})
	}
}
