package api

import (
	"context"
	"errors"
	"time"

	"github.com/agoracluster/agora/frameworks/batch/job"
	"github.com/agoracluster/agora/frameworks/batch/run"
)

// Errors a Backend returns; writeError maps them to status codes. A *job.InvalidError
// answers 422 with its details.
var (
	ErrJobNotFound      = errors.New("api: job not found")           // 404
	ErrRunNotFound      = errors.New("api: run not found")           // 404
	ErrScheduleNotFound = errors.New("api: schedule not found")      // 404
	ErrJobExists        = errors.New("api: job already exists")      // 409
	ErrScheduleExists   = errors.New("api: schedule already exists") // 409
	ErrActiveRuns       = errors.New("api: job has active runs")     // 409
	ErrHasDependents    = errors.New("api: job has dependents")      // 409
	ErrUnavailable      = errors.New("api: not available")           // 503
)

// Job is a job with what GET may embed. The Backend returns copies it no longer touches.
type Job struct {
	Spec       *job.Spec
	Schedules  []*job.Schedule
	ActiveRuns []*run.Run // nil unless asked for
	History    run.History
	// NextRunAt is each enabled schedule's next fire time, by schedule id.
	NextRunAt map[string]time.Time
}

// Info describes the running framework for /v1/info and /v1/leader.
type Info struct {
	Version     string
	FrameworkID string
	Leader      string // host:port of the leading instance
}

// Backend is what the API needs from the framework. Every method is safe to call from any
// goroutine; values it returns are copies.
type Backend interface {
	// Jobs returns every job, and Job one; Job.ActiveRuns holds copies of the active runs
	// only with activeRuns (copying every task of every run is what a listing costs most).
	Jobs(ctx context.Context, activeRuns bool) ([]Job, error)
	Job(ctx context.Context, id string, activeRuns bool) (Job, error)
	CreateJob(ctx context.Context, spec *job.Spec) error
	UpdateJob(ctx context.Context, spec *job.Spec) error
	DeleteJob(ctx context.Context, id string, stopRuns bool) (*job.Spec, error)
	CreateSchedule(ctx context.Context, jobID string, s *job.Schedule) error
	UpdateSchedule(ctx context.Context, jobID string, s *job.Schedule) error
	DeleteSchedule(ctx context.Context, jobID, scheduleID string) (*job.Schedule, error)
	StartRun(ctx context.Context, jobID string) (*run.Run, error)
	// Runs returns the job's active runs, oldest first.
	Runs(ctx context.Context, jobID string) ([]*run.Run, error)
	// Run returns an active run or one of the kept finished runs.
	Run(ctx context.Context, jobID, runID string) (*run.Run, error)
	StopRun(ctx context.Context, jobID, runID string) (*run.Run, error)
	Info(ctx context.Context) Info
}
