package ha

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// Handlers switches an instance's API between the leader's handler, set
// for the length of each term, and the follower's.
type Handlers struct {
	// Self is this instance's "http://host:port", sent as LeaderHeader by
	// the leader.
	Self string
	// Follower serves while no term runs here (nil: 503).
	Follower http.Handler

	leader atomic.Pointer[http.Handler]
}

// Lead makes h serve the API until the returned function is called.
func (hs *Handlers) Lead(h http.Handler) (stop func()) {
	hs.leader.Store(&h)
	return func() { hs.leader.CompareAndSwap(&h, nil) }
}

func (hs *Handlers) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if h := hs.leader.Load(); h != nil {
		w.Header().Set(LeaderHeader, hs.Self)
		(*h).ServeHTTP(w, req)
		return
	}
	if hs.Follower != nil {
		hs.Follower.ServeHTTP(w, req)
		return
	}
	writeMessage(w, http.StatusServiceUnavailable, "not started yet")
}

// Serve serves h on ln while run runs and until ctx ends (then it shuts the
// server down, giving requests in flight 5s); it returns run's error, or
// nil once ctx is done.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, run func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		cancel()
		errc <- err
	}()
	err := run(ctx)
	cancel()
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	_ = srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && err == nil {
		err = fmt.Errorf("serve: %w", serr)
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}
