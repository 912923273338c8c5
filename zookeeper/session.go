package zookeeper

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
	"go.uber.org/zap"
)

// Config configures a Session.
type Config struct {
	// SessionTimeout is the session timeout that the client asks for
	// (Mesos's --zk_session_timeout): ephemeral znodes, and with them a
	// leader's candidacy, vanish this long after the ensemble last heard
	// from the client. The server may clamp it to its own bounds.
	SessionTimeout time.Duration
	// ConnectTimeout bounds how long Connect waits for the first session
	// before it reports the ensemble unreachable.
	ConnectTimeout time.Duration
}

// DefaultConfig returns Mesos's defaults: a 10s session timeout, and 10s
// to reach the ensemble at start.
func DefaultConfig() Config {
	return Config{SessionTimeout: 10 * time.Second, ConnectTimeout: 10 * time.Second}
}

// Validate returns every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	if c.SessionTimeout < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("zookeeper: session timeout %s: must be at least 100ms", c.SessionTimeout))
	}
	if c.ConnectTimeout <= 0 {
		errs = append(errs, fmt.Errorf("zookeeper: connect timeout %s: must be positive", c.ConnectTimeout))
	}
	return errors.Join(errs...)
}

// Status is where a session stands.
type Status int

const (
	// Connecting: no session yet.
	Connecting Status = iota
	// Connected: the session is live and requests go through.
	Connected
	// Disconnected: the connection dropped; the session may still be alive
	// on the ensemble (ephemeral znodes stay) until it expires. The client
	// reconnects by itself.
	Disconnected
	// Expired: the ensemble expired the session, so its ephemeral znodes
	// and watches are gone; the client goes on with a new session.
	Expired
	// Closed: Close was called.
	Closed
)

func (s Status) String() string {
	switch s {
	case Connecting:
		return "connecting"
	case Connected:
		return "connected"
	case Disconnected:
		return "disconnected"
	case Expired:
		return "expired"
	case Closed:
		return "closed"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// State is a session's state as last reported by the client library.
type State struct {
	Status Status
	// SessionID is the id of the current (or, when disconnected, last)
	// session; 0 before the first session and after expiry. A change of
	// id means the ephemeral znodes of the old session are gone.
	SessionID int64
}

// Session is a connection to a ZooKeeper ensemble. Its zk.Conn reconnects
// by itself and starts a new session after expiry; State tells callers
// which. Safe for concurrent use.
type Session struct {
	conn   *zk.Conn
	events <-chan zk.Event // closed when the client's goroutines are done
	url    URL
	acl    []zk.ACL
	log    *zap.Logger

	mu      sync.Mutex
	state   State
	changed chan struct{} // closed and replaced on every change of state
	dialErr error         // last failed dial, for Connect's error

	closeOnce sync.Once
}

// Connect dials the ensemble of u, waits for a session (at most
// cfg.ConnectTimeout, or until ctx ends) and, when u has credentials,
// authenticates with the digest scheme. Close the session when done.
func Connect(ctx context.Context, u URL, cfg Config, log *zap.Logger) (*Session, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(u.Hosts) == 0 || u.Path == "" {
		return nil, fmt.Errorf("zookeeper: connect: URL %q has no hosts or no path", u.Redacted())
	}
	log = log.Named("zookeeper").With(zap.String("zk", u.Redacted()))
	s := &Session{url: u, log: log, changed: make(chan struct{}), acl: zk.WorldACL(zk.PermAll)}
	if u.User != "" {
		// As Mesos does with credentials: everyone reads, the creator
		// (these credentials) does everything.
		s.acl = append(zk.WorldACL(zk.PermRead), zk.DigestACL(zk.PermAll, u.User, u.Password)...)
	}
	dialer := func(network, addr string, timeout time.Duration) (net.Conn, error) {
		c, err := net.DialTimeout(network, addr, timeout)
		if err != nil {
			s.mu.Lock()
			s.dialErr = err
			s.mu.Unlock()
			return nil, err
		}
		return cappedConn{Conn: c, max: cfg.SessionTimeout}, nil
	}
	conn, events, err := zk.Connect(u.Hosts, cfg.SessionTimeout,
		zk.WithLogger(NewLogger(log)), zk.WithLogInfo(false),
		zk.WithDialer(dialer), zk.WithEventCallback(s.onEvent))
	if err != nil {
		return nil, fmt.Errorf("zookeeper: connect %s: %w", u.Redacted(), err)
	}
	s.conn, s.events = conn, events
	wctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	if _, err := s.WaitConnected(wctx); err != nil {
		s.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("zookeeper: connect %s: %w", u.Redacted(), ctx.Err())
		}
		s.mu.Lock()
		dialErr := s.dialErr
		s.mu.Unlock()
		if dialErr != nil {
			err = fmt.Errorf("%w (last error: %v)", err, dialErr)
		}
		return nil, fmt.Errorf("zookeeper: connect %s: no session within %s: %w", u.Redacted(), cfg.ConnectTimeout, err)
	}
	if u.User != "" {
		if err := conn.AddAuth("digest", []byte(u.User+":"+u.Password)); err != nil {
			s.Close()
			return nil, fmt.Errorf("zookeeper: connect %s: digest auth as %q: %w", u.Redacted(), u.User, err)
		}
	}
	return s, nil
}

// onEvent runs on the client library's goroutine for every event and must
// not block.
func (s *Session) onEvent(ev zk.Event) {
	if ev.Type != zk.EventSession {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.state
	switch ev.State {
	case zk.StateHasSession:
		next = State{Status: Connected, SessionID: s.conn.SessionID()}
	case zk.StateDisconnected:
		if next.Status == Connected {
			next.Status = Disconnected
		}
	case zk.StateExpired:
		next = State{Status: Expired}
	case zk.StateAuthFailed:
		s.log.Error("authentication failed")
	default:
		return
	}
	if next == s.state || s.state.Status == Closed {
		return
	}
	s.log.Info("session "+next.Status.String(), zap.String("session_id", fmt.Sprintf("%#x", next.SessionID)), zap.String("server", ev.Server))
	s.setLocked(next)
}

func (s *Session) setLocked(next State) {
	s.state = next
	close(s.changed)
	s.changed = make(chan struct{})
}

// State returns the current state and a channel that is closed when it
// changes. Several changes may pass between two looks: compare SessionID
// to tell a reconnect from a new session.
func (s *Session) State() (State, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state, s.changed
}

// WaitConnected waits until the session is connected and returns its
// state; it fails when ctx ends or the session is closed.
func (s *Session) WaitConnected(ctx context.Context) (State, error) {
	for {
		st, changed := s.State()
		switch st.Status {
		case Connected:
			return st, nil
		case Closed:
			return st, ErrClosed
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return st, ctx.Err()
		}
	}
}

// ErrClosed is returned by calls on a closed Session.
var ErrClosed = errors.New("zookeeper: session closed")

// Conn returns the client connection, for the zk calls of the packages
// that build on Session.
func (s *Session) Conn() *zk.Conn { return s.conn }

// URL returns the URL the session was made from.
func (s *Session) URL() URL { return s.url }

// ACL returns the ACL for new znodes: open without credentials, with
// credentials world-readable and writable by their owner only.
func (s *Session) ACL() []zk.ACL { return s.acl }

// EnsurePath creates path and its missing parents as persistent, empty
// znodes with the session's ACL.
func (s *Session) EnsurePath(ctx context.Context, path string) error {
	if _, err := cleanPath(path); err != nil || !strings.HasPrefix(path, "/") {
		return fmt.Errorf("zookeeper: ensure path %q: not an absolute znode path", path)
	}
	for i := 1; i <= len(path); i++ {
		if i < len(path) && path[i] != '/' {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		_, err := s.conn.Create(path[:i], nil, 0, s.acl)
		if err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return fmt.Errorf("zookeeper: create %s: %w", path[:i], err)
		}
	}
	return nil
}

// Close ends the session (its ephemeral znodes go at once) and returns
// when the client's goroutines are done.
func (s *Session) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.setLocked(State{Status: Closed, SessionID: s.state.SessionID})
		s.mu.Unlock()
		s.conn.Close()
		for range s.events { // the library closes it when its loop ends
		}
	})
}

// cappedConn caps the deadlines that the client library sets at max. The
// library waits ten times its read timeout (about 6.7 session timeouts)
// for a server's answer to a new connection, so a server that accepts but
// does not answer (one still starting) would stall it for over a minute,
// long after the session expired; the Java client gives up after the
// session timeout, and so does this.
type cappedConn struct {
	net.Conn
	max time.Duration
}

func (c cappedConn) cap(t time.Time) time.Time {
	if limit := time.Now().Add(c.max); !t.IsZero() && t.After(limit) {
		return limit
	}
	return t
}

func (c cappedConn) SetDeadline(t time.Time) error      { return c.Conn.SetDeadline(c.cap(t)) }
func (c cappedConn) SetReadDeadline(t time.Time) error  { return c.Conn.SetReadDeadline(c.cap(t)) }
func (c cappedConn) SetWriteDeadline(t time.Time) error { return c.Conn.SetWriteDeadline(c.cap(t)) }
