package exechost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/agoracluster/agora/recordio"
)

// ErrUnknownContainer is returned for a container the host does not know.
var ErrUnknownContainer = errors.New("exechost: unknown container")

// maxEventBytes bounds one record of the events stream.
const maxEventBytes = 1 << 20

// Client talks to the executor host at one address.
type Client struct {
	hc *http.Client
}

// NewClient returns a client of the host at addr (Address).
func NewClient(addr string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			if err := checkSocketDir(addr); err != nil {
				return nil, err
			}
			var d net.Dialer
			return d.DialContext(ctx, "unix", addr)
		},
		MaxIdleConnsPerHost: 32,
	}
	return &Client{hc: &http.Client{Transport: tr}}
}

// Close closes idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// Launch starts an executor.
func (c *Client) Launch(ctx context.Context, req LaunchRequest) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, "/v1/containers", body, http.StatusCreated)
}

// Kill ends an executor at once (nil for one that already ended).
func (c *Client) Kill(ctx context.Context, containerID string) error {
	return c.do(ctx, http.MethodPost, "/v1/containers/"+containerID+"/kill", nil, http.StatusAccepted)
}

// Forget drops an executor that ended.
func (c *Client) Forget(ctx context.Context, containerID string) error {
	return c.do(ctx, http.MethodDelete, "/v1/containers/"+containerID, nil, http.StatusNoContent)
}

// Shutdown kills every executor and makes the host exit.
func (c *Client) Shutdown(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/v1/shutdown", nil, http.StatusAccepted)
}

func (c *Client) do(ctx context.Context, method, path string, body []byte, want int) error {
	req, err := http.NewRequestWithContext(ctx, method, "http://executor-host"+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("executor host: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	switch resp.StatusCode {
	case want:
		return nil
	case http.StatusNotFound:
		return fmt.Errorf("%w: %s", ErrUnknownContainer, strings.TrimSpace(string(msg)))
	}
	return fmt.Errorf("executor host: %s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(msg)))
}

// Events opens the events stream; the first events are the state of every executor, up to
// and including EventSynced.
func (c *Client) Events(ctx context.Context) (*EventStream, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://executor-host/v1/events", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("executor host: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("executor host: events: %s", resp.Status)
	}
	return &EventStream{body: resp.Body, r: recordio.NewReader(resp.Body, maxEventBytes)}, nil
}

// EventStream reads events; Next returns an error once the stream ends.
type EventStream struct {
	body io.ReadCloser
	r    *recordio.Reader
}

// Next returns the next event.
func (s *EventStream) Next() (Event, error) {
	b, err := s.r.ReadRecord()
	if err != nil {
		return Event{}, err
	}
	var ev Event
	if err := json.Unmarshal(b, &ev); err != nil {
		return Event{}, fmt.Errorf("executor host: malformed event: %w", err)
	}
	return ev, nil
}

// Close ends the stream.
func (s *EventStream) Close() error { return s.body.Close() }
