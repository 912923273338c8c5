package health

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
)

// Prober runs framework-side probes (HTTP, HTTPS, TCP). It is created with the context of
// the framework's run; Wait ends every probe once that context is done and waits for them.
type Prober struct {
	ctx    context.Context
	client *http.Client
	sem    chan struct{} // bounds the probes in flight

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// NewProber returns a Prober that runs at most concurrency probes at a time.
func NewProber(ctx context.Context, concurrency int) *Prober {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	// Tasks serve HTTPS with certificates of their own; Marathon does not verify them.
	transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // see above
	transport.DisableKeepAlives = true                                // every probe is a fresh connection, as Marathon's
	return &Prober{
		ctx: ctx,
		client: &http.Client{
			Transport:     transport,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		sem: make(chan struct{}, max(concurrency, 1)),
	}
}

// Run probes p once on a goroutine of its own and hands the result to report (which
// passes it to the loop and must give up when its context is done). ok is false once the
// prober is stopping.
func (p *Prober) Run(pr Probe, report func(context.Context, Probe, Result)) (ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.ctx.Err() != nil {
		return false
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		select {
		case p.sem <- struct{}{}:
		case <-p.ctx.Done():
			return
		}
		res := p.probe(pr)
		<-p.sem
		if p.ctx.Err() == nil {
			report(p.ctx, pr, res)
		}
	}()
	return true
}

// Wait waits until the prober's context is done, then for every probe to end.
func (p *Prober) Wait() {
	<-p.ctx.Done()
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.wg.Wait()
	p.client.CloseIdleConnections()
}

func (p *Prober) probe(pr Probe) Result {
	ctx, cancel := context.WithTimeout(p.ctx, pr.Timeout)
	defer cancel()
	addr := net.JoinHostPort(pr.Host, strconv.Itoa(pr.Port))
	if pr.Protocol == "TCP" {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return Result{Cause: err.Error()}
		}
		_ = c.Close()
		return Result{Healthy: true}
	}
	scheme := "http"
	if pr.Protocol == "HTTPS" {
		scheme = "https"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+addr+pr.Path, nil)
	if err != nil {
		return Result{Cause: err.Error()}
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return Result{Cause: err.Error()}
	}
	_ = resp.Body.Close()
	return HTTPResult(resp.StatusCode, pr.IgnoreHTTP1xx)
}

// HTTPResult judges an HTTP answer as Marathon does: 2xx and 3xx pass; 1xx says nothing
// with ignoreHttp1xx; anything else fails with the status as its cause.
func HTTPResult(status int, ignore1xx bool) Result {
	switch {
	case status >= 200 && status < 400:
		return Result{Healthy: true}
	case status < 200 && ignore1xx:
		return Result{Ignored: true}
	}
	return Result{Cause: fmt.Sprintf("%d %s", status, http.StatusText(status))}
}
