package lb

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/agoracluster/agora/client"
	"github.com/agoracluster/agora/security/credentials"
)

// Balance is how a frontend picks a backend for a new connection.
type Balance string

// The balance algorithms.
const (
	RoundRobin Balance = "roundrobin" // each new connection to the next backend
	LeastConn  Balance = "leastconn"  // to the backend with the fewest active connections
)

// Config configures the load balancer and its Marathon feed.
type Config struct {
	// MarathonTLS, when set, is the TLS configuration of the connections to Marathon (give
	// https:// URLs in Marathons).
	MarathonTLS *tls.Config `json:"-"`
	// MarathonCredential, when set, is sent (HTTP Basic) with every request to Marathon,
	// for a Marathon with --http_credentials (marathon-lb's --auth-credentials).
	MarathonCredential credentials.Credential `json:"-"`
	// Marathons are the base URLs of Marathon instances (http://host:port or host:port); the
	// feed uses the first that answers and moves to the next on failure.
	Marathons []string `json:"marathons"`
	// Group is the LB group served: apps whose HAPROXY_GROUP names it ("*": every app).
	Group string `json:"group"`
	// IP is the address the service-port listeners bind to.
	IP string `json:"ip"`
	// Balance is the balance algorithm of every frontend.
	Balance Balance `json:"balance"`
	// ConnectTimeout bounds one connection attempt to a backend.
	ConnectTimeout time.Duration `json:"connect_timeout"`
	// Debounce is how long the feed waits after an event that asks for a new snapshot before
	// reading the apps, so that a burst of events costs one read.
	Debounce time.Duration `json:"debounce"`
	// FetchTimeout bounds one read of Marathon's apps.
	FetchTimeout time.Duration `json:"fetch_timeout"`
	// StreamIdleTimeout is how long the event stream may stay silent (Marathon sends a
	// keep-alive comment every 10s) before it is taken for dead and the feed reconnects.
	StreamIdleTimeout time.Duration `json:"stream_idle_timeout"`
	// BackoffMin and BackoffMax bound the wait between two attempts to reach Marathon; the
	// wait doubles after each failure.
	BackoffMin time.Duration `json:"backoff_min"`
	BackoffMax time.Duration `json:"backoff_max"`
}

// DefaultConfig returns the defaults: group external, round robin, 0.0.0.0.
func DefaultConfig() Config {
	return Config{
		Group:             DefaultGroup,
		IP:                "0.0.0.0",
		Balance:           RoundRobin,
		ConnectTimeout:    2 * time.Second,
		Debounce:          10 * time.Millisecond,
		FetchTimeout:      10 * time.Second,
		StreamIdleTimeout: 35 * time.Second,
		BackoffMin:        100 * time.Millisecond,
		BackoffMax:        5 * time.Second,
	}
}

// Validate returns every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	if len(c.Marathons) == 0 {
		errs = append(errs, errors.New("marathon: must not be empty"))
	}
	for i, m := range c.Marathons {
		if _, err := client.NormalizeURL(m); err != nil {
			errs = append(errs, fmt.Errorf("marathon[%d]: %v", i, err))
		}
	}
	if strings.TrimSpace(c.Group) == "" || strings.Contains(c.Group, ",") {
		errs = append(errs, fmt.Errorf("group: %q: want one group name (or * for every group)", c.Group))
	}
	if net.ParseIP(c.IP) == nil {
		errs = append(errs, fmt.Errorf("ip: %q is not an IP address", c.IP))
	}
	if c.Balance != RoundRobin && c.Balance != LeastConn {
		errs = append(errs, fmt.Errorf("balance: %q: want %s or %s", c.Balance, RoundRobin, LeastConn))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"connect_timeout", c.ConnectTimeout}, {"debounce", c.Debounce}, {"fetch_timeout", c.FetchTimeout}, {"stream_idle_timeout", c.StreamIdleTimeout}, {"backoff_min", c.BackoffMin}, {"backoff_max", c.BackoffMax}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be positive, got %s", d.name, d.v))
		}
	}
	if c.BackoffMax < c.BackoffMin {
		errs = append(errs, fmt.Errorf("backoff_max: %s is less than backoff_min %s", c.BackoffMax, c.BackoffMin))
	}
	return errors.Join(errs...)
}
