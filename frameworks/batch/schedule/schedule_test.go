package schedule

import (
	"strings"
	"testing"
	"time"

	"github.com/agoracluster/agora/frameworks/batch/job"
)

func compile(t testing.TB, cron, tz string, deadline int, policy job.ConcurrencyPolicy) *Schedule {
	t.Helper()
	s := job.DefaultSchedule()
	s.ID, s.Cron, s.Timezone = "s", cron, tz
	if deadline > 0 {
		s.StartingDeadlineSeconds = deadline
	}
	if policy != "" {
		s.ConcurrencyPolicy = policy
	}
	c, err := Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// at parses an RFC 3339 time; the tests name instants with their UTC offsets.
func at(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCompileRejectsInvalid(t *testing.T) {
	for _, s := range []job.Schedule{
		{ID: "s", Cron: "@daily", Timezone: "UTC", StartingDeadlineSeconds: 1, ConcurrencyPolicy: job.ConcurrencyAllow},
		{ID: "s", Cron: "* * * * *", Timezone: "Nowhere/City", StartingDeadlineSeconds: 1, ConcurrencyPolicy: job.ConcurrencyAllow},
		{ID: "s", Cron: "* * * * *", Timezone: "UTC", StartingDeadlineSeconds: 0, ConcurrencyPolicy: job.ConcurrencyAllow},
		{ID: "", Cron: "* * * * *", Timezone: "UTC", StartingDeadlineSeconds: 1, ConcurrencyPolicy: job.ConcurrencyAllow},
	} {
		if _, err := Compile(s); err == nil || !strings.Contains(err.Error(), "job: invalid") {
			t.Errorf("Compile(%+v) = %v, want an invalid error", s, err)
		}
	}
}

func TestNext(t *testing.T) {
	tests := []struct {
		name     string
		cron, tz string
		after    string
		want     []string // successive fire times
	}{
		{"every 5 minutes UTC", "*/5 * * * *", "UTC", "2026-01-01T00:03:00Z",
			[]string{"2026-01-01T00:05:00Z", "2026-01-01T00:10:00Z"}},
		{"strictly after a fire time", "0 * * * *", "UTC", "2026-01-01T01:00:00Z",
			[]string{"2026-01-01T02:00:00Z"}},
		{"the machine's zone is irrelevant", "0 9 * * *", "UTC", "2026-01-01T10:00:00+05:00",
			[]string{"2026-01-01T09:00:00Z", "2026-01-02T09:00:00Z"}},
		{"New York winter and summer", "0 9 * * *", "America/New_York", "2026-03-06T12:00:00Z",
			[]string{"2026-03-06T09:00:00-05:00", "2026-03-07T09:00:00-05:00", "2026-03-08T09:00:00-04:00"}},
		{"Kathmandu's quarter hour", "0 0 * * *", "Asia/Kathmandu", "2026-06-01T00:00:00Z",
			[]string{"2026-06-02T00:00:00+05:45"}},
		{"weekdays by name", "0 12 * * MON-FRI", "UTC", "2026-01-02T13:00:00Z", // a Friday
			[]string{"2026-01-05T12:00:00Z", "2026-01-06T12:00:00Z"}},
		{"day of month or day of week", "0 0 13 * FRI", "UTC", "2026-02-01T00:00:00Z",
			[]string{"2026-02-06T00:00:00Z", "2026-02-13T00:00:00Z", "2026-02-20T00:00:00Z"}},
		{"leap day", "0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z",
			[]string{"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
		// America/New_York springs forward on 2026-03-08: 02:00 EST becomes 03:00 EDT.
		{"spring forward: a time in the gap does not fire that day", "30 2 * * *", "America/New_York", "2026-03-07T00:00:00-05:00",
			[]string{"2026-03-07T02:30:00-05:00", "2026-03-09T02:30:00-04:00"}},
		{"spring forward: the hour of the change does not fire", "0 2 * * *", "America/New_York", "2026-03-08T00:00:00-05:00",
			[]string{"2026-03-09T02:00:00-04:00"}},
		{"spring forward: half-hourly jumps the gap", "*/30 * * * *", "America/New_York", "2026-03-08T01:00:00-05:00",
			[]string{"2026-03-08T01:30:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T03:30:00-04:00"}},
		// America/New_York falls back on 2026-11-01: 02:00 EDT becomes 01:00 EST.
		{"fall back: a repeated time fires once, at its first occurrence", "30 1 * * *", "America/New_York", "2026-11-01T00:00:00-04:00",
			[]string{"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}},
		{"fall back: half-hourly runs the repeated hour once", "*/30 * * * *", "America/New_York", "2026-11-01T00:45:00-04:00",
			[]string{"2026-11-01T01:00:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-01T02:00:00-05:00"}},
		{"fall back: hourly", "0 * * * *", "America/New_York", "2026-11-01T00:30:00-04:00",
			[]string{"2026-11-01T01:00:00-04:00", "2026-11-01T02:00:00-05:00", "2026-11-01T03:00:00-05:00"}},
		{"fall back: evaluated during the repeated hour", "30 1 * * *", "America/New_York", "2026-11-01T01:10:00-05:00",
			[]string{"2026-11-02T01:30:00-05:00"}},
		// Lord Howe Island falls back by 30 minutes on 2026-04-05: 02:00 (+11) becomes 01:30 (+10:30).
		{"fall back by half an hour", "45 1 * * *", "Australia/Lord_Howe", "2026-04-05T00:00:00+11:00",
			[]string{"2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30"}},
		{"fall back by half an hour: the next day's midnight hour is whole", "*/20 0 * * *", "Australia/Lord_Howe", "2026-04-05T00:50:00+11:00",
			[]string{"2026-04-06T00:00:00+10:30", "2026-04-06T00:20:00+10:30"}},
		// America/Havana springs forward at midnight on 2026-03-08: 00:00 CST becomes 01:00 CDT.
		{"midnight that does not exist", "0 0 * * *", "America/Havana", "2026-03-07T12:00:00-05:00",
			[]string{"2026-03-09T00:00:00-04:00"}},
		{"Europe/Berlin springs forward at 02:00", "15 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00+01:00",
			[]string{"2026-03-30T02:15:00+02:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := compile(t, tt.cron, tt.tz, 0, "")
			got := s.Next(at(t, tt.after))
			for i, w := range tt.want {
				if want := at(t, w); !got.Equal(want) {
					t.Fatalf("fire %d: got %s, want %s", i, got.Format(time.RFC3339), want.Format(time.RFC3339))
				}
				if got.Location() != s.Location() {
					t.Errorf("fire %d in %s, want %s", i, got.Location(), s.Location())
				}
				got = s.Next(got)
			}
		})
	}
}

func TestDue(t *testing.T) {
	const hourly, everyMinute = "0 * * * *", "* * * * *"
	zero := ""
	tests := []struct {
		name     string
		cron, tz string
		deadline int // seconds; 0: the default 900
		policy   job.ConcurrencyPolicy
		disabled bool
		handled  string // "" = never evaluated
		now      string
		active   bool
		want     want
	}{
		{name: "never evaluated: nothing before now starts", cron: hourly, handled: zero, now: "2026-01-01T10:00:00Z",
			want: want{handled: "2026-01-01T10:00:00Z", wake: "2026-01-01T11:00:00Z"}},
		{name: "not yet due", cron: hourly, handled: "2026-01-01T10:00:00Z", now: "2026-01-01T10:59:59Z",
			want: want{handled: "2026-01-01T10:00:00Z", wake: "2026-01-01T11:00:00Z"}},
		{name: "due exactly now", cron: hourly, handled: "2026-01-01T10:00:00Z", now: "2026-01-01T11:00:00Z",
			want: want{start: "2026-01-01T11:00:00Z", handled: "2026-01-01T11:00:00Z", wake: "2026-01-01T12:00:00Z"}},
		{name: "evaluated late, within the deadline", cron: hourly, handled: "2026-01-01T10:00:00Z", now: "2026-01-01T11:14:59Z",
			want: want{start: "2026-01-01T11:00:00Z", handled: "2026-01-01T11:00:00Z", wake: "2026-01-01T12:00:00Z"}},
		{name: "deadline reached", cron: hourly, handled: "2026-01-01T10:00:00Z", now: "2026-01-01T11:15:00Z",
			want: want{skipped: "2026-01-01T11:00:00Z", reason: SkipDeadline, handled: "2026-01-01T11:00:00Z", wake: "2026-01-01T12:00:00Z"}},
		{name: "short deadline", cron: hourly, deadline: 30, handled: "2026-01-01T10:00:00Z", now: "2026-01-01T11:00:31Z",
			want: want{skipped: "2026-01-01T11:00:00Z", reason: SkipDeadline, handled: "2026-01-01T11:00:00Z", wake: "2026-01-01T12:00:00Z"}},
		{name: "down for hours: the latest fire time within its deadline starts once", cron: hourly,
			handled: "2026-01-01T03:00:00Z", now: "2026-01-01T11:10:00Z",
			want: want{start: "2026-01-01T11:00:00Z", handled: "2026-01-01T11:00:00Z", wake: "2026-01-01T12:00:00Z"}},
		{name: "down for hours: the latest fire time is past its deadline", cron: hourly,
			handled: "2026-01-01T03:00:00Z", now: "2026-01-01T11:20:00Z",
			want: want{skipped: "2026-01-01T11:00:00Z", reason: SkipDeadline, handled: "2026-01-01T11:00:00Z", wake: "2026-01-01T12:00:00Z"}},
		{name: "down for a year under an every-minute schedule", cron: everyMinute,
			handled: "2025-01-01T00:00:00Z", now: "2026-01-01T10:00:30Z",
			want: want{start: "2026-01-01T10:00:00Z", handled: "2026-01-01T10:00:00Z", wake: "2026-01-01T10:01:00Z"}},
		{name: "ALLOW starts beside an active run", cron: hourly, handled: "2026-01-01T10:00:00Z", now: "2026-01-01T11:00:00Z", active: true,
			want: want{start: "2026-01-01T11:00:00Z", handled: "2026-01-01T11:00:00Z", wake: "2026-01-01T12:00:00Z"}},
		{name: "FORBID while a run is active waits until the deadline", cron: hourly, policy: job.ConcurrencyForbid,
			handled: "2026-01-01T10:00:00Z", now: "2026-01-01T11:00:00Z", active: true,
			want: want{waiting: "2026-01-01T11:00:00Z", handled: "2026-01-01T10:00:00Z", wake: "2026-01-01T11:15:00Z"}},
		{name: "FORBID starts when the run has finished within the deadline", cron: hourly, policy: job.ConcurrencyForbid,
			handled: "2026-01-01T10:00:00Z", now: "2026-01-01T11:07:00Z",
			want: want{start: "2026-01-01T11:00:00Z", handled: "2026-01-01T11:00:00Z", wake: "2026-01-01T12:00:00Z"}},
		{name: "FORBID skips when the run is still active at the deadline", cron: hourly, policy: job.ConcurrencyForbid,
			handled: "2026-01-01T10:00:00Z", now: "2026-01-01T11:15:00Z", active: true,
			want: want{skipped: "2026-01-01T11:00:00Z", reason: SkipForbid, handled: "2026-01-01T11:00:00Z", wake: "2026-01-01T12:00:00Z"}},
		{name: "FORBID waiting wakes at the next fire time when that comes first", cron: "*/5 * * * *", policy: job.ConcurrencyForbid,
			handled: "2026-01-01T10:55:00Z", now: "2026-01-01T11:00:00Z", active: true,
			want: want{waiting: "2026-01-01T11:00:00Z", handled: "2026-01-01T10:55:00Z", wake: "2026-01-01T11:05:00Z"}},
		{name: "FORBID: a newer fire time supersedes the waiting one", cron: "*/5 * * * *", policy: job.ConcurrencyForbid,
			handled: "2026-01-01T10:55:00Z", now: "2026-01-01T11:05:00Z",
			want: want{start: "2026-01-01T11:05:00Z", handled: "2026-01-01T11:05:00Z", wake: "2026-01-01T11:10:00Z"}},
		{name: "disabled: nothing starts and the watermark moves to now", cron: hourly, disabled: true,
			handled: "2026-01-01T08:00:00Z", now: "2026-01-01T11:00:00Z",
			want: want{handled: "2026-01-01T11:00:00Z"}},
		{name: "the clock went back: nothing starts twice", cron: hourly, handled: "2026-01-01T11:00:00Z", now: "2026-01-01T10:30:00Z",
			want: want{handled: "2026-01-01T11:00:00Z", wake: "2026-01-01T12:00:00Z"}},
		{name: "down across a DST change, in the schedule's zone", cron: "30 1 * * *", tz: "America/New_York",
			handled: "2026-11-01T01:30:00-04:00", now: "2026-11-01T01:40:00-05:00",
			want: want{handled: "2026-11-01T01:30:00-04:00", wake: "2026-11-02T01:30:00-05:00"}},
		{name: "a repeated wall-clock time is not started again", cron: "30 1 * * *", tz: "America/New_York",
			handled: "2026-11-01T00:00:00-04:00", now: "2026-11-01T01:31:00-05:00",
			want: want{skipped: "2026-11-01T01:30:00-04:00", reason: SkipDeadline, handled: "2026-11-01T01:30:00-04:00", wake: "2026-11-02T01:30:00-05:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tz := tt.tz
			if tz == "" {
				tz = "UTC"
			}
			sp := job.DefaultSchedule()
			sp.ID, sp.Cron, sp.Timezone, sp.Enabled = "s", tt.cron, tz, !tt.disabled
			if tt.deadline > 0 {
				sp.StartingDeadlineSeconds = tt.deadline
			}
			if tt.policy != "" {
				sp.ConcurrencyPolicy = tt.policy
			}
			s, err := Compile(sp)
			if err != nil {
				t.Fatal(err)
			}
			var handled time.Time
			if tt.handled != "" {
				handled = at(t, tt.handled)
			}
			now := at(t, tt.now)
			got := s.Due(handled, now, tt.active)
			tt.want.check(t, got)
			if !got.Wake.IsZero() && !got.Wake.After(now) {
				t.Errorf("wake %s is not after now %s", got.Wake, now)
			}
			// Evaluating again at the same instant with the new watermark starts nothing.
			if again := s.Due(got.Handled, now, tt.active); !again.Start.IsZero() || !again.Skipped.IsZero() {
				t.Errorf("second evaluation: %+v", again)
			}
		})
	}
}

type want struct {
	start, skipped, waiting string
	reason                  SkipReason
	handled, wake           string
}

func (w want) check(t *testing.T, d Decision) {
	t.Helper()
	for _, f := range []struct {
		name string
		got  time.Time
		want string
	}{
		{"start", d.Start, w.start}, {"skipped", d.Skipped, w.skipped}, {"waiting", d.Waiting, w.waiting},
		{"handled", d.Handled, w.handled}, {"wake", d.Wake, w.wake},
	} {
		switch {
		case f.want == "" && !f.got.IsZero():
			t.Errorf("%s: got %s, want none", f.name, f.got.Format(time.RFC3339))
		case f.want != "" && !f.got.Equal(at(t, f.want)):
			t.Errorf("%s: got %s, want %s", f.name, f.got.Format(time.RFC3339), f.want)
		}
	}
	if d.Reason != w.reason {
		t.Errorf("reason: got %q, want %q", d.Reason, w.reason)
	}
}
