package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/agoracluster/agora/loglevel"
	masterpb "github.com/agoracluster/agora/proto/mesos/v1/master"
	"github.com/agoracluster/agora/security/acl"
)

// The log level: GET /logging/toggle?level=N&duration=D (Mesos's endpoint; get_endpoints
// guards it as a GET, and as it changes the level set_log_level must allow it too) and the
// operator API's SET_LOGGING_LEVEL (set_log_level). Without a level and a duration
// /logging/toggle answers the level now.

var errNoLogLevel = notImplemented("this master was started without a log level to change")

// handleLoggingToggle serves /logging/toggle.
func (s *Server) handleLoggingToggle(w http.ResponseWriter, r *http.Request) {
	if !onlyGet(w, r) {
		return
	}
	level, d, err := loglevel.ParseQuery(r.URL.Query())
	if errors.Is(err, loglevel.ErrNoChange) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(strconv.FormatUint(uint64(s.loggingLevel()), 10) + "\n"))
		return
	}
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error()+"\n")
		return
	}
	if err := s.toggleLevel(callerOf(r.Context()).principal, level, d); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// setLoggingLevel runs SET_LOGGING_LEVEL.
func (s *Server) setLoggingLevel(principal string, c *masterpb.Call_SetLoggingLevel) error {
	return s.toggleLevel(principal, c.GetLevel(), time.Duration(c.GetDuration().GetNanoseconds()))
}

// toggleLevel sets the level for d when set_log_level allows principal to.
func (s *Server) toggleLevel(principal string, level uint32, d time.Duration) error {
	if err := s.authorizeAll(principal, acl.SetLogLevel, ""); err != nil {
		return err
	}
	if s.cfg.LogLevel == nil {
		return errNoLogLevel
	}
	return s.cfg.LogLevel.Set(level, d)
}
