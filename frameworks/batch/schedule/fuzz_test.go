package schedule

import (
	"testing"
	"time"

	"github.com/agoracluster/agora/frameworks/batch/job"
)

// FuzzCron feeds arbitrary cron expressions through validation and evaluation: nothing panics
// or loops, and an accepted expression yields fire times that increase and match Due.
func FuzzCron(f *testing.F) {
	for _, seed := range []string{
		"* * * * *", "*/5 1-5 ? JAN-JUN MON-FRI", "0 0 29 2 *", "0 0 30 2 *", "*/0 * * * *", "5-1 * * * *",
		"0-59/61 * * * *", "@daily", "CRON_TZ=UTC * * * * *", "0 0 * * 7", "1,2,3 4,5 6 7 SUN", "L * * * *",
	} {
		f.Add(seed, uint8(0))
		f.Add(seed, uint8(2))
	}
	f.Fuzz(func(t *testing.T, expr string, zone uint8) {
		sp := job.DefaultSchedule()
		sp.ID, sp.Cron, sp.Timezone = "f", expr, zones[int(zone)%len(zones)]
		s, err := Compile(sp)
		if err != nil {
			return
		}
		at := time.Date(2026, 10, 31, 22, 0, 0, 0, time.UTC)
		for range 5 {
			n := s.Next(at)
			if n.IsZero() {
				return
			}
			if !n.After(at) {
				t.Fatalf("%q: Next(%s) = %s", expr, at, n)
			}
			if d := s.Due(at, n, false); !d.Start.Equal(n) {
				t.Fatalf("%q: Due at fire time %s: %+v", expr, n, d)
			}
			at = n
		}
	})
}
