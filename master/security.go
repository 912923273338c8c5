package master

import (
	"context"
	"errors"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/master/httpapi"
	"github.com/agoracluster/agora/security/acl"
	"github.com/agoracluster/agora/security/authn"
	"github.com/agoracluster/agora/security/credentials"
	"github.com/agoracluster/agora/security/reload"
)

// reloadInterval is how often the credentials and ACL files are checked for changes.
const reloadInterval = time.Second

// security is the master's loaded credentials and ACLs, kept current by watch.
type security struct {
	creds *reload.File[*credentials.Set] // nil: no --credentials
	acls  *reload.File[*acl.ACLs]        // nil: no --acls
}

// validateSecurity checks the security flags that need no file read.
func (c Config) validateSecurity() error {
	if c.Credentials == "" && (c.AuthenticateFrameworks || c.AuthenticateAgents || c.AuthenticateHTTPReadWrite || c.AuthenticateHTTPReadOnly) {
		return errors.New("master: --authenticate_frameworks, --authenticate_agents and --authenticate_http_* need --credentials")
	}
	return nil
}

// loadSecurity reads the credentials and ACL files; a bad file is an error naming it.
func loadSecurity(c Config, log *zap.Logger) (*security, error) {
	sec := &security{}
	var err error
	if c.Credentials != "" {
		if sec.creds, err = reload.Load(filePath(c.Credentials), credentials.ParseSet, log.Named("credentials")); err != nil {
			return nil, errors.New("master: --credentials: " + err.Error())
		}
	}
	if a := strings.TrimSpace(c.ACLs); a != "" {
		if strings.HasPrefix(a, "{") { // inline JSON, as Mesos takes it
			parsed, err := acl.Parse([]byte(a))
			if err != nil {
				return nil, errors.New("master: --acls: " + err.Error())
			}
			sec.acls = reload.Static(parsed)
		} else if sec.acls, err = reload.Load(filePath(a), acl.Parse, log.Named("acls")); err != nil {
			return nil, errors.New("master: --acls: " + err.Error())
		}
	}
	return sec, nil
}

// filePath accepts Mesos's file:// form of a path flag.
func filePath(s string) string { return strings.TrimPrefix(s, "file://") }

// watch reloads the files on change until ctx ends.
func (s *security) watch(ctx context.Context) {
	if s.creds != nil {
		go s.creds.Watch(ctx, reloadInterval)
	}
	if s.acls != nil {
		go s.acls.Watch(ctx, reloadInterval)
	}
}

// aclsFunc returns the ACLs in force; nil without --acls.
func (s *security) aclsFunc() func() *acl.ACLs {
	if s.acls == nil {
		return nil
	}
	return s.acls.Get
}

// httpapi is the HTTP surface's security.
func (s *security) httpapi(c Config) httpapi.Security {
	sec := httpapi.Security{
		Frameworks: c.AuthenticateFrameworks, Agents: c.AuthenticateAgents,
		ReadWrite: c.AuthenticateHTTPReadWrite, ReadOnly: c.AuthenticateHTTPReadOnly,
		ACLs: s.aclsFunc(),
	}
	if s.creds != nil {
		sec.Authenticator = authn.New(s.creds, "mesos")
	}
	return sec
}
