package benchtest

import (
	"context"
	"crypto/tls"
	"fmt"
	"os/user"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agoracluster/agora/frameworks/sdk"
	"github.com/agoracluster/agora/frameworks/sdk/offers"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
	"github.com/agoracluster/agora/security/credentials"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
)

// Scheduler is a benchmark framework: Launch queues tasks, and the next offers that hold
// them get them all in one ACCEPT per offer. It stamps the moment the offer that took a
// batch arrived, the moment just before the first ACCEPT of the batch, and the moment each
// task first reached each state.
type Scheduler struct {
	sdk.NoopHandler
	S *sdk.Scheduler

	tb     testing.TB
	cancel context.CancelFunc
	done   chan error
	notify chan struct{} // a token after every update

	mu       sync.Mutex
	queue    []*mesos.TaskInfo
	offerAt  time.Time // the offer that took the first task of the last batch arrived
	acceptAt time.Time // just before the first ACCEPT of the last batch
	agents   map[string]*mesos.AgentID
	reached  map[string]map[mesos.TaskState]time.Time
	latest   map[string]*mesos.TaskStatus
}

// Options shape a benchmark scheduler.
type Options struct {
	// Name of the framework.
	Name string
	// Log receives the SDK's log; nil means none.
	Log *zap.Logger
	// FailoverTimeout is how long the master keeps the framework's tasks while it is away
	// (through a master failover, too); 0: the SDK's default.
	FailoverTimeout time.Duration
	// TLS and Credential reach a master with TLS and authentication (the SDK's).
	TLS        *tls.Config
	Credential credentials.Credential
}

// StartScheduler subscribes a benchmark framework to the master at addr (host:port),
// initially suppressed; it stops when the benchmark ends.
func StartScheduler(tb testing.TB, addr string, opts Options) *Scheduler {
	tb.Helper()
	if opts.Name == "" {
		opts.Name = "bench"
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	userName := "root"
	if u, err := user.Current(); err == nil {
		userName = u.Username
	}
	cfg := sdk.DefaultConfig()
	cfg.Masters = []string{addr}
	cfg.Framework = &mesos.FrameworkInfo{User: proto.String(userName), Name: proto.String(opts.Name)}
	if opts.FailoverTimeout > 0 {
		cfg.Framework.FailoverTimeout = proto.Float64(opts.FailoverTimeout.Seconds())
	}
	cfg.WantOffers = false
	cfg.TLS, cfg.Credential = opts.TLS, opts.Credential
	cfg.BackoffMin, cfg.BackoffMax = 50*time.Millisecond, time.Second
	s := &Scheduler{
		tb:      tb,
		done:    make(chan error, 1),
		notify:  make(chan struct{}, 1),
		agents:  map[string]*mesos.AgentID{},
		reached: map[string]map[mesos.TaskState]time.Time{},
		latest:  map[string]*mesos.TaskStatus{},
	}
	sched, err := sdk.NewScheduler(cfg, s, opts.Log.Named(opts.Name))
	if err != nil {
		tb.Fatalf("new scheduler: %v", err)
	}
	s.S = sched
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() { s.done <- sched.Run(ctx) }()
	tb.Cleanup(s.stop)
	deadline := time.Now().Add(20 * time.Second)
	for !sched.Subscribed() {
		if time.Now().After(deadline) {
			tb.Fatalf("framework %s did not subscribe within 20s", opts.Name)
		}
		select {
		case err := <-s.done:
			tb.Fatalf("framework %s: %v", opts.Name, err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	return s
}

func (s *Scheduler) stop() {
	s.cancel()
	<-s.done
}

// Launch queues tasks and asks for offers. They are launched when the next offers arrive.
func (s *Scheduler) Launch(ctx context.Context, tasks ...*mesos.TaskInfo) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, tasks...)
	return s.S.SetWantOffers(ctx, true)
}

// Offers implements sdk.Handler: it places the queue first-fit on the offers and accepts
// each used offer with one LAUNCH of all its tasks.
func (s *Scheduler) Offers(ctx context.Context, sched *sdk.Scheduler, offered []*mesos.Offer) {
	arrived := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	pool := offers.NewPool(offered)
	var rest []*mesos.TaskInfo
	for _, task := range s.queue {
		need, err := resources.FromProto(task.GetResources())
		if err != nil {
			s.tb.Errorf("task %s resources: %v", task.GetTaskId().GetValue(), err)
			continue
		}
		o, _, ok := pool.Take(need)
		if !ok {
			rest = append(rest, task)
			continue
		}
		o.AddTask(task)
	}
	placed := len(rest) < len(s.queue)
	s.queue = rest
	if placed {
		s.offerAt, s.acceptAt = arrived, time.Now()
	}
	for _, o := range pool.Used() {
		for _, t := range o.Tasks() {
			s.agents[t.GetTaskId().GetValue()] = t.GetAgentId()
		}
		if err := sched.Launch(ctx, o.ID(), o.Tasks()...); err != nil {
			s.tb.Errorf("launch: %v", err)
		}
	}
	if err := sched.Decline(ctx, pool.Unused(), time.Second); err != nil {
		s.tb.Errorf("decline: %v", err)
	}
	if err := sched.SetWantOffers(ctx, len(rest) > 0); err != nil {
		s.tb.Errorf("suppress/revive: %v", err)
	}
}

// Update implements sdk.Handler: it stamps the first time each task reaches each state.
func (s *Scheduler) Update(_ context.Context, _ *sdk.Scheduler, st *mesos.TaskStatus) {
	now := time.Now()
	id := st.GetTaskId().GetValue()
	s.mu.Lock()
	r := s.reached[id]
	if r == nil {
		r = map[mesos.TaskState]time.Time{}
		s.reached[id] = r
	}
	if _, ok := r[st.GetState()]; !ok {
		r[st.GetState()] = now
	}
	s.latest[id] = st
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// Batch returns when the offer that took the last batch of tasks arrived and when its
// first ACCEPT was sent.
func (s *Scheduler) Batch() (offerAt, acceptAt time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.offerAt, s.acceptAt
}

// Reached returns when task id first reached state, and whether it did.
func (s *Scheduler) Reached(id string, state mesos.TaskState) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.reached[id][state]
	return at, ok
}

// WaitAll waits until every task in ids has reached state and returns the moment the last
// of them did. A task whose newest state is terminal and not state fails the wait at once.
func (s *Scheduler) WaitAll(ids []string, state mesos.TaskState, timeout time.Duration) (time.Time, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		last, missing, err := s.check(ids, state)
		if err != nil {
			return time.Time{}, err
		}
		if missing == 0 {
			return last, nil
		}
		select {
		case <-s.notify:
		case <-deadline.C:
			return time.Time{}, fmt.Errorf("%d of %d tasks did not reach %v within %v (newest states: %s)",
				missing, len(ids), state, timeout, s.Summary(ids))
		}
	}
}

func (s *Scheduler) check(ids []string, state mesos.TaskState) (last time.Time, missing int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		at, ok := s.reached[id][state]
		if !ok {
			missing++
			if st := s.latest[id]; st != nil && sdk.IsTerminal(st.GetState()) {
				return time.Time{}, 0, fmt.Errorf("task %s ended %v (%s: %q) instead of reaching %v",
					id, st.GetState(), st.GetReason(), st.GetMessage(), state)
			}
			continue
		}
		if at.After(last) {
			last = at
		}
	}
	return last, missing, nil
}

// Summary counts the newest states of tasks ids ("TASK_RUNNING=998 none=2").
func (s *Scheduler) Summary(ids []string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	counts := map[string]int{}
	for _, id := range ids {
		name := "none"
		if st := s.latest[id]; st != nil {
			name = st.GetState().String()
		}
		counts[name]++
	}
	var parts []string
	for name, n := range counts {
		parts = append(parts, fmt.Sprintf("%s=%d", name, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// KillAll sends one KILL per task from workers concurrent callers and returns the moment
// just before the first KILL.
func (s *Scheduler) KillAll(ctx context.Context, ids []string, workers int) (time.Time, error) {
	s.mu.Lock()
	agents := make([]*mesos.AgentID, len(ids))
	for i, id := range ids {
		agents[i] = s.agents[id]
	}
	s.mu.Unlock()
	jobs := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var first error
			for i := range jobs {
				if err := s.S.Kill(ctx, sdk.TaskID(ids[i]), agents[i]); err != nil && first == nil {
					first = fmt.Errorf("kill %s: %w", ids[i], err)
				}
			}
			errs <- first
		}()
	}
	start := time.Now()
	for i := range ids {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return start, err
		}
	}
	return start, nil
}

// Timeline returns, for the given fractions (0..1] of tasks ids, how long after start that
// fraction had reached state ("50%=1.2s 90%=2.0s"); tasks that have not are skipped.
func (s *Scheduler) Timeline(ids []string, state mesos.TaskState, start time.Time, fractions ...float64) string {
	s.mu.Lock()
	var ds []time.Duration
	for _, id := range ids {
		if at, ok := s.reached[id][state]; ok {
			ds = append(ds, at.Sub(start))
		}
	}
	s.mu.Unlock()
	var parts []string
	for _, f := range fractions {
		parts = append(parts, fmt.Sprintf("%g%%=%v", f*100, Percentile(ds, f*100).Round(time.Millisecond)))
	}
	return strings.Join(parts, " ")
}
