package main

import (
	"crypto/tls"
	"fmt"
	"net"

	"github.com/spf13/pflag"
	"go.uber.org/zap"

	"github.com/agoracluster/agora/security/tlsconfig"
)

// tlsFlags are Mesos's TLS settings, shared by every command that listens or connects.
type tlsFlags struct{ cfg tlsconfig.Config }

func addTLSFlags(fs *pflag.FlagSet) *tlsFlags {
	t := &tlsFlags{}
	fs.StringVar(&t.cfg.CertFile, "tls_cert_file", "", "PEM certificate this process serves HTTPS with and shows to servers that ask (LIBPROCESS_SSL_CERT_FILE); re-read when it changes")
	fs.StringVar(&t.cfg.KeyFile, "tls_key_file", "", "PEM key of --tls_cert_file (LIBPROCESS_SSL_KEY_FILE)")
	fs.StringVar(&t.cfg.CAFile, "tls_ca_file", "", "PEM CA bundle servers (and, with --tls_verify_peer, clients) are checked against (LIBPROCESS_SSL_CA_FILE); set, connections to masters and agents use HTTPS")
	fs.BoolVar(&t.cfg.VerifyPeer, "tls_verify_peer", false, "require and check clients' certificates: mutual TLS (LIBPROCESS_SSL_VERIFY_CERT)")
	return t
}

// tlsSetup is what the flags (and the LIBPROCESS_SSL_* variables they fall back to) give.
type tlsSetup struct {
	cfg   tlsconfig.Config
	files *tlsconfig.Files // nil: plain HTTP
}

// load reads the certificate files; a bad setting or file is an error naming it.
func (t *tlsFlags) load(log *zap.Logger) (tlsSetup, error) {
	cfg := t.cfg.Env(osEnv)
	if !cfg.Enabled() {
		return tlsSetup{}, nil
	}
	files, err := tlsconfig.Load(cfg, log.Named("tls"))
	if err != nil {
		return tlsSetup{}, err
	}
	return tlsSetup{cfg: cfg, files: files}, nil
}

// listen wraps ln in TLS when a certificate is configured.
func (s tlsSetup) listen(ln net.Listener) (net.Listener, error) {
	if s.files == nil || s.cfg.CertFile == "" {
		return ln, nil
	}
	srv, err := s.files.Server()
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("listen: %w", err)
	}
	return tls.NewListener(ln, srv), nil
}

// client is the configuration of outgoing HTTPS connections; nil: plain HTTP.
func (s tlsSetup) client() *tls.Config {
	if s.files == nil {
		return nil
	}
	return s.files.Client()
}

// peer is the client configuration instances of a framework whose listeners serve HTTPS
// reach one another with (a follower's proxy to the leader); nil while they serve plain
// HTTP.
func (s tlsSetup) peer() *tls.Config {
	if s.files == nil || s.cfg.CertFile == "" {
		return nil
	}
	return s.files.Client()
}
