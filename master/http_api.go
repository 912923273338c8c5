package master

import (
	"context"
	"errors"
	"github.com/agoracluster/agora/apicodec"
	"io"
	"net/http"
)

// httpError writes a plain text error response.
func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg)
}

// writeError maps an error from the state core or decoding to a response.
func writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		httpError(w, ae.code, ae.msg)
	case errors.Is(err, errStopped), errors.Is(err, context.Canceled):
		httpError(w, http.StatusServiceUnavailable, "Master is shutting down")
	default:
		httpError(w, http.StatusInternalServerError, err.Error())
	}
}

// readBody reads a POST body with the configured limit; it writes the error
// response itself and returns ok=false on failure.
func (m *Master) readBody(w http.ResponseWriter, r *http.Request) (apicodec.Codec, []byte, bool) {
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
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, m.cfg.MaxBodySize))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			httpError(w, http.StatusRequestEntityTooLarge, "Request body exceeds the limit of "+formatBytes(m.cfg.MaxBodySize))
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
		return itoa(n/mib) + " MiB"
	}
	return itoa(n) + " bytes"
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// answerCall runs a call in the state loop and answers 202, or the error's status.
func (m *Master) answerCall(w http.ResponseWriter, r *http.Request, call func(*state) error) {
	var callErr error
	if err := m.exec(r.Context(), func(s *state) { callErr = call(s) }); err != nil {
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
	w.Header().Set(streamIDHeader, streamID)
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}
