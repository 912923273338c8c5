package batch

import (
	"time"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/frameworks/batch/schedule"
)

// startDueSchedules asks every schedule what is due at now (package schedule), starts the
// runs, and moves the persisted watermarks on: each run is written before its schedule's
// watermark, and load raises a watermark to the fire time of any stored run, so a restart
// neither repeats nor forgets a fire time.
func (b *Batch) startDueSchedules(now time.Time) {
	busy := map[string]bool{}
	for _, r := range b.runs {
		if !r.Status.Terminal() {
			busy[r.JobID] = true
		}
	}
	for _, j := range b.jobs {
		for _, rec := range j.sortedSchedules() {
			c := rec.compile(b.log)
			if c == nil {
				continue
			}
			d := c.Due(rec.Handled, now, busy[j.spec.ID])
			if !d.Start.IsZero() {
				fire := d.Start
				b.startRun(j, triggerSchedule+rec.Schedule.ID, &fire)
				busy[j.spec.ID] = true
			}
			if !d.Skipped.IsZero() {
				b.log.Warn("schedule fire time skipped", zap.String("job_id", j.spec.ID),
					zap.String("schedule_id", rec.Schedule.ID), zap.Time("fire_time", d.Skipped), zap.String("reason", string(d.Reason)))
			}
			if !d.Handled.Equal(rec.Handled) {
				rec.Handled = d.Handled
				b.persistSchedule(j.spec.ID, rec)
			}
		}
	}
}

// compile returns the compiled schedule (compiled once), or nil after logging why not (the
// API validated it, so this is a stored record gone bad).
func (rec *scheduleRecord) compile(log *zap.Logger) *schedule.Schedule {
	if rec.compiled == nil {
		c, err := schedule.Compile(*rec.Schedule)
		if err != nil {
			log.Error("schedule", zap.String("schedule_id", rec.Schedule.ID), zap.Error(err))
			return nil
		}
		rec.compiled = c
	}
	return rec.compiled
}
