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
	// The expression is evaluated on wall-clock times, written in UTC (see Next).
	spec.Location = time.UTC
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
// spring forward) does not fire. robfig/cron evaluates the expression on wall-clock times (in
// UTC, which has no clock changes); mapping them to instants here keeps its arithmetic clear of
// DST (it mishandles zones that shift by half an hour, such as Australia/Lord_Howe).
func (s *Schedule) Next(t time.Time) time.Time {
	t = t.In(s.loc)
	wall := wallClock(t)
	for {
		wall = s.cron.Next(wall)
		if wall.IsZero() {
			return wall
		}
		if i, ok := s.firstInstant(wall); ok && i.After(t) {
			return i
		}
		// The wall-clock time does not exist (a spring-forward gap), or its first occurrence is
		// not after t (t is in a repeated hour): not a fire time after t.
	}
}

// wallClock returns t's wall-clock time in its zone as the same clock reading in UTC.
func wallClock(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// firstInstant returns the first instant whose wall-clock time in the schedule's zone is wall
// (given in UTC), or false when there is none. It tries the zone's offsets of the day before,
// the day of and the day after: clock changes are further apart than that.
func (s *Schedule) firstInstant(wall time.Time) (time.Time, bool) {
	var first time.Time
	for _, probe := range []time.Duration{-24 * time.Hour, 0, 24 * time.Hour} {
		_, off := wall.Add(probe).In(s.loc).Zone()
		i := wall.Add(-time.Duration(off) * time.Second).In(s.loc)
		if wallClock(i).Equal(wall) && (first.IsZero() || i.Before(first)) {
			first = i
		}
	}
	return first, !first.IsZero()
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
