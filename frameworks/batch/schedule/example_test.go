package schedule_test

import (
	"fmt"
	"time"

	"github.com/agoracluster/agora/frameworks/batch/job"
	"github.com/agoracluster/agora/frameworks/batch/schedule"
)

func ExampleSchedule_Due() {
	spec, err := job.DecodeSchedule([]byte(`{"id":"nightly","cron":"30 1 * * *","timezone":"America/New_York"}`))
	if err != nil {
		panic(err)
	}
	s, err := schedule.Compile(*spec)
	if err != nil {
		panic(err)
	}
	// First evaluation: the watermark starts at now.
	now := time.Date(2026, 10, 31, 12, 0, 0, 0, time.UTC)
	d := s.Due(time.Time{}, now, false)
	fmt.Println("wake", d.Wake.Format(time.RFC3339))
	// The shell sleeps until the wake-up, evaluates again, starts a run and persists Handled.
	d = s.Due(d.Handled, d.Wake, false)
	fmt.Println("start", d.Start.Format(time.RFC3339), "wake", d.Wake.Format(time.RFC3339))
	// Output:
	// wake 2026-11-01T01:30:00-04:00
	// start 2026-11-01T01:30:00-04:00 wake 2026-11-02T01:30:00-05:00
}
