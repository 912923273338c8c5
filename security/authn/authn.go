// Package authn is HTTP Basic authentication against a credentials file, as Mesos's
// "basic" HTTP authenticator does it: the server side (Authenticator, a middleware that
// puts the principal in the request's context) and the client side (Transport).
package authn

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/agoracluster/agora/security/credentials"
	"github.com/agoracluster/agora/security/reload"
)

// Errors of Authenticate.
var (
	ErrNoCredentials  = errors.New("no credentials: the request has no HTTP Basic Authorization header")
	ErrBadCredentials = errors.New("bad credentials: unknown principal or wrong secret")
)

// Authenticator checks requests' HTTP Basic credentials against a credentials file.
type Authenticator struct {
	creds *reload.File[*credentials.Set]
	realm string
}

// New returns an authenticator over creds (kept current by its owner); realm is named in
// WWW-Authenticate.
func New(creds *reload.File[*credentials.Set], realm string) *Authenticator {
	return &Authenticator{creds: creds, realm: realm}
}

// Authenticate returns the principal whose credentials r carries.
func (a *Authenticator) Authenticate(r *http.Request) (string, error) {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return "", ErrNoCredentials
	}
	if !a.creds.Get().Check(user, pass) {
		return "", ErrBadCredentials
	}
	return user, nil
}

// Unauthorized answers 401 with the challenge and why.
func (a *Authenticator) Unauthorized(w http.ResponseWriter, err error) {
	w.Header().Set("WWW-Authenticate", fmt.Sprintf("Basic realm=%q", a.realm))
	http.Error(w, err.Error(), http.StatusUnauthorized)
}

// Middleware authenticates every request: where required reports true, a request without
// valid credentials gets 401; elsewhere valid credentials still name the principal (for
// authorization) and missing or bad ones leave it anonymous. A nil *Authenticator passes
// every request on anonymous.
func (a *Authenticator) Middleware(required func(*http.Request) bool, next http.Handler) http.Handler {
	if a == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		principal, err := a.Authenticate(r)
		if err != nil {
			if required(r) {
				a.Unauthorized(w, err)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), principal)))
	})
}

type principalKey struct{}

// WithPrincipal returns ctx carrying the authenticated principal.
func WithPrincipal(ctx context.Context, principal string) context.Context {
	return context.WithValue(ctx, principalKey{}, principal)
}

// Principal is the authenticated principal of a request's context; "" when anonymous.
func Principal(ctx context.Context) string {
	p, _ := ctx.Value(principalKey{}).(string)
	return p
}

// Transport adds HTTP Basic credentials to every request it sends that carries no
// Authorization of its own (credentials given for one endpoint win).
type Transport struct {
	Base       http.RoundTripper // nil: http.DefaultTransport
	Credential credentials.Credential
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("Authorization") == "" {
		r = r.Clone(r.Context())
		r.SetBasicAuth(t.Credential.Principal, t.Credential.Secret)
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}

// Client returns hc (nil: a new client) sending cred with every request; a zero cred
// returns hc unchanged.
func Client(hc *http.Client, cred credentials.Credential) *http.Client {
	if cred.Principal == "" {
		if hc == nil {
			return &http.Client{}
		}
		return hc
	}
	c := &http.Client{}
	if hc != nil {
		*c = *hc
	}
	c.Transport = &Transport{Base: c.Transport, Credential: cred}
	return c
}

// ParsePair reads a user:password pair (Marathon's --http_credentials); the user must not
// contain ':'.
func ParsePair(s string) (credentials.Credential, error) {
	user, pass, ok := strings.Cut(s, ":")
	if !ok || user == "" || pass == "" {
		return credentials.Credential{}, errors.New("want user:password, both non-empty")
	}
	return credentials.Credential{Principal: user, Secret: pass}, nil
}

// Protect requires cred's HTTP Basic credentials for every request to next but those
// open reports true for (Marathon's --http_credentials and --http_realm); a zero cred
// returns next unchanged.
func Protect(next http.Handler, cred credentials.Credential, realm string, open func(*http.Request) bool) http.Handler {
	if cred.Principal == "" {
		return next
	}
	a := New(reload.Static(credentials.NewSet([]credentials.Credential{cred})), realm)
	return a.Middleware(func(r *http.Request) bool { return !open(r) }, next)
}
