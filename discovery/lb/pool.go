package lb

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// ErrNoBackend is returned when a frontend has no backend that takes a connection.
var ErrNoBackend = errors.New("lb: no backend available")

// pool is the backend set of one frontend. The set is swapped whole, so a pick never
// takes a lock and a change never touches connections already made.
type pool struct {
	name     string
	balance  Balance
	appID    atomic.Pointer[string]
	backends atomic.Pointer[[]*backend]
	next     atomic.Uint64
	counters *Counters

	mu      sync.Mutex
	changed chan struct{} // closed and replaced when the backend set is replaced
}

// changeWait bounds how long a connection or request that every backend failed waits for
// the backend set to change (a rolling restart: the old tasks die before the feed has
// brought the new ones in) before it fails.
const changeWait = 3 * time.Second

// awaitChange waits until the backend set is no longer tried (the one a caller went
// through) or changeWait passes, and reports whether it changed.
func (p *pool) awaitChange(ctx context.Context, tried *[]*backend) bool {
	p.mu.Lock()
	ch := p.changed
	p.mu.Unlock()
	if p.backends.Load() != tried {
		return true
	}
	t := time.NewTimer(changeWait)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// attempt is the backends to try, in order, and the set they came from.
func (p *pool) attempt() ([]*backend, *[]*backend) {
	set := p.backends.Load()
	return p.orderInto(nil, *set), set
}

type backend struct {
	Backend
	counters *Counters
}

func newPool(name string, balance Balance, st *stats) *pool {
	p := &pool{name: name, balance: balance, counters: st.of(name, ""), changed: make(chan struct{})}
	p.backends.Store(&[]*backend{})
	empty := ""
	p.appID.Store(&empty)
	return p
}

// set replaces the backend set.
func (p *pool) set(appID string, bs []Backend, st *stats) {
	next := make([]*backend, 0, len(bs))
	keep := map[string]bool{}
	for _, b := range bs {
		next = append(next, &backend{Backend: b, counters: st.of(p.name, b.Addr)})
		keep[b.Addr] = true
	}
	p.appID.Store(&appID)
	p.backends.Store(&next)
	p.mu.Lock()
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
	st.forget(p.name, keep)
}

// orderInto appends to dst the order in which a new connection tries the backends bs: round
// robin starts one further each time; least connections tries the least busy first (ties
// in round robin order).
func (p *pool) orderInto(dst, bs []*backend) []*backend {
	n := len(bs)
	if n == 0 {
		return dst
	}
	start := int(p.next.Add(1)-1) % n
	out := append(dst, bs[start:]...)
	out = append(out, bs[:start]...)
	if p.balance == LeastConn {
		slices.SortStableFunc(out, func(a, b *backend) int {
			return int(a.counters.active.Load() - b.counters.active.Load())
		})
	}
	return out
}

// dialer opens a connection to a backend address.
type dialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// dial connects to the first backend, in order, that takes the connection; a backend that
// refuses counts an error and the next is tried.
func (p *pool) dial(ctx context.Context, d dialer) (net.Conn, *backend, error) {
	var errs []error
	for round := 0; round < 2; round++ {
		order, set := p.attempt()
		for _, b := range order {
			c, err := d.DialContext(ctx, "tcp", b.Addr)
			if err == nil {
				return c, b, nil
			}
			b.counters.errors.Add(1)
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
		}
		if ctx.Err() != nil || round == 1 || !p.awaitChange(ctx, set) {
			break
		}
	}
	if len(errs) == 0 {
		return nil, nil, fmt.Errorf("%w: %s has no healthy task", ErrNoBackend, p.name)
	}
	return nil, nil, fmt.Errorf("%w: %s: %w", ErrNoBackend, p.name, errors.Join(errs...))
}

// read is the pool's reading for /_lb/stats.
func (p *pool) read() FrontendStats {
	fs := FrontendStats{Name: p.name, AppID: *p.appID.Load(), CounterValues: p.counters.read(), Backends: []BackendStats{}}
	for _, b := range *p.backends.Load() {
		fs.Backends = append(fs.Backends, BackendStats{TaskID: b.TaskID, Addr: b.Addr, CounterValues: b.counters.read()})
	}
	return fs
}
