package loop

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/agoracluster/agora/frameworks/sdk/sdktest"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// runApp creates an app with n instances and runs its tasks on one offer.
func runApp(t *testing.T, l *testLoop, id string, n int) []string {
	t.Helper()
	tx := &Tx{l: l.Loop}
	body := `{"id":"` + id + `","cmd":"sleep 100","cpus":0.1,"mem":16,"instances":` + strconv.Itoa(n) + `}`
	if _, _, err := tx.CreateApp([]byte(body), false, Origin{}); err != nil {
		t.Fatal(err)
	}
	l.handleOffers([]*mesos.Offer{offer("o-"+id, "a1", "cpus:4;mem:1024;ports:[31000-31009]")})
	var ids []string
	for _, tk := range tx.View().TasksOf(id) {
		l.handleUpdate(sdktest.NewStatus(tk.ID, "a1", mesos.TaskState_TASK_RUNNING, nil))
		ids = append(ids, tk.ID)
	}
	l.flushReconcile()
	if len(ids) != n || len(tx.View().Deployments()) != 0 {
		t.Fatalf("launched %d of %d tasks; deployments %+v", len(ids), n, tx.View().Deployments())
	}
	return ids
}

// TestVanishedTaskReplaced: a running task that the cluster no longer has (TASK_UNKNOWN,
// TASK_GONE, TASK_GONE_BY_OPERATOR, TASK_DROPPED) is expunged and, as the app still
// wants it, replaced.
func TestVanishedTaskReplaced(t *testing.T) {
	for _, state := range []mesos.TaskState{
		mesos.TaskState_TASK_UNKNOWN, mesos.TaskState_TASK_GONE,
		mesos.TaskState_TASK_GONE_BY_OPERATOR, mesos.TaskState_TASK_DROPPED,
	} {
		t.Run(state.String(), func(t *testing.T) {
			l := newTestLoop(t)
			tx := &Tx{l: l.Loop}
			ids := runApp(t, l, "/v", 2)
			l.handleUpdate(sdktest.NewStatus(ids[0], "a1", state, nil))
			v := tx.View()
			if ts := v.TasksOf("/v"); len(ts) != 1 || ts[0].ID != ids[1] {
				t.Fatalf("tasks after %s = %+v", state, ts)
			}
			if q := v.Queue(); len(q) != 1 || q[0].Entry.Count != 1 {
				t.Fatalf("queue after %s = %+v; want the instance replaced", state, q)
			}
			if f := v.LastTaskFailure("/v"); f == nil || f.TaskID != ids[0] || f.State != state.String() {
				t.Fatalf("last failure = %+v", f)
			}
		})
	}
}

// TestDeleteCompletesWhenTasksVanished: the reproduction of a restarted framework against
// a fresh master. The app is deleted; the master answers the kills with TASK_UNKNOWN; the
// tasks are expunged, the deployment completes, and the app id is free again.
func TestDeleteCompletesWhenTasksVanished(t *testing.T) {
	l := newTestLoop(t)
	tx := &Tx{l: l.Loop}
	ids := runApp(t, l, "/gone", 2)
	if _, err := tx.DeleteApp("/gone", false); err != nil {
		t.Fatal(err)
	}
	if deps := tx.View().Deployments(); len(deps) != 1 {
		t.Fatalf("deployments after delete = %+v", deps)
	}
	// The kills go unanswered for a while and are sent again; then the master answers.
	before := l.out.calls.Len()
	l.now = l.now.Add(killRetry + time.Second)
	l.tick()
	if after := l.out.calls.Len(); after < before+len(ids) {
		t.Fatalf("outbox %d → %d after the kill retry; want the kills again", before, after)
	}
	for _, id := range ids {
		l.handleUpdate(sdktest.NewStatus(id, "a1", mesos.TaskState_TASK_UNKNOWN, nil))
	}
	l.flushReconcile()
	v := tx.View()
	if deps := v.Deployments(); len(deps) != 0 {
		t.Fatalf("deployments after the tasks vanished = %+v", deps)
	}
	if ts := v.TasksOf("/gone"); len(ts) != 0 {
		t.Fatalf("tasks left = %+v", ts)
	}
	if f := v.LastTaskFailure("/gone"); f != nil {
		t.Fatalf("a killed task counted as a failure: %+v", f)
	}
	if _, _, err := tx.CreateApp([]byte(`{"id":"/gone","cmd":"sleep 100","cpus":0.1,"mem":16}`), false, Origin{}); err != nil {
		t.Fatalf("re-create after the delete: %v", err)
	}
}

// TestUnknownTaskNotKilledWhenVanished: an update of a task the framework does not know
// is answered with a kill only when the task lives; a vanished one would be answered with
// TASK_UNKNOWN again, forever.
func TestUnknownTaskNotKilledWhenVanished(t *testing.T) {
	tests := []struct {
		state mesos.TaskState
		kill  bool
	}{
		{mesos.TaskState_TASK_RUNNING, true},
		{mesos.TaskState_TASK_STAGING, true},
		{mesos.TaskState_TASK_UNKNOWN, false},
		{mesos.TaskState_TASK_GONE, false},
		{mesos.TaskState_TASK_DROPPED, false},
		{mesos.TaskState_TASK_UNREACHABLE, false},
		{mesos.TaskState_TASK_KILLED, false},
	}
	for _, tc := range tests {
		t.Run(tc.state.String(), func(t *testing.T) {
			l := newTestLoop(t)
			before := l.out.calls.Len()
			l.handleUpdate(sdktest.NewStatus("/stranger.1", "a1", tc.state, nil))
			if killed := l.out.calls.Len() > before; killed != tc.kill {
				t.Fatalf("killed = %v; want %v", killed, tc.kill)
			}
		})
	}
}

// TestForceCancelFreesLock: DELETE /v2/deployments/{id}?force=true drops the deployment
// whatever its tasks do, so the app can be changed without force again.
func TestForceCancelFreesLock(t *testing.T) {
	l := newTestLoop(t)
	tx := &Tx{l: l.Loop}
	_, d, err := tx.CreateApp([]byte(`{"id":"/stuck","cmd":"sleep 100","cpus":0.1,"mem":16,"instances":2}`), false, Origin{})
	if err != nil {
		t.Fatal(err)
	}
	// No offer ever comes: the deployment waits and holds the app.
	if _, err := tx.DeleteApp("/stuck", false); !errors.As(err, new(*LockedError)) {
		t.Fatalf("delete during the deployment: %v; want locked", err)
	}
	if res, err := tx.CancelDeployment(d.DeploymentID, true); err != nil || res != nil {
		t.Fatalf("force cancel = %+v, %v", res, err)
	}
	if deps := tx.View().Deployments(); len(deps) != 0 {
		t.Fatalf("deployments after the force cancel = %+v", deps)
	}
	if _, err := tx.DeleteApp("/stuck", false); err != nil {
		t.Fatalf("delete after the force cancel: %v", err)
	}
	l.now = l.now.Add(time.Second)
	l.tick()
	if deps := tx.View().Deployments(); len(deps) != 0 {
		t.Fatalf("deployments after the delete = %+v", deps)
	}
	if _, _, err := tx.CreateApp([]byte(`{"id":"/stuck","cmd":"sleep 100","cpus":0.1,"mem":16}`), false, Origin{}); err != nil {
		t.Fatalf("re-create: %v", err)
	}
}
