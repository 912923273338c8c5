package loop

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/events"
	"github.com/agoracluster/agora/frameworks/marathon/persist"
	"github.com/agoracluster/agora/frameworks/marathon/tasks"
	"github.com/agoracluster/agora/frameworks/sdk/sdktest"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
	"github.com/agoracluster/agora/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testLoop is a Loop that the test drives itself, on its own goroutine, with a fake clock.
type testLoop struct {
	*Loop
	now time.Time
}

func newTestLoop(t *testing.T) *testLoop {
	t.Helper()
	st, err := store.OpenFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	log := zaptest.NewLogger(t)
	tl := &testLoop{now: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
	ecfg := events.DefaultConfig()
	ecfg.Now = func() time.Time { return tl.now }
	bus, err := events.NewBus(ecfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bus.Close)
	ids := 0
	l, err := New(context.Background(), Config{
		Master: "master:5050", WaitingRefuse: time.Second, IdleRefuse: time.Minute, TickInterval: time.Second,
		ServicePortMin: 10000, ServicePortMax: 20000,
	}, Deps{
		Store: st, Writes: persist.NewStore(st, 10, log), Bus: bus, Log: log,
		Now:   func() time.Time { return tl.now },
		NewID: func() string { ids++; return fmt.Sprintf("id%d", ids) },
	})
	if err != nil {
		t.Fatal(err)
	}
	tl.Loop = l
	return tl
}

func offer(id, agent, res string) *mesos.Offer {
	r, err := resources.Parse(res, "*")
	if err != nil {
		panic(err)
	}
	return &mesos.Offer{
		Id: &mesos.OfferID{Value: proto.String(id)}, FrameworkId: &mesos.FrameworkID{Value: proto.String("f")},
		AgentId: &mesos.AgentID{Value: proto.String(agent)}, Hostname: proto.String(agent + ".test"), Resources: r.ToProto(),
	}
}

// TestCreateLaunchRun follows POST /v2/apps down to the launch: the command stores the app
// and starts a deployment, the queue waits for offers, an offer launches the tasks, and
// their TASK_RUNNING ends the deployment.
func TestCreateLaunchRun(t *testing.T) {
	l := newTestLoop(t)
	tx := &Tx{l: l.Loop}
	a, d, err := tx.CreateApp([]byte(`{"id":"/web","cmd":"sleep 100","cpus":0.5,"mem":64,"instances":2}`), false, Origin{IP: "127.0.0.1", URI: "/v2/apps"})
	if err != nil {
		t.Fatal(err)
	}
	if d.DeploymentID != "id1" || d.Version != app.FormatTime(l.now) || a.Version != d.Version {
		t.Errorf("deployed %+v, app version %s", d, a.Version)
	}
	v := tx.View()
	if q := v.Queue(); len(q) != 1 || q[0].Entry.Count != 2 {
		t.Fatalf("queue = %+v", q)
	}
	if deps := v.Deployments(); len(deps) != 1 || deps[0].Plan.ID != d.DeploymentID {
		t.Fatalf("deployments = %+v", deps)
	}
	l.now = l.now.Add(time.Second)
	l.handleOffers([]*mesos.Offer{offer("o1", "a1", "cpus:2;mem:256;ports:[31000-31009]")})
	ts := v.TasksOf("/web")
	if len(ts) != 2 || len(v.Queue()) != 0 {
		t.Fatalf("tasks %d, queue %+v", len(ts), v.Queue())
	}
	for _, tk := range ts {
		if tk.State != tasks.StateStaging || !tk.StagedAt.Equal(l.now) || tk.Host != "a1.test" {
			t.Errorf("task %+v", tk)
		}
	}
	if n := l.out.calls.Len(); n == 0 {
		t.Error("no accept in the outbox")
	}
	for _, tk := range ts {
		l.handleUpdate(sdktest.NewStatus(tk.ID, "a1", mesos.TaskState_TASK_RUNNING, nil))
	}
	l.flushReconcile()
	if deps := v.Deployments(); len(deps) != 0 {
		t.Errorf("deployments after the tasks run = %+v", deps)
	}
	// A duplicate id conflicts; an unknown app is not found.
	if _, _, err := tx.CreateApp([]byte(`{"id":"/web","cmd":"true"}`), false, Origin{}); !errors.As(err, new(*ConflictError)) {
		t.Errorf("duplicate create: %v", err)
	}
	if _, err := tx.RestartApp("/nope", false); !errors.As(err, new(*NotFoundError)) {
		t.Errorf("restart of an unknown app: %v", err)
	}
}

// TestFailureBacksOff: a failed task delays the next launch of its app's version by the
// back-off, on the loop's clock.
func TestFailureBacksOff(t *testing.T) {
	l := newTestLoop(t)
	tx := &Tx{l: l.Loop}
	if _, _, err := tx.CreateApp([]byte(`{"id":"/f","cmd":"false","cpus":0.1,"mem":16,"backoffSeconds":10}`), false, Origin{}); err != nil {
		t.Fatal(err)
	}
	l.handleOffers([]*mesos.Offer{offer("o1", "a1", "cpus:1;mem:128;ports:[31000-31009]")})
	ts := tx.View().TasksOf("/f")
	if len(ts) != 1 {
		t.Fatalf("launched %d tasks", len(ts))
	}
	l.handleUpdate(sdktest.NewStatus(ts[0].ID, "a1", mesos.TaskState_TASK_FAILED, nil))
	if f := tx.View().LastTaskFailure("/f"); f == nil || f.TaskID != ts[0].ID {
		t.Fatalf("last failure = %+v", f)
	}
	q := tx.View().Queue()
	if len(q) != 1 || q[0].Entry.Count != 1 {
		t.Fatalf("queue after the failure = %+v", q)
	}
	l.handleOffers([]*mesos.Offer{offer("o2", "a1", "cpus:1;mem:128;ports:[31000-31009]")})
	if n := len(tx.View().TasksOf("/f")); n != 0 {
		t.Fatalf("launched %d tasks during the back-off", n)
	}
	l.now = l.now.Add(11 * time.Second)
	l.tick()
	l.handleOffers([]*mesos.Offer{offer("o3", "a1", "cpus:1;mem:128;ports:[31000-31009]")})
	if n := len(tx.View().TasksOf("/f")); n != 1 {
		t.Fatalf("launched %d tasks after the back-off", n)
	}
}

func TestRoutineUpdate(t *testing.T) {
	healthy, unhealthy := true, false
	tests := []struct {
		name    string
		killing bool
		state   mesos.TaskState
		healthy *bool
		want    bool
	}{
		{"running", false, mesos.TaskState_TASK_RUNNING, nil, true},
		{"running healthy", false, mesos.TaskState_TASK_RUNNING, &healthy, true},
		{"running unhealthy", false, mesos.TaskState_TASK_RUNNING, &unhealthy, false},
		{"killed as asked", true, mesos.TaskState_TASK_KILLED, nil, true},
		{"killed unasked", false, mesos.TaskState_TASK_KILLED, nil, false},
		{"failed", false, mesos.TaskState_TASK_FAILED, nil, false},
		{"unreachable", false, mesos.TaskState_TASK_UNREACHABLE, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := sdktest.NewStatus("t", "a", tc.state, nil)
			st.Healthy = tc.healthy
			if got := routineUpdate(&tasks.Task{Killing: tc.killing}, st); got != tc.want {
				t.Errorf("routineUpdate = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestStamp(t *testing.T) {
	cur := &app.App{ID: "/a", Cmd: proto.String("sleep 1"), Instances: 1, Version: "v1",
		VersionInfo: &app.VersionInfo{LastScalingAt: "v1", LastConfigChangeAt: "v0"}}
	scaled := *cur
	scaled.Instances = 3
	changed := *cur
	changed.Cmd = proto.String("sleep 2")
	tests := []struct {
		name            string
		next, current   *app.App
		restart         bool
		scaling, config string
	}{
		{"new app", &changed, nil, false, "v2", "v2"},
		{"scale", &scaled, cur, false, "v2", "v0"},
		{"config change", &changed, cur, false, "v2", "v2"},
		{"restart", &scaled, cur, true, "v2", "v2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			next := *tc.next
			stamp(&next, tc.current, "v2", tc.restart)
			if next.Version != "v2" || next.VersionInfo.LastScalingAt != tc.scaling || next.VersionInfo.LastConfigChangeAt != tc.config {
				t.Errorf("stamped %s %+v", next.Version, next.VersionInfo)
			}
		})
	}
}
