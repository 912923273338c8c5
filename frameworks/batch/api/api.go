package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/agoracluster/agora/frameworks/batch/job"
	"github.com/agoracluster/agora/frameworks/marathon/events"
)

// Options configures the API handler.
type Options struct {
	Backend Backend
	// Events is the bus whose events /v1/events streams.
	Events *events.Bus
	// Metrics is gathered by /metrics.
	Metrics prometheus.Gatherer
	// MaxBodyBytes bounds request bodies; larger ones get 413.
	MaxBodyBytes int64
	Log          *zap.Logger
	// Abdicate, when set (several instances with --zk), makes DELETE /v1/leader give up
	// the lead.
	Abdicate func()
}

type server struct {
	b          Backend
	max        int64
	log        *zap.Logger
	abdicateFn func()
}

// Handler returns the REST API.
func Handler(o Options) http.Handler {
	s := &server{b: o.Backend, max: o.MaxBodyBytes, log: o.Log.Named("api"), abdicateFn: o.Abdicate}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ping", ping)
	mux.HandleFunc("GET /v1/info", s.info)
	mux.HandleFunc("GET /v1/leader", s.leader)
	if o.Abdicate != nil {
		mux.HandleFunc("DELETE /v1/leader", s.abdicate)
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(o.Metrics, promhttp.HandlerOpts{}))
	mux.Handle("GET /v1/events", events.Handler(o.Events, s.log))
	mux.HandleFunc("GET /v1/jobs", s.listJobs)
	mux.HandleFunc("POST /v1/jobs", s.createJob)
	mux.HandleFunc("GET /v1/jobs/{id}", s.getJob)
	mux.HandleFunc("PUT /v1/jobs/{id}", s.updateJob)
	mux.HandleFunc("DELETE /v1/jobs/{id}", s.deleteJob)
	mux.HandleFunc("GET /v1/jobs/{id}/schedules", s.listSchedules)
	mux.HandleFunc("POST /v1/jobs/{id}/schedules", s.createSchedule)
	mux.HandleFunc("GET /v1/jobs/{id}/schedules/{sid}", s.getSchedule)
	mux.HandleFunc("PUT /v1/jobs/{id}/schedules/{sid}", s.updateSchedule)
	mux.HandleFunc("DELETE /v1/jobs/{id}/schedules/{sid}", s.deleteSchedule)
	mux.HandleFunc("GET /v1/jobs/{id}/runs", s.listRuns)
	mux.HandleFunc("POST /v1/jobs/{id}/runs", s.startRun)
	mux.HandleFunc("GET /v1/jobs/{id}/runs/{rid}", s.getRun)
	mux.HandleFunc("POST /v1/jobs/{id}/runs/{rid}/actions/stop", s.stopRun)
	return mux
}

// message is Metronome's error body.
type message struct {
	Message string       `json:"message"`
	Details []job.Detail `json:"details,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError maps an error to its status code and Metronome's body; it is the one place
// that does so.
func (s *server) writeError(w http.ResponseWriter, err error) {
	var invalid *job.InvalidError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &invalid):
		writeJSON(w, http.StatusUnprocessableEntity, message{Message: "Object is not valid", Details: invalid.Details})
	case errors.As(err, &tooBig):
		writeJSON(w, http.StatusRequestEntityTooLarge, message{Message: fmt.Sprintf("Request body exceeds the limit of %d bytes", tooBig.Limit)})
	case errors.Is(err, job.ErrMalformed):
		writeJSON(w, http.StatusBadRequest, message{Message: "Invalid JSON: " + err.Error()})
	case errors.Is(err, ErrJobNotFound), errors.Is(err, ErrRunNotFound), errors.Is(err, ErrScheduleNotFound):
		writeJSON(w, http.StatusNotFound, message{Message: err.Error()})
	case errors.Is(err, ErrJobExists), errors.Is(err, ErrScheduleExists), errors.Is(err, ErrActiveRuns),
		errors.Is(err, ErrHasDependents):
		writeJSON(w, http.StatusConflict, message{Message: err.Error()})
	case errors.Is(err, ErrUnavailable):
		writeJSON(w, http.StatusServiceUnavailable, message{Message: err.Error()})
	default:
		s.log.Error("request failed", zap.Error(err))
		writeJSON(w, http.StatusInternalServerError, message{Message: err.Error()})
	}
}

// body reads the request body within the size limit.
func (s *server) body(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.max))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	return b, nil
}

// parseEmbeds reads embed= (repeatable, comma separated); unknown values are a 422.
func parseEmbeds(r *http.Request) (embeds, error) {
	var e embeds
	for _, v := range r.URL.Query()["embed"] {
		for p := range strings.SplitSeq(v, ",") {
			switch strings.TrimSpace(p) {
			case "activeRuns":
				e.activeRuns = true
			case "schedules":
				e.schedules = true
			case "history":
				e.history = true
			case "historySummary":
				e.historySummary = true
			case "":
			default:
				return e, &job.InvalidError{Details: []job.Detail{{Path: "/embed",
					Errors: []string{fmt.Sprintf("unknown embed %q (allowed: activeRuns, schedules, history, historySummary)", p)}}}}
			}
		}
	}
	return e, nil
}

func (s *server) info(w http.ResponseWriter, r *http.Request) {
	i := s.b.Info(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{"version": i.Version, "libVersion": i.Version, "frameworkId": i.FrameworkID,
		"name": "agora-batch"})
}

func (s *server) leader(w http.ResponseWriter, r *http.Request) {
	writeLeader(w, s.b.Info(r.Context()).Leader)
}

func (s *server) listJobs(w http.ResponseWriter, r *http.Request) {
	e, err := parseEmbeds(r)
	if err != nil {
		s.writeError(w, err)
		return
	}
	jobs, err := s.b.Jobs(r.Context(), e.activeRuns)
	if err != nil {
		s.writeError(w, err)
		return
	}
	out := make([]jobView, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, renderJob(j, e))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) getJob(w http.ResponseWriter, r *http.Request) {
	e, err := parseEmbeds(r)
	if err != nil {
		s.writeError(w, err)
		return
	}
	j, err := s.b.Job(r.Context(), r.PathValue("id"), e.activeRuns)
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, renderJob(j, e))
}

func (s *server) decodeSpec(w http.ResponseWriter, r *http.Request) (*job.Spec, error) {
	b, err := s.body(w, r)
	if err != nil {
		return nil, err
	}
	return job.DecodeSpec(b)
}

func (s *server) createJob(w http.ResponseWriter, r *http.Request) {
	spec, err := s.decodeSpec(w, r)
	if err == nil {
		err = s.b.CreateJob(r.Context(), spec)
	}
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, spec)
}

func (s *server) updateJob(w http.ResponseWriter, r *http.Request) {
	spec, err := s.decodeSpec(w, r)
	if err == nil && spec.ID != r.PathValue("id") {
		err = &job.InvalidError{Details: []job.Detail{{Path: "/id",
			Errors: []string{fmt.Sprintf("must be %q, the job id of the path, not %q", r.PathValue("id"), spec.ID)}}}}
	}
	if err == nil {
		err = s.b.UpdateJob(r.Context(), spec)
	}
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, spec)
}

func (s *server) deleteJob(w http.ResponseWriter, r *http.Request) {
	stop := false
	if v := r.URL.Query().Get("stopCurrentJobRuns"); v != "" {
		switch v {
		case "true":
			stop = true
		case "false":
		default:
			s.writeError(w, &job.InvalidError{Details: []job.Detail{{Path: "/stopCurrentJobRuns",
				Errors: []string{fmt.Sprintf("must be true or false, not %q", v)}}}})
			return
		}
	}
	spec, err := s.b.DeleteJob(r.Context(), r.PathValue("id"), stop)
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, spec)
}

func (s *server) listSchedules(w http.ResponseWriter, r *http.Request) {
	j, err := s.b.Job(r.Context(), r.PathValue("id"), false)
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, renderSchedules(j))
}

func (s *server) getSchedule(w http.ResponseWriter, r *http.Request) {
	j, err := s.b.Job(r.Context(), r.PathValue("id"), false)
	if err != nil {
		s.writeError(w, err)
		return
	}
	for _, sc := range renderSchedules(j) {
		if sc.ID == r.PathValue("sid") {
			writeJSON(w, http.StatusOK, sc)
			return
		}
	}
	s.writeError(w, fmt.Errorf("%w: %s/%s", ErrScheduleNotFound, r.PathValue("id"), r.PathValue("sid")))
}

func (s *server) decodeSchedule(w http.ResponseWriter, r *http.Request) (*job.Schedule, error) {
	b, err := s.body(w, r)
	if err != nil {
		return nil, err
	}
	return job.DecodeSchedule(b)
}

func (s *server) createSchedule(w http.ResponseWriter, r *http.Request) {
	sc, err := s.decodeSchedule(w, r)
	if err == nil {
		err = s.b.CreateSchedule(r.Context(), r.PathValue("id"), sc)
	}
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, sc)
}

func (s *server) updateSchedule(w http.ResponseWriter, r *http.Request) {
	sc, err := s.decodeSchedule(w, r)
	if err == nil && sc.ID != r.PathValue("sid") {
		err = &job.InvalidError{Details: []job.Detail{{Path: "/id",
			Errors: []string{fmt.Sprintf("must be %q, the schedule id of the path, not %q", r.PathValue("sid"), sc.ID)}}}}
	}
	if err == nil {
		err = s.b.UpdateSchedule(r.Context(), r.PathValue("id"), sc)
	}
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, sc)
}

func (s *server) deleteSchedule(w http.ResponseWriter, r *http.Request) {
	sc, err := s.b.DeleteSchedule(r.Context(), r.PathValue("id"), r.PathValue("sid"))
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, sc)
}

func (s *server) listRuns(w http.ResponseWriter, r *http.Request) {
	runs, err := s.b.Runs(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, renderRuns(runs))
}

func (s *server) startRun(w http.ResponseWriter, r *http.Request) {
	if _, err := s.body(w, r); err != nil { // Metronome ignores the body; it must still fit
		s.writeError(w, err)
		return
	}
	rn, err := s.b.StartRun(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, renderRun(rn))
}

func (s *server) getRun(w http.ResponseWriter, r *http.Request) {
	rn, err := s.b.Run(r.Context(), r.PathValue("id"), r.PathValue("rid"))
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, renderRun(rn))
}

func (s *server) stopRun(w http.ResponseWriter, r *http.Request) {
	rn, err := s.b.StopRun(r.Context(), r.PathValue("id"), r.PathValue("rid"))
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, renderRun(rn))
}
