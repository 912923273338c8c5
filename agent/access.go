package agent

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/agoracluster/agora/agent/files"
	"github.com/agoracluster/agora/agent/sandbox"
	"github.com/agoracluster/agora/agent/workload"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/security/acl"
	"github.com/agoracluster/agora/security/authn"
)

// The agent's HTTP security, as a Mesos agent's: --authenticate_http_readonly makes the
// endpoints that read the agent (/state, /files/*, /monitor/statistics, /containers,
// /metrics, /flags, the operator API's GET_* and file calls) want HTTP Basic credentials
// from --http_credentials, --authenticate_http_readwrite the calls that would change it;
// --acls decide what each principal sees (view_frameworks, view_executors, view_tasks),
// whose sandboxes it may read (access_sandboxes), who may GET the endpoints get_endpoints
// guards (/containers, /monitor/statistics, /metrics/snapshot, /metrics, /logging/toggle),
// read the flags (view_flags: /flags, GET_FLAGS) and change the log level (set_log_level:
// /logging/toggle, SET_LOGGING_LEVEL). The executor API has its own tokens
// (--authenticate_http_executors) and /health is open.

// caller is who sent a request: the authenticated principal ("" anonymous) and, when the
// request carried credentials that failed, why.
type caller struct {
	principal string
	err       error
}

type callerKey struct{}

func callerOf(ctx context.Context) caller {
	c, _ := ctx.Value(callerKey{}).(caller)
	return c
}

// endpointClass is whom an endpoint is for, which decides whether it needs credentials.
type endpointClass int

const (
	classOpen      endpointClass = iota // /health, the executor API (its own tokens), CORS preflights
	classOperator                       // /api/v1: decided per call, once decoded
	classReadOnly                       // GET and HEAD of the other endpoints
	classReadWrite                      // any other method
)

func classify(r *http.Request) endpointClass {
	p := strings.TrimPrefix(r.URL.Path, "/slave(1)")
	switch {
	case p == "/health" || p == "/api/v1/executor" || r.Method == http.MethodOptions:
		return classOpen
	case p == "/api/v1":
		return classOperator
	case p == "/logging/toggle": // a GET that changes the level: Mesos's read-write realm
		return classReadWrite
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		return classReadOnly
	}
	return classReadWrite
}

// needsCredentials reports whether a request of class c (for the operator API: a call
// that only reads when readOnly) must carry valid credentials.
func (a *Agent) needsCredentials(c endpointClass, readOnly bool) bool {
	switch c {
	case classReadOnly:
		return a.cfg.AuthenticateHTTPReadOnly
	case classReadWrite:
		return a.cfg.AuthenticateHTTPReadWrite
	case classOperator:
		if readOnly {
			return a.cfg.AuthenticateHTTPReadOnly
		}
		return a.cfg.AuthenticateHTTPReadWrite
	}
	return false
}

// secure authenticates every request to next: where the endpoint's class needs
// credentials, a request without valid ones gets 401; elsewhere valid credentials name the
// caller for the ACLs. Without --http_credentials it passes requests on untouched.
func (a *Agent) secure(next http.Handler) http.Handler {
	if a.authn == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		principal, err := a.authn.Authenticate(r)
		if err != nil && a.needsCredentials(classify(r), false) {
			a.authn.Unauthorized(w, err)
			return
		}
		ctx := context.WithValue(r.Context(), callerKey{}, caller{principal: principal, err: err})
		next.ServeHTTP(w, r.WithContext(authn.WithPrincipal(ctx, principal)))
	})
}

// authenticateOperator is the operator API's check, once the call is decoded: it answers
// 401 and reports false when a call that reads (readOnly) or changes the agent needs
// credentials the request lacks.
func (a *Agent) authenticateOperator(w http.ResponseWriter, r *http.Request, readOnly bool) bool {
	c := callerOf(r.Context())
	if a.authn == nil || c.principal != "" || !a.needsCredentials(classOperator, readOnly) {
		return true
	}
	a.authn.Unauthorized(w, c.err)
	return false
}

// viewer is what the ACLs let one caller see of the agent.
type viewer struct {
	acls      *acl.ACLs // nil: everything
	principal string
}

// viewerOf is the viewer of the request whose context is ctx.
func (a *Agent) viewerOf(ctx context.Context) viewer {
	v := viewer{principal: callerOf(ctx).principal}
	if a.acls != nil {
		v.acls = a.acls()
	}
	return v
}

func (v viewer) Framework(info *mesos.FrameworkInfo) bool {
	return v.acls.Allowed(acl.ViewFrameworks, v.principal, info.GetUser())
}

func (v viewer) Executor(fw *mesos.FrameworkInfo, ex *mesos.ExecutorInfo) bool {
	return v.acls.Allowed(acl.ViewExecutors, v.principal, executorUser(fw, ex))
}

func (v viewer) Task(fw *mesos.FrameworkInfo, t *mesos.Task) bool {
	return v.acls.Allowed(acl.ViewTasks, v.principal, cmp.Or(t.GetUser(), fw.GetUser()))
}

// executorUser is the user an executor runs as: its command's, else its framework's.
func executorUser(fw *mesos.FrameworkInfo, ex *mesos.ExecutorInfo) string {
	return cmp.Or(ex.GetCommand().GetUser(), fw.GetUser())
}

// errForbidden is the refusal of something the ACLs keep from the caller (403).
type errForbidden struct{ msg string }

func (e errForbidden) Error() string { return e.msg }

// Is makes the refusal files.ErrForbidden, which the files and operator APIs answer 403.
func (errForbidden) Is(target error) bool { return target == files.ErrForbidden }

// callerName names a principal in a refusal.
func callerName(principal string) string {
	if principal == "" {
		return "an anonymous caller"
	}
	return fmt.Sprintf("principal '%s'", principal)
}

// authorize checks that the ACLs let the caller of ctx do action on object ("" any: the
// actions about no object in particular, view_flags and set_log_level).
func (a *Agent) authorize(ctx context.Context, action acl.Action, object string) error {
	v := a.viewerOf(ctx)
	if v.acls.Allowed(action, v.principal, object) {
		return nil
	}
	if object == "" {
		return errForbidden{msg: fmt.Sprintf("Forbidden: the ACLs' %s do not allow %s", action, callerName(v.principal))}
	}
	return errForbidden{msg: fmt.Sprintf("Forbidden: the ACLs' %s do not allow %s on '%s'", action, callerName(v.principal), object)}
}

// guardEndpoints holds a GET of an endpoint get_endpoints guards to its rules, the object
// being the path in the form the rules name (/slave(1)/containers.json is /containers): 403
// when they refuse.
func (a *Agent) guardEndpoints(next http.Handler) http.Handler {
	if a.acls == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			if path, guarded := acl.EndpointPath(r.URL.Path); guarded {
				if err := a.authorize(r.Context(), acl.GetEndpoints, path); err != nil {
					w.Header().Set("Content-Type", "text/plain; charset=utf-8")
					w.WriteHeader(http.StatusForbidden)
					_, _ = w.Write([]byte(err.Error()))
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// accessSandbox checks that the caller of ctx may read path: access_sandboxes on the user
// of the executor whose sandbox holds it. A path in no executor's sandbox the agent knows
// of (a framework's directory, a sandbox already forgotten) needs access_sandboxes on any
// user. Without ACLs every path may be read.
func (a *Agent) accessSandbox(ctx context.Context, path string) error {
	if a.acls == nil {
		return nil
	}
	v := a.viewerOf(ctx)
	if v.acls == nil {
		return nil
	}
	user := ""
	if fwID, exID, ok := sandboxOwner(a.cfg.WorkDir, path); ok {
		if err := a.query(ctx, func() { user = a.executorUserByID(fwID, exID) }); err != nil {
			return err
		}
	}
	if v.acls.Allowed(acl.AccessSandboxes, v.principal, user) {
		return nil
	}
	object := "any user's sandbox"
	if user != "" {
		object = fmt.Sprintf("the sandbox of user '%s'", user)
	}
	return errForbidden{msg: fmt.Sprintf("Forbidden: the ACLs' %s do not allow %s to read %s", acl.AccessSandboxes, callerName(v.principal), object)}
}

// sandboxOwner reads the framework and executor ids out of a path in the sandbox layout
// (…/slaves/<agent>/frameworks/<framework>/executors/<executor>/runs/<container>/…).
func sandboxOwner(workDir, path string) (frameworkID, executorID string, ok bool) {
	resolved, err := sandbox.Resolve(workDir, path)
	if err != nil {
		return "", "", false
	}
	for _, root := range sandbox.Roots(workDir) {
		rel, err := filepath.Rel(root, resolved)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue
		}
		parts := strings.Split(rel, string(filepath.Separator))
		if len(parts) >= 5 && parts[1] == "frameworks" && parts[3] == "executors" {
			return parts[2], parts[4], true
		}
	}
	return "", "", false
}

// executorUserByID is the user of an executor the agent knows (running or completed);
// "" when it knows none. Loop only.
func (a *Agent) executorUserByID(frameworkID, executorID string) string {
	find := func(fw *workload.Framework) string {
		if ex, ok := fw.Executors[executorID]; ok {
			return executorUser(fw.Info, ex.Info)
		}
		for _, ex := range fw.CompletedExecutors {
			if ex.ID == executorID {
				return executorUser(fw.Info, ex.Info)
			}
		}
		return ""
	}
	if fw, ok := a.st.Frameworks[frameworkID]; ok {
		if u := find(fw); u != "" {
			return u
		}
	}
	for _, fw := range a.st.CompletedFrameworks {
		if fw.ID == frameworkID {
			if u := find(fw); u != "" {
				return u
			}
		}
	}
	return ""
}
