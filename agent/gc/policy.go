package gc

import (
	"slices"
	"time"
)

// Sandbox garbage collection policy (as Mesos's --gc_delay and --gc_disk_headroom): the
// sandbox and checkpoints of a finished executor are removed gcDelay after it finished; when
// the disk is fuller, sooner: the allowed age shrinks linearly with the disk usage,
// max(0, gcDelay × (1 − headroom − usage)) (Mesos's formula), so a disk with less than
// headroom free removes every finished sandbox at once.

// Candidate is a finished executor run whose sandbox and meta directories may be removed.
type Candidate struct {
	Paths      []string  // sandbox and checkpoint directories
	FinishedAt time.Time // when the executor ended
}

// MaxAge is how old a finished sandbox may get at this disk usage (fraction 0..1).
func MaxAge(delay time.Duration, headroom, usage float64) time.Duration {
	f := 1 - headroom - usage
	if f <= 0 {
		return 0
	}
	if f > 1 {
		f = 1
	}
	return time.Duration(float64(delay) * f)
}

// Due returns the candidates to remove now, oldest first, and when the next of the
// others falls due (zero when none is left).
func Due(cands []Candidate, now time.Time, delay time.Duration, headroom, usage float64) ([]Candidate, time.Time) {
	maxAge := MaxAge(delay, headroom, usage)
	// One pass; only what is due is sorted (the collector looks at the whole schedule each
	// time an executor ends: sorting all of it made a thousand ends O(n² log n)).
	var due []Candidate
	var next time.Time
	for _, c := range cands {
		at := c.FinishedAt.Add(maxAge)
		if !at.After(now) {
			due = append(due, c)
			continue
		}
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	slices.SortStableFunc(due, func(a, b Candidate) int { return a.FinishedAt.Compare(b.FinishedAt) })
	return due, next
}
