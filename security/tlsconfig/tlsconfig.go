// Package tlsconfig builds the TLS configurations of Agora's listeners and clients from
// Mesos's settings (--tls_cert_file, --tls_key_file, --tls_ca_file, --tls_verify_peer, and
// the LIBPROCESS_SSL_* environment variables as aliases): certificates are re-read when
// their files change, so they rotate without a restart, and a bad rotation keeps the last
// good certificate.
package tlsconfig

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Config is where the certificates are. The zero value is plain HTTP.
type Config struct {
	CertFile, KeyFile string // this side's certificate and key (PEM)
	CAFile            string // the CA bundle peers are checked against (PEM); "" the system's
	// VerifyPeer asks servers for clients' certificates and checks them against CAFile
	// (mutual TLS); clients always check servers.
	VerifyPeer bool
}

// Enabled reports whether TLS is configured (a certificate, or a CA for a client).
func (c Config) Enabled() bool { return c.CertFile != "" || c.CAFile != "" }

// Validate checks that the settings go together.
func (c Config) Validate() error {
	var errs []error
	if (c.CertFile == "") != (c.KeyFile == "") {
		errs = append(errs, errors.New("tls: --tls_cert_file and --tls_key_file go together"))
	}
	if c.VerifyPeer && c.CAFile == "" {
		errs = append(errs, errors.New("tls: --tls_verify_peer needs --tls_ca_file to check peers against"))
	}
	return errors.Join(errs...)
}

// Env fills what the flags left empty from Mesos's LIBPROCESS_SSL_* variables (env reads
// one; nil means os.Getenv). LIBPROCESS_SSL_ENABLED=false leaves everything off.
func (c Config) Env(env func(string) string) Config {
	if env == nil {
		env = os.Getenv
	}
	if v := strings.ToLower(env("LIBPROCESS_SSL_ENABLED")); v != "true" && v != "1" {
		return c
	}
	fill := func(dst *string, name string) {
		if *dst == "" {
			*dst = env(name)
		}
	}
	fill(&c.CertFile, "LIBPROCESS_SSL_CERT_FILE")
	fill(&c.KeyFile, "LIBPROCESS_SSL_KEY_FILE")
	fill(&c.CAFile, "LIBPROCESS_SSL_CA_FILE")
	if v := strings.ToLower(env("LIBPROCESS_SSL_VERIFY_CERT")); v == "true" || v == "1" {
		c.VerifyPeer = true
	}
	return c
}

// Vars are the LIBPROCESS_SSL_* variables that hand c to a child process (an executor).
func (c Config) Vars() []string {
	if !c.Enabled() {
		return nil
	}
	return []string{"LIBPROCESS_SSL_ENABLED=true", "LIBPROCESS_SSL_CERT_FILE=" + c.CertFile,
		"LIBPROCESS_SSL_KEY_FILE=" + c.KeyFile, "LIBPROCESS_SSL_CA_FILE=" + c.CAFile,
		fmt.Sprintf("LIBPROCESS_SSL_VERIFY_CERT=%t", c.VerifyPeer)}
}

// Files keeps the certificate and the CA bundle current.
type Files struct {
	cfg Config
	log *zap.Logger

	sessions tls.ClientSessionCache // resumed handshakes skip the signatures: many executors, one agent

	mu       sync.Mutex
	cert     *tls.Certificate
	pool     *x509.CertPool
	stamp    string // sizes and times of the files the values came from
	checked  time.Time
	interval time.Duration
}

// Load reads the files of cfg; a missing or bad file is an error naming it.
func Load(cfg Config, log *zap.Logger) (*Files, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	f := &Files{cfg: cfg, log: log, interval: time.Second, sessions: tls.NewLRUClientSessionCache(64)}
	cert, pool, stamp, err := f.read()
	if err != nil {
		return nil, err
	}
	f.cert, f.pool, f.stamp, f.checked = cert, pool, stamp, time.Now()
	return f, nil
}

func (f *Files) stampNow() string {
	var b strings.Builder
	for _, p := range []string{f.cfg.CertFile, f.cfg.KeyFile, f.cfg.CAFile} {
		if p == "" {
			continue
		}
		if st, err := os.Stat(p); err == nil {
			fmt.Fprintf(&b, "%s:%d:%d;", p, st.Size(), st.ModTime().UnixNano())
		} else {
			fmt.Fprintf(&b, "%s:missing;", p)
		}
	}
	return b.String()
}

func (f *Files) read() (*tls.Certificate, *x509.CertPool, string, error) {
	stamp := f.stampNow()
	var cert *tls.Certificate
	if f.cfg.CertFile != "" {
		c, err := tls.LoadX509KeyPair(f.cfg.CertFile, f.cfg.KeyFile)
		if err != nil {
			return nil, nil, "", fmt.Errorf("tls: certificate %s with key %s: %w", f.cfg.CertFile, f.cfg.KeyFile, err)
		}
		cert = &c
	}
	var pool *x509.CertPool
	if f.cfg.CAFile != "" {
		data, err := os.ReadFile(f.cfg.CAFile)
		if err != nil {
			return nil, nil, "", fmt.Errorf("tls: CA file: %w", err)
		}
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM(bytes.TrimSpace(data)) {
			return nil, nil, "", fmt.Errorf("tls: CA file %s holds no PEM certificate", f.cfg.CAFile)
		}
	}
	return cert, pool, stamp, nil
}

// current returns the certificate and pool, re-read when the files changed (checked at
// most once a second); a bad change is logged and the last good values stay.
func (f *Files) current() (*tls.Certificate, *x509.CertPool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if time.Since(f.checked) < f.interval {
		return f.cert, f.pool
	}
	f.checked = time.Now()
	if stamp := f.stampNow(); stamp != f.stamp {
		cert, pool, newStamp, err := f.read()
		if err != nil {
			f.log.Error("tls: the certificate files changed but cannot be used; keeping the last good ones", zap.Error(err))
			f.stamp = stamp // logged once per change
		} else {
			f.cert, f.pool, f.stamp = cert, pool, newStamp
			f.log.Info("tls: reloaded the certificate files")
		}
	}
	return f.cert, f.pool
}

// Server is the configuration of a listener: this side's certificate and, with
// VerifyPeer, clients' certificates required and checked against the CA bundle.
func (f *Files) Server() (*tls.Config, error) {
	if f.cfg.CertFile == "" {
		return nil, errors.New("tls: a listener needs --tls_cert_file and --tls_key_file")
	}
	// HTTP/2 first: many executors' streams to one agent share one connection (one handshake).
	base := &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}}
	base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		cert, pool := f.current()
		c := base.Clone()
		c.GetConfigForClient = nil
		c.Certificates = []tls.Certificate{*cert}
		if f.cfg.VerifyPeer {
			c.ClientAuth, c.ClientCAs = tls.RequireAndVerifyClientCert, pool
		}
		return c, nil
	}
	return base, nil
}

// Client is the configuration of outgoing connections: a server's certificate must chain
// to the CA bundle (or the system's) and name the host or IP address dialled (its DNS or IP
// SANs), and this side's certificate is shown when a server asks. Go's verification does
// both checks against the bundle as it is when Client is called; each handshake then checks
// the chain again against the bundle as it is now, so that a CA taken out of the file is no
// longer trusted. (A CA added to the file is trusted by configurations made after.)
func (f *Files) Client() *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS12, ClientSessionCache: f.sessions}
	_, initial := f.current()
	c.RootCAs = initial
	if f.cfg.CAFile != "" {
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("tls: the server showed no certificate")
			}
			_, pool := f.current()
			if pool == initial {
				return nil // the bundle Go checked against is the current one
			}
			// The name was checked by Go against the host dialled; here only the chain.
			opts := x509.VerifyOptions{Roots: pool, Intermediates: x509.NewCertPool()}
			for _, ic := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(ic)
			}
			if _, err := cs.PeerCertificates[0].Verify(opts); err != nil {
				return fmt.Errorf("tls: the server's certificate is not trusted by the CA file as it is now: %w", err)
			}
			return nil
		}
	}
	if f.cfg.CertFile != "" {
		c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			cert, _ := f.current()
			return cert, nil
		}
	}
	return c
}
