package lb

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Proxy serves a Table: a TCP listener per service port, and virtual hosts on the HTTP
// listener given to Run. Update swaps a new Table in at any time; connections already made
// keep going whatever the new Table says.
type Proxy struct {
	cfg    Config
	log    *zap.Logger
	stats  *stats
	dialer *net.Dialer

	mu      sync.Mutex
	closed  bool
	tcp     map[int]*tcpFrontend
	failed  map[int]UnboundPort // service ports whose listener could not be opened
	table   Table
	updated bool
	conns   map[net.Conn]struct{}
	wg      sync.WaitGroup

	vhosts    atomic.Pointer[map[string]*vhost]
	transport *http.Transport // to the virtual hosts' backends, shared by every vhost
	httpLog   *log.Logger
	buffers   httputil.BufferPool
}

type tcpFrontend struct {
	ln   net.Listener
	pool *pool
}

// NewProxy returns a proxy with no frontends; Run serves it.
func NewProxy(cfg Config, log *zap.Logger) (*Proxy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Proxy{
		cfg:    cfg,
		log:    log.Named("lb"),
		stats:  newStats(),
		dialer: &net.Dialer{Timeout: cfg.ConnectTimeout},
		tcp:    map[int]*tcpFrontend{},
		failed: map[int]UnboundPort{},
		conns:  map[net.Conn]struct{}{},
	}
	empty := map[string]*vhost{}
	p.vhosts.Store(&empty)
	p.transport = p.newTransport()
	p.httpLog = zap.NewStdLog(p.log.Named("http"))
	p.buffers = &bufferPool{}
	return p, nil
}

func tcpName(port int) string     { return "tcp:" + strconv.Itoa(port) }
func httpName(host string) string { return "http:" + host }

// Update makes t the proxy's table: it opens listeners for new service ports, closes those
// of ports that left (their connections keep going), and swaps every frontend's backends.
// A service port that cannot be bound is logged and tried again at the next Update.
func (p *Proxy) Update(t Table) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.table, p.updated = t, true
	want := map[int]bool{}
	for _, s := range t.Services {
		want[s.Port] = true
		f := p.tcp[s.Port]
		if f == nil {
			ln, err := net.Listen("tcp", net.JoinHostPort(p.cfg.IP, strconv.Itoa(s.Port)))
			if err != nil {
				if p.failed[s.Port].Error != err.Error() {
					p.log.Warn("service port not served: listen failed", zap.String("app_id", s.AppID), zap.Int("service_port", s.Port), zap.Error(err))
				}
				p.failed[s.Port] = UnboundPort{Port: s.Port, AppID: s.AppID, Error: err.Error()}
				continue
			}
			delete(p.failed, s.Port)
			f = &tcpFrontend{ln: ln, pool: newPool(tcpName(s.Port), p.cfg.Balance, p.stats)}
			p.tcp[s.Port] = f
			p.wg.Add(1)
			go p.serveTCP(f)
			p.log.Info("service port listening", zap.String("app_id", s.AppID), zap.Int("service_port", s.Port))
		}
		f.pool.set(s.AppID, s.Backends, p.stats)
	}
	for port, f := range p.tcp {
		if !want[port] {
			f.ln.Close()
			delete(p.tcp, port)
			p.log.Info("service port closed", zap.Int("service_port", port))
		}
	}
	for port := range p.failed {
		if !want[port] {
			delete(p.failed, port)
		}
	}
	old := *p.vhosts.Load()
	next := make(map[string]*vhost, len(t.VHosts))
	for _, v := range t.VHosts {
		vh := old[v.Host]
		if vh == nil {
			vh = p.newVHost(newPool(httpName(v.Host), p.cfg.Balance, p.stats))
		}
		vh.pool.set(v.AppID, v.Backends, p.stats)
		next[v.Host] = vh
	}
	p.vhosts.Store(&next)
}

// Table is the table last given to Update, and whether there was one.
func (p *Proxy) Table() (Table, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.table, p.updated
}

// Run serves the virtual hosts on httpLn (nil: none) until ctx ends, then closes every
// listener and connection and waits for them.
func (p *Proxy) Run(ctx context.Context, httpLn net.Listener) error {
	var hs *http.Server
	errc := make(chan error, 1)
	if httpLn != nil {
		hs = &http.Server{Handler: http.HandlerFunc(p.serveHTTP), ErrorLog: p.httpLog}
		go func() { errc <- hs.Serve(httpLn) }()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	if hs != nil {
		hs.Close()
		if e := <-errc; err == nil && !errors.Is(e, http.ErrServerClosed) {
			err = e
		}
	}
	p.mu.Lock()
	p.closed = true
	for _, f := range p.tcp {
		f.ln.Close()
	}
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	p.transport.CloseIdleConnections()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// track registers c to be closed when Run ends; false when it has ended.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	p.wg.Add(1)
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	p.wg.Done()
}

func (p *Proxy) serveTCP(f *tcpFrontend) {
	defer p.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return // closed
		}
		if !p.track(c) {
			c.Close()
			return
		}
		go func() {
			defer p.untrack(c)
			p.proxyTCP(c, f.pool)
		}()
	}
}

// proxyTCP connects client to a backend of pl and copies both ways until both sides are
// done.
func (p *Proxy) proxyTCP(client net.Conn, pl *pool) {
	defer client.Close()
	fc := pl.counters
	fc.total.Add(1)
	fc.active.Add(1)
	defer fc.active.Add(-1)
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.ConnectTimeout*time.Duration(1+len(*pl.backends.Load())))
	be, b, err := pl.dial(ctx, p.dialer)
	cancel()
	if err != nil {
		fc.errors.Add(1)
		p.log.Debug("no backend for connection", zap.String("frontend", pl.name), zap.Error(err))
		return
	}
	if !p.track(be) {
		be.Close()
		return
	}
	defer p.untrack(be)
	defer be.Close()
	bc := b.counters
	bc.total.Add(1)
	bc.active.Add(1)
	defer bc.active.Add(-1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		n, err := io.Copy(be, client)
		fc.bytesIn.Add(n)
		bc.bytesIn.Add(n)
		endCopy(be, client, err)
	}()
	n, err := io.Copy(client, be)
	fc.bytesOut.Add(n)
	bc.bytesOut.Add(n)
	endCopy(client, be, err)
	<-done
}

// endCopy ends one direction of a proxied connection: after the source's end of stream the
// destination is half-closed so its peer sees it too; after an error both are closed.
func endCopy(dst, src net.Conn, err error) {
	if err != nil {
		dst.Close()
		src.Close()
		return
	}
	closeWrite(dst)
}

// closeWrite half-closes c so that its peer sees the end of the stream.
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		return
	}
	c.Close()
}

// UnboundPort is a service port of the table that the proxy could not listen on (tried
// again at every Update).
type UnboundPort struct {
	Port  int    `json:"port"`
	AppID string `json:"app_id"`
	Error string `json:"error"`
}

// Unbound lists the service ports that could not be listened on, by port.
func (p *Proxy) Unbound() []UnboundPort {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := []UnboundPort{}
	for _, u := range p.failed {
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b UnboundPort) int { return a.Port - b.Port })
	return out
}

// Stats reads every frontend's counters, service ports first (by port), then virtual hosts
// (by name).
func (p *Proxy) Stats() []FrontendStats {
	p.mu.Lock()
	ports := make([]int, 0, len(p.tcp))
	for port := range p.tcp {
		ports = append(ports, port)
	}
	slices.Sort(ports)
	var pools []*pool
	for _, port := range ports {
		pools = append(pools, p.tcp[port].pool)
	}
	p.mu.Unlock()
	vh := *p.vhosts.Load()
	hosts := make([]string, 0, len(vh))
	for h := range vh {
		hosts = append(hosts, h)
	}
	slices.SortFunc(hosts, strings.Compare)
	for _, h := range hosts {
		pools = append(pools, vh[h].pool)
	}
	out := make([]FrontendStats, 0, len(pools))
	for _, pl := range pools {
		out = append(out, pl.read())
	}
	return out
}
