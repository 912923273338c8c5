package ledger

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"pgregory.net/rapid"

	"github.com/agoracluster/agora/master/mastertest"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
	"github.com/agoracluster/agora/resources"
)

// TestNeverDoubleBook drives the ledger with random agents, frameworks,
// accepts, declines, status updates, disconnections and time, and checks after
// every step that the master's view of each agent (outstanding offers plus what
// tasks and executors use) fits in the agent and equals the allocator's.
func TestNeverDoubleBook(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		cfg := DefaultConfig()
		info := &mesos.MasterInfo{Id: proto.String("M"), Ip: proto.Uint32(1), Port: proto.Uint32(5050)}
		s := New(cfg, clock, info, nil)
		agentSinks := map[string]*fakeSink{}
		fwSinks := map[string]*fakeSink{}
		fwStreams := map[string]string{}
		nextStream := 0
		stream := func() string { nextStream++; return fmt.Sprint("s", nextStream) }
		uuidN := 0

		reportTasks := func(a *agent) []*mesos.Task {
			var out []*mesos.Task
			for _, key := range slices.Sorted(maps.Keys(a.tasks)) {
				out = append(out, proto.Clone(a.tasks[key].pb).(*mesos.Task))
			}
			return out
		}

		actions := map[string]func(*rapid.T){
			"add agent": func(rt *rapid.T) {
				if len(s.agents) >= 4 {
					return
				}
				sink := &fakeSink{t: rt}
				id, err := s.SubscribeAgent(sink, stream(), &agorapb.AgentCall_Subscribe{AgentInfo: &mesos.AgentInfo{
					Hostname: proto.String("h"), Resources: resources.MustParse("cpus:4;mem:1024").ToProto(),
				}})
				if err != nil {
					rt.Fatal(err)
				}
				agentSinks[id] = sink
			},
			"agent re-subscribes": func(rt *rapid.T) {
				ids := slices.Sorted(maps.Keys(s.agents))
				if len(ids) == 0 {
					return
				}
				a := s.agents[rapid.SampledFrom(ids).Draw(rt, "agent")]
				tasks := reportTasks(a)
				// Only an agent coming back from a partition can still run tasks the master
				// reported lost during that partition.
				if a.state == agentUnreachable && rapid.Bool().Draw(rt, "report lost tasks") {
					// The agent still runs tasks the master reported lost or unreachable.
					for _, fwID := range slices.Sorted(maps.Keys(s.frameworks)) {
						fw := s.frameworks[fwID]
						var lost []*task
						for _, tk := range fw.completed {
							last := lastStatus(tk)
							if last.GetReason() == mesos.TaskStatus_REASON_AGENT_REMOVED && last.GetUnreachableTime().GetNanoseconds() == a.unreachableTime.UnixNano() {
								lost = append(lost, tk)
							}
						}
						for _, id := range slices.Sorted(maps.Keys(fw.unreachable)) {
							lost = append(lost, fw.unreachable[id])
						}
						for _, tk := range lost {
							if tk.agentID == a.id && fw.tasks[tk.id] == nil {
								pb := proto.Clone(tk.pb).(*mesos.Task)
								pb.State = mesos.TaskState_TASK_RUNNING.Enum()
								tasks = append(tasks, pb)
							}
						}
					}
				}
				if rapid.Bool().Draw(rt, "forget tasks") {
					tasks = nil
				}
				sink := &fakeSink{t: rt}
				if _, err := s.SubscribeAgent(sink, stream(), &agorapb.AgentCall_Subscribe{
					AgentInfo: &mesos.AgentInfo{Id: agentIDpb(a.id), Hostname: proto.String("h"), Resources: resources.MustParse("cpus:4;mem:1024").ToProto()},
					Tasks:     tasks,
				}); err != nil {
					rt.Fatal(err)
				}
				agentSinks[a.id] = sink
			},
			"agent disconnects": func(rt *rapid.T) {
				ids := slices.Sorted(maps.Keys(s.agents))
				if len(ids) == 0 {
					return
				}
				a := s.agents[rapid.SampledFrom(ids).Draw(rt, "agent")]
				s.AgentDisconnected(a.id, a.streamID)
			},
			"subscribe framework": func(rt *rapid.T) {
				if len(s.frameworks) >= 3 {
					return
				}
				sink := &fakeSink{t: rt}
				st := stream()
				info := mastertest.FrameworkInfo("fw")
				if rapid.Bool().Draw(rt, "partition aware") {
					info = mastertest.FrameworkInfo("fw", mesos.FrameworkInfo_Capability_PARTITION_AWARE)
				}
				info.FailoverTimeout = proto.Float64(float64(rapid.IntRange(0, 100).Draw(rt, "failover")))
				id := s.SubscribeFramework(sink, st, &scheduler.Call_Subscribe{FrameworkInfo: info})
				fwSinks[id], fwStreams[id] = sink, st
			},
			"framework disconnects": func(rt *rapid.T) {
				ids := slices.Sorted(maps.Keys(s.frameworks))
				if len(ids) == 0 {
					return
				}
				id := rapid.SampledFrom(ids).Draw(rt, "framework")
				s.FrameworkDisconnected(id, fwStreams[id])
			},
			"allocate": func(rt *rapid.T) { s.Allocate() },
			"time passes": func(rt *rapid.T) {
				clock.advance(time.Duration(rapid.IntRange(1, 120).Draw(rt, "seconds")) * time.Second)
				s.Tick()
			},
			"accept": func(rt *rapid.T) {
				if len(s.offers) == 0 {
					s.Allocate()
				}
				ids := slices.Sorted(maps.Keys(s.offers))
				if len(ids) == 0 {
					return
				}
				o := s.offers[rapid.SampledFrom(ids).Draw(rt, "offer")]
				oids := []*mesos.OfferID{offerIDpb(o.id)}
				if rapid.Bool().Draw(rt, "second offer") {
					oids = append(oids, offerIDpb(rapid.SampledFrom(ids).Draw(rt, "offer2")))
				}
				var tasks []*mesos.TaskInfo
				for i := range rapid.IntRange(0, 3).Draw(rt, "tasks") {
					ti := mastertest.CommandTask(fmt.Sprint("t", rapid.IntRange(0, 20).Draw(rt, "task id")), o.agentID,
						fmt.Sprintf("cpus:%d;mem:%d", rapid.IntRange(1, 5).Draw(rt, "cpus"), 64*rapid.IntRange(1, 20).Draw(rt, "mem")))
					if i == 2 && rapid.Bool().Draw(rt, "custom executor") {
						ti.Command, ti.Executor = nil, customExecutor("e", "cpus:1;mem:32")
					}
					tasks = append(tasks, ti)
				}
				c := mastertest.LaunchCall(oids, tasks...)
				c.FrameworkId = frameworkIDpb(o.frameworkID)
				if err := s.SchedulerCall(c, fwStreams[o.frameworkID]); err != nil {
					rt.Fatal(err)
				}
			},
			"decline": func(rt *rapid.T) {
				ids := slices.Sorted(maps.Keys(s.offers))
				if len(ids) == 0 {
					return
				}
				o := s.offers[rapid.SampledFrom(ids).Draw(rt, "offer")]
				c := &scheduler.Call{FrameworkId: frameworkIDpb(o.frameworkID), Type: scheduler.Call_DECLINE.Enum(),
					Decline: &scheduler.Call_Decline{OfferIds: []*mesos.OfferID{offerIDpb(o.id)}}}
				if err := s.SchedulerCall(c, fwStreams[o.frameworkID]); err != nil {
					rt.Fatal(err)
				}
			},
			"status update": func(rt *rapid.T) {
				var all []*task
				for _, id := range slices.Sorted(maps.Keys(s.agents)) {
					a := s.agents[id]
					if a.state != agentActive {
						continue
					}
					for _, key := range slices.Sorted(maps.Keys(a.tasks)) {
						all = append(all, a.tasks[key])
					}
				}
				if len(all) == 0 {
					return
				}
				tk := all[rapid.IntRange(0, len(all)-1).Draw(rt, "task")]
				state := rapid.SampledFrom([]mesos.TaskState{mesos.TaskState_TASK_RUNNING, mesos.TaskState_TASK_FINISHED, mesos.TaskState_TASK_FAILED}).Draw(rt, "state")
				var uuid []byte
				if rapid.Bool().Draw(rt, "uuid") {
					uuidN++
					uuid = []byte(fmt.Sprintf("%016d", uuidN))
				}
				a := s.agents[tk.agentID]
				if err := s.AgentCall(mastertest.StatusUpdateCall(a.id, tk.frameworkID, tk.id, state, uuid), a.streamID); err != nil {
					rt.Fatal(err)
				}
				if uuid != nil && rapid.Bool().Draw(rt, "ack") {
					if fw := s.frameworks[tk.frameworkID]; fw != nil && fw.connected {
						c := &scheduler.Call{FrameworkId: frameworkIDpb(fw.id), Type: scheduler.Call_ACKNOWLEDGE.Enum(),
							Acknowledge: &scheduler.Call_Acknowledge{AgentId: agentIDpb(a.id), TaskId: taskIDpb(tk.id), Uuid: uuid}}
						if err := s.SchedulerCall(c, fwStreams[fw.id]); err != nil {
							rt.Fatal(err)
						}
					}
				}
			},
			"teardown": func(rt *rapid.T) {
				ids := slices.Sorted(maps.Keys(s.frameworks))
				if len(ids) == 0 {
					return
				}
				id := rapid.SampledFrom(ids).Draw(rt, "framework")
				if fw := s.frameworks[id]; fw.connected {
					if err := s.SchedulerCall(&scheduler.Call{FrameworkId: frameworkIDpb(id), Type: scheduler.Call_TEARDOWN.Enum()}, fwStreams[id]); err != nil {
						rt.Fatal(err)
					}
				}
			},
		}
		for range 2 {
			actions["add agent"](rt)
			actions["subscribe framework"](rt)
		}
		check := func(rt *rapid.T) {
			snap := s.alloc.Snapshot()
			inAlloc := map[string]resources.Resources{}
			for _, as := range snap.Agents {
				inAlloc[as.ID] = as.Allocated
			}
			for _, id := range slices.Sorted(maps.Keys(s.agents)) {
				a := s.agents[id]
				var view resources.Resources
				for _, o := range a.offers {
					view = view.Plus(o.res)
				}
				for _, fwID := range slices.Sorted(maps.Keys(a.usedByFramework())) {
					view = view.Plus(a.usedBy(fwID))
				}
				if !a.total.Contains(view) {
					var desc []string
					for _, key := range slices.Sorted(maps.Keys(a.tasks)) {
						tk := a.tasks[key]
						desc = append(desc, fmt.Sprintf("%s %s %s recovered=%v", key, tk.state(), tk.res, tk.recovered))
					}
					rt.Fatalf("agent %s: offered+used %s exceeds total %s; tasks %v; offers %d; executors %v", id, view, a.total, desc, len(a.offers), a.executors)
				}
				if !a.inAllocator() {
					continue
				}
				if got := inAlloc[id]; !got.Equal(view) {
					rt.Fatalf("agent %s (%s): allocator has %s allocated, master sees %s", id, a.state, got, view)
				}
			}
			for id, o := range s.offers {
				if a := s.agents[o.agentID]; a == nil || a.state != agentActive || a.offers[id] != o {
					rt.Fatalf("offer %s on agent %s which is not active", id, o.agentID)
				}
				if fw := s.frameworks[o.frameworkID]; fw == nil || !fw.connected || fw.offers[id] != o {
					rt.Fatalf("offer %s of a framework that is not connected", id)
				}
			}
		}
		rt.Repeat(map[string]func(*rapid.T){
			"":                      check,
			"add agent":             actions["add agent"],
			"agent re-subscribes":   actions["agent re-subscribes"],
			"agent disconnects":     actions["agent disconnects"],
			"subscribe framework":   actions["subscribe framework"],
			"framework disconnects": actions["framework disconnects"],
			"allocate":              actions["allocate"],
			"time passes":           actions["time passes"],
			"accept":                actions["accept"],
			"decline":               actions["decline"],
			"status update":         actions["status update"],
			"teardown":              actions["teardown"],
		})
		_ = agentSinks
		_ = fwSinks
	})
}
