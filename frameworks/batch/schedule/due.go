package schedule

import (
	"time"

	"github.com/agoracluster/agora/frameworks/batch/job"
)

// SkipReason says why a fire time was given up on.
type SkipReason string

// The reasons a fire time is skipped.
const (
	// SkipDeadline: the fire time is startingDeadlineSeconds or more in the past (the framework
	// was down, or the schedule was evaluated late).
	SkipDeadline SkipReason = "STARTING_DEADLINE_PASSED"
	// SkipForbid: the concurrency policy is FORBID and a run of the job stayed active until the
	// fire time's starting deadline passed.
	SkipForbid SkipReason = "CONCURRENCY_FORBID"
)

// Decision is what Due decides.
type Decision struct {
	// Start is the fire time to start one run for now; zero when none.
	Start time.Time
	// Skipped is the fire time given up on, and Reason why; zero when none.
	Skipped time.Time
	Reason  SkipReason
	// Waiting is a fire time held back by FORBID while a run is active: it starts when the run
	// has finished, if that is before its starting deadline (Wake is that deadline).
	Waiting time.Time
	// Handled is the watermark to persist: every fire time at or before it is dealt with.
	// Persist it together with the run that Start begins, so that a restart neither starts that
	// fire time twice nor forgets one that fell due while the framework was down.
	Handled time.Time
	// Wake is when to call Due again if nothing else happens first (a run finishing, the
	// schedule changing): always after now; zero when the expression fires no more.
	Wake time.Time
}

// Due decides what the schedule does at now. handled is the watermark Due returned last time
// (the zero time for a schedule never evaluated: fire times before its first evaluation never
// start); active is whether a run of the job is active.
//
// Of the fire times in (handled, now], only the latest counts: Metronome starts one run for a
// missed window, not one per missed tick. It starts if now is less than startingDeadlineSeconds
// after it; otherwise it is skipped (SkipDeadline). Under FORBID, while a run is active, it
// waits until the run finishes or its deadline passes (then SkipForbid). A disabled schedule
// starts nothing and moves the watermark to now, so enabling it later does not start fire times
// that fell due while it was disabled.
func (s *Schedule) Due(handled, now time.Time, active bool) Decision {
	if handled.IsZero() || !s.spec.Enabled {
		if handled.Before(now) {
			handled = now
		}
		d := Decision{Handled: handled}
		if s.spec.Enabled {
			d.Wake = s.Next(handled)
		}
		return d
	}
	fire := s.latest(handled, now)
	if fire.IsZero() {
		return Decision{Handled: handled, Wake: s.Next(handled)}
	}
	next := s.Next(fire)
	deadline := fire.Add(s.deadline)
	forbidden := active && s.spec.ConcurrencyPolicy == job.ConcurrencyForbid
	switch {
	case !now.Before(deadline):
		reason := SkipDeadline
		if forbidden {
			reason = SkipForbid
		}
		return Decision{Skipped: fire, Reason: reason, Handled: fire, Wake: next}
	case forbidden:
		wake := deadline
		if !next.IsZero() && next.Before(wake) {
			wake = next
		}
		return Decision{Waiting: fire, Handled: handled, Wake: wake}
	default:
		return Decision{Start: fire, Handled: fire, Wake: next}
	}
}
