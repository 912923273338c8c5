package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// Batch is a client of the batch framework's Metronome-style /v1 API.
type Batch struct{ base }

// NewBatch returns a client of the batch API at rawURL; hc nil means http.DefaultClient.
func NewBatch(rawURL string, hc *http.Client) (*Batch, error) {
	b, err := newBase("batch", rawURL, hc)
	if err != nil {
		return nil, err
	}
	return &Batch{b}, nil
}

// Job is a job definition with, when listed, its active runs and history summary.
type Job struct {
	ID          string `json:"id"`
	Description string `json:"description,omitempty"`
	Run         struct {
		Cmd  string  `json:"cmd,omitempty"`
		CPUs float64 `json:"cpus"`
		Mem  float64 `json:"mem"`
	} `json:"run"`
	ActiveRuns []JobRun `json:"activeRuns,omitempty"`
	History    *struct {
		SuccessCount  int    `json:"successCount"`
		FailureCount  int    `json:"failureCount"`
		LastSuccessAt string `json:"lastSuccessAt"`
		LastFailureAt string `json:"lastFailureAt"`
	} `json:"historySummary,omitempty"`
}

// JobRun is a run of a job.
type JobRun struct {
	ID          string `json:"id"`
	JobID       string `json:"jobId"`
	Status      string `json:"status"`
	CreatedAt   string `json:"createdAt"`
	CompletedAt string `json:"completedAt,omitempty"`
}

func jobPath(id string) string { return "/v1/jobs/" + url.PathEscape(id) }

// Jobs lists the jobs with their active runs and history.
func (b *Batch) Jobs(ctx context.Context) ([]Job, error) {
	var out []Job
	err := b.do(ctx, http.MethodGet, "/v1/jobs?embed=activeRuns&embed=historySummary", nil, &out)
	return out, err
}

// Job returns one job with its active runs and history.
func (b *Batch) Job(ctx context.Context, id string) (Job, error) {
	var out Job
	err := b.do(ctx, http.MethodGet, jobPath(id)+"?embed=activeRuns&embed=historySummary", nil, &out)
	return out, err
}

// CreateJob creates the job that definition (JSON with an "id") describes.
func (b *Batch) CreateJob(ctx context.Context, definition []byte) (Job, error) {
	if !json.Valid(definition) {
		return Job{}, fmt.Errorf("batch: job definition is not valid JSON")
	}
	var out Job
	err := b.do(ctx, http.MethodPost, "/v1/jobs", definition, &out)
	return out, err
}

// RunJob starts a run of a job now.
func (b *Batch) RunJob(ctx context.Context, id string) (JobRun, error) {
	var out JobRun
	err := b.do(ctx, http.MethodPost, jobPath(id)+"/runs", []byte("{}"), &out)
	return out, err
}

// Runs lists a job's active runs.
func (b *Batch) Runs(ctx context.Context, id string) ([]JobRun, error) {
	var out []JobRun
	err := b.do(ctx, http.MethodGet, jobPath(id)+"/runs", nil, &out)
	return out, err
}

// DeleteJob deletes a job; stopRuns stops its active runs first.
func (b *Batch) DeleteJob(ctx context.Context, id string, stopRuns bool) error {
	p := jobPath(id)
	if stopRuns {
		p += "?stopCurrentJobRuns=true"
	}
	return b.do(ctx, http.MethodDelete, p, nil, nil)
}
