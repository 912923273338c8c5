package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/agoracluster/agora/frameworks/sdk"
	"github.com/agoracluster/agora/frameworks/sdk/offers"
	"github.com/agoracluster/agora/internal/poll"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
	"github.com/agoracluster/agora/security/credentials"
	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/proto"
)

// Framework is a test scheduler built on the SDK: tests queue tasks, it launches them on the
// next offers that fit, and it records every status update per task.
type Framework struct {
	sdk.NoopHandler
	S *sdk.Scheduler

	mu      sync.Mutex
	queue   []*mesos.TaskInfo
	groups  []taskGroup
	updates map[string][]*mesos.TaskStatus
	subs    int
	cancel  context.CancelFunc
	done    chan error
	t       testing.TB
}

// FrameworkOptions shape a test framework.
type FrameworkOptions struct {
	Name            string
	FrameworkID     string  // resume this framework
	FailoverTimeout float64 // seconds
	Capabilities    []mesos.FrameworkInfo_Capability_Type
	Encoding        sdk.Encoding
	// Masters, when set, are the masters the framework is given (default: the cluster's
	// --master flag, its ZooKeeper URL or its master's address).
	Masters []string
	// TLS makes the framework's connections to masters HTTPS; Credential authenticates it.
	TLS        *tls.Config
	Credential credentials.Credential
}

// StartFramework subscribes a test framework to the cluster's master; it stops when the test
// ends (without tearing the framework down).
func (c *Cluster) StartFramework(opts FrameworkOptions) *Framework {
	c.t.Helper()
	if opts.Name == "" {
		opts.Name = "test"
	}
	fw := &mesos.FrameworkInfo{User: proto.String("root"), Name: proto.String(opts.Name)}
	if opts.FailoverTimeout > 0 {
		fw.FailoverTimeout = proto.Float64(opts.FailoverTimeout)
	}
	for _, capType := range opts.Capabilities {
		fw.Capabilities = append(fw.Capabilities, &mesos.FrameworkInfo_Capability{Type: capType.Enum()})
	}
	cfg := sdk.DefaultConfig()
	cfg.Masters = []string{c.MasterFlag()}
	if len(opts.Masters) > 0 {
		cfg.Masters = opts.Masters
	}
	cfg.TLS, cfg.Credential = opts.TLS, opts.Credential
	cfg.Framework = fw
	cfg.BackoffMin, cfg.BackoffMax = 50*time.Millisecond, time.Second
	if opts.Encoding != "" {
		cfg.Encoding = opts.Encoding
	}
	if opts.FrameworkID != "" {
		ids := &sdk.MemoryIDStore{}
		if err := ids.Save(context.Background(), opts.FrameworkID); err != nil {
			c.t.Fatal(err)
		}
		cfg.FrameworkIDStore = ids
	}
	f := &Framework{updates: map[string][]*mesos.TaskStatus{}, done: make(chan error, 1), t: c.t}
	s, err := sdk.NewScheduler(cfg, f, zaptest.NewLogger(c.t).Named(opts.Name))
	if err != nil {
		c.t.Fatalf("new scheduler: %v", err)
	}
	f.S = s
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	go func() { f.done <- s.Run(ctx) }()
	c.t.Cleanup(f.Stop)
	poll.Eventually(c.t, 20*time.Second, func() error {
		if !s.Subscribed() {
			return fmt.Errorf("framework %s not subscribed", opts.Name)
		}
		return nil
	})
	return f
}

// Stop ends the scheduler's Run (the framework stays registered until its failover timeout).
func (f *Framework) Stop() {
	f.mu.Lock()
	cancel := f.cancel
	f.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-f.done
	f.mu.Lock()
	f.cancel = nil
	f.mu.Unlock()
}

// Launch queues tasks; each is launched on the next offer that holds its resources.
func (f *Framework) Launch(ctx context.Context, tasks ...*mesos.TaskInfo) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue = append(f.queue, tasks...)
	// The wish for offers changes under f.mu so that it always matches the queue.
	if err := f.S.SetWantOffers(ctx, true); err != nil {
		f.t.Errorf("revive: %v", err)
	}
}

// taskGroup is a queued LAUNCH_GROUP.
type taskGroup struct {
	executor *mesos.ExecutorInfo
	tasks    []*mesos.TaskInfo
}

// LaunchGroup queues a task group; it is launched with one LAUNCH_GROUP under executor on
// the next offer that holds the resources of the executor and every task.
func (f *Framework) LaunchGroup(ctx context.Context, executor *mesos.ExecutorInfo, tasks ...*mesos.TaskInfo) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.groups = append(f.groups, taskGroup{executor: executor, tasks: tasks})
	if err := f.S.SetWantOffers(ctx, true); err != nil {
		f.t.Errorf("revive: %v", err)
	}
}

// groupNeeds is what a task group takes from an offer: its executor's and tasks' resources.
func groupNeeds(g taskGroup) (resources.Resources, error) {
	need, err := resources.FromProto(g.executor.GetResources())
	if err != nil {
		return need, err
	}
	for _, task := range g.tasks {
		r, err := resources.FromProto(task.GetResources())
		if err != nil {
			return need, err
		}
		need = need.Plus(r)
	}
	return need, nil
}

// Offers implements sdk.Handler.
func (f *Framework) Offers(ctx context.Context, s *sdk.Scheduler, offered []*mesos.Offer) {
	f.mu.Lock()
	pool := offers.NewPool(offered)
	var rest []*mesos.TaskInfo
	for _, task := range f.queue {
		need, err := resources.FromProto(task.GetResources())
		if err != nil {
			f.t.Errorf("task %s resources: %v", task.GetTaskId().GetValue(), err)
			continue
		}
		o, _, ok := pool.Take(need)
		if !ok {
			rest = append(rest, task)
			continue
		}
		o.AddTask(task)
	}
	f.queue = rest
	groupOps := map[string][]*mesos.Offer_Operation{} // by offer id
	var restGroups []taskGroup
	for _, g := range f.groups {
		need, err := groupNeeds(g)
		if err != nil {
			f.t.Errorf("task group resources: %v", err)
			continue
		}
		o, _, ok := pool.Take(need)
		if !ok {
			restGroups = append(restGroups, g)
			continue
		}
		for _, task := range g.tasks {
			task.AgentId = proto.Clone(o.AgentID()).(*mesos.AgentID)
		}
		groupOps[o.ID().GetValue()] = append(groupOps[o.ID().GetValue()], sdk.LaunchGroupOp(g.executor, g.tasks...))
	}
	f.groups = restGroups
	if err := s.SetWantOffers(ctx, len(rest) > 0 || len(restGroups) > 0); err != nil {
		f.t.Errorf("suppress/revive: %v", err)
	}
	f.mu.Unlock()
	for _, o := range pool.Used() {
		ops := groupOps[o.ID().GetValue()]
		if len(ops) == 0 {
			if err := s.Launch(ctx, o.ID(), o.Tasks()...); err != nil {
				f.t.Errorf("launch: %v", err)
			}
			continue
		}
		for _, task := range o.Tasks() {
			task.AgentId = proto.Clone(o.AgentID()).(*mesos.AgentID)
		}
		if len(o.Tasks()) > 0 {
			ops = append([]*mesos.Offer_Operation{sdk.LaunchOp(o.Tasks()...)}, ops...)
		}
		if err := s.Accept(ctx, []*mesos.OfferID{o.ID()}, ops, nil); err != nil {
			f.t.Errorf("launch group: %v", err)
		}
	}
	_ = s.Decline(ctx, pool.Unused(), time.Second)
}

// Update implements sdk.Handler.
func (f *Framework) Update(_ context.Context, _ *sdk.Scheduler, st *mesos.TaskStatus) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := st.GetTaskId().GetValue()
	f.updates[id] = append(f.updates[id], proto.Clone(st).(*mesos.TaskStatus))
}

// Updates returns the updates received for task id so far.
func (f *Framework) Updates(id string) []*mesos.TaskStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*mesos.TaskStatus(nil), f.updates[id]...)
}

// Latest returns the newest update of task id, or nil.
func (f *Framework) Latest(id string) *mesos.TaskStatus {
	u := f.Updates(id)
	if len(u) == 0 {
		return nil
	}
	return u[len(u)-1]
}

// WaitState waits until task id's newest update is in state and returns that update.
func (f *Framework) WaitState(id string, state mesos.TaskState, timeout time.Duration) *mesos.TaskStatus {
	f.t.Helper()
	var got *mesos.TaskStatus
	poll.Eventually(f.t, timeout, func() error {
		got = f.Latest(id)
		if got.GetState() != state {
			return fmt.Errorf("task %s is %v (%q), want %v", id, got.GetState(), got.GetMessage(), state)
		}
		return nil
	})
	return got
}

// CountLatest counts the tasks whose newest update is in state.
func (f *Framework) CountLatest(state mesos.TaskState) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, u := range f.updates {
		if u[len(u)-1].GetState() == state {
			n++
		}
	}
	return n
}

// ShellTask returns a command task running cmd with /bin/sh -c and the given resources.
func ShellTask(id, cmd, res string) *mesos.TaskInfo {
	return sdk.CommandTask(id, id, cmd, resources.MustParse(res))
}
