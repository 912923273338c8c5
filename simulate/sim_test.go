package simulate

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/user"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/frameworks/sdk"
	"github.com/agoracluster/agora/frameworks/sdk/offers"
	"github.com/agoracluster/agora/master"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
)

const testWait = 20 * time.Second

// startMaster runs a real master in process on 127.0.0.1:0 until the test ends.
func startMaster(t *testing.T) string {
	t.Helper()
	cfg := master.DefaultConfig()
	cfg.WorkDir = t.TempDir()
	m, err := master.New(cfg, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("master: %v", err)
		}
	})
	return ln.Addr().String()
}

// startSim runs simulated agents until the test ends and waits until all subscribed.
func startSim(t *testing.T, cfg Config) *Sim {
	t.Helper()
	s, err := New(cfg, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sim: %v", err)
		}
	})
	wctx, wcancel := context.WithTimeout(context.Background(), testWait)
	defer wcancel()
	if err := s.WaitConnected(wctx, cfg.Agents); err != nil {
		t.Fatal(err)
	}
	return s
}

// framework is a test scheduler: it launches queued tasks on offers (first fit) and
// records every update; it acknowledges them unless told not to.
type framework struct {
	sdk.NoopHandler
	s *sdk.Scheduler

	mu      sync.Mutex
	queue   []*mesos.TaskInfo
	updates []*mesos.TaskStatus
	latest  map[string]*mesos.TaskStatus
	notify  chan struct{}
}

func startFramework(t *testing.T, addr string, ack bool) *framework {
	t.Helper()
	name := "root"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	cfg := sdk.DefaultConfig()
	cfg.Masters = []string{addr}
	cfg.Framework = &mesos.FrameworkInfo{User: proto.String(name), Name: proto.String("simagent-test")}
	cfg.WantOffers = false
	cfg.AutoAcknowledge = ack
	f := &framework{latest: map[string]*mesos.TaskStatus{}, notify: make(chan struct{}, 1)}
	s, err := sdk.NewScheduler(cfg, f, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	f.s = s
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	f.waitFor(t, "subscribed", func() bool { return s.Subscribed() })
	return f
}

func (f *framework) Offers(ctx context.Context, s *sdk.Scheduler, offered []*mesos.Offer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	pool := offers.NewPool(offered)
	var rest []*mesos.TaskInfo
	for _, ti := range f.queue {
		need, _ := resources.FromProto(ti.GetResources())
		o, _, ok := pool.Take(need)
		if !ok {
			rest = append(rest, ti)
			continue
		}
		o.AddTask(ti)
	}
	f.queue = rest
	for _, o := range pool.Used() {
		_ = s.Launch(ctx, o.ID(), o.Tasks()...)
	}
	_ = s.Decline(ctx, pool.Unused(), time.Second)
	_ = s.SetWantOffers(ctx, len(rest) > 0)
}

func (f *framework) Update(_ context.Context, _ *sdk.Scheduler, st *mesos.TaskStatus) {
	f.mu.Lock()
	f.updates = append(f.updates, st)
	f.latest[st.GetTaskId().GetValue()] = st
	f.mu.Unlock()
	select {
	case f.notify <- struct{}{}:
	default:
	}
}

func (f *framework) launch(t *testing.T, tasks ...*mesos.TaskInfo) {
	t.Helper()
	f.mu.Lock()
	f.queue = append(f.queue, tasks...)
	f.mu.Unlock()
	if err := f.s.SetWantOffers(context.Background(), true); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond after every update (and every 20ms) until the deadline.
func (f *framework) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(testWait)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		case <-f.notify:
		case <-tick.C:
		}
	}
}

// waitStates waits until every task's latest state is state.
func (f *framework) waitStates(t *testing.T, ids []string, state mesos.TaskState) {
	t.Helper()
	f.waitFor(t, fmt.Sprintf("%d tasks %s", len(ids), state), func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, id := range ids {
			if f.latest[id].GetState() != state {
				return false
			}
		}
		return true
	})
}

func (f *framework) latestOf(id string) *mesos.TaskStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.latest[id]
}

func (f *framework) statuses(id string) []*mesos.TaskStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*mesos.TaskStatus
	for _, st := range f.updates {
		if st.GetTaskId().GetValue() == id {
			out = append(out, st)
		}
	}
	return out
}

func testTasks(prefix string, n int, health bool) ([]string, []*mesos.TaskInfo) {
	res := resources.MustParse("cpus:0.1;mem:16")
	var ids []string
	var tasks []*mesos.TaskInfo
	for i := range n {
		id := fmt.Sprintf("%s-%d", prefix, i)
		ti := sdk.CommandTask(id, id, "sleep 1000", res)
		if health {
			ti.HealthCheck = &mesos.HealthCheck{Type: mesos.HealthCheck_COMMAND.Enum(),
				Command: &mesos.CommandInfo{Value: proto.String("true")}}
		}
		ids = append(ids, id)
		tasks = append(tasks, ti)
	}
	return ids, tasks
}

func testConfig(addr string, agents int) Config {
	cfg := DefaultConfig()
	cfg.Master = addr
	cfg.Agents = agents
	cfg.Resources = "cpus:2;mem:1024;disk:1000;ports:[31000-31010]"
	cfg.AttributesFor = func(i int) string { return fmt.Sprintf("rack:r%d;zone:a", i%2) }
	return cfg
}

func TestAgentsRegisterWithTheirInfo(t *testing.T) {
	addr := startMaster(t)
	s := startSim(t, testConfig(addr, 3))
	var st struct {
		Slaves []struct {
			ID         string            `json:"id"`
			Hostname   string            `json:"hostname"`
			Active     bool              `json:"active"`
			Attributes map[string]string `json:"attributes"`
			Resources  map[string]any    `json:"resources"`
		} `json:"slaves"`
	}
	resp, err := http.Get("http://" + addr + "/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if len(st.Slaves) != 3 {
		t.Fatalf("master lists %d agents, want 3", len(st.Slaves))
	}
	ids := map[string]bool{}
	for _, id := range s.AgentIDs() {
		ids[id] = true
	}
	for _, a := range st.Slaves {
		if !a.Active || !ids[a.ID] || !strings.HasPrefix(a.Hostname, "sim-agent-") || a.Attributes["zone"] != "a" || a.Resources["cpus"] != 2.0 {
			t.Errorf("agent %+v: want active, one of %v, hostname sim-agent-N, zone a, 2 cpus", a, s.AgentIDs())
		}
	}
}

func TestTasksRunAndAreKilled(t *testing.T) {
	tests := []struct {
		name        string
		health      bool
		unhealthy   bool
		delay       time.Duration
		wantHealthy *bool
	}{
		{name: "command tasks", wantHealthy: nil},
		{name: "with a running delay", delay: 100 * time.Millisecond},
		{name: "healthy with a health check", health: true, wantHealthy: proto.Bool(true)},
		{name: "unhealthy when told", health: true, unhealthy: true, wantHealthy: proto.Bool(false)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := startMaster(t)
			cfg := testConfig(addr, 4)
			cfg.RunningDelay = tt.delay
			cfg.Unhealthy = tt.unhealthy
			s := startSim(t, cfg)
			f := startFramework(t, addr, true)
			ids, tasks := testTasks("t", 30, tt.health) // 30 × 0.1 cpus does not fit one agent
			f.launch(t, tasks...)
			f.waitStates(t, ids, mesos.TaskState_TASK_RUNNING)
			ctx, cancel := context.WithTimeout(context.Background(), testWait)
			defer cancel()
			if _, err := s.WaitAcked(ctx, mesos.TaskState_TASK_RUNNING, len(ids)); err != nil {
				t.Fatal(err)
			}
			agents := map[string]bool{}
			for _, id := range ids {
				sts := f.statuses(id)
				if len(sts) != 2 || sts[0].GetState() != mesos.TaskState_TASK_STARTING || sts[1].GetState() != mesos.TaskState_TASK_RUNNING {
					t.Fatalf("task %s updates %v, want STARTING, RUNNING", id, sts)
				}
				run := sts[1]
				if run.GetSource() != mesos.TaskStatus_SOURCE_EXECUTOR || run.GetExecutorId().GetValue() != id || len(run.GetUuid()) != 16 {
					t.Errorf("RUNNING of %s = %v: want source executor, executor id = task id, a uuid", id, run)
				}
				if (run.Healthy == nil) != (tt.wantHealthy == nil) || tt.wantHealthy != nil && run.GetHealthy() != *tt.wantHealthy {
					t.Errorf("RUNNING of %s healthy = %v, want %v", id, run.Healthy, tt.wantHealthy)
				}
				agents[run.GetAgentId().GetValue()] = true
			}
			if len(agents) < 2 {
				t.Errorf("tasks ran on %d agents, want them spread over several", len(agents))
			}
			if got := s.Launched(); got != len(ids) {
				t.Errorf("Launched() = %d, want %d", got, len(ids))
			}
			for _, id := range ids {
				if err := f.s.Kill(context.Background(), sdk.TaskID(id), f.latestOf(id).GetAgentId()); err != nil {
					t.Fatal(err)
				}
			}
			f.waitStates(t, ids, mesos.TaskState_TASK_KILLED)
			if _, err := s.WaitAcked(ctx, mesos.TaskState_TASK_KILLED, len(ids)); err != nil {
				t.Fatal(err)
			}
			if left := s.Tasks(); len(left) != 0 {
				t.Errorf("tasks left on the agents after their kill was acknowledged: %v", left)
			}
		})
	}
}

func TestUnacknowledgedUpdatesAreRetried(t *testing.T) {
	addr := startMaster(t)
	cfg := testConfig(addr, 1)
	cfg.RetryInterval = 50 * time.Millisecond
	s := startSim(t, cfg)
	f := startFramework(t, addr, false) // never acknowledges
	ids, tasks := testTasks("r", 1, false)
	f.launch(t, tasks...)
	f.waitFor(t, "TASK_STARTING sent three times", func() bool { return len(f.statuses(ids[0])) >= 3 })
	sts := f.statuses(ids[0])
	for _, st := range sts {
		if st.GetState() != mesos.TaskState_TASK_STARTING || string(st.GetUuid()) != string(sts[0].GetUuid()) {
			t.Fatalf("updates before the first acknowledgement: %v; want the same TASK_STARTING again", sts)
		}
	}
	if s.Acked(mesos.TaskState_TASK_STARTING) != 0 {
		t.Fatal("an update was acknowledged though the framework acknowledges nothing")
	}
	// Once acknowledged, the stream moves on to TASK_RUNNING.
	if err := f.s.Acknowledge(context.Background(), sts[0]); err != nil {
		t.Fatal(err)
	}
	f.waitStates(t, ids, mesos.TaskState_TASK_RUNNING)
}

func TestKillOfUnknownTaskAnswersLost(t *testing.T) {
	addr := startMaster(t)
	s := startSim(t, testConfig(addr, 1))
	f := startFramework(t, addr, true)
	ids, tasks := testTasks("k", 1, false)
	f.launch(t, tasks...)
	f.waitStates(t, ids, mesos.TaskState_TASK_RUNNING)
	agentID := f.latestOf(ids[0]).GetAgentId()
	// The master does not know "ghost": it reconciles (TASK_LOST from the master).
	if err := f.s.Kill(context.Background(), sdk.TaskID("ghost"), agentID); err != nil {
		t.Fatal(err)
	}
	f.waitStates(t, []string{"ghost"}, mesos.TaskState_TASK_LOST)
	if s.Tasks()[mesos.TaskState_TASK_RUNNING] != 1 {
		t.Fatalf("agent tasks %v, want the one running task untouched", s.Tasks())
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{"valid", func(*Config) {}, ""},
		{"no master", func(c *Config) { c.Master = "" }, "master must be set"},
		{"no agents", func(c *Config) { c.Agents = 0 }, "agents must be at least 1"},
		{"bad resources", func(c *Config) { c.Resources = "cpus:x" }, "resources"},
		{"bad attributes", func(c *Config) { c.Attributes = ";;:" }, "attributes"},
		{"negative delay", func(c *Config) { c.RunningDelay = -time.Second }, "running delay"},
		{"no workers", func(c *Config) { c.CallWorkers = 0 }, "call workers"},
		{"no retry", func(c *Config) { c.RetryInterval = 0 }, "retry interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Master = "127.0.0.1:5050"
			tt.modify(&cfg)
			err := cfg.Validate()
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestTasksFinishAfterFinishDelay(t *testing.T) {
	addr := startMaster(t)
	cfg := testConfig(addr, 2)
	cfg.FinishDelay = 50 * time.Millisecond
	s := startSim(t, cfg)
	f := startFramework(t, addr, true)
	ids, tasks := testTasks("t", 10, false)
	f.launch(t, tasks...)
	f.waitStates(t, ids, mesos.TaskState_TASK_FINISHED)
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	if _, err := s.WaitAcked(ctx, mesos.TaskState_TASK_FINISHED, len(ids)); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		sts := f.statuses(id)
		if len(sts) != 3 || sts[1].GetState() != mesos.TaskState_TASK_RUNNING || sts[2].GetState() != mesos.TaskState_TASK_FINISHED {
			t.Fatalf("task %s updates %v, want STARTING, RUNNING, FINISHED", id, sts)
		}
	}
}
