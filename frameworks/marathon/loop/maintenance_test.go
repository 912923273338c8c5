package loop

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/frameworks/sdk/sdktest"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// TestTasksMoveOffADrainingAgent: once an agent's offers carry an unavailability, its
// offers are declined and the app's task there is replaced elsewhere first, then killed
// (the default upgradeStrategy keeps full health capacity).
func TestTasksMoveOffADrainingAgent(t *testing.T) {
	l := newTestLoop(t)
	tx := &Tx{l: l.Loop}
	if _, _, err := tx.CreateApp([]byte(`{"id":"/web","cmd":"sleep 100","cpus":0.5,"mem":64,"instances":1}`), false, Origin{}); err != nil {
		t.Fatal(err)
	}
	l.handleOffers([]*mesos.Offer{offer("o1", "a1", "cpus:2;mem:256;ports:[31000-31009]")})
	v := tx.View()
	old := v.TasksOf("/web")
	if len(old) != 1 {
		t.Fatalf("launched %d tasks", len(old))
	}
	l.handleUpdate(sdktest.NewStatus(old[0].ID, "a1", mesos.TaskState_TASK_RUNNING, nil))
	l.flushReconcile()

	draining := offer("o2", "a1", "cpus:2;mem:256;ports:[31000-31009]")
	draining.Unavailability = &mesos.Unavailability{Start: &mesos.TimeInfo{Nanoseconds: proto.Int64(l.now.Add(time.Hour).UnixNano())}}
	l.handleOffers([]*mesos.Offer{draining})
	l.flushReconcile()
	if q := v.Queue(); len(q) != 1 || q[0].Entry.Count != 1 {
		t.Fatalf("queue once a1 drains = %+v, want one replacement", q)
	}
	if ts := v.TasksOf("/web"); len(ts) != 1 || ts[0].Killing {
		t.Fatalf("tasks = %+v: the old one must run until its replacement does", ts)
	}
	// The draining agent's offers are declined, even with a launch waiting.
	draining.Id = &mesos.OfferID{Value: proto.String("o3")}
	l.handleOffers([]*mesos.Offer{draining})
	if n := len(v.TasksOf("/web")); n != 1 {
		t.Fatalf("launched on the draining agent: %d tasks", n)
	}
	l.handleOffers([]*mesos.Offer{offer("o4", "a2", "cpus:2;mem:256;ports:[31000-31009]")})
	var replacement string
	for _, tk := range v.TasksOf("/web") {
		if tk.AgentID == "a2" {
			replacement = tk.ID
		}
	}
	if replacement == "" {
		t.Fatalf("no replacement on a2: %+v", v.TasksOf("/web"))
	}
	l.handleUpdate(sdktest.NewStatus(replacement, "a2", mesos.TaskState_TASK_RUNNING, nil))
	l.flushReconcile()
	for _, tk := range v.TasksOf("/web") {
		if tk.ID == old[0].ID && !tk.Killing {
			t.Errorf("the task on the draining agent was not killed once its replacement ran")
		}
	}
	l.handleUpdate(sdktest.NewStatus(old[0].ID, "a1", mesos.TaskState_TASK_KILLED, nil))
	l.flushReconcile()
	if ts := v.TasksOf("/web"); len(ts) != 1 || ts[0].ID != replacement || len(v.Queue()) != 0 {
		t.Errorf("after the move: tasks %+v queue %+v, want only the replacement", ts, v.Queue())
	}
}
