package httpapi

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/agoracluster/agora/master/ledger"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	masterpb "github.com/agoracluster/agora/proto/mesos/v1/master"
	quotapb "github.com/agoracluster/agora/proto/mesos/v1/quota"
	"github.com/agoracluster/agora/security/acl"
	"github.com/agoracluster/agora/security/authn"
)

// Security configures who must authenticate to the master's APIs and what the ACLs let
// them do; the zero value leaves both off (as Mesos without --credentials and --acls).
type Security struct {
	// Authenticator checks HTTP Basic credentials; nil: nobody authenticates.
	Authenticator *authn.Authenticator
	// Which callers must authenticate: schedulers (--authenticate_frameworks), agents
	// (--authenticate_agents), and operators' calls that change (--authenticate_http_readwrite)
	// or only read (--authenticate_http_readonly) the master.
	Frameworks, Agents, ReadWrite, ReadOnly bool
	// ACLs returns the ACLs in force; nil allows everything.
	ACLs func() *acl.ACLs
}

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

// endpointClass is who an endpoint is for, which decides whether it needs credentials.
type endpointClass int

const (
	classOpen      endpointClass = iota // /health, /redirect: never
	classScheduler                      // the scheduler API
	classAgent                          // the agent API
	classOperator                       // /api/v1: decided per call, once decoded
	classReadOnly                       // GET of the other endpoints
	classReadWrite                      // their changes
)

func classify(r *http.Request) endpointClass {
	p := strings.TrimPrefix(r.URL.Path, "/master")
	switch {
	case p == "/health" || p == "/redirect" || r.Method == http.MethodOptions: // CORS preflights carry no credentials
		return classOpen
	case p == "/api/v1/scheduler":
		return classScheduler
	case p == "/api/v1/agent":
		return classAgent
	case p == "/api/v1":
		return classOperator
	case p == "/logging/toggle": // a GET that changes the level: Mesos's read-write realm
		return classReadWrite
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		return classReadOnly
	}
	return classReadWrite
}

// Secure authenticates every request to next (the master's routes): where the endpoint's
// class needs credentials, a request without valid ones gets 401; elsewhere valid
// credentials name the caller for the ACLs. Without an Authenticator it passes requests on
// untouched.
func Secure(sec Security, next http.Handler) http.Handler {
	if sec.Authenticator == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		principal, err := sec.Authenticator.Authenticate(r)
		if err != nil && sec.requiresCredentials(classify(r), false) {
			sec.Authenticator.Unauthorized(w, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, caller{principal: principal, err: err})))
	})
}

// requiresCredentials reports whether a request of class c (for the operator API: a call
// that only reads when readOnly) must carry valid credentials.
func (sec Security) requiresCredentials(c endpointClass, readOnly bool) bool {
	switch c {
	case classScheduler:
		return sec.Frameworks
	case classAgent:
		return sec.Agents
	case classReadOnly:
		return sec.ReadOnly
	case classReadWrite:
		return sec.ReadWrite
	case classOperator:
		if readOnly {
			return sec.ReadOnly
		}
		return sec.ReadWrite
	}
	return false
}

// authenticatedOperator answers 401 and reports false when an operator call that reads
// (readOnly) or changes the master needs credentials the request lacks.
func (s *Server) authenticatedOperator(w http.ResponseWriter, r *http.Request, readOnly bool) bool {
	c := callerOf(r.Context())
	if c.principal != "" || !s.cfg.Security.requiresCredentials(classOperator, readOnly) || s.cfg.Security.Authenticator == nil {
		return true
	}
	s.cfg.Security.Authenticator.Unauthorized(w, c.err)
	return false
}

// allowed reports whether the ACLs let principal do action on object.
func (s *Server) allowed(action acl.Action, principal, object string) bool {
	if s.cfg.Security.ACLs == nil {
		return true
	}
	return s.cfg.Security.ACLs().Allowed(action, principal, object)
}

// forbidden is the error of a call the ACLs refuse (403).
func forbidden(principal string, action acl.Action, object string) error {
	who := "an anonymous caller"
	if principal != "" {
		who = fmt.Sprintf("principal '%s'", principal)
	}
	return forbiddenError(fmt.Sprintf("Forbidden: the ACLs' %s do not allow %s on '%s'", action, who, object))
}

type forbiddenError string

func (e forbiddenError) Error() string { return string(e) }

// authorizeAll checks action on every object; the first refused one is the error.
func (s *Server) authorizeAll(principal string, action acl.Action, objects ...string) error {
	for _, o := range objects {
		if !s.allowed(action, principal, o) {
			return forbidden(principal, action, o)
		}
	}
	return nil
}

// readOnlyCall reports whether an operator call only reads the master (GET_* and SUBSCRIBE).
func readOnlyCall(t masterpb.Call_Type) bool {
	return t == masterpb.Call_SUBSCRIBE || strings.HasPrefix(t.String(), "GET_")
}

// teardown tears framework id down when principal may (teardown_frameworks, on the
// framework's principal); on the loop.
func (s *Server) teardown(l *ledger.Ledger, principal, id string) error {
	if fwPrincipal, ok := l.FrameworkPrincipal(id); ok && !s.allowed(acl.TeardownFrameworks, principal, fwPrincipal) {
		return forbidden(principal, acl.TeardownFrameworks, fwPrincipal)
	}
	return l.TeardownFramework(id)
}

func weightRoles(ws []*mesos.WeightInfo) []string {
	out := make([]string, 0, len(ws))
	for _, w := range ws {
		out = append(out, w.GetRole())
	}
	return out
}

func quotaRoles(qs []*quotapb.QuotaConfig) []string {
	out := make([]string, 0, len(qs))
	for _, q := range qs {
		out = append(out, q.GetRole())
	}
	return out
}

// authorizeSubscribe checks a scheduler's SUBSCRIBE: an authenticated framework's
// FrameworkInfo.principal must be its principal (it is filled in when left out), and the
// ACLs' register_frameworks must allow it every role it asks for.
func (s *Server) authorizeSubscribe(principal string, info *mesos.FrameworkInfo) error {
	if info == nil {
		return nil
	}
	if principal != "" {
		switch p := info.GetPrincipal(); {
		case p == "":
			info.Principal = &principal
		case p != principal:
			return forbiddenError(fmt.Sprintf("Forbidden: framework principal '%s' does not match the authenticated principal '%s'", p, principal))
		}
	}
	roles := info.GetRoles()
	if len(roles) == 0 {
		roles = []string{cmp.Or(info.GetRole(), "*")}
	}
	return s.authorizeAll(info.GetPrincipal(), acl.RegisterFrameworks, roles...)
}

// snapshot is the ledger's snapshot as principal may view it (view_frameworks on each
// framework's user, view_tasks on each task's user, view_executors on each executor's):
// what the ACLs hide is left out, as Mesos's /state does. Without ACLs it is the whole.
func (s *Server) snapshot(l *ledger.Ledger, principal string) *ledger.Snapshot {
	snap := l.Snapshot()
	if s.cfg.Security.ACLs == nil {
		return snap
	}
	acls := s.cfg.Security.ACLs()
	if acls == nil {
		return snap
	}
	filter := func(fws []ledger.FrameworkView) []ledger.FrameworkView {
		out := make([]ledger.FrameworkView, 0, len(fws))
		for _, fw := range fws {
			user := fw.Info.GetUser()
			if !acls.Allowed(acl.ViewFrameworks, principal, user) {
				continue
			}
			tasks := func(ts []ledger.TaskView) []ledger.TaskView {
				kept := make([]ledger.TaskView, 0, len(ts))
				for _, t := range ts {
					if acls.Allowed(acl.ViewTasks, principal, cmp.Or(t.Task.GetUser(), user)) {
						kept = append(kept, t)
					}
				}
				return kept
			}
			fw.Tasks, fw.UnreachableTasks, fw.CompletedTasks = tasks(fw.Tasks), tasks(fw.UnreachableTasks), tasks(fw.CompletedTasks)
			execs := make([]ledger.ExecutorView, 0, len(fw.Executors))
			for _, e := range fw.Executors {
				if acls.Allowed(acl.ViewExecutors, principal, cmp.Or(e.Info.GetCommand().GetUser(), user)) {
					execs = append(execs, e)
				}
			}
			fw.Executors = execs
			out = append(out, fw)
		}
		return out
	}
	snap.Frameworks, snap.CompletedFrameworks = filter(snap.Frameworks), filter(snap.CompletedFrameworks)
	return snap
}

// visibleRoles is GET_ROLES's answer as principal may view it (view_roles on each role).
func (s *Server) visibleRoles(l *ledger.Ledger, principal string) []*mesos.Role {
	return rolesProto(l, func(role string) bool { return s.allowed(acl.ViewRoles, principal, role) })
}

// visibleWeights are the weights of the roles principal may view (view_roles), as Mesos's
// GET_WEIGHTS and GET /weights show them.
func (s *Server) visibleWeights(l *ledger.Ledger, principal string) []*mesos.WeightInfo {
	ws := l.Weights()
	for role := range ws {
		if !s.allowed(acl.ViewRoles, principal, role) {
			delete(ws, role)
		}
	}
	return weightsProto(ws)
}

// visibleQuotas is the quota status of the roles whose quota principal may query
// (get_quotas).
func (s *Server) visibleQuotas(l *ledger.Ledger, principal string) *quotapb.QuotaStatus {
	return quotaStatus(l, func(role string) bool { return s.allowed(acl.GetQuotas, principal, role) })
}

// guardEndpoint holds a GET of an endpoint get_endpoints guards (/metrics/snapshot,
// /metrics, /logging/toggle) to its rules, the object being the path in the form the rules
// name (acl.EndpointPath); a refusal answers 403.
func (s *Server) guardEndpoint(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			if path, guarded := acl.EndpointPath(r.URL.Path); guarded {
				if err := s.authorizeAll(callerOf(r.Context()).principal, acl.GetEndpoints, path); err != nil {
					writeError(w, err)
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}
