package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// ErrBadURL is returned for an endpoint that is not an http(s) URL or host:port.
var ErrBadURL = errors.New("client: bad endpoint")

// maxErrorBody caps how much of an error reply is read.
const maxErrorBody = 64 << 10

// Error is a reply outside 2xx: the server's status and its message.
type Error struct {
	Service string // "marathon", "batch", "master", "agent"
	Method  string
	Path    string
	Status  int
	Message string // the server's message, with validation details ("/cpus: must be positive")
}

func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("%s: %d %s", e.Service, e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("%s: %d %s", e.Service, e.Status, e.Message)
}

// IsNotFound reports whether err is a 404 reply.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// errorMessage renders an error body: Marathon's and Metronome's {"message", "details"}
// (details win: they say what is wrong), a JSON {"error"}, or else the body as text.
func errorMessage(body []byte) string {
	var m struct {
		Message string `json:"message"`
		Error   string `json:"error"`
		Details []struct {
			Path   string   `json:"path"`
			Errors []string `json:"errors"`
		} `json:"details"`
	}
	if json.Unmarshal(body, &m) == nil {
		var parts []string
		for _, d := range m.Details {
			if len(d.Errors) > 0 {
				parts = append(parts, d.Path+": "+strings.Join(d.Errors, ", "))
			}
		}
		switch {
		case len(parts) > 0:
			return strings.Join(parts, "; ")
		case m.Message != "":
			return m.Message
		case m.Error != "":
			return m.Error
		}
	}
	return strings.TrimSpace(string(body))
}

// NormalizeURL turns "host:port" or ":port" into "http://host:port" and drops a trailing
// slash; http and https URLs are kept.
func NormalizeURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("%w: empty", ErrBadURL)
	}
	if strings.HasPrefix(s, ":") {
		s = "127.0.0.1" + s
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	if !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") {
		return "", fmt.Errorf("%w: %q is not an http(s) URL", ErrBadURL, s)
	}
	return strings.TrimRight(s, "/"), nil
}

// base is what every client shares: the service name, its URL and the HTTP client.
type base struct {
	service string
	url     string
	user    *url.Userinfo // credentials given in the URL (http://user:password@host), sent as HTTP Basic
	http    *http.Client
}

func newBase(service, rawURL string, hc *http.Client) (base, error) {
	u, err := NormalizeURL(rawURL)
	if err != nil {
		return base{}, fmt.Errorf("%s: %w", service, err)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	b := base{service: service, url: u, http: hc}
	// Credentials in the URL go with every request but never into a message.
	if parsed, err := url.Parse(u); err == nil && parsed.User != nil {
		b.user, parsed.User = parsed.User, nil
		b.url = parsed.String()
	}
	return b, nil
}

// URL is the service's base URL.
func (b base) URL() string { return b.url }

// do sends a request with an optional JSON body (a []byte is sent as is) and decodes a
// 2xx reply into out (nil = discard).
func (b base) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	switch v := in.(type) {
	case nil:
	case []byte:
		body = bytes.NewReader(v)
	default:
		data, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("%s: encode: %w", b.service, err)
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, b.url+path, body)
	if err != nil {
		return fmt.Errorf("%s: %w", b.service, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if b.user != nil {
		pass, _ := b.user.Password()
		req.SetBasicAuth(b.user.Username(), pass)
	}
	resp, err := b.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the method and URL are said below, once
		}
		return fmt.Errorf("%s: %s %s: %w", b.service, method, b.url+path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return &Error{Service: b.service, Method: method, Path: path, Status: resp.StatusCode, Message: errorMessage(data)}
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if raw, ok := out.(*json.RawMessage); ok {
		data, err := io.ReadAll(resp.Body)
		if err != nil {
			return fmt.Errorf("%s: %s %s: %w", b.service, method, path, err)
		}
		*raw = data
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s: %s %s: decode reply: %w", b.service, method, path, err)
	}
	return nil
}
