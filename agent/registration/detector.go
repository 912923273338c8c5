package registration

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

// MasterDetector tells the connection which master to subscribe to.
type MasterDetector interface {
	// Detect returns the agent API URL (…/api/v1/agent) of the master to subscribe to next,
	// blocking until one is known or ctx is done. previous is the master the last attempt
	// reached after redirects (nil before the first); a detector that knows no better
	// returns it again.
	Detect(ctx context.Context, previous *url.URL) (*url.URL, error)
}

// Static is the master given by --master (host:port or http://host:port): a non-leading
// master redirects the agent to the leader, which the connection then keeps using.
type Static struct{ url *url.URL }

var _ MasterDetector = Static{}

// NewStatic parses master ("host:port" or "http://host:port").
func NewStatic(master string) (Static, error) {
	u, err := MasterURL(master)
	if err != nil {
		return Static{}, err
	}
	return Static{url: u}, nil
}

// Detect implements MasterDetector: previous when there is one, else the configured master.
func (s Static) Detect(_ context.Context, previous *url.URL) (*url.URL, error) {
	if previous != nil {
		return previous, nil
	}
	return s.url, nil
}

// MasterURL turns "host:port" or "http://host:port" into the master's agent API URL.
func MasterURL(master string) (*url.URL, error) {
	s := master
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("agent: master %q: want host:port or http://host:port", master)
	}
	u.Path = "/api/v1/agent"
	return u, nil
}
