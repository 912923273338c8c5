package batch

import (
	"time"

	"github.com/agoracluster/agora/frameworks/batch/run"
)

// Event types of the /v1/events stream.
const (
	EventJobCreated      = "job_created"
	EventJobUpdated      = "job_updated"
	EventJobDeleted      = "job_deleted"
	EventScheduleChanged = "schedule_changed" // created, replaced or deleted
	EventRunStarted      = "run_started"
	EventRunUpdated      = "run_updated" // the run's status changed
	EventRunFinished     = "run_finished"
)

// event is one change of a job or run, as the event stream sends it.
type event struct {
	EventType  string     `json:"eventType"`
	Timestamp  string     `json:"timestamp"`
	JobID      string     `json:"jobId"`
	ScheduleID string     `json:"scheduleId,omitempty"`
	RunID      string     `json:"runId,omitempty"`
	Status     run.Status `json:"status,omitempty"`
	Reason     string     `json:"reason,omitempty"`
}

// Type implements events.Event.
func (e *event) Type() string { return e.EventType }

func (b *Batch) publish(typ, jobID string, r *run.Run) {
	ev := &event{EventType: typ, Timestamp: b.now().UTC().Format(time.RFC3339Nano), JobID: jobID}
	if r != nil {
		ev.RunID, ev.Status, ev.Reason = r.ID, r.Status, r.Reason
	}
	b.bus.Publish(ev)
}

func (b *Batch) publishSchedule(jobID, scheduleID string) {
	b.bus.Publish(&event{EventType: EventScheduleChanged, Timestamp: b.now().UTC().Format(time.RFC3339Nano),
		JobID: jobID, ScheduleID: scheduleID})
}
