package cors

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// AnyOrigin allows every origin.
const AnyOrigin = "*"

// allowedMethods are the methods a preflight may ask for; Agora's APIs use no others.
const allowedMethods = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"

// The request headers pages may send: the codecs', the Mesos stream id, and Authorization,
// the HTTP Basic credentials that the web UI asks its user for when an agent wants them
// (--authenticate_http_readonly): the browser keeps the ones typed for the master's origin
// to that origin, so the page sends the agent's itself.
const allowedHeaders = "Accept, Authorization, Content-Type, Last-Event-ID, Mesos-Stream-Id"

// exposedHeaders are response headers that pages may read beyond the safe-listed ones: the
// stream id, redirects, and a 401's challenge (the realm the UI's login prompt names).
const exposedHeaders = "Mesos-Stream-Id, Location, WWW-Authenticate"

// preflightMaxAge is how long, in seconds, a browser may cache a preflight's answer.
const preflightMaxAge = "600"

// Policy is the set of origins allowed to call an API from a browser. The zero Policy allows
// none and adds nothing to any answer.
type Policy struct {
	any     bool
	origins []string // normalised scheme://host[:port], lower case
}

// Parse reads the flag's value: origins separated by commas (http://ui.example.com:5050), or
// "*" for any. An empty value allows none. Every malformed origin is named in the error.
func Parse(value string) (Policy, error) {
	var p Policy
	var errs []error
	for _, o := range strings.Split(value, ",") {
		o = strings.TrimSpace(o)
		switch {
		case o == "":
		case o == AnyOrigin:
			p.any = true
		default:
			norm, err := normalise(o)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if !slices.Contains(p.origins, norm) {
				p.origins = append(p.origins, norm)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Policy{}, err
	}
	return p, nil
}

// MustParse is Parse for values fixed in code; it panics on a malformed one.
func MustParse(value string) Policy {
	p, err := Parse(value)
	if err != nil {
		panic(err)
	}
	return p
}

// normalise checks that o is an origin as browsers send it (scheme://host[:port], no path,
// query or user) and lower-cases it.
func normalise(o string) (string, error) {
	u, err := url.Parse(o)
	if err != nil {
		return "", fmt.Errorf("origin %q: %w", o, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("origin %q: want http:// or https://", o)
	}
	if u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("origin %q: want scheme://host[:port] and nothing else", o)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// Empty reports whether the policy allows no origin.
func (p Policy) Empty() bool { return !p.any && len(p.origins) == 0 }

// String is the policy in the flag's form.
func (p Policy) String() string {
	all := slices.Clone(p.origins)
	if p.any {
		all = append([]string{AnyOrigin}, all...)
	}
	return strings.Join(all, ",")
}

// Allows reports whether a page from origin may call the API.
func (p Policy) Allows(origin string) bool {
	if origin == "" {
		return false
	}
	return p.any || slices.Contains(p.origins, strings.ToLower(origin))
}

// Wrap returns next behind the policy. An empty policy returns next itself.
func (p Policy) Wrap(next http.Handler) http.Handler {
	if p.Empty() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		if !p.Allows(origin) {
			if preflight {
				http.Error(w, "Origin "+origin+" is not allowed by --access_control_allow_origin", http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if p.any {
			h.Set("Access-Control-Allow-Origin", AnyOrigin)
		} else {
			h.Set("Access-Control-Allow-Origin", origin)
		}
		if !preflight {
			h.Set("Access-Control-Expose-Headers", exposedHeaders)
			next.ServeHTTP(w, r)
			return
		}
		h.Add("Vary", "Access-Control-Request-Method")
		h.Add("Vary", "Access-Control-Request-Headers")
		h.Set("Access-Control-Allow-Methods", allowedMethods)
		h.Set("Access-Control-Allow-Headers", allowedHeaders)
		h.Set("Access-Control-Max-Age", preflightMaxAge)
		w.WriteHeader(http.StatusNoContent)
	})
}
