package events

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"
)

// MediaType is the SSE content type.
const MediaType = "text/event-stream"

// Handler serves GET /v2/events as Marathon does: the client must accept
// text/event-stream (otherwise 405, Marathon's answer through Jetty's
// EventSourceServlet); each event_type query parameter (repeatable) limits
// the stream to that type, and unknown types are accepted and never match.
// Each event is written as "event: <type>\ndata: <json>\n\n" and flushed.
// event_stream_attached is published when the client attaches (so it
// receives its own) and event_stream_detached when it leaves. Idle streams
// get ":" keep-alive comments every Config.KeepAlive. The stream ends when
// the client goes away, when it falls behind and is dropped, or when the
// bus closes.
func Handler(bus *Bus, log *zap.Logger) http.Handler {
	return &handler{bus: bus, log: log.Named("events_stream")}
}

type handler struct {
	bus *Bus
	log *zap.Logger
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions {
		w.Header().Set("Allow", "GET, OPTIONS")
		w.WriteHeader(http.StatusOK)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET, OPTIONS")
		http.Error(w, "HTTP method "+r.Method+" is not supported by this URL", http.StatusMethodNotAllowed)
		return
	}
	if !acceptsEventStream(r.Header.Values("Accept")) {
		http.Error(w, "HTTP method GET is not supported by this URL", http.StatusMethodNotAllowed)
		return
	}
	sub, err := h.bus.Subscribe(r.URL.Query()["event_type"])
	if err != nil {
		http.Error(w, "event stream is shutting down", http.StatusServiceUnavailable)
		return
	}
	remote := remoteIP(r.RemoteAddr)
	log := h.log.With(zap.String("remote_address", remote))
	cfg := h.bus.cfg
	defer func() {
		sub.Close()
		h.bus.Publish(NewEventStreamDetached(remote, cfg.Now()))
	}()

	rc := http.NewResponseController(w)
	hdr := w.Header()
	hdr.Set("Content-Type", MediaType+";charset=utf-8")
	hdr.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		log.Debug("flush event stream header", zap.Error(err))
		return
	}
	defer func() { _ = rc.SetWriteDeadline(time.Time{}) }()
	h.bus.Publish(NewEventStreamAttached(remote, cfg.Now()))
	log.Debug("event stream attached")

	var tick <-chan time.Time
	if cfg.KeepAlive > 0 {
		t := time.NewTicker(cfg.KeepAlive)
		defer t.Stop()
		tick = t.C
	}
	write := func(s string) error {
		if cfg.WriteTimeout > 0 {
			if err := rc.SetWriteDeadline(time.Now().Add(cfg.WriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
				return err
			}
		}
		if _, err := io.WriteString(w, s); err != nil {
			return err
		}
		return rc.Flush()
	}
	for {
		select {
		case <-r.Context().Done():
			log.Debug("event stream client went away")
			return
		case msg, ok := <-sub.C():
			if !ok {
				log.Debug("event stream ended", zap.Error(sub.Err()))
				return
			}
			if err := write(fmt.Sprintf("event: %s\ndata: %s\n\n", msg.Type, msg.Data)); err != nil {
				log.Debug("write event", zap.Error(err))
				return
			}
		case <-tick:
			if err := write(":\n\n"); err != nil {
				log.Debug("write keep-alive", zap.Error(err))
				return
			}
		}
	}
}

// acceptsEventStream reports whether any Accept media range is exactly
// text/event-stream (parameters ignored); wildcards do not count, as
// Jetty's event source does not count them.
func acceptsEventStream(values []string) bool {
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err == nil && mt == MediaType {
				return true
			}
		}
	}
	return false
}

func remoteIP(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}
