package schedule

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/agoracluster/agora/frameworks/batch/job"
)

// field is one cron field as a generator draws it: its text and the values it matches.
type field struct {
	text   string
	values []int
	star   bool
}

func drawField(t *rapid.T, name string, lo, hi int, steps bool) field {
	all := func(step int) []int {
		var v []int
		for i := lo; i <= hi; i += step {
			v = append(v, i)
		}
		return v
	}
	kinds := []string{"star", "list"}
	if steps {
		kinds = append(kinds, "step", "range")
	}
	switch rapid.SampledFrom(kinds).Draw(t, name+"-kind") {
	case "star":
		return field{text: "*", values: all(1), star: true}
	case "step":
		n := rapid.IntRange(2, (hi-lo+1)/2).Draw(t, name+"-step")
		return field{text: fmt.Sprintf("*/%d", n), values: all(n)}
	case "range":
		a := rapid.IntRange(lo, hi).Draw(t, name+"-from")
		b := rapid.IntRange(a, hi).Draw(t, name+"-to")
		var v []int
		for i := a; i <= b; i++ {
			v = append(v, i)
		}
		return field{text: fmt.Sprintf("%d-%d", a, b), values: v}
	default:
		v := rapid.SliceOfNDistinct(rapid.IntRange(lo, hi), 1, 3, rapid.ID[int]).Draw(t, name+"-list")
		slices.Sort(v)
		texts := make([]string, len(v))
		for i, x := range v {
			texts[i] = strconv.Itoa(x)
		}
		return field{text: strings.Join(texts, ","), values: v}
	}
}

// naiveNext is the reference for Next: it walks the instants after `after` minute by minute
// and returns the first whose wall-clock time in loc matches the fields (day of month and day
// of week OR-ed when both are restricted, as in cron) and did not occur at an earlier instant.
func naiveNext(after time.Time, loc *time.Location, min, hour, dom, dow field, limit time.Time) time.Time {
	t := after.Truncate(time.Minute).Add(time.Minute)
	for ; !t.After(limit); t = t.Add(time.Minute) {
		w := t.In(loc)
		if !slices.Contains(min.values, w.Minute()) || !slices.Contains(hour.values, w.Hour()) {
			continue
		}
		d := dom.star || slices.Contains(dom.values, w.Day())
		wd := dow.star || slices.Contains(dow.values, int(w.Weekday()))
		if dom.star || dow.star {
			if !d || !wd {
				continue
			}
		} else if !d && !wd {
			continue
		}
		repeated := false
		for k := 1; k <= 180 && !repeated; k++ {
			u := t.Add(-time.Duration(k) * time.Minute).In(loc)
			repeated = u.Day() == w.Day() && u.Hour() == w.Hour() && u.Minute() == w.Minute()
		}
		if !repeated {
			return t
		}
	}
	return time.Time{}
}

var zones = []string{"UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kathmandu", "America/Havana", "America/Santiago", "Pacific/Apia"}

func TestNextMatchesNaiveReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		min := drawField(t, "minute", 0, 59, true)
		hour := drawField(t, "hour", 0, 23, true)
		dom := drawField(t, "dom", 1, 28, false)
		dow := drawField(t, "dow", 0, 6, false)
		tz := rapid.SampledFrom(zones).Draw(t, "tz")
		// Around the DST changes of 2026 in the northern and southern hemispheres, or anywhere.
		base := rapid.SampledFrom([]time.Time{
			time.Date(2026, 3, 7, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 28, 0, 0, 0, 0, time.UTC),
			time.Date(2026, 4, 4, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 3, 0, 0, 0, 0, time.UTC),
			time.Date(2026, 10, 24, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC),
			time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 9, 5, 0, 0, 0, 0, time.UTC),
		}).Draw(t, "base")
		after := base.Add(time.Duration(rapid.IntRange(0, 3*24*3600).Draw(t, "offset")) * time.Second)

		sp := job.DefaultSchedule()
		sp.ID, sp.Timezone = "p", tz
		sp.Cron = strings.Join([]string{min.text, hour.text, dom.text, "*", dow.text}, " ")
		s, err := Compile(sp)
		if err != nil {
			t.Fatalf("%q: %v", sp.Cron, err)
		}
		limit := after.Add(40 * 24 * time.Hour)
		got, want := after, after
		for i := range 4 {
			want = naiveNext(want, s.Location(), min, hour, dom, dow, limit)
			if want.IsZero() {
				return
			}
			got = s.Next(got)
			if !got.Equal(want) {
				t.Fatalf("%q in %s, fire %d after %s: got %s, want %s", sp.Cron, tz, i, after.In(s.Location()),
					got.Format(time.RFC3339), want.In(s.Location()).Format(time.RFC3339))
			}
		}
	})
}

// TestDueStartsEachFireTimeAtMostOnce drives Due at random instants, as a shell that wakes late,
// restarts, or is called between wake-ups would: no fire time starts twice, every start is
// within its deadline, and a fire time evaluated within its deadline (under ALLOW) starts
// unless a newer one supersedes it.
func TestDueStartsEachFireTimeAtMostOnce(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		sp := job.DefaultSchedule()
		sp.ID = "p"
		sp.Cron = rapid.SampledFrom([]string{"* * * * *", "*/5 * * * *", "0 * * * *", "30 1 * * *", "*/30 0-3 * * *"}).Draw(t, "cron")
		sp.Timezone = rapid.SampledFrom(zones).Draw(t, "tz")
		sp.StartingDeadlineSeconds = rapid.IntRange(1, 7200).Draw(t, "deadline")
		s, err := Compile(sp)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Date(2026, 10, 31, 20, 0, 0, 0, time.UTC)
		var handled time.Time
		started := map[time.Time]bool{}
		for i := range rapid.IntRange(1, 60).Draw(t, "steps") {
			step := time.Duration(rapid.IntRange(0, 3*3600).Draw(t, fmt.Sprintf("step%d", i))) * time.Second
			now = now.Add(step)
			d := s.Due(handled, now, false)
			if !d.Start.IsZero() {
				if started[d.Start] {
					t.Fatalf("%s started twice (at %s)", d.Start, now)
				}
				started[d.Start] = true
				if d.Start.After(now) || now.Sub(d.Start) >= time.Duration(sp.StartingDeadlineSeconds)*time.Second {
					t.Fatalf("started %s at %s, outside its deadline", d.Start, now)
				}
			}
			// The latest fire time in (handled, now] within its deadline is the one started.
			if !handled.IsZero() {
				latest := time.Time{}
				for f := s.Next(handled); !f.IsZero() && !f.After(now); f = s.Next(f) {
					latest = f
				}
				if !latest.IsZero() && now.Sub(latest) < time.Duration(sp.StartingDeadlineSeconds)*time.Second && !d.Start.Equal(latest) {
					t.Fatalf("at %s, %s is due within its deadline but Due says %+v", now, latest, d)
				}
			}
			if d.Handled.Before(handled) {
				t.Fatalf("watermark went back from %s to %s", handled, d.Handled)
			}
			if !d.Wake.IsZero() && !d.Wake.After(now) {
				t.Fatalf("wake %s not after now %s", d.Wake, now)
			}
			handled = d.Handled
		}
	})
}
