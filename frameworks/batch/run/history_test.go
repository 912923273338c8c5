package run

import (
	"reflect"
	"testing"
	"time"
)

func finished(id string, s Status, at time.Duration) *Run {
	r := New("job", id, Params{}, t0)
	end := t0.Add(at)
	r.Status, r.CompletedAt = s, &end
	return r
}

func TestHistoryRecord(t *testing.T) {
	var h History
	if d := h.Record(New("job", "active", Params{}, t0), 2); d != nil || len(h.Runs) != 0 {
		t.Fatalf("an unfinished run was recorded: %+v", h)
	}
	h.Record(finished("a", Success, time.Second), 2)
	h.Record(finished("a", Success, time.Second), 2) // twice: once
	h.Record(finished("b", Failed, 2*time.Second), 2)
	dropped := h.Record(finished("c", Success, 3*time.Second), 2)
	if !reflect.DeepEqual(dropped, []string{"a"}) {
		t.Fatalf("dropped %v, want [a]", dropped)
	}
	if h.SuccessCount != 2 || h.FailureCount != 1 {
		t.Fatalf("counts %d/%d, want 2/1", h.SuccessCount, h.FailureCount)
	}
	if !h.LastSuccessAt.Equal(t0.Add(3*time.Second)) || !h.LastFailureAt.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("last times %v %v", h.LastSuccessAt, h.LastFailureAt)
	}
	if l, _ := h.Latest(); l.ID != "c" {
		t.Fatalf("latest %s, want c", l.ID)
	}
	if f := h.Finished(Failed); len(f) != 1 || f[0].ID != "b" {
		t.Fatalf("failed runs %+v", f)
	}
}
