package healthcheck

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// Runner checks one task until its context is done or the task must be killed.
type Runner struct {
	policy   Policy
	probe    Probe
	start    time.Time
	onChange func(Status)
	log      *zap.Logger
	now      func() time.Time
}

// NewRunner returns a runner for a task that started at start. onChange is called from the
// runner's goroutine for every reported Status; after a Status with Kill it is not called
// again.
func NewRunner(p Policy, probe Probe, start time.Time, onChange func(Status), log *zap.Logger) *Runner {
	return &Runner{policy: p, probe: probe, start: start, onChange: onChange, log: log.Named("healthcheck"), now: time.Now}
}

// Run checks until ctx is done (returns ctx's error) or a check decides to kill the task
// (returns nil). The caller owns the goroutine that calls Run.
func (r *Runner) Run(ctx context.Context) error {
	tracker := NewTracker(r.policy, r.start)
	timer := time.NewTimer(tracker.FirstCheck().Sub(r.now()))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
		result := r.check(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d := tracker.Observe(result, r.now())
		switch {
		case d.Ignored:
			r.log.Info("ignoring failed health check in grace period", zap.Error(result))
		case result != nil:
			r.log.Info("health check failed", zap.Error(result), zap.Int("consecutive_failures", d.Status.ConsecutiveFailures))
		}
		if d.Report {
			r.onChange(d.Status)
		}
		if d.Status.Kill {
			return nil
		}
		timer.Reset(r.policy.Interval)
	}
}

func (r *Runner) check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.policy.Timeout)
	defer cancel()
	err := r.probe.Probe(ctx)
	if err != nil && ctx.Err() == context.DeadlineExceeded {
		return ErrTimeout
	}
	return err
}
