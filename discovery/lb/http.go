package lb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// serveHTTP routes a request by its Host header to the virtual host's backends.
func (p *Proxy) serveHTTP(w http.ResponseWriter, r *http.Request) {
	host := strings.ToLower(r.Host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(host, ".")
	pl := (*p.vhosts.Load())[host]
	if pl == nil {
		http.Error(w, fmt.Sprintf("agora lb: no app serves virtual host %q", host), http.StatusServiceUnavailable)
		return
	}
	pl.counters.total.Add(1)
	pl.counters.active.Add(1)
	defer pl.counters.active.Add(-1)
	if r.ContentLength > 0 {
		pl.counters.bytesIn.Add(r.ContentLength)
	}
	ctx := context.WithValue(r.Context(), poolKey{}, pl)
	p.reverse.ServeHTTP(w, r.WithContext(ctx))
}

type poolKey struct{}

func poolOf(r *http.Request) *pool { return r.Context().Value(poolKey{}).(*pool) }

// newReverseProxy is the proxy of every virtual host; the request's context names the pool.
func (p *Proxy) newReverseProxy() *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = poolOf(pr.In).name // replaced by a backend's address in RoundTrip
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		Transport: &poolTransport{base: p.newTransport()},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			pl := poolOf(r)
			pl.counters.errors.Add(1)
			p.log.Debug("proxy request failed", zap.String("frontend", pl.name), zap.Error(err))
			code := http.StatusBadGateway
			if errors.Is(err, ErrNoBackend) {
				code = http.StatusServiceUnavailable
			}
			http.Error(w, "agora lb: "+err.Error(), code)
		},
		ModifyResponse: func(resp *http.Response) error {
			resp.Body = &countingBody{ReadCloser: resp.Body, n: &poolOf(resp.Request).counters.bytesOut}
			return nil
		},
		ErrorLog:   zap.NewStdLog(p.log.Named("http")),
		BufferPool: &bufferPool{},
	}
}

// bufferPool reuses the buffers that copy response bodies.
type bufferPool struct{ pool sync.Pool }

func (bp *bufferPool) Get() []byte {
	if b, ok := bp.pool.Get().(*[]byte); ok {
		return *b
	}
	return make([]byte, 32<<10)
}

func (bp *bufferPool) Put(b []byte) { bp.pool.Put(&b) }

func (p *Proxy) newTransport() *http.Transport {
	return &http.Transport{
		DialContext:         p.dialer.DialContext,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
		ForceAttemptHTTP2:   false,
		DisableCompression:  true, // pass bodies through as the backend encoded them
	}
}

// poolTransport sends a request to the pool's backends in balance order: a backend that
// refuses the connection is skipped for the next, and so is one that fails an idempotent
// request without a body before answering (a task killed mid-request), so a rolling
// restart behind the LB loses no such request.
type poolTransport struct {
	base *http.Transport
}

func (t *poolTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	pl := poolOf(req)
	var errs []error
	// Every backend failing a retryable request (the old tasks of a rolling restart died
	// before the feed brought the new ones in): wait for the set to change, and try once more.
	for round := 0; round < 2; round++ {
		order, set := pl.attempt()
		for _, b := range order {
			out, u := new(http.Request), *req.URL // the proxy's own outbound request, shallowly copied
			*out = *req
			u.Host = b.Addr
			out.URL = &u
			b.counters.total.Add(1)
			b.counters.active.Add(1)
			resp, err := t.base.RoundTrip(out)
			if err == nil {
				if req.ContentLength > 0 {
					b.counters.bytesIn.Add(req.ContentLength)
				}
				resp.Body = &countingBody{ReadCloser: resp.Body, n: &b.counters.bytesOut, done: func() { b.counters.active.Add(-1) }}
				return resp, nil
			}
			b.counters.active.Add(-1)
			b.counters.errors.Add(1)
			errs = append(errs, fmt.Errorf("%s: %w", b.Addr, err))
			if req.Context().Err() != nil || !retryable(req, err) {
				return nil, errors.Join(errs...)
			}
		}
		if round == 1 || !pl.awaitChange(req.Context(), set) {
			break
		}
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("%w: %s has no healthy task", ErrNoBackend, pl.name)
	}
	return nil, fmt.Errorf("%w: %s: %w", ErrNoBackend, pl.name, errors.Join(errs...))
}

// retryable reports whether req may go to the next backend after err: always when the
// connection was refused (nothing was sent), and for a request without a body whose method
// is idempotent whatever the error.
func retryable(req *http.Request, err error) bool {
	if req.Body != nil && req.Body != http.NoBody {
		return false
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// countingBody counts the bytes read through it and calls done once when closed.
type countingBody struct {
	io.ReadCloser
	n      *atomic.Int64
	done   func()
	closed atomic.Bool
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func (b *countingBody) Close() error {
	if b.closed.CompareAndSwap(false, true) && b.done != nil {
		b.done()
	}
	return b.ReadCloser.Close()
}

var _ http.RoundTripper = (*poolTransport)(nil)
