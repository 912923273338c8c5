package gc

import (
	"testing"
	"time"
)

func TestGCMaxAge(t *testing.T) {
	week := 7 * 24 * time.Hour
	for _, tc := range []struct {
		name            string
		headroom, usage float64
		want            time.Duration
	}{
		{"empty disk keeps 90% of the delay", 0.1, 0, week * 9 / 10},
		{"half full", 0.1, 0.5, week * 4 / 10},
		{"within the headroom removes at once", 0.1, 0.95, 0},
		{"exactly at the headroom", 0.1, 0.9, 0},
		{"no headroom, empty disk", 0, 0, week},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := MaxAge(week, tc.headroom, tc.usage)
			if d := got - tc.want; d > time.Second || d < -time.Second {
				t.Errorf("gcMaxAge = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestGCDue(t *testing.T) {
	now := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	cands := []Candidate{
		{Paths: []string{"young"}, FinishedAt: now.Add(-1 * day)},
		{Paths: []string{"old"}, FinishedAt: now.Add(-8 * day)},
		{Paths: []string{"middle"}, FinishedAt: now.Add(-3 * day)},
	}
	// Empty disk, no headroom: only the run older than the one-week delay goes.
	due, next := Due(cands, now, 7*day, 0, 0)
	if len(due) != 1 || due[0].Paths[0] != "old" {
		t.Fatalf("due = %+v, want [old]", due)
	}
	if want := now.Add(-3 * day).Add(7 * day); !next.Equal(want) {
		t.Errorf("next = %v, want %v (middle's expiry)", next, want)
	}
	// A disk 60% full shrinks the delay to 40% (2.8 days): middle goes too.
	due, _ = Due(cands, now, 7*day, 0, 0.6)
	if len(due) != 2 || due[0].Paths[0] != "old" || due[1].Paths[0] != "middle" {
		t.Fatalf("due at 60%% = %+v, want [old middle]", due)
	}
	// Past the headroom everything goes at once, and nothing is left to schedule.
	due, next = Due(cands, now, 7*day, 0.1, 0.95)
	if len(due) != 3 || !next.IsZero() {
		t.Fatalf("due past headroom = %+v next %v, want all and no next", due, next)
	}
}
