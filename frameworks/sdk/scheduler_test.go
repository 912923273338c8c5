package sdk_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agoracluster/agora/frameworks/sdk"
	"github.com/agoracluster/agora/frameworks/sdk/sdktest"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
	"github.com/agoracluster/agora/resources"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/proto"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const wait = 5 * time.Second

// recorder is a Handler that reports events on channels and runs optional hooks.
type recorder struct {
	sdk.NoopHandler
	subscribed   chan *scheduler.Event_Subscribed
	updates      chan *mesos.TaskStatus
	disconnected chan error
	errors       chan string
	onOffers     func(ctx context.Context, s *sdk.Scheduler, offers []*mesos.Offer)
	updateDone   atomic.Int32
}

func newRecorder() *recorder {
	return &recorder{
		subscribed:   make(chan *scheduler.Event_Subscribed, 16),
		updates:      make(chan *mesos.TaskStatus, 16),
		disconnected: make(chan error, 16),
		errors:       make(chan string, 16),
	}
}

func (r *recorder) Subscribed(_ context.Context, _ *sdk.Scheduler, ev *scheduler.Event_Subscribed) {
	r.subscribed <- ev
}

func (r *recorder) Offers(ctx context.Context, s *sdk.Scheduler, offers []*mesos.Offer) {
	if r.onOffers != nil {
		r.onOffers(ctx, s, offers)
		return
	}
	r.NoopHandler.Offers(ctx, s, offers)
}

func (r *recorder) Update(_ context.Context, _ *sdk.Scheduler, st *mesos.TaskStatus) {
	r.updates <- st
	r.updateDone.Add(1)
}

func (r *recorder) Disconnected(_ context.Context, _ *sdk.Scheduler, err error) {
	r.disconnected <- err
}
func (r *recorder) Error(_ context.Context, _ *sdk.Scheduler, msg string) { r.errors <- msg }

func testConfig(masters ...string) sdk.Config {
	cfg := sdk.DefaultConfig()
	cfg.Masters = masters
	cfg.Framework = &mesos.FrameworkInfo{User: proto.String(""), Name: proto.String("test")}
	cfg.BackoffMin = time.Millisecond
	cfg.BackoffMax = 20 * time.Millisecond
	cfg.SubscribeTimeout = wait
	return cfg
}

func newMaster(t *testing.T) *sdktest.Master {
	t.Helper()
	m := sdktest.NewMaster()
	t.Cleanup(m.Close)
	return m
}

// run starts s.Run and returns a channel with its result; cleanup cancels and waits.
func run(t *testing.T, cfg sdk.Config, h sdk.Handler) (*sdk.Scheduler, <-chan error) {
	t.Helper()
	s, err := sdk.NewScheduler(cfg, h, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		done <- s.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-exited:
		case <-time.After(wait):
			t.Error("Run did not return after cancel")
		}
	})
	return s, done
}

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wait):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func next(t *testing.T, m *sdktest.Master, typ scheduler.Call_Type) *scheduler.Call {
	t.Helper()
	c, err := m.Next(typ, wait)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSubscribeAndReconcile(t *testing.T) {
	for _, enc := range []sdk.Encoding{sdk.Protobuf, sdk.JSON} {
		t.Run(string(enc), func(t *testing.T) {
			m := newMaster(t)
			m.SetFrameworkID("fw-1")
			store := &sdk.MemoryIDStore{}
			cfg := testConfig(m.Addr())
			cfg.Encoding = enc
			cfg.FrameworkIDStore = store
			cfg.KnownTasks = func(context.Context) []*scheduler.Call_Reconcile_Task {
				return []*scheduler.Call_Reconcile_Task{sdk.ReconcileTask("t1", "a1")}
			}
			h := newRecorder()
			s, _ := run(t, cfg, h)

			sub := next(t, m, scheduler.Call_SUBSCRIBE)
			if got := sub.GetSubscribe().GetFrameworkInfo().GetName(); got != "test" {
				t.Errorf("subscribe framework name = %q", got)
			}
			if sub.GetFrameworkId() != nil {
				t.Errorf("first subscribe carries framework id %v", sub.GetFrameworkId())
			}
			ev := recv(t, h.subscribed, "SUBSCRIBED")
			if ev.GetFrameworkId().GetValue() != "fw-1" {
				t.Errorf("subscribed id = %v", ev.GetFrameworkId())
			}
			explicit := next(t, m, scheduler.Call_RECONCILE)
			if ts := explicit.GetReconcile().GetTasks(); len(ts) != 1 || ts[0].GetTaskId().GetValue() != "t1" || ts[0].GetAgentId().GetValue() != "a1" {
				t.Errorf("explicit reconcile tasks = %v", ts)
			}
			// The implicit reconciliation follows once t1 is answered.
			if err := m.SendUpdate(taskStatus("t1", mesos.TaskState_TASK_RUNNING)); err != nil {
				t.Fatal(err)
			}
			implicit := next(t, m, scheduler.Call_RECONCILE)
			if n := len(implicit.GetReconcile().GetTasks()); n != 0 {
				t.Errorf("implicit reconcile has %d tasks", n)
			}
			if implicit.GetFrameworkId().GetValue() != "fw-1" {
				t.Errorf("call framework id = %v", implicit.GetFrameworkId())
			}
			if got := s.FrameworkID(); got != "fw-1" {
				t.Errorf("FrameworkID() = %q", got)
			}
			if got, _ := store.Load(context.Background()); got != "fw-1" {
				t.Errorf("stored id = %q", got)
			}
		})
	}
}

// taskStatus is an update without a uuid (nothing to acknowledge), as for reconciliation.
func taskStatus(id string, state mesos.TaskState) *mesos.TaskStatus {
	return &mesos.TaskStatus{TaskId: sdk.TaskID(id), State: state.Enum(), AgentId: sdk.AgentID("a1"),
		Reason: mesos.TaskStatus_REASON_RECONCILIATION.Enum()}
}

func reconcileIDs(c *scheduler.Call) []string {
	ids := []string{}
	for _, t := range c.GetReconcile().GetTasks() {
		ids = append(ids, t.GetTaskId().GetValue())
	}
	return ids
}

func wantReconcile(t *testing.T, m *sdktest.Master, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if got := reconcileIDs(next(t, m, scheduler.Call_RECONCILE)); !slices.Equal(got, want) {
		t.Fatalf("RECONCILE tasks = %v, want %v", got, want)
	}
}

// reconcileConfig knows tasks t1 and t2 and repeats the explicit reconciliation quickly.
func reconcileConfig(addr string) sdk.Config {
	cfg := testConfig(addr)
	cfg.ReconcileInterval = 300 * time.Millisecond
	cfg.ReconcileIntervalMax = 600 * time.Millisecond
	cfg.KnownTasks = func(context.Context) []*scheduler.Call_Reconcile_Task {
		return []*scheduler.Call_Reconcile_Task{sdk.ReconcileTask("t2", "a1"), sdk.ReconcileTask("t1", "a1")}
	}
	return cfg
}

func TestReconcileRepeatsUnansweredTasks(t *testing.T) {
	m := newMaster(t)
	h := newRecorder()
	run(t, reconcileConfig(m.Addr()), h)
	next(t, m, scheduler.Call_SUBSCRIBE)
	wantReconcile(t, m, "t1", "t2")
	// t1 is answered (a reason other than reconciliation counts too).
	st := taskStatus("t1", mesos.TaskState_TASK_RUNNING)
	st.Reason = nil
	if err := m.SendUpdate(st); err != nil {
		t.Fatal(err)
	}
	recv(t, h.updates, "update")
	// t2 is not: it is reconciled again, twice (back-off), alone.
	wantReconcile(t, m, "t2")
	wantReconcile(t, m, "t2")
	if err := m.SendUpdate(taskStatus("t2", mesos.TaskState_TASK_LOST)); err != nil {
		t.Fatal(err)
	}
	wantReconcile(t, m) // implicit, once everything is answered
	if c, err := m.Next(scheduler.Call_RECONCILE, 2*time.Second); err == nil {
		t.Errorf("RECONCILE after the implicit reconciliation: %v", reconcileIDs(c))
	}
}

func TestReconcileRestartsOnResubscribe(t *testing.T) {
	m := newMaster(t)
	h := newRecorder()
	run(t, reconcileConfig(m.Addr()), h)
	next(t, m, scheduler.Call_SUBSCRIBE)
	wantReconcile(t, m, "t1", "t2")
	if err := m.SendUpdate(taskStatus("t1", mesos.TaskState_TASK_RUNNING)); err != nil {
		t.Fatal(err)
	}
	recv(t, h.updates, "update")
	m.Drop()
	recv(t, h.disconnected, "disconnect")
	// The new subscription reconciles every known task again, and repeats for the unanswered.
	next(t, m, scheduler.Call_SUBSCRIBE)
	wantReconcile(t, m, "t1", "t2")
	if err := m.SendUpdate(taskStatus("t2", mesos.TaskState_TASK_RUNNING)); err != nil {
		t.Fatal(err)
	}
	wantReconcile(t, m, "t1")
	if err := m.SendUpdate(taskStatus("t1", mesos.TaskState_TASK_RUNNING)); err != nil {
		t.Fatal(err)
	}
	wantReconcile(t, m)
}

func TestOffersLaunch(t *testing.T) {
	m := newMaster(t)
	h := newRecorder()
	launched := make(chan error, 1)
	h.onOffers = func(ctx context.Context, s *sdk.Scheduler, offers []*mesos.Offer) {
		task := sdk.CommandTask("sleeper", "task-1", "sleep 1", resources.MustParse("cpus:0.1;mem:32"))
		launched <- s.Launch(ctx, offers[0].GetId(), task)
	}
	run(t, testConfig(m.Addr()), h)
	recv(t, h.subscribed, "SUBSCRIBED")

	if err := m.SendOffers(m.NewOffer("o-1", "agent-1", "cpus:1;mem:128")); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, launched, "launch"); err != nil {
		t.Fatalf("Launch: %v", err)
	}
	acc := next(t, m, scheduler.Call_ACCEPT).GetAccept()
	if ids := acc.GetOfferIds(); len(ids) != 1 || ids[0].GetValue() != "o-1" {
		t.Errorf("accepted offers = %v", ids)
	}
	ops := acc.GetOperations()
	if len(ops) != 1 || ops[0].GetType() != mesos.Offer_Operation_LAUNCH {
		t.Fatalf("operations = %v", ops)
	}
	task := ops[0].GetLaunch().GetTaskInfos()[0]
	if task.GetAgentId().GetValue() != "agent-1" || task.GetTaskId().GetValue() != "task-1" ||
		task.GetCommand().GetValue() != "sleep 1" || !task.GetCommand().GetShell() {
		t.Errorf("task = %v", task)
	}
	if r, err := resources.FromProto(task.GetResources()); err != nil || !r.Equal(resources.MustParse("cpus:0.1;mem:32")) {
		t.Errorf("task resources = %v (%v)", r, err)
	}
}

func TestNoopHandlerDeclines(t *testing.T) {
	m := newMaster(t)
	h := newRecorder()
	run(t, testConfig(m.Addr()), h)
	recv(t, h.subscribed, "SUBSCRIBED")
	if err := m.SendOffers(m.NewOffer("o-1", "a", "cpus:1"), m.NewOffer("o-2", "b", "cpus:1")); err != nil {
		t.Fatal(err)
	}
	dec := next(t, m, scheduler.Call_DECLINE).GetDecline()
	if len(dec.GetOfferIds()) != 2 || dec.GetFilters().GetRefuseSeconds() != 5 {
		t.Errorf("decline = %v", dec)
	}
}

func TestUpdateAcknowledge(t *testing.T) {
	tests := []struct {
		name    string
		autoAck bool
	}{
		{name: "auto", autoAck: true},
		{name: "manual", autoAck: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMaster(t)
			h := newRecorder()
			cfg := testConfig(m.Addr())
			cfg.AutoAcknowledge = tt.autoAck
			s, _ := run(t, cfg, h)
			recv(t, h.subscribed, "SUBSCRIBED")

			// An update without uuid (from reconciliation) is never acknowledged.
			if err := m.SendUpdate(sdktest.NewStatus("t0", "a1", mesos.TaskState_TASK_RUNNING, nil)); err != nil {
				t.Fatal(err)
			}
			uuid := []byte("0123456789abcdef")
			if err := m.SendUpdate(sdktest.NewStatus("t1", "a1", mesos.TaskState_TASK_RUNNING, uuid)); err != nil {
				t.Fatal(err)
			}
			recv(t, h.updates, "update t0")
			st := recv(t, h.updates, "update t1")
			if !tt.autoAck {
				if err := s.Acknowledge(context.Background(), st); err != nil {
					t.Fatal(err)
				}
			}
			ack := next(t, m, scheduler.Call_ACKNOWLEDGE).GetAcknowledge()
			if ack.GetTaskId().GetValue() != "t1" || ack.GetAgentId().GetValue() != "a1" || string(ack.GetUuid()) != string(uuid) {
				t.Errorf("ack = %v", ack)
			}
			// The automatic ack waits for Update to return; a manual one is the caller's.
			if tt.autoAck && h.updateDone.Load() != 2 {
				t.Errorf("ack sent before Update returned")
			}
			if _, err := m.Next(scheduler.Call_ACKNOWLEDGE, 50*time.Millisecond); err == nil {
				t.Errorf("second ACKNOWLEDGE sent")
			}
		})
	}
}

func TestResubscribeAfterStreamDrop(t *testing.T) {
	m := newMaster(t)
	m.SetFrameworkID("fw-7")
	h := newRecorder()
	run(t, testConfig(m.Addr()), h)
	next(t, m, scheduler.Call_SUBSCRIBE)
	recv(t, h.subscribed, "SUBSCRIBED")

	m.Drop()
	if err := recv(t, h.disconnected, "Disconnected"); !errors.Is(err, sdk.ErrStreamClosed) {
		t.Errorf("Disconnected(%v), want ErrStreamClosed", err)
	}
	again := next(t, m, scheduler.Call_SUBSCRIBE)
	if again.GetFrameworkId().GetValue() != "fw-7" || again.GetSubscribe().GetFrameworkInfo().GetId().GetValue() != "fw-7" {
		t.Errorf("resubscribe = %v, want framework id fw-7", again)
	}
	recv(t, h.subscribed, "second SUBSCRIBED")
}

func TestResumeFromStore(t *testing.T) {
	m := newMaster(t)
	store := &sdk.MemoryIDStore{}
	if err := store.Save(context.Background(), "fw-stored"); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(m.Addr())
	cfg.FrameworkIDStore = store
	h := newRecorder()
	run(t, cfg, h)
	sub := next(t, m, scheduler.Call_SUBSCRIBE)
	if sub.GetFrameworkId().GetValue() != "fw-stored" {
		t.Errorf("subscribe framework id = %v", sub.GetFrameworkId())
	}
	if got := recv(t, h.subscribed, "SUBSCRIBED").GetFrameworkId().GetValue(); got != "fw-stored" {
		t.Errorf("subscribed as %q", got)
	}
}

func TestRedirectFollowed(t *testing.T) {
	leader := newMaster(t)
	follower := newMaster(t)
	follower.SetRedirect(leader.Addr())
	h := newRecorder()
	s, _ := run(t, testConfig(follower.Addr()), h)
	recv(t, h.subscribed, "SUBSCRIBED")
	next(t, leader, scheduler.Call_RECONCILE) // calls go to the leader
	if err := s.Revive(context.Background()); err != nil {
		t.Fatal(err)
	}
	next(t, leader, scheduler.Call_REVIVE)
	if n := len(follower.Calls()); n != 0 {
		t.Errorf("follower decoded %d calls, want none (it redirects)", n)
	}
}

func TestUnreachableMasterSkipped(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	deadAddr := strings.TrimPrefix(dead.URL, "http://")
	dead.Close()
	m := newMaster(t)
	h := newRecorder()
	run(t, testConfig(deadAddr, m.Addr()), h)
	recv(t, h.subscribed, "SUBSCRIBED")
}

func TestHeartbeatTimeoutReconnects(t *testing.T) {
	m := newMaster(t)
	m.SetHeartbeat(10*time.Millisecond, false) // announces heartbeats, never sends them
	h := newRecorder()
	run(t, testConfig(m.Addr()), h)
	recv(t, h.subscribed, "SUBSCRIBED")
	if err := recv(t, h.disconnected, "Disconnected"); !errors.Is(err, sdk.ErrHeartbeatTimeout) {
		t.Errorf("Disconnected(%v), want ErrHeartbeatTimeout", err)
	}
	recv(t, h.subscribed, "second SUBSCRIBED")
}

func TestHeartbeatsKeepStream(t *testing.T) {
	m := newMaster(t)
	m.SetHeartbeat(5*time.Millisecond, true)
	h := newRecorder()
	cfg := testConfig(m.Addr())
	cfg.MissedHeartbeats = 40 // 200ms without an event
	s, _ := run(t, cfg, h)
	recv(t, h.subscribed, "SUBSCRIBED")
	// Make calls for longer than the timeout; each round trip is independent of the stream,
	// so a missed-heartbeat disconnect would show up as a second subscription.
	deadline := time.Now().Add(400 * time.Millisecond)
	for time.Now().Before(deadline) {
		if err := s.Revive(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := m.Subscriptions(); n != 1 {
		t.Errorf("subscriptions = %d, want 1", n)
	}
	select {
	case err := <-h.disconnected:
		t.Errorf("disconnected: %v", err)
	default:
	}
}

func TestTeardownEndsRun(t *testing.T) {
	m := newMaster(t)
	store := &sdk.MemoryIDStore{}
	cfg := testConfig(m.Addr())
	cfg.FrameworkIDStore = store
	h := newRecorder()
	s, done := run(t, cfg, h)
	recv(t, h.subscribed, "SUBSCRIBED")
	if err := s.Teardown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, done, "Run to return"); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	next(t, m, scheduler.Call_TEARDOWN)
	if id, _ := store.Load(context.Background()); id != "" {
		t.Errorf("stored id after teardown = %q", id)
	}
	if err := s.Revive(context.Background()); !errors.Is(err, sdk.ErrNotSubscribed) {
		t.Errorf("call after teardown = %v, want ErrNotSubscribed", err)
	}
}

func TestErrorEventEndsRun(t *testing.T) {
	m := newMaster(t)
	h := newRecorder()
	_, done := run(t, testConfig(m.Addr()), h)
	recv(t, h.subscribed, "SUBSCRIBED")
	if err := m.SendError("Framework has been removed"); err != nil {
		t.Fatal(err)
	}
	if msg := recv(t, h.errors, "Error"); msg != "Framework has been removed" {
		t.Errorf("Error(%q)", msg)
	}
	var ev *sdk.ErrorEvent
	if err := recv(t, done, "Run to return"); !errors.As(err, &ev) || ev.Message != "Framework has been removed" {
		t.Errorf("Run = %v, want *ErrorEvent", err)
	}
}

func TestSubscribeRejected(t *testing.T) {
	m := newMaster(t)
	m.SetReject(http.StatusForbidden, "Framework has been removed")
	_, done := run(t, testConfig(m.Addr()), newRecorder())
	var ce *sdk.CallError
	err := recv(t, done, "Run to return")
	if !errors.As(err, &ce) || ce.StatusCode != http.StatusForbidden || ce.Message != "Framework has been removed" {
		t.Fatalf("Run = %v, want 403 CallError", err)
	}
	if !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "Framework has been removed") {
		t.Errorf("error text %q lacks status or message", err)
	}
}

func TestCallErrorCarriesStatusAndMessage(t *testing.T) {
	m := newMaster(t)
	h := newRecorder()
	s, _ := run(t, testConfig(m.Addr()), h)
	recv(t, h.subscribed, "SUBSCRIBED")
	m.SetFrameworkID("someone-else")
	err := s.Kill(context.Background(), sdk.TaskID("t"), nil)
	var ce *sdk.CallError
	if !errors.As(err, &ce) || ce.StatusCode != http.StatusBadRequest || ce.Call != scheduler.Call_KILL || !strings.Contains(ce.Message, "framework id") {
		t.Errorf("Kill = %v, want 400 CallError with the master's message", err)
	}
}

func TestSetWantOffers(t *testing.T) {
	m := newMaster(t)
	h := newRecorder()
	cfg := testConfig(m.Addr())
	cfg.WantOffers = false
	cfg.ImplicitReconcile = false
	cfg.Framework.Roles = []string{"web"}
	s, _ := run(t, cfg, h)
	sub := next(t, m, scheduler.Call_SUBSCRIBE)
	if got := sub.GetSubscribe().GetSuppressedRoles(); len(got) != 1 || got[0] != "web" {
		t.Errorf("suppressed roles = %v, want [web]", got)
	}
	recv(t, h.subscribed, "SUBSCRIBED")
	ctx := context.Background()
	for _, want := range []bool{false, true, true, false, false, true} {
		if err := s.SetWantOffers(ctx, want); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, c := range m.Calls() {
		if t := c.GetType(); t == scheduler.Call_SUPPRESS || t == scheduler.Call_REVIVE {
			got = append(got, t.String())
		}
	}
	if want := "REVIVE SUPPRESS REVIVE"; strings.Join(got, " ") != want {
		t.Errorf("calls = %v, want %s", got, want)
	}
}

func TestCallsBeforeSubscribe(t *testing.T) {
	m := newMaster(t)
	s, err := sdk.NewScheduler(testConfig(m.Addr()), nil, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Decline(context.Background(), []*mesos.OfferID{sdk.OfferID("o")}, 0); !errors.Is(err, sdk.ErrNotSubscribed) {
		t.Errorf("Decline = %v, want ErrNotSubscribed", err)
	}
	if err := s.SetWantOffers(context.Background(), false); err != nil {
		t.Errorf("SetWantOffers while disconnected = %v, want nil", err)
	}
}

func TestLaunchUnknownOffer(t *testing.T) {
	m := newMaster(t)
	h := newRecorder()
	s, _ := run(t, testConfig(m.Addr()), h)
	recv(t, h.subscribed, "SUBSCRIBED")
	task := sdk.CommandTask("x", "x", "true", resources.MustParse("cpus:0.1"))
	if err := s.Launch(context.Background(), sdk.OfferID("nope"), task); !errors.Is(err, sdk.ErrUnknownOffer) {
		t.Errorf("Launch = %v, want ErrUnknownOffer", err)
	}
}
