package lb

import (
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

// vhost is a virtual host's frontend: its pool and the reverse proxy that sends to it.
type vhost struct {
	pool    *pool
	reverse *httputil.ReverseProxy
}

// serveHTTP routes a request by its Host header to the virtual host's backends.
func (p *Proxy) serveHTTP(w http.ResponseWriter, r *http.Request) {
	host := vhostName(r.Host)
	vh := (*p.vhosts.Load())[host]
	if vh == nil {
		http.Error(w, fmt.Sprintf("agora lb: no app serves virtual host %q", host), http.StatusServiceUnavailable)
		return
	}
	fc := vh.pool.counters
	fc.total.Add(1)
	fc.active.Add(1)
	defer fc.active.Add(-1)
	if r.ContentLength > 0 {
		fc.bytesIn.Add(r.ContentLength)
	}
	vh.reverse.ServeHTTP(w, r)
}

// vhostName is the virtual host a Host header names: lower case, without a port or a
// trailing dot.
func vhostName(hostHeader string) string {
	host := strings.ToLower(hostHeader)
	if strings.IndexByte(host, ':') >= 0 { // SplitHostPort allocates its error
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
	}
	return strings.TrimSuffix(host, ".")
}

// newVHost is the frontend of a virtual host served by pl: a reverse proxy of its own, so
// that a request needs nothing but itself to find its pool.
func (p *Proxy) newVHost(pl *pool) *vhost {
	return &vhost{pool: pl, reverse: &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = pl.name // replaced by a backend's address in RoundTrip
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		Transport: &poolTransport{base: p.transport, pool: pl},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			pl.counters.errors.Add(1)
			p.log.Debug("proxy request failed", zap.String("frontend", pl.name), zap.Error(err))
			code := http.StatusBadGateway
			if errors.Is(err, ErrNoBackend) {
				code = http.StatusServiceUnavailable
			}
			http.Error(w, "agora lb: "+err.Error(), code)
		},
		ErrorLog:   p.httpLog,
		BufferPool: p.buffers,
	}}
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
		MaxIdleConnsPerHost: 256, // kept per backend: a burst of clients reuses its connections
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
	pool *pool
}

// RoundTrip sends req, the reverse proxy's own outbound request, to a backend. The first
// try sends req itself with the backend's address as its URL's host (the URL is the proxy's
// copy); a retry sends a shallow copy, as the failed try may still be reading req.
func (t *poolTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	pl := t.pool
	var errs []error
	var buf [8]*backend
	// Every backend failing a retryable request (the old tasks of a rolling restart died
	// before the feed brought the new ones in): wait for the set to change, and try once more.
	for round := 0; round < 2; round++ {
		set := pl.backends.Load()
		for _, b := range pl.orderInto(buf[:0], *set) {
			out := req
			if len(errs) == 0 {
				req.URL.Host = b.Addr
			} else {
				u := *req.URL
				u.Host = b.Addr
				out = new(http.Request)
				*out = *req
				out.URL = &u
			}
			b.counters.total.Add(1)
			b.counters.active.Add(1)
			resp, err := t.base.RoundTrip(out)
			if err == nil {
				if req.ContentLength > 0 {
					b.counters.bytesIn.Add(req.ContentLength)
				}
				resp.Body = &countingBody{ReadCloser: resp.Body, frontend: pl.counters, backend: b.counters}
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

// countingBody counts the bytes of a response read through it as the frontend's and the
// backend's bytes out, and ends the backend's active request once when closed.
type countingBody struct {
	io.ReadCloser
	frontend, backend *Counters
	closed            atomic.Bool
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.frontend.bytesOut.Add(int64(n))
		b.backend.bytesOut.Add(int64(n))
	}
	return n, err
}

func (b *countingBody) Close() error {
	if b.closed.CompareAndSwap(false, true) {
		b.backend.active.Add(-1)
	}
	return b.ReadCloser.Close()
}

var _ http.RoundTripper = (*poolTransport)(nil)
