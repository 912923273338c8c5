package simulate

import (
	"context"
	"net"
	"sync/atomic"
	"time"
)

// loopbackDialer dials with the source address of each connection to a loopback master
// taken in turn from 127.1.0.1 on (n of them), so that each address brings its own range
// of ephemeral ports. Other destinations, and n ≤ 1, get the kernel's source address.
type loopbackDialer struct {
	n    int
	next atomic.Uint64
	base net.Dialer
}

func newLoopbackDialer(n int) *loopbackDialer {
	return &loopbackDialer{n: n, base: net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}}
}

// sourceAddr is the i-th source address (i < 65536): 127.1.<hi>.<lo>, skipping the .0 and
// .255 host parts.
func sourceAddr(i int) net.IP {
	i %= 254 * 254
	return net.IPv4(127, 1, byte(i/254), byte(i%254+1))
}

// DialContext implements the http.Transport hook.
func (d *loopbackDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if d.n <= 1 {
		return d.base.DialContext(ctx, network, addr)
	}
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() || ip.To4() == nil {
		return d.base.DialContext(ctx, network, addr)
	}
	dialer := d.base
	i := int(d.next.Add(1)-1) % d.n
	dialer.LocalAddr = &net.TCPAddr{IP: sourceAddr(i)}
	return dialer.DialContext(ctx, network, addr)
}
