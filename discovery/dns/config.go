package dns

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/agoracluster/agora/security/authn"
	"github.com/agoracluster/agora/security/credentials"
)

// Config configures the DNS server and its feeder.
type Config struct {
	// Domain is the zone served authoritatively, e.g. "mesos" (a trailing dot is optional).
	Domain string `json:"domain"`
	// Masters are the masters' host:port addresses, or one zk://host:2181,…/path URL.
	Masters []string `json:"masters"`
	// Refresh is how often the Poller reads the master's state (besides at every leader
	// change); the Subscriber polls this often only a master without the operator API.
	Refresh time.Duration `json:"refresh"`
	// StateTimeout bounds one read of the master's /state.
	StateTimeout time.Duration `json:"state_timeout"`
	// Resolvers are upstream DNS servers (host:port) for names outside Domain; none: REFUSED.
	Resolvers []string `json:"resolvers"`
	// Recurse forwards names outside Domain to Resolvers when the query asks for recursion.
	Recurse bool `json:"recurse"`
	// ForwardTimeout bounds one exchange with an upstream resolver.
	ForwardTimeout time.Duration `json:"forward_timeout"`
	// TTL of every record served, in seconds.
	TTL uint32 `json:"ttl"`
	// SOAMname, SOARname: the zone's primary server and contact names, relative to Domain.
	SOAMname string `json:"soa_mname"`
	SOARname string `json:"soa_rname"`
	// MasterTLS, when set, reaches the masters over HTTPS with this configuration.
	MasterTLS *tls.Config `json:"-"`
	// Credential, when set, is sent (HTTP Basic) with every read of the masters, for
	// masters with --authenticate_http_readonly.
	Credential credentials.Credential `json:"-"`
}

// masterScheme is how the masters are reached.
func (c Config) masterScheme() string {
	if c.MasterTLS != nil {
		return "https://"
	}
	return "http://"
}

// transport is the HTTP transport to the masters.
func (c Config) transport() http.RoundTripper {
	var rt http.RoundTripper = http.DefaultTransport
	if c.MasterTLS != nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = c.MasterTLS
		rt = tr
	}
	if c.Credential.Principal != "" {
		rt = &authn.Transport{Base: rt, Credential: c.Credential}
	}
	return rt
}

// DefaultConfig returns the defaults: domain "mesos", refresh 1s, TTL 60s, no resolvers.
func DefaultConfig() Config {
	return Config{
		Domain:         "mesos",
		Refresh:        time.Second,
		StateTimeout:   5 * time.Second,
		Recurse:        true,
		ForwardTimeout: 5 * time.Second,
		TTL:            60,
		SOAMname:       "ns1",
		SOARname:       "root.ns1",
	}
}

// Validate returns every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	d := strings.TrimSuffix(c.Domain, ".")
	if d == "" {
		errs = append(errs, errors.New("domain: must not be empty"))
	} else if _, ok := mdns.IsDomainName(d); !ok {
		errs = append(errs, fmt.Errorf("domain: %q is not a domain name", c.Domain))
	}
	if len(c.Masters) == 0 {
		errs = append(errs, errors.New("masters: must not be empty"))
	}
	if c.Refresh <= 0 {
		errs = append(errs, fmt.Errorf("refresh: must be positive, got %s", c.Refresh))
	}
	if c.StateTimeout <= 0 {
		errs = append(errs, fmt.Errorf("state_timeout: must be positive, got %s", c.StateTimeout))
	}
	if c.ForwardTimeout <= 0 {
		errs = append(errs, fmt.Errorf("forward_timeout: must be positive, got %s", c.ForwardTimeout))
	}
	for i, r := range c.Resolvers {
		if _, _, err := net.SplitHostPort(r); err != nil {
			errs = append(errs, fmt.Errorf("resolvers[%d]: %q: want host:port", i, r))
		}
	}
	return errors.Join(errs...)
}

// fqdn is the domain as a lowercase fully qualified name, e.g. "mesos.".
func (c Config) fqdn() string { return strings.ToLower(mdns.Fqdn(c.Domain)) }
