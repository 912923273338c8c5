// Package policy is what a server enforces, loaded from its flags: the credentials file of
// the principals that may authenticate (the master's --credentials, the agent's
// --http_credentials) and Mesos's ACLs (--acls, inline JSON or a file). A bad file at start
// is an error naming the flag; the files are then re-read when they change, a bad edit
// keeping the last good version. The master and the agent load theirs through it.
package policy

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/security/acl"
	"github.com/agoracluster/agora/security/authn"
	"github.com/agoracluster/agora/security/credentials"
	"github.com/agoracluster/agora/security/reload"
)

// ReloadInterval is how often the files are checked for changes.
const ReloadInterval = time.Second

// Flag is one setting: the flag's name (for errors) and its value.
type Flag struct{ Name, Value string }

// Policy holds the loaded credentials and ACLs; the zero value (nothing configured)
// authenticates nobody and allows everything.
type Policy struct {
	creds *reload.File[*credentials.Set] // nil: no credentials file
	acls  *reload.File[*acl.ACLs]        // nil: no ACLs
}

// Load reads the credentials file (a path, or Mesos's file:// form) and the ACLs (inline
// JSON, or a file); an empty value leaves that part off.
func Load(creds, acls Flag, log *zap.Logger) (*Policy, error) {
	if log == nil {
		log = zap.NewNop()
	}
	p := &Policy{}
	var err error
	if creds.Value != "" {
		if p.creds, err = reload.Load(filePath(creds.Value), credentials.ParseSet, log.Named("credentials")); err != nil {
			return nil, fmt.Errorf("--%s: %w", creds.Name, err)
		}
	}
	if a := strings.TrimSpace(acls.Value); a != "" {
		if strings.HasPrefix(a, "{") { // inline JSON, as Mesos takes it
			parsed, err := acl.Parse([]byte(a))
			if err != nil {
				return nil, fmt.Errorf("--%s: %w", acls.Name, err)
			}
			p.acls = reload.Static(parsed)
		} else if p.acls, err = reload.Load(filePath(a), acl.Parse, log.Named("acls")); err != nil {
			return nil, fmt.Errorf("--%s: %w", acls.Name, err)
		}
	}
	return p, nil
}

// filePath accepts Mesos's file:// form of a path flag.
func filePath(s string) string { return strings.TrimPrefix(s, "file://") }

// Watch re-reads the files when they change, every interval, until ctx ends.
func (p *Policy) Watch(ctx context.Context, interval time.Duration) {
	var wg sync.WaitGroup
	if p.creds != nil {
		wg.Go(func() { p.creds.Watch(ctx, interval) })
	}
	if p.acls != nil {
		wg.Go(func() { p.acls.Watch(ctx, interval) })
	}
	wg.Wait()
}

// HasCredentials reports whether a credentials file was given.
func (p *Policy) HasCredentials() bool { return p.creds != nil }

// ACLs returns the function giving the ACLs in force; nil without ACLs (everything is
// allowed).
func (p *Policy) ACLs() func() *acl.ACLs {
	if p.acls == nil {
		return nil
	}
	return p.acls.Get
}

// Authenticator checks HTTP Basic credentials against the credentials file, naming realm in
// its challenges; nil without a credentials file.
func (p *Policy) Authenticator(realm string) *authn.Authenticator {
	if p.creds == nil {
		return nil
	}
	return authn.New(p.creds, realm)
}
