package autoscale

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/agoracluster/agora/client"
)

// Target is one autoscaled app or pod as the framework sees it at the start of a round.
type Target struct {
	AppID     string // the app's or the pod's id
	Pod       bool   // a pod (/v2/pods): scaled through its scaling.instances
	Policy    Policy
	Instances int  // the app's instances setting
	Deploying bool // a deployment changes the app now: it is not scaled this round
	// Executors maps the executors of the app's running instances to their agents
	// (executor id → agent id), by which the agents' statistics are matched: a command
	// task's executor id is its task id; a pod instance's default executor holds all its
	// containers, so its usage is the instance's.
	Executors map[string]string
}

// Deps are the runner's edges: the framework's apps, the cluster's agents, and scaling.
type Deps struct {
	// Targets lists the autoscaled apps (those whose labels configure a valid policy).
	Targets func(ctx context.Context) ([]Target, error)
	// Agents maps agent ids to the base URL of their HTTP API ("http://host:5051").
	Agents func(ctx context.Context) (map[string]string, error)
	// Statistics reads one agent's /monitor/statistics.
	Statistics func(ctx context.Context, agentURL string) ([]client.ExecutorStatistics, error)
	// LBRequests reads the load balancers' request counts by app id (summed over the
	// balancers); nil: no balancer is known, and request-rate targets are not measured.
	LBRequests func(ctx context.Context) (map[string]int64, error)
	// Scale applies a decision (an instances change of the app, as a deployment).
	Scale func(ctx context.Context, d Decision) error
	Now   func() time.Time
	Log   *zap.Logger
}

// maxAgentRequests bounds the agents sampled at once.
const maxAgentRequests = 16

// recentDecisions is how many decisions per app Status keeps.
const recentDecisions = 10

// Runner samples the agents that run autoscaled apps' tasks once per round (one request per
// agent, whatever the number of apps), feeds the usage to the Controller and applies its
// decisions. It keeps what Status reports.
type Runner struct {
	deps Deps
	ctrl *Controller

	prev   map[string]Sample // the previous round's samples, by executor id
	prevLB *LBReading        // the previous round's load balancer counts

	mu     sync.Mutex
	status map[string]*AppStatus
}

// AppStatus is what the runner knows of one autoscaled app.
type AppStatus struct {
	AppID     string     `json:"appId"`
	Pod       bool       `json:"pod,omitempty"` // AppID is a pod's
	Policy    Policy     `json:"policy"`
	Instances int        `json:"instances"`
	Usage     *Usage     `json:"usage,omitempty"` // nil until two rounds measured the app
	SampledAt time.Time  `json:"sampledAt"`
	Decisions []Decision `json:"decisions"` // the latest last, at most recentDecisions
	// Problem says why a target of the policy is not measured ("" when all are).
	Problem string `json:"problem,omitempty"`
}

// noLB is the problem of a request-rate target without a load balancer to read.
const noLB = LabelTargetRPS + ": no load balancer is known to measure requests (start Marathon with --autoscale_lb_url)"

// NewRunner returns a runner over deps.
func NewRunner(deps Deps) (*Runner, error) {
	var missing []string
	if deps.Targets == nil {
		missing = append(missing, "Targets")
	}
	if deps.Agents == nil {
		missing = append(missing, "Agents")
	}
	if deps.Statistics == nil {
		missing = append(missing, "Statistics")
	}
	if deps.Scale == nil {
		missing = append(missing, "Scale")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("autoscale: runner dependencies missing: %v", missing)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Log == nil {
		deps.Log = zap.NewNop()
	}
	return &Runner{deps: deps, ctrl: NewController(), status: map[string]*AppStatus{}}, nil
}

// Run runs a round every interval until ctx ends.
func (r *Runner) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := r.Round(ctx); err != nil && ctx.Err() == nil {
			r.deps.Log.Warn("autoscale round", zap.Error(err))
		}
	}
}

// Round samples the agents, decides and scales once. An agent that does not answer leaves
// its tasks out of this round; an app that fails to scale is retried after its cool-down.
func (r *Runner) Round(ctx context.Context) error {
	targets, err := r.deps.Targets(ctx)
	if err != nil {
		return fmt.Errorf("list autoscaled apps: %w", err)
	}
	r.forgetGone(targets)
	if len(targets) == 0 {
		r.prev = nil
		return nil
	}
	agentOf := map[string]string{} // executor id → agent id
	appOf := map[string]string{}   // executor id → app id
	for _, t := range targets {
		for executor, agent := range t.Executors {
			agentOf[executor], appOf[executor] = agent, t.AppID
		}
	}
	cur, errs := r.sample(ctx, agentOf)
	now := r.deps.Now()
	usages := Usages(r.prev, cur, func(executorID string) (string, bool) {
		app, ok := appOf[executorID]
		return app, ok
	})
	r.prev = cur
	rates, lbErr := r.requestRates(ctx, targets, now)
	if lbErr != nil {
		errs = append(errs, lbErr)
	}
	for _, t := range targets {
		u, measured := usages[t.AppID]
		if rate, ok := rates[t.AppID]; ok && len(t.Executors) > 0 {
			u.RPS, u.RPSMeasured, measured = rate/float64(len(t.Executors)), true, true
		}
		problem := ""
		if t.Policy.TargetRPS > 0 && r.deps.LBRequests == nil {
			problem = noLB
		}
		r.record(t, u, measured, problem, now)
		if t.Deploying {
			continue
		}
		d, ok := r.ctrl.Decide(now, t.AppID, t.Policy, t.Instances, u)
		if !ok {
			continue
		}
		if err := r.deps.Scale(ctx, d); err != nil {
			errs = append(errs, fmt.Errorf("scale %s from %d to %d: %w", d.AppID, d.From, d.To, err))
			continue
		}
		r.deps.Log.Info("autoscaled app", zap.String("app", d.AppID), zap.Int("from", d.From),
			zap.Int("to", d.To), zap.String("reason", d.Reason))
		r.decided(d)
	}
	return errors.Join(errs...)
}

// sample reads the statistics of every agent that runs one of the executors (agentOf:
// executor id → agent id), once each, and returns the samples of those executors.
func (r *Runner) sample(ctx context.Context, agentOf map[string]string) (map[string]Sample, []error) {
	need := map[string]bool{}
	for _, agent := range agentOf {
		need[agent] = true
	}
	urls, err := r.deps.Agents(ctx)
	if err != nil {
		return nil, []error{fmt.Errorf("list agents: %w", err)}
	}
	var (
		mu   sync.Mutex
		out  = map[string]Sample{}
		errs []error
		g    errgroup.Group
	)
	g.SetLimit(maxAgentRequests)
	for agent := range need {
		base, ok := urls[agent]
		if !ok {
			continue // gone from the master: its tasks are being replaced
		}
		g.Go(func() error {
			stats, err := r.deps.Statistics(ctx, base)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("agent %s statistics: %w", agent, err))
				return nil
			}
			for _, s := range stats {
				if agentOf[s.ExecutorID] != agent {
					continue // another framework's, or a task of no autoscaled app
				}
				out[s.ExecutorID] = Sample{
					Timestamp: s.Statistics.Timestamp,
					CPUSecs:   s.Statistics.CPUsUserTimeSecs + s.Statistics.CPUsSystemTimeSecs,
					CPULimit:  s.Statistics.CPUsLimit,
					MemRSS:    s.Statistics.MemRSSBytes, MemLimit: s.Statistics.MemLimitBytes,
				}
			}
			return nil
		})
	}
	_ = g.Wait()
	return out, errs
}

// requestRates reads the load balancers once, when some target has a request-rate
// target, and returns each app's requests per second since the previous reading.
func (r *Runner) requestRates(ctx context.Context, targets []Target, now time.Time) (map[string]float64, error) {
	wanted := slices.ContainsFunc(targets, func(t Target) bool { return t.Policy.TargetRPS > 0 })
	if !wanted || r.deps.LBRequests == nil {
		r.prevLB = nil
		return nil, nil
	}
	counts, err := r.deps.LBRequests(ctx)
	if err != nil {
		r.prevLB = nil
		return nil, fmt.Errorf("load balancer requests: %w", err)
	}
	cur := LBReading{At: now, Requests: counts}
	var rates map[string]float64
	if r.prevLB != nil {
		rates = RequestRates(*r.prevLB, cur)
	}
	r.prevLB = &cur
	return rates, nil
}

// forgetGone drops what is known of apps no longer autoscaled.
func (r *Runner) forgetGone(targets []Target) {
	keep := make(map[string]bool, len(targets))
	for _, t := range targets {
		keep[t.AppID] = true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for id := range r.status {
		if !keep[id] {
			delete(r.status, id)
			r.ctrl.Forget(id)
		}
	}
}

func (r *Runner) record(t Target, u Usage, measured bool, problem string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.status[t.AppID]
	if st == nil {
		st = &AppStatus{AppID: t.AppID, Pod: t.Pod, Decisions: []Decision{}}
		r.status[t.AppID] = st
	}
	st.Policy, st.Instances, st.SampledAt, st.Problem = t.Policy, t.Instances, now, problem
	if measured {
		st.Usage = &u
	}
}

func (r *Runner) decided(d Decision) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.status[d.AppID]
	st.Instances = d.To
	st.Decisions = append(st.Decisions, d)
	if n := len(st.Decisions); n > recentDecisions {
		st.Decisions = slices.Clone(st.Decisions[n-recentDecisions:])
	}
}

// Status lists what the runner knows of each autoscaled app, sorted by app id.
func (r *Runner) Status() []AppStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]AppStatus, 0, len(r.status))
	for _, st := range r.status {
		c := *st
		c.Decisions = slices.Clone(st.Decisions)
		if st.Usage != nil {
			u := *st.Usage
			c.Usage = &u
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b AppStatus) int { return cmp.Compare(a.AppID, b.AppID) })
	return out
}
