package executorclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/proto/mesos/v1/executor"
	"github.com/agoracluster/agora/recordio"
)

const (
	// ContentType is the executor API's encoding: protobuf.
	ContentType   = "application/x-protobuf"
	maxEventSize  = 16 << 20
	callTimeout   = 10 * time.Second
	maxErrorBytes = 4 << 10
)

// Client speaks the executor API to one agent.
type Client struct {
	url    string
	client *http.Client
	token  string // Authorization: Bearer, when the agent authenticates executors
}

// New returns a client of the agent at endpoint (host:port); a nil client means a private
// http.Client without timeouts.
func New(endpoint string, client *http.Client) *Client { return NewTLS(endpoint, client, nil) }

// NewTLS is New over HTTPS when tc is set (the agent's LIBPROCESS_SSL_* settings): a
// client whose transport has no TLS settings yet gets a copy with tc's.
func NewTLS(endpoint string, client *http.Client, tc *tls.Config) *Client {
	scheme := "http"
	if client == nil {
		client = &http.Client{}
	}
	if tc != nil {
		scheme = "https"
		tr, ok := client.Transport.(*http.Transport)
		if !ok || tr == nil {
			tr = http.DefaultTransport.(*http.Transport)
		}
		if tr.TLSClientConfig == nil {
			tr = tr.Clone()
			tr.TLSClientConfig = tc
			c := *client
			c.Transport = tr
			client = &c
		}
	}
	return &Client{url: scheme + "://" + endpoint + "/api/v1/executor", client: client}
}

// WithToken makes the client send token (when set) with every call (an agent with
// --authenticate_http_executors).
func (a *Client) WithToken(token string) *Client {
	a.token = token
	return a
}

func (a *Client) post(ctx context.Context, call *executor.Call) (*http.Response, error) {
	body, err := proto.Marshal(call)
	if err != nil {
		return nil, fmt.Errorf("encode %v call: %w", call.GetType(), err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", ContentType)
	req.Header.Set("Accept", ContentType)
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	return a.client.Do(req)
}

// statusError turns an unexpected response into an error with the agent's message.
func statusError(call executor.Call_Type, resp *http.Response) error {
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
	return fmt.Errorf("%v: agent answered %s: %s", call, resp.Status, strings.TrimSpace(string(msg)))
}

// Send posts one call that is not SUBSCRIBE; the agent answers 202.
func (a *Client) Send(ctx context.Context, call *executor.Call) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	resp, err := a.post(ctx, call)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
		return statusError(call.GetType(), resp)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBytes))
	return nil
}

// Subscribe opens the event stream and hands every event to deliver until the stream ends,
// ctx is done or deliver returns false. It always returns a non-nil error.
func (a *Client) Subscribe(ctx context.Context, call *executor.Call, deliver func(*executor.Event) bool) error {
	resp, err := a.post(ctx, call)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return statusError(call.GetType(), resp)
	}
	r := recordio.NewReader(resp.Body, maxEventSize)
	for {
		rec, err := r.ReadRecord()
		if err == io.EOF {
			return fmt.Errorf("event stream closed by the agent")
		}
		if err != nil {
			return fmt.Errorf("read event stream: %w", err)
		}
		ev := &executor.Event{}
		if err := proto.Unmarshal(rec, ev); err != nil {
			return fmt.Errorf("decode event: %w", err)
		}
		if !deliver(ev) {
			return ctx.Err()
		}
	}
}
