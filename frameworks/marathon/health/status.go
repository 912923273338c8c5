package health

import "time"

// Status is a task's health as its executor's health check reports it. A task embeds it
// in its persisted record, so the JSON names are part of the stored format.
type Status struct {
	Healthy             *bool     `json:"healthy,omitempty"` // nil until the first result
	FirstSuccess        time.Time `json:"firstSuccess"`
	LastSuccess         time.Time `json:"lastSuccess"`
	LastFailure         time.Time `json:"lastFailure"`
	LastFailureCause    string    `json:"lastFailureCause,omitempty"`
	ConsecutiveFailures int       `json:"consecutiveFailures"`
}

// Record records one result at now (cause is the status message of a failure) and reports
// whether the task's health changed, so that the caller publishes the change.
func (s *Status) Record(healthy bool, cause string, now time.Time) (changed bool) {
	changed = s.Healthy == nil || *s.Healthy != healthy
	s.Healthy = &healthy
	if healthy {
		if s.FirstSuccess.IsZero() {
			s.FirstSuccess = now
		}
		s.LastSuccess = now
		s.ConsecutiveFailures = 0
		return changed
	}
	s.LastFailure = now
	s.ConsecutiveFailures++
	s.LastFailureCause = cause
	return changed
}

// IsHealthy reports whether the latest result passed (false before any result).
func (s *Status) IsHealthy() bool { return s.Healthy != nil && *s.Healthy }
