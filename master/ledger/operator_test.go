package ledger

import (
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/master/allocator"
	"github.com/agoracluster/agora/master/registry"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	masterpb "github.com/agoracluster/agora/proto/mesos/v1/master"
	quotapb "github.com/agoracluster/agora/proto/mesos/v1/quota"
	"github.com/agoracluster/agora/resources"
)

func eventTypes(evs []*masterpb.Event) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.GetType().String())
	}
	return out
}

// TestOperatorEventsOnlyWhileWatched: the ledger records no operator events while
// nobody watches, and records the cluster's changes in order while someone does.
func TestOperatorEventsOnlyWhileWatched(t *testing.T) {
	h := newHarness(t)
	h.addAgent("a1", "cpus:2;mem:512")
	if evs := h.s.TakeEffects().OperatorEvents; len(evs) != 0 {
		t.Fatalf("events while unwatched: %v", eventTypes(evs))
	}
	h.s.WatchOperator(true)
	h.addAgent("a2", "cpus:2;mem:512")
	fwID, _ := h.subscribe(&mesos.FrameworkInfo{User: proto.String("u"), Name: proto.String("fw")}, "s1")
	h.s.FrameworkDisconnected(fwID, "s1")
	if err := h.s.TeardownFramework(fwID); err != nil {
		t.Fatal(err)
	}
	h.clock.advance(time.Hour) // both agents miss their heartbeats
	h.s.Tick()
	got := eventTypes(h.s.TakeEffects().OperatorEvents)
	want := []string{"AGENT_ADDED", "FRAMEWORK_ADDED", "FRAMEWORK_UPDATED", "FRAMEWORK_REMOVED", "AGENT_REMOVED", "AGENT_REMOVED"}
	if !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	h.s.WatchOperator(false)
	h.addAgent("a3", "cpus:1;mem:128")
	if evs := h.s.TakeEffects().OperatorEvents; len(evs) != 0 {
		t.Errorf("events after unwatching: %v", eventTypes(evs))
	}
	sub := h.s.OperatorSubscribed(15 * time.Second)
	if n := len(sub.GetSubscribed().GetGetState().GetGetAgents().GetAgents()); n != 1 {
		t.Errorf("SUBSCRIBED lists %d registered agents, want a3 only (a1, a2 unreachable)", n)
	}
	if err := proto.CheckInitialized(sub); err != nil {
		t.Errorf("SUBSCRIBED lacks required fields: %v", err)
	}
}

// TestUpdateQuotasIsAllOrNothing: when one config of an UPDATE_QUOTA is refused,
// the ones before it are put back and nothing goes to the registry.
func TestUpdateQuotasIsAllOrNothing(t *testing.T) {
	h := newHarness(t)
	h.addAgent("a1", "cpus:4;mem:1024")
	_ = h.s.TakeEffects()
	limit := func(role string, cpus float64) *quotapb.QuotaConfig {
		return QuotaConfig(role, allocator.Quota{Limits: allocator.Quantities{"cpus": cpus}})
	}
	if err := h.s.UpdateQuotas([]*quotapb.QuotaConfig{limit("a", 2)}, false); err != nil {
		t.Fatal(err)
	}
	if w := h.s.TakeEffects().Writes; len(w.Quotas) != 1 || w.Quotas[0].GetRole() != "a" {
		t.Fatalf("registry writes %v, want a's quota", w)
	}
	bad := QuotaConfig("c", allocator.Quota{Guarantees: allocator.Quantities{"cpus": 3}, Limits: allocator.Quantities{"cpus": 1}})
	err := h.s.UpdateQuotas([]*quotapb.QuotaConfig{limit("a", 3), limit("b", 1), bad}, false)
	if err == nil || !strings.Contains(err.Error(), "quota_configs[2]") {
		t.Fatalf("UpdateQuotas = %v, want the third config named", err)
	}
	if q := h.s.Quotas(); len(q) != 1 || q["a"].Limits["cpus"] != 2 {
		t.Errorf("quotas after a refused update = %v, want a's as before", q)
	}
	if w := h.s.TakeEffects().Writes; !w.Empty() {
		t.Errorf("a refused update wrote %v", w)
	}
}

// TestRecoverRoles: weights and quotas come back from the registry's records; a
// stored quota the allocator refuses is dropped from the registry.
func TestRecoverRoles(t *testing.T) {
	h := newHarness(t)
	h.s.RecoverRoles(
		[]*mesos.WeightInfo{{Role: proto.String("eng"), Weight: proto.Float64(3)}},
		[]*quotapb.QuotaConfig{
			QuotaConfig("eng", allocator.Quota{Guarantees: allocator.Quantities{"cpus": 100}}), // beyond capacity: kept
			QuotaConfig("*", allocator.Quota{Limits: allocator.Quantities{"cpus": 1}}),         // never valid
		})
	if w := h.s.Weights()["eng"]; w != 3 {
		t.Errorf("eng weight = %v", w)
	}
	if q := h.s.Quotas(); len(q) != 1 || q["eng"].Guarantees["cpus"] != 100 {
		t.Errorf("quotas = %v", q)
	}
	var b registry.Batch = h.s.TakeEffects().Writes
	if !slices.Equal(b.DeletedQuotas, []string{"*"}) || len(b.Weights)+len(b.Quotas) != 0 {
		t.Errorf("writes after recovery = %+v, want only the invalid quota deleted", b)
	}
}

// TestAgentAddedBeforeItsTasks: an agent re-registering with tasks the master did not
// know is announced before them.
func TestAgentAddedBeforeItsTasks(t *testing.T) {
	h := newHarness(t)
	h.s.WatchOperator(true)
	_, err := h.s.SubscribeAgent(&fakeSink{t: t}, "s", &agorapb.AgentCall_Subscribe{
		AgentInfo: &mesos.AgentInfo{Hostname: proto.String("a1"), Id: &mesos.AgentID{Value: proto.String("M1-S9")}, Resources: resources.MustParse("cpus:2;mem:512").ToProto()},
		Tasks: []*mesos.Task{{
			Name: proto.String("t"), TaskId: &mesos.TaskID{Value: proto.String("t1")}, FrameworkId: &mesos.FrameworkID{Value: proto.String("F1")},
			AgentId: &mesos.AgentID{Value: proto.String("M1-S9")}, State: mesos.TaskState_TASK_RUNNING.Enum(),
			Resources: resources.MustParse("cpus:1;mem:128").ToProto(),
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := eventTypes(h.s.TakeEffects().OperatorEvents)
	if want := []string{"AGENT_ADDED", "FRAMEWORK_ADDED", "TASK_ADDED"}; !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
}
