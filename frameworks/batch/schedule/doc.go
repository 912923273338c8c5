// Package schedule evaluates job schedules: standard 5-field cron expressions (parsed by
// github.com/robfig/cron/v3 through job.ParseCron) in an IANA time zone, with Metronome's
// startingDeadlineSeconds and concurrency policy. It is pure: the caller passes now and
// persists the returned watermark; nothing here reads a clock, sleeps or starts goroutines.
//
// Fire times are the wall-clock times in the schedule's zone that the expression matches, each
// at most once: when clocks fall back, a repeated time (01:30 in America/New_York on the first
// Sunday of November) fires at its first occurrence only; when they spring forward, a time in the
// skipped hour (02:30 on the second Sunday of March) does not fire that day.
//
// Due decides at one instant: of the fire times after the persisted watermark, only the latest
// counts (one run for a missed window, not one per missed tick, as Metronome does); it starts if
// now is less than startingDeadlineSeconds after it, else it is skipped. Under FORBID a fire time
// that falls due while a run is active waits for the run to finish until its deadline, then is
// skipped. A fire time missed while the framework was down starts once on restart if it is still
// within its deadline, and one already started is not started again, provided the shell persists
// Decision.Handled with the run it starts.
//
// Usage, in the shell's loop:
//
//	s, err := schedule.Compile(spec) // spec is a job.Schedule from job.DecodeSchedule
//	d := s.Due(state.Handled, now, jobHasActiveRun)
//	if !d.Start.IsZero() {
//		// start a run for fire time d.Start, and persist d.Handled in the same write
//	}
//	if !d.Skipped.IsZero() {
//		// record that d.Skipped was skipped for d.Reason
//	}
//	state.Handled = d.Handled // persist
//	// call Due again at d.Wake (if not zero), and whenever a run of the job finishes
//	nextRunAt := s.Next(now) // for the API's nextRunAt
package schedule
