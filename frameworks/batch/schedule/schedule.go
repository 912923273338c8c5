package schedule

import (
	"fmt"
	"math"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/agoracluster/agora/frameworks/batch/job"
)

// Schedule is a validated, compiled job.Schedule.
type Schedule struct {
	spec     job.Schedule
	cron     *cron.SpecSchedule
	loc      *time.Location
	deadline time.Duration
}

// Compile validates s and compiles its cron expression in its time zone.
func Compile(s job.Schedule) (*Schedule, error) {
	if err := job.ValidateSchedule(&s); err != nil {
		return nil, fmt.Errorf("schedule %q: %w", s.ID, err)
	}
	parsed, err := job.ParseCron(s.Cron)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", s.ID, err)
	}
	spec, ok := parsed.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("schedule %q: cron %q is not a field expression", s.ID, s.Cron)
	}
	loc, err := job.LoadTimezone(s.Timezone)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", s.ID, err)
	}
	// The parser defaults to time.Local, which robfig/cron reads as "the zone of the argument".
	spec.Location = loc
	return &Schedule{spec: s, cron: spec, loc: loc, deadline: time.Duration(s.StartingDeadlineSeconds) * time.Second}, nil
}

// Spec returns the schedule as it was compiled.
func (s *Schedule) Spec() job.Schedule { return s.spec }

// Location returns the schedule's time zone.
func (s *Schedule) Location() *time.Location { return s.loc }

// Next returns the first fire time strictly after t, in the schedule's time zone, or the zero
// time when the expression matches nothing in the five years after t.
//
// Fire times are the wall-clock times in the schedule's zone that the expression matches, each
// at most once: a wall-clock time that occurs twice (the hour repeated when clocks fall back)
// fires at its first occurrence only, and one that does not occur (the hour skipped when clocks
// spring forward) does not fire.
func (s *Schedule) Next(t time.Time) time.Time {
	for {
		t = s.cron.Next(t)
		if t.IsZero() {
			return t
		}
		if t = t.In(s.loc); !s.repeated(t) {
			return t
		}
	}
}

// maxFallBack bounds the clock changes repeated checks for: every zone's falls back by at most
// an hour or two (Lord Howe 30 minutes, the historic double summer times two hours).
const maxFallBack = 3 * time.Hour

// repeated reports whether t's wall-clock time (to the minute) already occurred earlier, because
// the clocks fell back between the two.
func (s *Schedule) repeated(t time.Time) bool {
	_, offNow := t.Zone()
	_, offBefore := t.Add(-maxFallBack).Zone()
	if offBefore <= offNow {
		return false
	}
	u := t.Add(-time.Duration(offBefore-offNow) * time.Second)
	return sameMinute(u, t)
}

func sameMinute(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd && a.Hour() == b.Hour() && a.Minute() == b.Minute()
}

// latest returns the last fire time in (lo, hi], or the zero time. It searches backwards from hi
// in doubling steps, so a long gap (days of downtime under an every-minute schedule) costs about
// as much as a short one.
func (s *Schedule) latest(lo, hi time.Time) time.Time {
	if !hi.After(lo) {
		return time.Time{}
	}
	span := hi.Sub(lo) // saturates at the largest Duration
	for d := time.Minute; ; d *= 2 {
		from, clipped := hi.Add(-d), false
		if d >= span || d > math.MaxInt64/4 {
			from, clipped = lo, true
		}
		if t := s.Next(from); !t.IsZero() && !t.After(hi) {
			for {
				n := s.Next(t)
				if n.IsZero() || n.After(hi) {
					return t
				}
				t = n
			}
		}
		if clipped {
			return time.Time{}
		}
	}
}
