package sdk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
	"github.com/agoracluster/agora/security/authn"
	"github.com/agoracluster/agora/security/credentials"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// APIPath is the master's scheduler API endpoint.
const APIPath = "/api/v1/scheduler"

// StreamIDHeader carries the subscription's stream id on every call.
const StreamIDHeader = "Mesos-Stream-Id"

// maxErrorBody bounds how much of an error response is kept in a CallError.
const maxErrorBody = 4 << 10

// masterURL turns "host:port" or "http(s)://host:port[/…]" into the scheduler API URL.
func masterURL(m string) (*url.URL, error) {
	if m == "" {
		return nil, errors.New("must not be empty")
	}
	if !strings.Contains(m, "://") {
		m = "http://" + m
	}
	u, err := url.Parse(m)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("scheme %q: want http or https", u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%q has no host", m)
	}
	u.Path = APIPath
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// codec encodes calls and decodes events in one Encoding.
type codec Encoding

func (c codec) marshal(m proto.Message) ([]byte, error) {
	if Encoding(c) == JSON {
		return mesos.MarshalJSON(m)
	}
	return proto.Marshal(m)
}

func (c codec) unmarshal(b []byte, m proto.Message) error {
	if Encoding(c) == JSON {
		return protojson.UnmarshalOptions{DiscardUnknown: true, AllowPartial: true}.Unmarshal(b, m)
	}
	return proto.UnmarshalOptions{AllowPartial: true}.Unmarshal(b, m)
}

func newTransport() *http.Transport {
	return &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 0, // the subscription response is bounded by the watchdog
		ExpectContinueTimeout: time.Second,
	}
}

// withCredential adds cred (when set) to every request rt sends.
func withCredential(rt http.RoundTripper, cred credentials.Credential) http.RoundTripper {
	if cred.Principal == "" {
		return rt
	}
	if rt == nil {
		rt = newTransport()
	}
	return &authn.Transport{Base: rt, Credential: cred}
}

// transportFor is cfg's Transport, or a private one with cfg.TLS. Over TLS it offers
// HTTP/2 first: the subscription and every call share one connection to the master, where
// HTTP/1.1 would open (and handshake) another whenever more calls are in flight than idle
// connections wait (a burst of acknowledgements), and close it again.
func transportFor(cfg Config) http.RoundTripper {
	if cfg.Transport != nil || cfg.TLS == nil {
		return cfg.Transport
	}
	tr := newTransport()
	tr.TLSClientConfig = cfg.TLS
	tr.ForceAttemptHTTP2 = true
	return tr
}

func newClient(rt http.RoundTripper) *http.Client {
	if rt == nil {
		rt = newTransport()
	}
	return &http.Client{
		Transport: rt,
		// Redirects are followed by hand: a 307 names the leading master, which the
		// scheduler must remember for its calls.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// post sends one call to u. It returns the response when the status is 2xx, and otherwise
// a *CallError (for redirects too: the caller decides whether to follow).
func (s *Scheduler) post(ctx context.Context, u *url.URL, c *scheduler.Call, streamID string) (*http.Response, error) {
	body, err := s.codec.marshal(c)
	if err != nil {
		return nil, fmt.Errorf("sdk: encode %s: %w", c.GetType(), err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("sdk: %s: %w", c.GetType(), err)
	}
	req.Header.Set("Content-Type", string(s.cfg.Encoding))
	req.Header.Set("Accept", string(s.cfg.Encoding))
	if streamID != "" {
		req.Header.Set(StreamIDHeader, streamID)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sdk: %s to %s: %w", c.GetType(), u.Host, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer drainClose(resp.Body)
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	ce := &CallError{Call: c.GetType(), StatusCode: resp.StatusCode, Message: strings.TrimSpace(string(msg))}
	if loc := resp.Header.Get("Location"); loc != "" && isRedirect(resp.StatusCode) {
		return nil, &redirectError{CallError: ce, location: loc}
	}
	return nil, ce
}

// redirectError is a 3xx answer; location is the Location header as sent.
type redirectError struct {
	*CallError
	location string
}

func (e *redirectError) Unwrap() error { return e.CallError }

func isRedirect(code int) bool {
	switch code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// resolveRedirect resolves a Location such as "//leader:5050/api/v1/scheduler" against the
// request URL; the scheduler API path is kept.
func resolveRedirect(from *url.URL, location string) (*url.URL, error) {
	loc, err := url.Parse(location)
	if err != nil {
		return nil, fmt.Errorf("sdk: bad redirect location %q: %w", location, err)
	}
	u := from.ResolveReference(loc)
	if u.Host == "" {
		return nil, fmt.Errorf("sdk: redirect location %q has no host", location)
	}
	u.Path = APIPath
	return u, nil
}

func drainClose(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
	_ = body.Close()
}
