package retry

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/agoracluster/agora/frameworks/batch/job"
)

// Policy is an exponential back-off: the delay before retry k (1 = the first) is
// Initial * Factor^(k-1), at most Max.
type Policy struct {
	// Initial is the delay before the first retry (> 0).
	Initial time.Duration
	// Factor multiplies the delay after each failure (>= 1).
	Factor float64
	// Max caps the delay (>= Initial).
	Max time.Duration
	// Limit is how many retries a run may make before it fails for good; 0 = no limit (as in
	// Metronome, where ON_FAILURE retries until activeDeadlineSeconds).
	Limit int
}

// Default returns the framework's back-off: 1s, doubling, at most a minute, no retry limit.
func Default() Policy {
	return Policy{Initial: time.Second, Factor: 2, Max: time.Minute}
}

// Validate returns every problem of p at once.
func (p Policy) Validate() error {
	var errs []error
	if p.Initial <= 0 {
		errs = append(errs, fmt.Errorf("retry: initial delay %s: must be positive", p.Initial))
	}
	if !(p.Factor >= 1) || math.IsInf(p.Factor, 0) {
		errs = append(errs, fmt.Errorf("retry: factor %v: must be at least 1 and finite", p.Factor))
	}
	if p.Max < p.Initial {
		errs = append(errs, fmt.Errorf("retry: max delay %s: must be at least the initial delay %s", p.Max, p.Initial))
	}
	if p.Limit < 0 {
		errs = append(errs, fmt.Errorf("retry: limit %d: must not be negative", p.Limit))
	}
	return errors.Join(errs...)
}

// ForJob returns p for one job: its Max is lowered to the job's maxLaunchDelay when that is
// shorter (never below Initial).
func (p Policy) ForJob(r job.RunSpec) Policy {
	if r.MaxLaunchDelay > 0 {
		if m := time.Duration(r.MaxLaunchDelay) * time.Second; m < p.Max {
			p.Max = max(m, p.Initial)
		}
	}
	return p
}

// Delay returns the back-off before retry number failures (1 = the first retry; below 1 counts
// as 1). Its signature fits frameworks/batch/run.Delay: pass p.Delay.
func (p Policy) Delay(failures int) time.Duration {
	if failures < 1 {
		failures = 1
	}
	d := float64(p.Initial) * math.Pow(p.Factor, float64(failures-1))
	if !(d < float64(p.Max)) { // also NaN and +Inf
		return p.Max
	}
	return time.Duration(d)
}

// Exhausted reports whether a run that has failed this many times may retry no more.
func (p Policy) Exhausted(failures int) bool {
	return p.Limit > 0 && failures > p.Limit
}
