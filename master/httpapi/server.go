package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/apicodec"
	"github.com/agoracluster/agora/loglevel"
	"github.com/agoracluster/agora/master/ledger"
)

// ErrStopped is what a Loop returns once it no longer runs functions.
var ErrStopped = errors.New("httpapi: master stopped")

// Loop runs functions on the goroutine that owns the ledger.
type Loop interface {
	// Do runs f on the loop and waits for it to return. It fails with ctx's error
	// when ctx ends first, or ErrStopped (possibly wrapped) once the loop stopped.
	Do(ctx context.Context, f func(*ledger.Ledger)) error
}

// Config holds the HTTP surface's settings.
type Config struct {
	// FrameworkHeartbeatInterval is the heartbeat period on scheduler streams.
	FrameworkHeartbeatInterval time.Duration
	// AgentHeartbeatInterval is the heartbeat period on agent streams; it should
	// match the interval the ledger announces (ledger.Config.AgentHeartbeat).
	AgentHeartbeatInterval time.Duration
	// MaxBodySize bounds API request bodies, in bytes.
	MaxBodySize int64
	// Version is the build version shown in /state.
	Version string
	// Cluster is the cluster name shown in /state.
	Cluster string
	// Flags are the master's settings by flag name, for GET_FLAGS and /flags.
	Flags map[string]string
	// LogLevel is what /logging/toggle and SET_LOGGING_LEVEL change; nil: they answer 501.
	LogLevel *loglevel.Toggle
	// Security is who must authenticate and what the ACLs allow; the zero value: off.
	Security Security
	// OperatorQueueBytes bounds what is queued for one operator API subscriber,
	// in bytes, before it is dropped as too slow; 0 means 64 MiB.
	OperatorQueueBytes int
}

// DefaultConfig returns the Mesos defaults.
func DefaultConfig() Config {
	return Config{
		FrameworkHeartbeatInterval: 15 * time.Second,
		AgentHeartbeatInterval:     15 * time.Second,
		MaxBodySize:                4 << 20,
	}
}

// Validate reports every problem with the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if c.FrameworkHeartbeatInterval <= 0 {
		errs = append(errs, fmt.Errorf("httpapi: framework_heartbeat_interval must be positive, got %s", c.FrameworkHeartbeatInterval))
	}
	if c.AgentHeartbeatInterval <= 0 {
		errs = append(errs, fmt.Errorf("httpapi: agent_heartbeat_interval must be positive, got %s", c.AgentHeartbeatInterval))
	}
	if c.MaxBodySize <= 0 {
		errs = append(errs, fmt.Errorf("httpapi: max body size must be positive, got %d", c.MaxBodySize))
	}
	return errors.Join(errs...)
}

// Server serves the master's APIs: it decodes and validates requests, runs them
// against the ledger through the Loop and encodes the answers and event streams.
type Server struct {
	cfg       Config
	loop      Loop
	metrics   *Metrics
	stop      <-chan struct{}
	log       *zap.Logger
	operators *operatorHub
}

// New returns a server that runs calls on loop and counts them in metrics. Closing
// stop ends every open stream without telling the ledger: a master that stops
// keeps its registry as it was.
func New(cfg Config, loop Loop, metrics *Metrics, stop <-chan struct{}, log *zap.Logger) *Server {
	return &Server{cfg: cfg, loop: loop, metrics: metrics, stop: stop, log: log, operators: newOperatorHub()}
}

// Register adds the server's routes to mux.
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("/api/v1/scheduler", s.handleScheduler)
	mux.HandleFunc("/master/api/v1/scheduler", s.handleScheduler)
	mux.HandleFunc("/api/v1/agent", s.handleAgent)
	for _, path := range []string{"/state", "/state.json", "/master/state", "/master/state.json"} {
		mux.HandleFunc(path, s.handleState)
	}
	mux.Handle("/metrics", s.guardEndpoint(s.metrics.handler()))
	mux.Handle("/logging/toggle", s.guardEndpoint(http.HandlerFunc(s.handleLoggingToggle)))
	mux.HandleFunc("/api/v1", s.handleOperator)
	mux.HandleFunc("/master/api/v1", s.handleOperator)
	s.registerLegacy(mux)
}

// stopping reports whether the master is winding down.
func (s *Server) stopping() bool {
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}

// StreamIDHeader names the stream a call belongs to, as in Mesos.
const StreamIDHeader = "Mesos-Stream-Id"

// httpError writes a plain text error response.
func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg)
}

// writeError is where an error of the ledger or the loop becomes a status code,
// for both APIs.
func writeError(w http.ResponseWriter, err error) {
	var refused forbiddenError
	switch {
	case errors.Is(err, ledger.ErrForbidden), errors.As(err, &refused):
		httpError(w, http.StatusForbidden, err.Error())
	case errors.Is(err, ledger.ErrInvalid):
		httpError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, ledger.ErrNotFound):
		httpError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, ledger.ErrConflict):
		httpError(w, http.StatusConflict, err.Error())
	case errors.Is(err, errNotBuilt):
		httpError(w, http.StatusNotImplemented, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		httpError(w, http.StatusServiceUnavailable, "Timed out waiting for the master: "+err.Error())
	case errors.Is(err, ErrStopped), errors.Is(err, context.Canceled):
		httpError(w, http.StatusServiceUnavailable, "Master is shutting down")
	default:
		httpError(w, http.StatusInternalServerError, err.Error())
	}
}

// readBody reads a POST body with the configured limit; it writes the error
// response itself and returns ok=false on failure.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) (apicodec.Codec, []byte, bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		httpError(w, http.StatusMethodNotAllowed, "Expecting one of { 'POST' }, but received '"+r.Method+"'")
		return apicodec.Codec{}, nil, false
	}
	c, err := apicodec.ForRequest(r.Header.Get("Content-Type"))
	if err != nil {
		httpError(w, http.StatusUnsupportedMediaType, err.Error())
		return apicodec.Codec{}, nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodySize))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			httpError(w, http.StatusRequestEntityTooLarge, "Request body exceeds the limit of "+formatBytes(s.cfg.MaxBodySize))
			return apicodec.Codec{}, nil, false
		}
		httpError(w, http.StatusBadRequest, "Failed to read request body: "+err.Error())
		return apicodec.Codec{}, nil, false
	}
	return c, body, true
}

func formatBytes(n int64) string {
	const mib = 1 << 20
	if n%mib == 0 {
		return strconv.FormatInt(n/mib, 10) + " MiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// answerCall runs a call on the loop and answers 202, or the error's status.
func (s *Server) answerCall(w http.ResponseWriter, r *http.Request, call func(*ledger.Ledger) error) {
	var callErr error
	if err := s.loop.Do(r.Context(), func(l *ledger.Ledger) { callErr = call(l) }); err != nil {
		writeError(w, err)
		return
	}
	if callErr != nil {
		writeError(w, callErr)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// startStream answers a subscription with 200 and the stream's headers, flushed at once so
// that the subscriber sees the stream open before the first event.
func startStream(w http.ResponseWriter, out apicodec.Codec, streamID string) {
	w.Header().Set("Content-Type", out.ContentType())
	w.Header().Set(StreamIDHeader, streamID)
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}
