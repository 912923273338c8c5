package health

import (
	"testing"
	"time"
)

func TestStatusRecord(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	type result struct {
		healthy bool
		cause   string
	}
	tests := []struct {
		name        string
		results     []result
		wantChanged []bool
		wantFails   int
		wantCause   string
		wantFirst   time.Time
	}{
		{"first success", []result{{true, ""}}, []bool{true}, 0, "", t0},
		{"first failure", []result{{false, "boom"}}, []bool{true}, 1, "boom", time.Time{}},
		{"failures count", []result{{true, ""}, {false, "a"}, {false, "b"}}, []bool{true, true, false}, 2, "b", t0},
		{"success resets", []result{{false, "a"}, {true, ""}}, []bool{true, true}, 0, "a", t0.Add(time.Second)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s Status
			for i, r := range tc.results {
				if got := s.Record(r.healthy, r.cause, t0.Add(time.Duration(i)*time.Second)); got != tc.wantChanged[i] {
					t.Errorf("result %d: changed = %v, want %v", i, got, tc.wantChanged[i])
				}
			}
			last := tc.results[len(tc.results)-1].healthy
			if s.IsHealthy() != last || s.ConsecutiveFailures != tc.wantFails || s.LastFailureCause != tc.wantCause || !s.FirstSuccess.Equal(tc.wantFirst) {
				t.Errorf("status = %+v", s)
			}
		})
	}
}
