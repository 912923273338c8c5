package batch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/agoracluster/agora/frameworks/batch/run"
	"github.com/agoracluster/agora/frameworks/sdk/sdktest"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fixture is a Batch against a fake master, with its API on a loopback port.
type fixture struct {
	t      *testing.T
	master *sdktest.Master
	dir    string
	base   string
	stop   func()
	b      *Batch
	clock  *fakeClock // nil: the real clock
	tune   func(*Config)
}

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func newFixture(t *testing.T) *fixture { return newFixtureClock(t, nil) }

func newFixtureClock(t *testing.T, clock *fakeClock) *fixture { return newFixtureWith(t, clock, nil) }

func newFixtureWith(t *testing.T, clock *fakeClock, tune func(*Config)) *fixture {
	f := &fixture{t: t, master: sdktest.NewMaster(), dir: t.TempDir(), clock: clock, tune: tune}
	t.Cleanup(f.master.Close)
	f.start()
	t.Cleanup(func() { f.stop() })
	return f
}

func (f *fixture) start() {
	cfg := DefaultConfig()
	cfg.Masters = []string{f.master.Addr()}
	cfg.WorkDir = f.dir
	cfg.TickInterval = 10 * time.Millisecond
	cfg.Retry.Initial, cfg.Retry.Max = 10*time.Millisecond, 10*time.Millisecond
	if f.tune != nil {
		f.tune(&cfg)
	}
	var opts []Option
	if f.clock != nil {
		opts = append(opts, WithClock(f.clock.Now))
	}
	b, err := New(cfg, zaptest.NewLogger(f.t), opts...)
	if err != nil {
		f.t.Fatal(err)
	}
	f.b = b
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.t.Fatal(err)
	}
	f.base = "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := b.Run(ctx, ln); err != nil {
			f.t.Errorf("run: %v", err)
		}
	}()
	f.stop = func() { cancel(); wg.Wait() }
	f.next(scheduler.Call_SUBSCRIBE)
}

// tick runs one loop tick now.
func (f *fixture) tick() {
	f.t.Helper()
	if err := f.b.do(context.Background(), f.b.tick); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) restart() {
	f.t.Helper()
	f.stop()
	f.start()
}

func (f *fixture) next(typ scheduler.Call_Type) *scheduler.Call {
	f.t.Helper()
	c, err := f.master.Next(typ, 10*time.Second)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fixture) do(method, path, body string, want int, v any) {
	f.t.Helper()
	req, err := http.NewRequest(method, f.base+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		f.t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			f.t.Fatalf("decode %s: %v", b, err)
		}
	}
}

type runJSON struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Tasks  []struct {
		ID         string `json:"id"`
		Status     string `json:"status"`
		ExitStatus *int   `json:"exitStatus"`
	} `json:"tasks"`
}

// waitRun polls the run until cond holds.
func (f *fixture) waitRun(job, id string, cond func(runJSON) bool) runJSON {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var r runJSON
		f.do("GET", "/v1/jobs/"+job+"/runs/"+id, "", 200, &r)
		if cond(r) {
			return r
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("run %s: condition not met; last %+v", id, r)
		}
		time.Sleep(5 * time.Millisecond) // polling a real HTTP server with a deadline
	}
}

func (f *fixture) update(taskID string, state mesos.TaskState, msg string) {
	f.t.Helper()
	st := sdktest.NewStatus(taskID, "a1", state, []byte(taskID+state.String()))
	if msg != "" {
		st.Message = &msg
	}
	if err := f.master.SendUpdate(st); err != nil {
		f.t.Fatal(err)
	}
	ack := f.next(scheduler.Call_ACKNOWLEDGE)
	if got := ack.GetAcknowledge().GetTaskId().GetValue(); got != taskID {
		f.t.Fatalf("acknowledged %s, want %s", got, taskID)
	}
}

func launched(c *scheduler.Call) []*mesos.TaskInfo {
	var out []*mesos.TaskInfo
	for _, op := range c.GetAccept().GetOperations() {
		out = append(out, op.GetLaunch().GetTaskInfos()...)
	}
	return out
}

func TestRunNowSucceedsAndSurvivesRestart(t *testing.T) {
	f := newFixture(t)
	f.do("POST", "/v1/jobs", `{"id":"prod.backup","run":{"cmd":"echo hi","cpus":0.5,"mem":32}}`, 201, nil)
	var r runJSON
	f.do("POST", "/v1/jobs/prod.backup/runs", "", 201, &r)
	if r.Status != "INITIAL" || !strings.HasPrefix(r.ID, time.Now().UTC().Format("2006")) {
		t.Fatalf("new run %+v", r)
	}
	f.next(scheduler.Call_REVIVE)
	if err := f.master.SendOffers(f.master.NewOffer("o1", "a1", "cpus:4;mem:1024")); err != nil {
		t.Fatal(err)
	}
	tasks := launched(f.next(scheduler.Call_ACCEPT))
	if len(tasks) != 1 || tasks[0].GetTaskId().GetValue() != "prod.backup_"+r.ID+".1" || tasks[0].GetCommand().GetValue() != "echo hi" {
		t.Fatalf("launched %v", tasks)
	}
	f.next(scheduler.Call_SUPPRESS)
	id := tasks[0].GetTaskId().GetValue()
	f.update(id, mesos.TaskState_TASK_RUNNING, "")
	f.waitRun("prod.backup", r.ID, func(r runJSON) bool { return r.Status == "ACTIVE" })

	f.restart() // nothing is lost: the run is active again and its task reconciled
	rec := f.next(scheduler.Call_RECONCILE)
	for len(rec.GetReconcile().GetTasks()) == 0 { // the implicit ones of the first subscription
		rec = f.next(scheduler.Call_RECONCILE)
	}
	if ts := rec.GetReconcile().GetTasks(); len(ts) != 1 || ts[0].GetTaskId().GetValue() != id {
		t.Fatalf("reconciled %v, want %s", ts, id)
	}
	f.update(id, mesos.TaskState_TASK_FINISHED, "")
	got := f.waitRun("prod.backup", r.ID, func(r runJSON) bool { return r.Status == "SUCCESS" })
	if got.Tasks[0].ExitStatus == nil || *got.Tasks[0].ExitStatus != 0 {
		t.Fatalf("task %+v, want exit status 0", got.Tasks[0])
	}
	var j struct {
		HistorySummary struct{ SuccessCount int } `json:"historySummary"`
		ActiveRuns     []runJSON                  `json:"activeRuns"`
	}
	f.do("GET", "/v1/jobs/prod.backup?embed=historySummary&embed=activeRuns", "", 200, &j)
	if j.HistorySummary.SuccessCount != 1 || len(j.ActiveRuns) != 0 {
		t.Fatalf("job %+v", j)
	}
	f.restart()
	f.do("GET", "/v1/jobs/prod.backup?embed=historySummary", "", 200, &j)
	if j.HistorySummary.SuccessCount != 1 {
		t.Fatalf("after restart: %+v", j)
	}
	f.waitRun("prod.backup", r.ID, func(r runJSON) bool { return r.Status == "SUCCESS" })
}

func TestManyTasksPerOffer(t *testing.T) {
	f := newFixture(t)
	f.do("POST", "/v1/jobs", `{"id":"wide","run":{"cmd":"true","cpus":1,"mem":32,"parallelism":6,"completions":6}}`, 201, nil)
	var r runJSON
	f.do("POST", "/v1/jobs/wide/runs", "", 201, &r)
	f.next(scheduler.Call_REVIVE)
	if err := f.master.SendOffers(f.master.NewOffer("o1", "a1", "cpus:4;mem:1024"), f.master.NewOffer("o2", "a2", "cpus:4;mem:1024")); err != nil {
		t.Fatal(err)
	}
	n := len(launched(f.next(scheduler.Call_ACCEPT))) + len(launched(f.next(scheduler.Call_ACCEPT)))
	if n != 6 {
		t.Fatalf("launched %d tasks on two offers, want 6", n)
	}
}

func TestFailureRetriedThenStopped(t *testing.T) {
	f := newFixture(t)
	f.do("POST", "/v1/jobs", `{"id":"flaky","run":{"cmd":"false","cpus":1,"mem":32,"restart":{"policy":"ON_FAILURE"}}}`, 201, nil)
	var r runJSON
	f.do("POST", "/v1/jobs/flaky/runs", "", 201, &r)
	f.next(scheduler.Call_REVIVE)
	if err := f.master.SendOffers(f.master.NewOffer("o1", "a1", "cpus:4;mem:1024")); err != nil {
		t.Fatal(err)
	}
	first := launched(f.next(scheduler.Call_ACCEPT))[0].GetTaskId().GetValue()
	f.update(first, mesos.TaskState_TASK_FAILED, "Command exited with status 1")
	f.next(scheduler.Call_REVIVE) // after the back-off
	if err := f.master.SendOffers(f.master.NewOffer("o2", "a1", "cpus:4;mem:1024")); err != nil {
		t.Fatal(err)
	}
	second := launched(f.next(scheduler.Call_ACCEPT))[0].GetTaskId().GetValue()
	if second == first {
		t.Fatalf("retry reused task id %s", first)
	}
	var stopped runJSON
	f.do("POST", "/v1/jobs/flaky/runs/"+r.ID+"/actions/stop", "", 200, &stopped)
	if stopped.Status != "FAILED" {
		t.Fatalf("stopped run %+v", stopped)
	}
	if kill := f.next(scheduler.Call_KILL); kill.GetKill().GetTaskId().GetValue() != second {
		t.Fatalf("killed %v, want %s", kill, second)
	}
	got := f.waitRun("flaky", r.ID, func(r runJSON) bool { return r.Status == "FAILED" })
	if got.Tasks[0].ExitStatus == nil || *got.Tasks[0].ExitStatus != 1 {
		t.Fatalf("first task %+v, want exit status 1", got.Tasks[0])
	}
}

func TestDeleteWithActiveRuns(t *testing.T) {
	f := newFixture(t)
	f.do("POST", "/v1/jobs", `{"id":"long","run":{"cmd":"sleep 100","cpus":1,"mem":32}}`, 201, nil)
	f.do("POST", "/v1/jobs", `{"id":"long","run":{"cmd":"sleep 100","cpus":1,"mem":32}}`, 409, nil)
	f.do("POST", "/v1/jobs/long/runs", "", 201, nil)
	f.do("DELETE", "/v1/jobs/long", "", 409, nil)
	f.do("DELETE", "/v1/jobs/long?stopCurrentJobRuns=true", "", 200, nil)
	f.do("GET", "/v1/jobs/long", "", 404, nil)
	f.restart()
	f.do("GET", "/v1/jobs/long", "", 404, nil)
}

func TestScheduleFiresOnceAcrossRestarts(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 30, 0, time.UTC)}
	f := newFixtureClock(t, clock)
	f.do("POST", "/v1/jobs", `{"id":"cron","run":{"cmd":"true","cpus":1,"mem":32}}`, 201, nil)
	f.do("POST", "/v1/jobs/cron/schedules", `{"id":"every-minute","cron":"* * * * *","startingDeadlineSeconds":120}`, 201, nil)
	runs := func() []runJSON {
		var j struct {
			ActiveRuns []runJSON `json:"activeRuns"`
			History    struct {
				FailedFinishedRuns []struct{ ID string } `json:"failedFinishedRuns"`
			} `json:"history"`
		}
		f.do("GET", "/v1/jobs/cron?embed=activeRuns&embed=history", "", 200, &j)
		out := j.ActiveRuns
		for _, r := range j.History.FailedFinishedRuns {
			out = append(out, runJSON{ID: r.ID, Status: "FAILED"})
		}
		return out
	}
	f.tick()
	if n := len(runs()); n != 0 {
		t.Fatalf("%d runs before the first fire time", n)
	}
	var sc struct{ NextRunAt string }
	f.do("GET", "/v1/jobs/cron/schedules/every-minute", "", 200, &sc)
	if sc.NextRunAt != "2026-01-02T03:05:00.000+0000" {
		t.Fatalf("nextRunAt %q, want 03:05", sc.NextRunAt)
	}
	clock.Set(time.Date(2026, 1, 2, 3, 5, 10, 0, time.UTC))
	f.tick()
	got := runs()
	if len(got) != 1 || !strings.HasPrefix(got[0].ID, "20260102030510") {
		t.Fatalf("runs after 03:05 = %+v, want one started at 03:05:10", got)
	}
	f.restart() // the 03:05 fire time is not started again
	f.tick()
	if n := len(runs()); n != 1 {
		t.Fatalf("%d runs after a restart, want 1", n)
	}
	f.stop()
	clock.Set(time.Date(2026, 1, 2, 3, 6, 50, 0, time.UTC)) // 03:06 fell due while down
	f.start()
	f.tick()
	if n := len(runs()); n != 2 {
		t.Fatalf("%d runs after the 03:06 fire time passed while down, want 2", n)
	}
	f.stop()
	clock.Set(time.Date(2026, 1, 2, 3, 10, 0, 0, time.UTC)) // 03:07 to 03:09 missed, only 03:09 within the deadline... and 03:10 now
	f.start()
	f.tick()
	f.tick()
	if n := len(runs()); n != 3 {
		t.Fatalf("%d runs after a missed window, want 3 (one run for the window)", n)
	}
}

func TestDependencies(t *testing.T) {
	f := newFixture(t)
	f.do("POST", "/v1/jobs", `{"id":"child","dependencies":["parent"],"run":{"cmd":"true","cpus":1,"mem":32}}`, 422, nil)
	f.do("POST", "/v1/jobs", `{"id":"parent","run":{"cmd":"true","cpus":1,"mem":32}}`, 201, nil)
	f.do("POST", "/v1/jobs", `{"id":"child","dependencies":["parent"],"run":{"cmd":"true","cpus":1,"mem":32}}`, 201, nil)
	f.do("PUT", "/v1/jobs/parent", `{"id":"parent","dependencies":["child"],"run":{"cmd":"true","cpus":1,"mem":32}}`, 422, nil)
	f.do("DELETE", "/v1/jobs/parent", "", 409, nil)

	var r runJSON
	f.do("POST", "/v1/jobs/parent/runs", "", 201, &r)
	f.next(scheduler.Call_REVIVE)
	if err := f.master.SendOffers(f.master.NewOffer("o1", "a1", "cpus:4;mem:1024")); err != nil {
		t.Fatal(err)
	}
	parentTask := launched(f.next(scheduler.Call_ACCEPT))[0].GetTaskId().GetValue()
	f.update(parentTask, mesos.TaskState_TASK_FINISHED, "")
	f.next(scheduler.Call_REVIVE) // the child's run wants offers
	var child []runJSON
	f.do("GET", "/v1/jobs/child/runs", "", 200, &child)
	if len(child) != 1 {
		t.Fatalf("child runs %+v, want one started by its parent", child)
	}
	if err := f.master.SendOffers(f.master.NewOffer("o2", "a1", "cpus:4;mem:1024")); err != nil {
		t.Fatal(err)
	}
	childTask := launched(f.next(scheduler.Call_ACCEPT))[0].GetTaskId().GetValue()
	if !strings.HasPrefix(childTask, "child_"+child[0].ID+".") {
		t.Fatalf("launched %s for the child run %s", childTask, child[0].ID)
	}
}

func TestEventsOfAJobAndRun(t *testing.T) {
	f := newFixture(t)
	sub, err := f.b.bus.Subscribe(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	f.do("POST", "/v1/jobs", `{"id":"ev","run":{"cmd":"true","cpus":1,"mem":32}}`, 201, nil)
	var r runJSON
	f.do("POST", "/v1/jobs/ev/runs", "", 201, &r)
	f.do("POST", "/v1/jobs/ev/runs/"+r.ID+"/actions/stop", "", 200, nil)
	f.do("DELETE", "/v1/jobs/ev", "", 200, nil)
	want := []string{EventJobCreated, EventRunStarted, EventRunFinished, EventJobDeleted}
	timeout := time.After(10 * time.Second)
	for _, typ := range want {
		select {
		case msg := <-sub.C():
			if msg.Type != typ || !strings.Contains(string(msg.Data), `"jobId":"ev"`) {
				t.Fatalf("event %s %s, want %s of job ev", msg.Type, msg.Data, typ)
			}
			if typ == EventRunFinished && !strings.Contains(string(msg.Data), `"status":"FAILED"`) {
				t.Fatalf("run_finished %s, want status FAILED", msg.Data)
			}
		case <-timeout:
			t.Fatalf("no %s event", typ)
		}
	}
}

func TestPlacementConstraints(t *testing.T) {
	f := newFixture(t)
	f.do("POST", "/v1/jobs", `{"id":"pinned","run":{"cmd":"true","cpus":1,"mem":32,
		"placement":{"constraints":[{"attribute":"hostname","operator":"EQ","value":"a2.test"}]}}}`, 201, nil)
	f.do("POST", "/v1/jobs/pinned/runs", "", 201, nil)
	f.next(scheduler.Call_REVIVE)
	if err := f.master.SendOffers(f.master.NewOffer("o1", "a1", "cpus:4;mem:1024"), f.master.NewOffer("o2", "a2", "cpus:4;mem:1024")); err != nil {
		t.Fatal(err)
	}
	acc := f.next(scheduler.Call_ACCEPT)
	if ids := acc.GetAccept().GetOfferIds(); len(ids) != 1 || ids[0].GetValue() != "o2" || len(launched(acc)) != 1 {
		t.Fatalf("accepted %v with %d tasks, want o2 with one", ids, len(launched(acc)))
	}
	if dec := f.next(scheduler.Call_DECLINE); dec.GetDecline().GetOfferIds()[0].GetValue() != "o1" {
		t.Fatalf("declined %v, want o1", dec.GetDecline().GetOfferIds())
	}
}

func TestTaskUnknownToTheMasterIsLaunchedAgain(t *testing.T) {
	f := newFixture(t)
	f.do("POST", "/v1/jobs", `{"id":"lost","run":{"cmd":"true","cpus":1,"mem":32}}`, 201, nil)
	var r runJSON
	f.do("POST", "/v1/jobs/lost/runs", "", 201, &r)
	f.next(scheduler.Call_REVIVE)
	if err := f.master.SendOffers(f.master.NewOffer("o1", "a1", "cpus:4;mem:1024")); err != nil {
		t.Fatal(err)
	}
	first := launched(f.next(scheduler.Call_ACCEPT))[0].GetTaskId().GetValue()
	st := sdktest.NewStatus(first, "a1", mesos.TaskState_TASK_LOST, nil)
	st.Source = mesos.TaskStatus_SOURCE_MASTER.Enum()
	st.Reason = mesos.TaskStatus_REASON_RECONCILIATION.Enum()
	if err := f.master.SendUpdate(st); err != nil {
		t.Fatal(err)
	}
	f.next(scheduler.Call_REVIVE)
	if err := f.master.SendOffers(f.master.NewOffer("o2", "a1", "cpus:4;mem:1024")); err != nil {
		t.Fatal(err)
	}
	second := launched(f.next(scheduler.Call_ACCEPT))[0].GetTaskId().GetValue()
	if second == first {
		t.Fatalf("relaunched as %s, the same id", second)
	}
	got := f.waitRun("lost", r.ID, func(r runJSON) bool { return len(r.Tasks) == 1 })
	if got.Status != "STARTING" || got.Tasks[0].ID != second {
		t.Fatalf("run %+v, want STARTING with only %s (no failure counted)", got, second)
	}
}

func TestMaxTasksPerOffer(t *testing.T) {
	f := newFixtureWith(t, nil, func(c *Config) { c.MaxTasksPerOffer = 2 })
	f.do("POST", "/v1/jobs", `{"id":"wide","run":{"cmd":"true","cpus":0.1,"mem":1,"parallelism":5,"completions":5}}`, 201, nil)
	f.do("POST", "/v1/jobs/wide/runs", "", 201, nil)
	f.next(scheduler.Call_REVIVE)
	if err := f.master.SendOffers(f.master.NewOffer("o1", "a1", "cpus:4;mem:1024")); err != nil {
		t.Fatal(err)
	}
	if n := len(launched(f.next(scheduler.Call_ACCEPT))); n != 2 {
		t.Fatalf("launched %d tasks on one offer, want the limit of 2", n)
	}
	if err := f.master.SendOffers(f.master.NewOffer("o2", "a1", "cpus:4;mem:1024")); err != nil {
		t.Fatal(err)
	}
	if n := len(launched(f.next(scheduler.Call_ACCEPT))); n != 2 {
		t.Fatalf("launched %d tasks on the next offer, want 2", n)
	}
}

// TestRunOfManyTasksIsStoredInPages: a run of more tasks than one store value may hold (a
// ZooKeeper node holds 1 MiB) is stored as a header with its first run.PageSize tasks and
// pages of the rest; a restart reads every task back with its state, and deleting the job
// deletes the pages too.
func TestRunOfManyTasksIsStoredInPages(t *testing.T) {
	n := 2*run.PageSize + 500
	f := newFixtureWith(t, nil, func(c *Config) { c.MaxTasksPerOffer = n })
	f.do("POST", "/v1/jobs", fmt.Sprintf(`{"id":"wide","run":{"cmd":"true","cpus":0.01,"mem":1,"parallelism":%d,"completions":%d}}`, n, n), 201, nil)
	var r runJSON
	f.do("POST", "/v1/jobs/wide/runs", "", 201, &r)
	f.next(scheduler.Call_REVIVE)
	if err := f.master.SendOffers(f.master.NewOffer("o1", "a1", "cpus:100;mem:100000")); err != nil {
		t.Fatal(err)
	}
	tasks := launched(f.next(scheduler.Call_ACCEPT))
	if len(tasks) != n {
		t.Fatalf("launched %d tasks, want %d", len(tasks), n)
	}
	last := tasks[n-1].GetTaskId().GetValue()
	f.update(last, mesos.TaskState_TASK_RUNNING, "")
	f.waitRun("wide", r.ID, func(r runJSON) bool { return len(r.Tasks) == n && r.Tasks[n-1].Status == "TASK_RUNNING" })

	pages := func() (header int64, names []string) {
		err := filepath.WalkDir(f.dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && strings.HasPrefix(d.Name(), "tasks-") {
				names = append(names, d.Name())
			}
			if d.IsDir() && strings.HasPrefix(d.Name(), "wide:") {
				if fi, err := os.Stat(filepath.Join(path, "~value")); err == nil {
					header = fi.Size()
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return header, names
	}
	f.restart()
	got := f.waitRun("wide", r.ID, func(r runJSON) bool { return len(r.Tasks) == n })
	if got.Tasks[n-1].ID != last || got.Tasks[n-1].Status != "TASK_RUNNING" {
		t.Fatalf("last task after a restart = %+v, want %s TASK_RUNNING", got.Tasks[n-1], last)
	}
	header, names := pages()
	if header == 0 || header > 1<<19 || !slices.Equal(names, []string{"tasks-1", "tasks-2"}) {
		t.Fatalf("stored: header of %d bytes, pages %v; want a header under 512 KiB and pages tasks-1, tasks-2", header, names)
	}

	f.do("DELETE", "/v1/jobs/wide?stopCurrentJobRuns=true", "", 200, nil)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, names := pages(); len(names) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("task pages left after the job's delete: %v", names)
		}
		time.Sleep(10 * time.Millisecond) // the writer flushes on its own pace
	}
}
