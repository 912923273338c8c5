package master

import (
	"context"
	"errors"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/master/httpapi"
	"github.com/agoracluster/agora/security/acl"
	"github.com/agoracluster/agora/security/policy"
)

// security is the master's loaded credentials and ACLs, kept current by watch.
type security struct{ *policy.Policy }

// validateSecurity checks the security flags that need no file read.
func (c Config) validateSecurity() error {
	if c.Credentials == "" && (c.AuthenticateFrameworks || c.AuthenticateAgents || c.AuthenticateHTTPReadWrite || c.AuthenticateHTTPReadOnly) {
		return errors.New("master: --authenticate_frameworks, --authenticate_agents and --authenticate_http_* need --credentials")
	}
	return nil
}

// loadSecurity reads the credentials and ACL files; a bad file is an error naming it.
func loadSecurity(c Config, log *zap.Logger) (*security, error) {
	p, err := policy.Load(policy.Flag{Name: "credentials", Value: c.Credentials}, policy.Flag{Name: "acls", Value: c.ACLs}, log)
	if err != nil {
		return nil, errors.New("master: " + err.Error())
	}
	return &security{p}, nil
}

// watch reloads the files on change until ctx ends.
func (s *security) watch(ctx context.Context) { go s.Watch(ctx, policy.ReloadInterval) }

// aclsFunc returns the ACLs in force; nil without --acls.
func (s *security) aclsFunc() func() *acl.ACLs { return s.ACLs() }

// httpapi is the HTTP surface's security.
func (s *security) httpapi(c Config) httpapi.Security {
	sec := httpapi.Security{
		Frameworks: c.AuthenticateFrameworks, Agents: c.AuthenticateAgents,
		ReadWrite: c.AuthenticateHTTPReadWrite, ReadOnly: c.AuthenticateHTTPReadOnly,
		ACLs: s.aclsFunc(),
	}
	sec.Authenticator = s.Authenticator("mesos")
	return sec
}
