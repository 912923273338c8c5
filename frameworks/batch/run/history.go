package run

import "time"

// Summary is one finished run in a job's history (Metronome's successfulFinishedRuns and
// failedFinishedRuns entries).
type Summary struct {
	ID         string     `json:"id"`
	CreatedAt  time.Time  `json:"createdAt"`
	FinishedAt time.Time  `json:"finishedAt"`
	Status     Status     `json:"status"`
	Trigger    string     `json:"trigger,omitempty"`
	FireTime   *time.Time `json:"fireTime,omitempty"`
}

// History is what a job's finished runs leave behind: counts, the last success and
// failure times, and the last finished runs, newest first.
type History struct {
	SuccessCount  int        `json:"successCount"`
	FailureCount  int        `json:"failureCount"`
	LastSuccessAt *time.Time `json:"lastSuccessAt"`
	LastFailureAt *time.Time `json:"lastFailureAt"`
	Runs          []Summary  `json:"runs"`
}

// Record adds a finished run and keeps at most keep runs; it returns the ids of the runs
// it dropped. Recording a run twice (or an unfinished run) changes nothing.
func (h *History) Record(r *Run, keep int) (dropped []string) {
	if !r.Status.Terminal() || h.Has(r.ID) {
		return nil
	}
	end := r.CreatedAt
	if r.CompletedAt != nil {
		end = *r.CompletedAt
	}
	if r.Status == Success {
		h.SuccessCount++
		if h.LastSuccessAt == nil || end.After(*h.LastSuccessAt) {
			h.LastSuccessAt = &end
		}
	} else {
		h.FailureCount++
		if h.LastFailureAt == nil || end.After(*h.LastFailureAt) {
			h.LastFailureAt = &end
		}
	}
	s := Summary{ID: r.ID, CreatedAt: r.CreatedAt, FinishedAt: end, Status: r.Status, Trigger: r.Trigger, FireTime: r.FireTime}
	h.Runs = append([]Summary{s}, h.Runs...)
	if keep >= 0 && len(h.Runs) > keep {
		for _, d := range h.Runs[keep:] {
			dropped = append(dropped, d.ID)
		}
		h.Runs = h.Runs[:keep]
	}
	return dropped
}

// Has reports whether the run is among the kept finished runs.
func (h *History) Has(id string) bool {
	for _, s := range h.Runs {
		if s.ID == id {
			return true
		}
	}
	return false
}

// Latest returns the most recently finished run, if any.
func (h *History) Latest() (Summary, bool) {
	if len(h.Runs) == 0 {
		return Summary{}, false
	}
	return h.Runs[0], true
}

// Finished returns the kept runs with the given status, newest first.
func (h *History) Finished(s Status) []Summary {
	out := []Summary{}
	for _, r := range h.Runs {
		if r.Status == s {
			out = append(out, r)
		}
	}
	return out
}
