package ha

import (
	"context"
	"net"
	"net/http"
	"time"
)

func netDialer() net.Dialer { return net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second} }

func contextWithLeader(r *http.Request, leader string) context.Context {
	return context.WithValue(r.Context(), leaderKey{}, leader)
}
