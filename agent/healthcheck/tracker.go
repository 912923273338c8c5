package healthcheck

import (
	"errors"
	"fmt"
	"strings"
	"time"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// Policy is when and how often a task is checked, and when it counts as failed.
type Policy struct {
	// Delay is the time from the task's start to the first check.
	Delay time.Duration
	// Interval is the time between the end of one check and the start of the next.
	Interval time.Duration
	// Timeout bounds one check; a check that takes longer has failed.
	Timeout time.Duration
	// ConsecutiveFailures is how many failures in a row make the task unhealthy enough to
	// be killed.
	ConsecutiveFailures int
	// GracePeriod, counted from the task's start, ignores failures until the first success.
	GracePeriod time.Duration
}

// DefaultPolicy is Mesos's HealthCheck defaults.
func DefaultPolicy() Policy {
	return Policy{
		Delay:               15 * time.Second,
		Interval:            10 * time.Second,
		Timeout:             20 * time.Second,
		ConsecutiveFailures: 3,
		GracePeriod:         10 * time.Second,
	}
}

// Validate reports every problem with the policy at once.
func (p Policy) Validate() error {
	var errs []string
	if p.Delay < 0 {
		errs = append(errs, "delay_seconds: must not be negative")
	}
	if p.Interval <= 0 {
		errs = append(errs, "interval_seconds: must be positive")
	}
	if p.Timeout <= 0 {
		errs = append(errs, "timeout_seconds: must be positive")
	}
	if p.ConsecutiveFailures < 1 {
		errs = append(errs, "consecutive_failures: must be at least 1")
	}
	if p.GracePeriod < 0 {
		errs = append(errs, "grace_period_seconds: must not be negative")
	}
	if len(errs) > 0 {
		return fmt.Errorf("healthcheck: invalid policy: %s", strings.Join(errs, "; "))
	}
	return nil
}

// PolicyFromProto reads the policy from a HealthCheck, with Mesos's defaults for unset fields.
func PolicyFromProto(hc *mesos.HealthCheck) Policy {
	return Policy{
		Delay:               seconds(hc.GetDelaySeconds()),
		Interval:            seconds(hc.GetIntervalSeconds()),
		Timeout:             seconds(hc.GetTimeoutSeconds()),
		ConsecutiveFailures: int(hc.GetConsecutiveFailures()),
		GracePeriod:         seconds(hc.GetGracePeriodSeconds()),
	}
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// Status is a change of the task's health, reported to the executor.
type Status struct {
	Healthy bool
	// ConsecutiveFailures is the number of failures in a row so far (0 when healthy).
	ConsecutiveFailures int
	// Kill is set once ConsecutiveFailures reached the policy's limit: the task must be killed.
	Kill bool
}

// Decision is what the Tracker decided after one check.
type Decision struct {
	// Report is set when Status must be sent (a change of health, or the kill).
	Report bool
	Status Status
	// Ignored is set for a failure swallowed by the grace period.
	Ignored bool
}

// ErrTimeout is the failure recorded for a check that did not finish within the timeout.
var ErrTimeout = errors.New("healthcheck: timed out")

// Tracker is the pure health state machine of one task. It is not safe for concurrent use.
type Tracker struct {
	policy       Policy
	start        time.Time
	initializing bool // no success yet
	failures     int
}

// NewTracker returns a tracker for a task that started at start.
func NewTracker(p Policy, start time.Time) *Tracker {
	return &Tracker{policy: p, start: start, initializing: true}
}

// FirstCheck is when the first check is due.
func (t *Tracker) FirstCheck() time.Time { return t.start.Add(t.policy.Delay) }

// Observe feeds the result of one check (nil = success) finished at now. Like Mesos: the first
// success, and the first success after failures, report healthy; failures before the first
// success are ignored within the grace period; the first failure and the failure that reaches
// ConsecutiveFailures report unhealthy, the latter with Kill.
func (t *Tracker) Observe(result error, now time.Time) Decision {
	if result == nil {
		report := t.initializing || t.failures > 0
		t.initializing = false
		t.failures = 0
		return Decision{Report: report, Status: Status{Healthy: true}}
	}
	if t.initializing && now.Sub(t.start) <= t.policy.GracePeriod {
		return Decision{Ignored: true, Status: Status{Healthy: false}}
	}
	t.failures++
	kill := t.failures >= t.policy.ConsecutiveFailures
	return Decision{
		Report: t.failures == 1 || kill,
		Status: Status{Healthy: false, ConsecutiveFailures: t.failures, Kill: kill},
	}
}
