package main

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/agoracluster/agora/client"
	"github.com/agoracluster/agora/security/authn"
	"github.com/agoracluster/agora/security/tlsconfig"
)

// accessFlags are how every client command reaches a secured cluster: the CA its servers'
// certificates are checked against (and a certificate of its own for servers with
// --tls_verify_peer), and the principal it authenticates as (HTTP Basic) to the master,
// the agents, Marathon (--http_credentials) and batch.
type accessFlags struct {
	tls                   tlsconfig.Config
	principal, secretFile string
}

func addAccessFlags(fs *pflag.FlagSet, a *accessFlags) {
	fs.StringVar(&a.tls.CAFile, "tls_ca_file", "", "PEM CA bundle the servers' certificates are checked against (LIBPROCESS_SSL_CA_FILE); set, host:port addresses are reached over HTTPS")
	fs.StringVar(&a.tls.CertFile, "tls_cert_file", "", "PEM certificate shown to servers that verify their peers (--tls_verify_peer)")
	fs.StringVar(&a.tls.KeyFile, "tls_key_file", "", "PEM key of --tls_cert_file")
	fs.StringVar(&a.principal, "principal", "", "principal to authenticate as (HTTP Basic) to the master, agents, Marathon and batch")
	fs.StringVar(&a.secretFile, "secret_file", "", "file holding the secret of --principal (or set AGORA_SECRET)")
}

// access is what the flags give: the HTTP client every request goes through and the scheme
// of addresses given without one.
type access struct {
	http   *http.Client
	scheme string // "http://", or "https://" with TLS
}

// load reads the CA, certificate and secret files (env supplies AGORA_SECRET and the
// LIBPROCESS_SSL_* aliases); a bad setting or file is an error naming it.
func (a accessFlags) load(env func(string) string, timeout time.Duration) (access, error) {
	out := access{http: &http.Client{Timeout: timeout}, scheme: "http://"}
	cred, err := principalCredential("principal", a.principal, "secret_file", a.secretFile, env("AGORA_SECRET"))
	if err != nil {
		return access{}, err
	}
	if cfg := a.tls.Env(env); cfg.Enabled() {
		files, err := tlsconfig.Load(cfg, nil)
		if err != nil {
			return access{}, err
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = files.Client()
		out.http.Transport, out.scheme = tr, "https://"
	}
	out.http = authn.Client(out.http, cred)
	return out, nil
}

// url is addr as a URL: host:port (or :port, on this host) gets the scheme of the access
// (https:// with --tls_ca_file); a URL is kept.
func (a access) url(addr string) string {
	addr = strings.TrimSpace(addr)
	if strings.Contains(addr, "://") {
		return addr
	}
	if strings.HasPrefix(addr, ":") {
		addr = "127.0.0.1" + addr
	}
	return a.scheme + addr
}

// explain adds to a server's refusal what the command line can do about it.
func explain(err error) error {
	var ce *client.Error
	if !errors.As(err, &ce) {
		return err
	}
	switch ce.Status {
	case http.StatusUnauthorized:
		return fmt.Errorf("%w (authenticate with --principal and --secret_file, or AGORA_PRINCIPAL and AGORA_SECRET)", err)
	case http.StatusForbidden:
		return fmt.Errorf("%w (the principal is not allowed to: see the ACLs)", err)
	}
	return err
}
