package api

import (
	"io"
	"net/http"

	"go.uber.org/zap"
)

// Follower returns the handler of an instance that does not lead (several instances with
// --zk): /ping and GET /v1/leader (leader gives the leader's "host:port") are answered
// here, everything else goes to proxy (to the leader).
func Follower(leader func() (string, error), proxy http.Handler, log *zap.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ping", ping)
	mux.HandleFunc("GET /v1/leader", func(w http.ResponseWriter, _ *http.Request) {
		l, err := leader()
		if err != nil {
			l = ""
		}
		writeLeader(w, l)
	})
	mux.Handle("/", proxy)
	return mux
}

func ping(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "pong")
}

// writeLeader answers /v1/leader: {"leader":"host:port"}, 404 while none leads.
func writeLeader(w http.ResponseWriter, leader string) {
	if leader == "" {
		writeJSON(w, http.StatusNotFound, message{Message: "There is no leader"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"leader": leader})
}

// abdicate answers DELETE /v1/leader on the leader: it gives up the lead.
func (s *server) abdicate(w http.ResponseWriter, _ *http.Request) {
	s.log.Info("leadership abdicated")
	s.abdicateFn()
	writeJSON(w, http.StatusOK, message{Message: "Leadership abdicated"})
}
