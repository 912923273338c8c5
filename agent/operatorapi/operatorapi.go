// Package operatorapi serves the agent's side of the Mesos v1 operator API (POST /api/v1:
// GET_HEALTH, GET_FLAGS, GET_VERSION, GET_METRICS, GET_LOGGING_LEVEL, GET_STATE,
// GET_FRAMEWORKS, GET_EXECUTORS, GET_TASKS, GET_AGENT, GET_CONTAINERS, LIST_FILES, READ_FILE)
// and the legacy JSON endpoints that Mesos tools read from agents: /containers and
// /metrics/snapshot (Mesos's slave/… metric names). It renders what a narrow Source reads
// from the agent, and reads sandbox files through package files, confined to the sandboxes.
package operatorapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/files"
	"github.com/agoracluster/agora/agent/sandbox"
	"github.com/agoracluster/agora/apicodec"
	"github.com/agoracluster/agora/loglevel"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	agentpb "github.com/agoracluster/agora/proto/mesos/v1/agent"
	"github.com/agoracluster/agora/security/acl"
)

// Source is what the operator API reads from the agent; the methods that take a ctx read
// the agent's state on its loop and fail with ErrUnavailable once it has stopped.
type Source interface {
	// State is GET_STATE's answer: tasks, executors and frameworks.
	State(ctx context.Context) (*agentpb.Response_GetState, error)
	// Info is the agent's AgentInfo (with its id once registered).
	Info(ctx context.Context) (*mesos.AgentInfo, error)
	// Containers lists the running containers, with their usage where it is known.
	Containers(ctx context.Context) ([]*agentpb.Response_GetContainers_Container, error)
	// Metrics are the agent's figures under Mesos's names (slave/tasks_running, …).
	Metrics(ctx context.Context) (map[string]float64, error)
	// Debug reports whether debug lines are logged (GET_LOGGING_LEVEL says 1 then).
	Debug() bool
}

// ErrUnavailable is returned by a Source whose agent has stopped.
var ErrUnavailable = errors.New("operatorapi: the agent is shutting down")

// Handler serves POST /api/v1, /containers and /metrics/snapshot.
type Handler struct {
	Src Source
	// WorkDir holds the sandboxes that LIST_FILES and READ_FILE may read.
	WorkDir string
	// Version is GET_VERSION's answer; Flags is GET_FLAGS's, by flag name.
	Version string
	Flags   map[string]string
	// MaxBodySize bounds a call's body, in bytes (1 MiB when 0).
	MaxBodySize int64
	// Authenticate, when set, is asked once a call is decoded whether its request may make a
	// call that reads (readOnly) or changes the agent; false means it has answered (401).
	Authenticate func(w http.ResponseWriter, r *http.Request, readOnly bool) bool
	// Access, when set, decides whether the caller may read a sandbox path (LIST_FILES,
	// READ_FILE); a refusal wraps files.ErrForbidden (403).
	Access files.Access
	// Authorize, when set, decides whether the caller of ctx may do action on object (the
	// ACLs' view_flags, set_log_level and get_endpoints); a refusal wraps
	// files.ErrForbidden (403).
	Authorize func(ctx context.Context, action acl.Action, object string) error
	// LogLevel is what SET_LOGGING_LEVEL and /logging/toggle change; nil: they answer 501.
	LogLevel *loglevel.Toggle
}

// readOnlyCall reports whether a call only reads the agent.
func readOnlyCall(t agentpb.Call_Type) bool {
	return t == agentpb.Call_LIST_FILES || t == agentpb.Call_READ_FILE || strings.HasPrefix(t.String(), "GET_")
}

// Register adds the handler's routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("/api/v1", h.serveAPI)
	for _, p := range []string{"/containers", "/containers.json", "/slave(1)/containers"} {
		mux.HandleFunc(p, h.serveContainers)
	}
	for _, p := range []string{"/metrics/snapshot", "/metrics/snapshot.json"} {
		mux.HandleFunc(p, h.serveMetrics)
	}
	for _, p := range []string{"/flags", "/flags.json", "/slave(1)/flags"} {
		mux.HandleFunc(p, h.serveFlags)
	}
	mux.HandleFunc("/logging/toggle", h.serveLoggingToggle)
}

// authorize asks Authorize, when set.
func (h *Handler) authorize(ctx context.Context, action acl.Action, object string) error {
	if h.Authorize == nil {
		return nil
	}
	return h.Authorize(ctx, action, object)
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg)
}

// notBuilt answers 501 naming the call, and why when there is more to say.
type notBuilt struct {
	call agentpb.Call_Type
	why  string
}

func (e notBuilt) Error() string {
	if e.why != "" {
		return e.call.String() + ": " + e.why
	}
	return e.call.String() + " is not implemented by Agora's agent"
}

// writeError is where errors become status codes.
func writeError(w http.ResponseWriter, err error) {
	var nb notBuilt
	switch {
	case errors.As(err, &nb):
		httpError(w, http.StatusNotImplemented, err.Error())
	case errors.Is(err, files.ErrForbidden):
		httpError(w, http.StatusForbidden, err.Error())
	case errors.Is(err, files.ErrNotFound):
		httpError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, files.ErrNotDirectory), errors.Is(err, files.ErrIsDirectory), errors.Is(err, files.ErrPastEnd):
		httpError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, ErrUnavailable), errors.Is(err, context.Canceled):
		httpError(w, http.StatusServiceUnavailable, "Agent is shutting down")
	case errors.Is(err, context.DeadlineExceeded):
		httpError(w, http.StatusServiceUnavailable, "Timed out: "+err.Error())
	default:
		httpError(w, http.StatusInternalServerError, err.Error())
	}
}

func (h *Handler) serveAPI(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		httpError(w, http.StatusMethodNotAllowed, "Expecting one of { 'POST' }, but received '"+r.Method+"'")
		return
	}
	in, err := apicodec.ForRequest(r.Header.Get("Content-Type"))
	if err != nil {
		httpError(w, http.StatusUnsupportedMediaType, err.Error())
		return
	}
	limit := h.MaxBodySize
	if limit <= 0 {
		limit = 1 << 20
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		httpError(w, http.StatusRequestEntityTooLarge, "Failed to read request body: "+err.Error())
		return
	}
	call := &agentpb.Call{}
	if err := in.Unmarshal(body, call); err != nil {
		httpError(w, http.StatusBadRequest, "Failed to parse body into Call protobuf: "+err.Error())
		return
	}
	out, err := apicodec.ForResponse(r.Header.Get("Accept"))
	if err != nil {
		httpError(w, http.StatusNotAcceptable, err.Error())
		return
	}
	if err := validate(call, body); err != nil {
		httpError(w, http.StatusBadRequest, "Failed to validate agent::Call: "+err.Error())
		return
	}
	if h.Authenticate != nil && !h.Authenticate(w, r, readOnlyCall(call.GetType())) {
		return
	}
	resp, err := h.call(r.Context(), call)
	if err != nil {
		writeError(w, err)
		return
	}
	if resp == nil { // a call that changes the agent: 200 with no body
		w.WriteHeader(http.StatusOK)
		return
	}
	b, err := out.Marshal(resp)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", out.ContentType())
	_, _ = w.Write(b)
}

// validate checks the call's type and the message its type needs.
func validate(call *agentpb.Call, body []byte) error {
	if call.Type == nil {
		var raw struct {
			Type any `json:"type"`
		}
		if json.Unmarshal(body, &raw) == nil && raw.Type != nil {
			return fmt.Errorf("Unknown call type '%v'", raw.Type)
		}
		return errors.New("Expecting 'type' to be present")
	}
	if _, ok := agentpb.Call_Type_name[int32(call.GetType())]; !ok || call.GetType() == agentpb.Call_UNKNOWN {
		return fmt.Errorf("Unknown call type %s", call.GetType())
	}
	switch call.GetType() {
	case agentpb.Call_LIST_FILES:
		if call.GetListFiles().GetPath() == "" {
			return errors.New("Expecting 'list_files.path' to be present")
		}
	case agentpb.Call_READ_FILE:
		if call.GetReadFile().GetPath() == "" || call.GetReadFile().Offset == nil {
			return errors.New("Expecting 'read_file.path' and 'read_file.offset' to be present")
		}
	case agentpb.Call_SET_LOGGING_LEVEL:
		if call.GetSetLoggingLevel().Level == nil {
			return errors.New("Expecting 'set_logging_level.level' to be present")
		}
		if call.GetSetLoggingLevel().GetDuration().GetNanoseconds() <= 0 {
			return errors.New("Expecting 'set_logging_level.duration' to be present and positive")
		}
	}
	return nil
}

func response(t agentpb.Response_Type) *agentpb.Response { return &agentpb.Response{Type: t.Enum()} }

func (h *Handler) call(ctx context.Context, call *agentpb.Call) (*agentpb.Response, error) {
	switch call.GetType() {
	case agentpb.Call_GET_HEALTH:
		resp := response(agentpb.Response_GET_HEALTH)
		resp.GetHealth = &agentpb.Response_GetHealth{Healthy: proto.Bool(true)}
		return resp, nil
	case agentpb.Call_GET_FLAGS:
		if err := h.authorize(ctx, acl.ViewFlags, ""); err != nil {
			return nil, err
		}
		resp := response(agentpb.Response_GET_FLAGS)
		resp.GetFlags = &agentpb.Response_GetFlags{}
		for _, name := range slices.Sorted(maps.Keys(h.Flags)) {
			resp.GetFlags.Flags = append(resp.GetFlags.Flags, &mesos.Flag{Name: proto.String(name), Value: proto.String(h.Flags[name])})
		}
		return resp, nil
	case agentpb.Call_SET_LOGGING_LEVEL:
		sl := call.GetSetLoggingLevel()
		return nil, h.toggleLevel(ctx, sl.GetLevel(), time.Duration(sl.GetDuration().GetNanoseconds()))
	case agentpb.Call_GET_VERSION:
		v := h.Version
		if v == "" {
			v = "dev"
		}
		resp := response(agentpb.Response_GET_VERSION)
		resp.GetVersion = &agentpb.Response_GetVersion{VersionInfo: &mesos.VersionInfo{Version: proto.String(v)}}
		return resp, nil
	case agentpb.Call_GET_LOGGING_LEVEL:
		level := uint32(0)
		if h.Src.Debug() {
			level = 1
		}
		resp := response(agentpb.Response_GET_LOGGING_LEVEL)
		resp.GetLoggingLevel = &agentpb.Response_GetLoggingLevel{Level: proto.Uint32(level)}
		return resp, nil
	case agentpb.Call_GET_METRICS:
		// The figures of /metrics/snapshot, held to its get_endpoints rule.
		if err := h.authorize(ctx, acl.GetEndpoints, "/metrics/snapshot"); err != nil {
			return nil, err
		}
		m, err := h.Src.Metrics(ctx)
		if err != nil {
			return nil, err
		}
		resp := response(agentpb.Response_GET_METRICS)
		resp.GetMetrics = &agentpb.Response_GetMetrics{}
		for _, name := range slices.Sorted(maps.Keys(m)) {
			resp.GetMetrics.Metrics = append(resp.GetMetrics.Metrics, &mesos.Metric{Name: proto.String(name), Value: proto.Float64(m[name])})
		}
		return resp, nil
	case agentpb.Call_GET_STATE, agentpb.Call_GET_FRAMEWORKS, agentpb.Call_GET_EXECUTORS, agentpb.Call_GET_TASKS:
		st, err := h.Src.State(ctx)
		if err != nil {
			return nil, err
		}
		switch call.GetType() {
		case agentpb.Call_GET_FRAMEWORKS:
			resp := response(agentpb.Response_GET_FRAMEWORKS)
			resp.GetFrameworks = st.GetFrameworks
			return resp, nil
		case agentpb.Call_GET_EXECUTORS:
			resp := response(agentpb.Response_GET_EXECUTORS)
			resp.GetExecutors = st.GetExecutors
			return resp, nil
		case agentpb.Call_GET_TASKS:
			resp := response(agentpb.Response_GET_TASKS)
			resp.GetTasks = st.GetTasks
			return resp, nil
		}
		resp := response(agentpb.Response_GET_STATE)
		resp.GetState = st
		return resp, nil
	case agentpb.Call_GET_AGENT:
		info, err := h.Src.Info(ctx)
		if err != nil {
			return nil, err
		}
		resp := response(agentpb.Response_GET_AGENT)
		resp.GetAgent = &agentpb.Response_GetAgent{AgentInfo: info}
		return resp, nil
	case agentpb.Call_GET_CONTAINERS:
		// What /containers shows, held to its get_endpoints rule.
		if err := h.authorize(ctx, acl.GetEndpoints, "/containers"); err != nil {
			return nil, err
		}
		cs, err := h.Src.Containers(ctx)
		if err != nil {
			return nil, err
		}
		resp := response(agentpb.Response_GET_CONTAINERS)
		resp.GetContainers = &agentpb.Response_GetContainers{Containers: cs}
		return resp, nil
	case agentpb.Call_LIST_FILES:
		if err := h.access(ctx, call.GetListFiles().GetPath()); err != nil {
			return nil, err
		}
		entries, err := files.List(h.WorkDir, call.GetListFiles().GetPath())
		if err != nil {
			return nil, err
		}
		resp := response(agentpb.Response_LIST_FILES)
		resp.ListFiles = &agentpb.Response_ListFiles{}
		for _, e := range entries {
			resp.ListFiles.FileInfos = append(resp.ListFiles.FileInfos, fileInfoProto(e))
		}
		return resp, nil
	case agentpb.Call_READ_FILE:
		rf := call.GetReadFile()
		if err := h.access(ctx, rf.GetPath()); err != nil {
			return nil, err
		}
		if rf.GetOffset() > 1<<62 || rf.GetLength() > 1<<62 {
			return nil, fmt.Errorf("%w: offset %d or length %d out of range", files.ErrPastEnd, rf.GetOffset(), rf.GetLength())
		}
		data, size, err := files.Read(h.WorkDir, rf.GetPath(), int64(rf.GetOffset()), int64(rf.GetLength()))
		if err != nil {
			return nil, err
		}
		resp := response(agentpb.Response_READ_FILE)
		resp.ReadFile = &agentpb.Response_ReadFile{Size: proto.Uint64(uint64(size)), Data: data}
		if resp.ReadFile.Data == nil {
			resp.ReadFile.Data = []byte{}
		}
		return resp, nil
	}
	return nil, notBuilt{call: call.GetType()}
}

// access checks the caller may read sandbox path p; a path outside the sandboxes is left
// to files.List and files.Read to refuse.
func (h *Handler) access(ctx context.Context, p string) error {
	if h.Access == nil {
		return nil
	}
	resolved, err := sandbox.Resolve(h.WorkDir, p)
	if err != nil {
		return nil
	}
	return h.Access(ctx, resolved)
}

func fileInfoProto(e files.FileInfo) *mesos.FileInfo {
	return &mesos.FileInfo{
		Path:  proto.String(e.Path),
		Nlink: proto.Int32(int32(e.Nlink)),
		Size:  proto.Uint64(uint64(e.Size)),
		Mtime: &mesos.TimeInfo{Nanoseconds: proto.Int64(e.MtimeNanos)},
		Mode:  proto.Uint32(e.ModeBits),
		Uid:   proto.String(e.UID),
		Gid:   proto.String(e.GID),
	}
}

func onlyGet(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	httpError(w, http.StatusMethodNotAllowed, "Expecting 'GET', but received '"+r.Method+"'")
	return false
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// serveContainers serves /containers: Mesos's list of running containers with their
// status and statistics.
func (h *Handler) serveContainers(w http.ResponseWriter, r *http.Request) {
	if !onlyGet(w, r) {
		return
	}
	cs, err := h.Src.Containers(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	out := []map[string]json.RawMessage{}
	for _, c := range cs {
		entry := map[string]json.RawMessage{}
		put := func(key string, m proto.Message) {
			if b, err := mesos.MarshalJSON(m); err == nil {
				entry[key] = b
			}
		}
		str := func(key, v string) {
			b, _ := json.Marshal(v)
			entry[key] = b
		}
		str("container_id", c.GetContainerId().GetValue())
		str("framework_id", c.GetFrameworkId().GetValue())
		str("executor_id", c.GetExecutorId().GetValue())
		str("executor_name", c.GetExecutorName())
		if c.ContainerStatus != nil {
			put("status", c.ContainerStatus)
		}
		if c.ResourceStatistics != nil {
			put("statistics", c.ResourceStatistics)
		}
		out = append(out, entry)
	}
	writeJSON(w, out)
}

// serveMetrics serves /metrics/snapshot.
func (h *Handler) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if !onlyGet(w, r) {
		return
	}
	m, err := h.Src.Metrics(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, m)
}

// serveFlags serves /flags: the agent's flags, when view_flags allows the caller.
func (h *Handler) serveFlags(w http.ResponseWriter, r *http.Request) {
	if !onlyGet(w, r) {
		return
	}
	if err := h.authorize(r.Context(), acl.ViewFlags, ""); err != nil {
		writeError(w, err)
		return
	}
	flags := h.Flags
	if flags == nil {
		flags = map[string]string{}
	}
	writeJSON(w, map[string]any{"flags": flags})
}

// serveLoggingToggle serves /logging/toggle?level=N&duration=D, Mesos's endpoint: it changes
// the level when set_log_level allows the caller (get_endpoints, which guards the GET, is
// the agent's to check); without a level and a duration it answers the level now.
func (h *Handler) serveLoggingToggle(w http.ResponseWriter, r *http.Request) {
	if !onlyGet(w, r) {
		return
	}
	level, d, err := loglevel.ParseQuery(r.URL.Query())
	if errors.Is(err, loglevel.ErrNoChange) {
		now := 0
		if h.Src.Debug() {
			now = 1
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = fmt.Fprintf(w, "%d\n", now)
		return
	}
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error()+"\n")
		return
	}
	if err := h.toggleLevel(r.Context(), level, d); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// toggleLevel sets the level for d when set_log_level allows the caller.
func (h *Handler) toggleLevel(ctx context.Context, level uint32, d time.Duration) error {
	if err := h.authorize(ctx, acl.SetLogLevel, ""); err != nil {
		return err
	}
	if h.LogLevel == nil {
		return errNoLogLevel
	}
	return h.LogLevel.Set(level, d)
}

// errNoLogLevel answers 501: an agent made without a level to change (in tests).
var errNoLogLevel = notBuilt{call: agentpb.Call_SET_LOGGING_LEVEL, why: "this agent was started without a log level to change"}
