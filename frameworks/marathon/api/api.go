package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"go.uber.org/zap"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/autoscale"
	"github.com/agoracluster/agora/frameworks/marathon/events"
	"github.com/agoracluster/agora/frameworks/marathon/groups"
	"github.com/agoracluster/agora/frameworks/marathon/launchqueue"
	"github.com/agoracluster/agora/frameworks/marathon/loop"
	"github.com/agoracluster/agora/frameworks/marathon/planner"
)

// Version is the Marathon version this API is compatible with, as /v2/info reports it.
const Version = "1.9.109"

// Framework is the framework loop as the API uses it.
type Framework interface {
	// Do runs f on the loop, which owns the state, and waits for it; it fails when ctx
	// ends first or the loop has stopped.
	Do(ctx context.Context, f func(*loop.Tx)) error
	// FrameworkID is the framework id ("" before the first subscription); it does not
	// wait for the loop.
	FrameworkID() string
}

// Config is what the API reports and bounds.
type Config struct {
	// MaxBodyBytes bounds request bodies; larger ones get 413.
	MaxBodyBytes int64
	// Hostname and HTTPPort are this instance's advertised address (the leader's).
	Hostname string
	HTTPPort int
	// The rest is reported by /v2/info as the instance's configuration.
	Masters                        []string
	FrameworkName                  string
	FailoverTimeout                time.Duration
	Role, User                     string
	ServicePortMin, ServicePortMax int
	DeclineOfferDuration           time.Duration
	MaxVersions                    int
	WebUIURL                       string
	TaskLaunchTimeout              time.Duration
	ReconciliationInterval         time.Duration
	LeaderProxyConnectTimeout      time.Duration
	// Features are the enabled optional features (--enable_features).
	Features []string
	// MesosLeaderURL returns the subscribed master's URL ("" while none); nil on a
	// follower, which holds no subscription.
	MesosLeaderURL func() string
	// Callbacks are the HTTP callback event subscribers; nil unless --event_subscriber
	// http_callback.
	Callbacks Callbacks
	// Autoscaling reports the autoscaled apps (GET /v2/autoscale); nil: autoscaling is off.
	Autoscaling func() []autoscale.AppStatus
	// Leadership is the instance's place in the leader election (--zk); nil: a single
	// instance, always the leader.
	Leadership Leadership
}

// API serves the REST API on a Framework.
type API struct {
	cfg    Config
	fw     Framework
	bus    *events.Bus
	log    *zap.Logger
	render *renderer
}

// New returns the API of fw; /v2/events streams bus.
func New(cfg Config, fw Framework, bus *events.Bus, log *zap.Logger) *API {
	return &API{cfg: cfg, fw: fw, bus: bus, log: log, render: newRenderer()}
}

// Handler returns the REST API's routes. Paths are taken in every form Marathon takes
// them, without redirects: runs of slashes count as one (clients join "/v2/apps/" with an
// id that keeps its leading slash), a trailing slash is ignored, and escaped slashes in
// ids (%2F) are slashes.
func (a *API) Handler() http.Handler {
	r := mux.NewRouter().SkipClean(true)
	r.HandleFunc("/ping", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "pong")
	})
	r.HandleFunc("/metrics", a.metrics).Methods(http.MethodGet)
	r.HandleFunc("/v2/info", a.info).Methods(http.MethodGet)
	r.HandleFunc("/v2/leader", a.leader).Methods(http.MethodGet, http.MethodDelete)
	r.HandleFunc("/v2/apps", a.listApps).Methods(http.MethodGet)
	r.HandleFunc("/v2/apps", a.postApp).Methods(http.MethodPost)
	r.HandleFunc("/v2/apps", a.putApps).Methods(http.MethodPut, http.MethodPatch)
	r.PathPrefix("/v2/apps/").HandlerFunc(a.appRoutes)
	r.PathPrefix("/v2/pods").HandlerFunc(a.podRoutes)
	r.Handle("/v2/events", events.Handler(a.bus, a.log))
	r.HandleFunc("/v2/eventSubscriptions", a.eventSubscriptions).Methods(http.MethodGet, http.MethodPost, http.MethodDelete)
	r.PathPrefix("/v2/groups").HandlerFunc(a.groupRoutes)
	r.HandleFunc("/v2/autoscale", a.autoscale).Methods(http.MethodGet)
	r.HandleFunc("/v2/tasks", a.listTasks).Methods(http.MethodGet)
	r.HandleFunc("/v2/tasks/delete", a.deleteTasks).Methods(http.MethodPost)
	r.HandleFunc("/v2/deployments", a.listDeployments).Methods(http.MethodGet)
	r.HandleFunc("/v2/deployments/{id}", a.deleteDeployment).Methods(http.MethodDelete)
	r.HandleFunc("/v2/queue", a.listQueue).Methods(http.MethodGet)
	r.HandleFunc("/v2/queue/{id:.+}/delay", a.resetDelay).Methods(http.MethodDelete)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeReply(w, msgReply(http.StatusNotFound, "Not Found"))
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeReply(w, msgReply(http.StatusMethodNotAllowed, "Method Not Allowed"))
	})
	return normalizePaths(r)
}

// normalizePaths serves next with the request's path in its canonical form (cleanPath).
func normalizePaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if p := cleanPath(req.URL.Path); p != req.URL.Path || req.URL.RawPath != "" {
			u := *req.URL
			u.Path, u.RawPath = p, ""
			r2 := *req
			r2.URL = &u
			req = &r2
		}
		next.ServeHTTP(w, req)
	})
}

// cleanPath collapses runs of slashes into one and drops a trailing slash; it leaves "."
// and ".." segments alone (no route has them, so they answer 404 rather than a redirect).
func cleanPath(p string) string {
	if !strings.Contains(p, "//") && (len(p) <= 1 || !strings.HasSuffix(p, "/")) {
		return p
	}
	b := make([]byte, 0, len(p))
	for i := 0; i < len(p); i++ {
		if p[i] == '/' && len(b) > 0 && b[len(b)-1] == '/' {
			continue
		}
		b = append(b, p[i])
	}
	if len(b) > 1 && b[len(b)-1] == '/' {
		b = b[:len(b)-1]
	}
	return string(b)
}

// reply is what an API call answers: a status, a JSON body (nil = none) and headers.
type reply struct {
	status int
	body   any
	header map[string]string
}

// rawJSON is a reply body encoded already.
type rawJSON []byte

// textBody marks a reply body to be written as text/plain.
type textBody string

func msgReply(status int, format string, args ...any) reply {
	return reply{status: status, body: map[string]string{"message": fmt.Sprintf(format, args...)}}
}

// deploymentResult is Marathon's answer to a change: {"version":…,"deploymentId":…}.
type deploymentResult struct {
	Version      string `json:"version"`
	DeploymentID string `json:"deploymentId"`
}

// deployedReply is 200 with the deployment a change started.
func deployedReply(d loop.Deployed) reply {
	return reply{status: http.StatusOK, body: deploymentResult{Version: d.Version, DeploymentID: d.DeploymentID},
		header: map[string]string{"Marathon-Deployment-Id": d.DeploymentID}}
}

type idJSON struct {
	ID string `json:"id"`
}

// errorReply maps the errors of the loop's commands, and of decoding and validation, to
// Marathon's status codes and messages.
func errorReply(err error) reply {
	var (
		nf  *loop.NotFoundError
		ce  *loop.ConflictError
		le  *loop.LockedError
		gnf *groups.NotFoundError
		gce *groups.ConflictError
		ve  *app.ValidationError
		me  *app.MalformedError
	)
	switch {
	case errors.As(err, &nf):
		return msgReply(http.StatusNotFound, "%s", nf.Message)
	case errors.As(err, &ce):
		return msgReply(http.StatusConflict, "%s", ce.Message)
	case errors.As(err, &le):
		deps := make([]idJSON, 0, len(le.Deployments))
		for _, id := range le.Deployments {
			deps = append(deps, idJSON{id})
		}
		return reply{status: http.StatusConflict, body: map[string]any{"message": le.Error(), "deployments": deps}}
	case errors.As(err, &gnf):
		return msgReply(http.StatusNotFound, "%s", gnf.Error())
	case errors.As(err, &gce):
		return msgReply(http.StatusConflict, "%s", gce.Error())
	case errors.Is(err, groups.ErrRollback):
		return msgReply(http.StatusBadRequest, "group rollback to a stored version is not supported")
	case errors.As(err, &ve):
		return reply{status: http.StatusUnprocessableEntity, body: ve}
	case errors.As(err, &me):
		return msgReply(http.StatusBadRequest, "Invalid JSON: %s", me.Err.Error())
	case errors.Is(err, planner.ErrCycle):
		return reply{status: http.StatusUnprocessableEntity, body: map[string]any{
			"message": app.MsgObjectNotValid,
			"details": []app.Detail{{Path: "/", Errors: []string{"Dependency graph has cyclic dependencies."}}},
		}}
	case errors.Is(err, launchqueue.ErrNoServicePorts):
		return msgReply(http.StatusUnprocessableEntity, "%s", err.Error())
	}
	return msgReply(http.StatusInternalServerError, "%s", err.Error())
}

func writeReply(w http.ResponseWriter, r reply) {
	for k, v := range r.header {
		w.Header().Set(k, v)
	}
	if r.body == nil {
		w.WriteHeader(r.status)
		return
	}
	if raw, ok := r.body.(rawJSON); ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(r.status)
		_, _ = w.Write(raw)
		return
	}
	if t, ok := r.body.(textBody); ok {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(r.status)
		_, _ = io.WriteString(w, string(t))
		return
	}
	b, err := json.Marshal(r.body)
	if err != nil {
		http.Error(w, `{"message":"encode response"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(r.status)
	_, _ = w.Write(b)
}

// call runs f on the loop and writes its reply.
func (a *API) call(w http.ResponseWriter, req *http.Request, f func(*loop.Tx) reply) {
	var r reply
	if err := a.fw.Do(req.Context(), func(tx *loop.Tx) { r = f(tx) }); err != nil {
		writeReply(w, msgReply(http.StatusServiceUnavailable, "%s", err.Error()))
		return
	}
	writeReply(w, r)
}

// readBody reads a bounded request body; it writes 413 and returns false when too large.
func (a *API) readBody(w http.ResponseWriter, req *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, a.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeReply(w, msgReply(http.StatusRequestEntityTooLarge, "Request body exceeds %d bytes", a.cfg.MaxBodyBytes))
			return nil, false
		}
		writeReply(w, msgReply(http.StatusBadRequest, "read body: %s", err.Error()))
		return nil, false
	}
	return body, true
}

// boolParam reads a boolean query parameter as Marathon does: "true" in any case is true
// (Python clients send "True"); 1, t and T are true as well.
func boolParam(req *http.Request, name string) bool {
	v := req.URL.Query().Get(name)
	if strings.EqualFold(v, "true") {
		return true
	}
	b, _ := strconv.ParseBool(v)
	return b
}

// origin is the request as api_post_event reports it.
func origin(req *http.Request) loop.Origin {
	ip, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		ip = req.RemoteAddr
	}
	return loop.Origin{IP: ip, URI: req.URL.RequestURI()}
}

func wantsText(req *http.Request) bool {
	accept := req.Header.Get("Accept")
	return strings.Contains(accept, "text/plain") && !strings.Contains(accept, "application/json")
}
