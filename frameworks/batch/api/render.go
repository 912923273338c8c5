package api

import (
	"encoding/json"
	"time"

	"github.com/agoracluster/agora/frameworks/batch/job"
	"github.com/agoracluster/agora/frameworks/batch/run"
)

// timeFormat is Metronome's timestamp form: 2016-07-12T00:51:01.833+0000.
const timeFormat = "2006-01-02T15:04:05.000-0700"

// stamp renders a time in Metronome's form (null when nil).
type stamp struct{ t *time.Time }

func at(t time.Time) stamp   { return stamp{&t} }
func atp(t *time.Time) stamp { return stamp{t} }
func (s stamp) MarshalJSON() ([]byte, error) {
	if s.t == nil || s.t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(s.t.UTC().Format(timeFormat))
}

type taskView struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	StartedAt   stamp  `json:"startedAt"`
	CompletedAt stamp  `json:"completedAt"`
	AgentID     string `json:"agentId,omitempty"`
	Host        string `json:"host,omitempty"`
	AgentURL    string `json:"agentUrl,omitempty"`
	Sandbox     string `json:"sandbox,omitempty"`
	ExitStatus  *int   `json:"exitStatus,omitempty"`
	Message     string `json:"message,omitempty"`
}

type runView struct {
	ID          string     `json:"id"`
	JobID       string     `json:"jobId"`
	Status      run.Status `json:"status"`
	CreatedAt   stamp      `json:"createdAt"`
	CompletedAt stamp      `json:"completedAt"`
	Tasks       []taskView `json:"tasks"`
	Reason      string     `json:"reason,omitempty"`
	Trigger     string     `json:"trigger,omitempty"`
	Failures    int        `json:"failures"`
}

func renderRun(r *run.Run) runView {
	v := runView{ID: r.ID, JobID: r.JobID, Status: r.Status, CreatedAt: at(r.CreatedAt), CompletedAt: atp(r.CompletedAt),
		Tasks: make([]taskView, 0, len(r.Tasks)), Reason: r.Reason, Trigger: r.Trigger, Failures: r.Failures}
	for _, t := range r.Tasks {
		v.Tasks = append(v.Tasks, taskView{ID: t.ID, Status: t.Status, StartedAt: at(t.StartedAt), CompletedAt: atp(t.CompletedAt),
			AgentID: t.AgentID, Host: t.Host, AgentURL: t.AgentURL, Sandbox: t.Sandbox, ExitStatus: t.ExitStatus, Message: t.Message})
	}
	return v
}

func renderRuns(rs []*run.Run) []runView {
	out := make([]runView, 0, len(rs))
	for _, r := range rs {
		out = append(out, renderRun(r))
	}
	return out
}

type summaryView struct {
	SuccessCount  int   `json:"successCount"`
	FailureCount  int   `json:"failureCount"`
	LastSuccessAt stamp `json:"lastSuccessAt"`
	LastFailureAt stamp `json:"lastFailureAt"`
}

type finishedView struct {
	ID         string `json:"id"`
	CreatedAt  stamp  `json:"createdAt"`
	FinishedAt stamp  `json:"finishedAt"`
}

type historyView struct {
	summaryView
	SuccessfulFinishedRuns []finishedView `json:"successfulFinishedRuns"`
	FailedFinishedRuns     []finishedView `json:"failedFinishedRuns"`
}

func renderSummary(h run.History) summaryView {
	return summaryView{SuccessCount: h.SuccessCount, FailureCount: h.FailureCount,
		LastSuccessAt: atp(h.LastSuccessAt), LastFailureAt: atp(h.LastFailureAt)}
}

func renderFinished(ss []run.Summary) []finishedView {
	out := make([]finishedView, 0, len(ss))
	for _, s := range ss {
		out = append(out, finishedView{ID: s.ID, CreatedAt: at(s.CreatedAt), FinishedAt: at(s.FinishedAt)})
	}
	return out
}

// scheduleView is a schedule with its next fire time, as Metronome shows it.
type scheduleView struct {
	*job.Schedule
	NextRunAt stamp `json:"nextRunAt"`
}

func renderSchedules(j Job) []scheduleView {
	out := make([]scheduleView, 0, len(j.Schedules))
	for _, s := range j.Schedules {
		v := scheduleView{Schedule: s}
		if next, ok := j.NextRunAt[s.ID]; ok {
			v.NextRunAt = at(next)
		}
		out = append(out, v)
	}
	return out
}

// embeds are the embed= options of the job endpoints.
type embeds struct{ activeRuns, schedules, history, historySummary bool }

// jobView is a job spec with the requested embeds; unrequested ones are omitted.
type jobView struct {
	*job.Spec
	ActiveRuns     *[]runView      `json:"activeRuns,omitempty"`
	Schedules      *[]scheduleView `json:"schedules,omitempty"`
	History        *historyView    `json:"history,omitempty"`
	HistorySummary *summaryView    `json:"historySummary,omitempty"`
}

func renderJob(j Job, e embeds) jobView {
	v := jobView{Spec: j.Spec}
	if e.activeRuns {
		runs := renderRuns(j.ActiveRuns)
		v.ActiveRuns = &runs
	}
	if e.schedules {
		s := renderSchedules(j)
		v.Schedules = &s
	}
	if e.history {
		v.History = &historyView{summaryView: renderSummary(j.History),
			SuccessfulFinishedRuns: renderFinished(j.History.Finished(run.Success)),
			FailedFinishedRuns:     renderFinished(j.History.Finished(run.Failed))}
	}
	if e.historySummary {
		s := renderSummary(j.History)
		v.HistorySummary = &s
	}
	return v
}
