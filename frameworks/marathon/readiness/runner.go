package readiness

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/agoracluster/agora/frameworks/marathon/app"
)

// Response is the last response of a check, kept with preserveLastResponse.
type Response struct {
	Status      int    `json:"status"`
	ContentType string `json:"contentType"`
	Body        string `json:"body"`
}

// Result is one check's latest result for a task, as Marathon renders it in an
// app's and a deployment action's readinessCheckResults.
type Result struct {
	Name         string    `json:"name"`
	TaskID       string    `json:"taskId"`
	Ready        bool      `json:"ready"`
	LastResponse *Response `json:"lastResponse,omitempty"`
}

// Probe is what one check in flight probes.
type Probe struct {
	TaskID string
	URL    string // protocol://host:port/path
	Check  app.ReadinessCheck
}

// maxBody bounds the response body read (and kept) per probe.
const maxBody = 64 << 10

// Runner runs readiness checks. It is created with the context of the framework's
// run; Wait ends every check once that context is done and waits for them.
type Runner struct {
	ctx    context.Context
	client *http.Client
	sem    chan struct{} // bounds the probes in flight
	after  func(time.Duration) <-chan time.Time

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

func NewRunner(ctx context.Context, concurrency int) *Runner {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	// Tasks serve HTTPS with certificates of their own; Marathon does not verify them.
	transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // see above
	return &Runner{
		ctx: ctx,
		client: &http.Client{
			Transport: transport,
			// A redirect is an answer: its status decides, as in Marathon.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		sem:   make(chan struct{}, concurrency),
		after: time.After,
	}
}

// Start probes p at once and then every interval until a probe passes or stop is called;
// report gets every result (it hands it to the loop and returns; it must give up when its
// context is done). ok is false once the runner is stopping.
func (r *Runner) Start(p Probe, report func(context.Context, Result)) (stop func(), ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.ctx.Err() != nil {
		return func() {}, false
	}
	ctx, cancel := context.WithCancel(r.ctx)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer cancel()
		interval := time.Duration(p.Check.IntervalSeconds) * time.Second
		for {
			res, ok := r.probeBounded(ctx, p)
			if !ok {
				return
			}
			report(ctx, res)
			if res.Ready {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-r.after(interval):
			}
		}
	}()
	return cancel, true
}

// probeBounded waits for a free slot, then probes; ok is false when ctx ended first.
func (r *Runner) probeBounded(ctx context.Context, p Probe) (Result, bool) {
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return Result{}, false
	}
	defer func() { <-r.sem }()
	res := r.probe(ctx, p)
	return res, ctx.Err() == nil
}

// probe sends one request; a failed request is a not-ready result without a response.
func (r *Runner) probe(ctx context.Context, p Probe) Result {
	res := Result{Name: p.Check.Name, TaskID: p.TaskID}
	timeout := time.Duration(p.Check.TimeoutSeconds) * time.Second
	if timeout <= 0 {
		timeout = time.Duration(max(p.Check.IntervalSeconds, 1)) * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL, nil)
	if err != nil {
		return res
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return res
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	res.Ready = slices.Contains(p.Check.HTTPStatusCodesForReady, resp.StatusCode)
	if p.Check.PreserveLastResponse {
		res.LastResponse = &Response{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Body: string(body)}
	}
	return res
}

// Wait waits until the runner's context is done, then for every check to end.
func (r *Runner) Wait() {
	<-r.ctx.Done()
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.wg.Wait()
	r.client.CloseIdleConnections()
}
