package ha

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// StartWait is how long a request to a newly elected instance waits for its term to
// start (the state to load) before it is answered as by a follower.
const StartWait = 10 * time.Second

// Handlers switches an instance's API between the leader's handler, set
// for the length of each term, and the follower's.
type Handlers struct {
	// Self is this instance's "http://host:port", sent as LeaderHeader by
	// the leader.
	Self string
	// Follower serves while no term runs here (nil: 503).
	Follower http.Handler
	// Leading, when set, reports that this instance was elected: while its term starts
	// (loads the state), requests other than the follower's own wait for it, at most
	// StartWait, rather than fail.
	Leading   func() bool
	StartWait time.Duration

	mu      sync.Mutex
	leader  *http.Handler
	changed chan struct{} // closed and replaced by Lead and its stop
}

// Lead makes h serve the API until the returned function is called.
func (hs *Handlers) Lead(h http.Handler) (stop func()) {
	hs.set(&h)
	return func() {
		hs.mu.Lock()
		mine := hs.leader == &h
		hs.mu.Unlock()
		if mine {
			hs.set(nil)
		}
	}
}

func (hs *Handlers) set(h *http.Handler) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	hs.leader = h
	if hs.changed != nil {
		close(hs.changed)
	}
	hs.changed = make(chan struct{})
}

func (hs *Handlers) current() (*http.Handler, <-chan struct{}) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.changed == nil {
		hs.changed = make(chan struct{})
	}
	return hs.leader, hs.changed
}

func (hs *Handlers) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	h, changed := hs.current()
	if h == nil && hs.Leading != nil && hs.Leading() {
		// Elected, the term still starting: wait for it.
		t := time.NewTimer(hs.StartWait)
		select {
		case <-changed:
		case <-t.C:
		case <-req.Context().Done():
		}
		t.Stop()
		h, _ = hs.current()
	}
	if h != nil {
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
