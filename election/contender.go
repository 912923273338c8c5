package election

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
	"go.uber.org/zap"

	"github.com/agoracluster/agora/zookeeper"
)

// Status is where a contender stands.
type Status struct {
	// Leading is true while the contender's znode is the lowest and its
	// session connected.
	Leading bool
	// Node is the full path of the contender's znode, "" while it has none.
	Node string
	// Term counts the elections won; it grows each time Leading turns
	// true, so a holder that sees a new Term knows it lost the lead in
	// between (and another may have led).
	Term uint64
	// Err is the last error met while contending ("" once it succeeds
	// again); the contender keeps trying.
	Err error
}

// retryDelay is the pause after a failed ZooKeeper call before the next try.
const retryDelay = 200 * time.Millisecond

// Contender contends for leadership with one znode at a time. One
// contender per session and election.
type Contender struct {
	sess *zookeeper.Session
	cfg  Config
	data []byte
	log  *zap.Logger

	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	status   Status
	changed  chan struct{}
	abdicate chan struct{} // a send asks the loop to give up its znode
}

// Contend starts contending with a znode holding data; Withdraw stops it.
func Contend(sess *zookeeper.Session, cfg Config, data []byte, log *zap.Logger) (*Contender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Contender{
		sess: sess, cfg: cfg, data: bytes.Clone(data),
		log:    log.Named("election").With(zap.String("path", cfg.Path)),
		cancel: cancel, done: make(chan struct{}),
		changed: make(chan struct{}), abdicate: make(chan struct{}, 1),
	}
	go func() {
		defer close(c.done)
		c.run(ctx)
	}()
	return c, nil
}

// Status returns the current status and a channel closed when it changes.
func (c *Contender) Status() (Status, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status, c.changed
}

// WaitLeading waits until the contender leads and returns its status.
func (c *Contender) WaitLeading(ctx context.Context) (Status, error) {
	for {
		st, changed := c.Status()
		if st.Leading {
			return st, nil
		}
		select {
		case <-changed:
		case <-c.done:
			return st, ErrStopped
		case <-ctx.Done():
			return st, ctx.Err()
		}
	}
}

func (c *Contender) update(f func(*Status)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	next := c.status
	f(&next)
	if next.Leading && !c.status.Leading {
		next.Term++
		c.log.Info("elected leader", zap.String("node", next.Node), zap.Uint64("term", next.Term))
	} else if !next.Leading && c.status.Leading {
		c.log.Warn("lost leadership", zap.String("node", c.status.Node), zap.Uint64("term", c.status.Term))
	}
	if next.Leading == c.status.Leading && next.Node == c.status.Node && next.Term == c.status.Term && sameErr(next.Err, c.status.Err) {
		return
	}
	c.status = next
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *Contender) run(ctx context.Context) {
	var (
		node      string // full path of our znode, "" while none
		sessionID int64  // the session that owns node
		uncertain bool   // a create may have succeeded without our hearing
	)
	defer c.update(func(s *Status) { s.Leading = false })
	for ctx.Err() == nil {
		st, sessChanged := c.sess.State()
		switch {
		case st.Status == zookeeper.Closed:
			c.update(func(s *Status) { s.Leading, s.Err = false, zookeeper.ErrClosed })
			return
		case st.Status != zookeeper.Connected:
			c.update(func(s *Status) { s.Leading = false })
			select {
			case <-sessChanged:
			case <-ctx.Done():
			}
			continue
		case node != "" && sessionID != st.SessionID:
			c.log.Warn("session expired; contending anew", zap.String("node", node))
			node = ""
			c.update(func(s *Status) { s.Leading, s.Node = false, "" })
		}
		if node == "" {
			var err error
			if node, err = c.create(ctx, st.SessionID, uncertain); err != nil {
				uncertain = errors.Is(err, zk.ErrConnectionClosed) || errors.Is(err, zk.ErrNoServer)
				c.fail(ctx, fmt.Errorf("election: create %s<seq>: %w", c.cfg.node(c.cfg.Prefix), err))
				continue
			}
			uncertain, sessionID = false, st.SessionID
			c.log.Info("contending", zap.String("node", node))
			c.update(func(s *Status) { s.Node = node })
		}
		children, _, watch, err := c.sess.Conn().ChildrenW(c.cfg.Path)
		if errors.Is(err, zk.ErrNoNode) {
			// The path was deleted, and our znode with it.
			c.log.Warn("election path gone; contending anew", zap.String("node", node))
			node = ""
			c.update(func(s *Status) { s.Leading, s.Node = false, "" })
			continue
		}
		if err != nil {
			c.fail(ctx, fmt.Errorf("election: list %s: %w", c.cfg.Path, err))
			continue
		}
		cands := c.cfg.candidates(children)
		mine := slices.IndexFunc(cands, func(cd candidate) bool { return c.cfg.node(cd.name) == node })
		if mine < 0 {
			c.log.Warn("own znode gone; contending anew", zap.String("node", node))
			node = ""
			c.update(func(s *Status) { s.Leading, s.Node = false, "" })
			continue
		}
		select {
		case <-sessChanged: // look again before claiming anything
			continue
		default:
		}
		c.update(func(s *Status) { s.Leading, s.Err = mine == 0, nil })
		select {
		case <-ctx.Done():
		case <-watch:
		case <-sessChanged:
			if st, _ := c.sess.State(); st.Status != zookeeper.Connected || st.SessionID != sessionID {
				c.update(func(s *Status) { s.Leading = false })
			}
		case <-c.abdicate:
			c.update(func(s *Status) { s.Leading = false })
			if err := c.sess.Conn().Delete(node, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
				c.log.Warn("abdicate: delete own znode", zap.String("node", node), zap.Error(err))
			} else {
				c.log.Info("abdicated", zap.String("node", node))
				node = ""
				c.update(func(s *Status) { s.Node = "" })
			}
		}
	}
}

// create creates the contender's znode and returns its path. After an
// uncertain create it first looks for a znode that the session made.
func (c *Contender) create(ctx context.Context, sessionID int64, uncertain bool) (string, error) {
	if uncertain {
		if node, err := c.findOwn(sessionID); err != nil || node != "" {
			return node, err
		}
	}
	if err := c.sess.EnsurePath(ctx, c.cfg.Path); err != nil {
		return "", err
	}
	return c.sess.Conn().Create(c.cfg.node(c.cfg.Prefix), c.data, zk.FlagEphemeral|zk.FlagSequence, c.sess.ACL())
}

// findOwn returns the path of a contender znode owned by sessionID with
// our data, or "".
func (c *Contender) findOwn(sessionID int64) (string, error) {
	children, _, err := c.sess.Conn().Children(c.cfg.Path)
	if errors.Is(err, zk.ErrNoNode) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	for _, cd := range c.cfg.candidates(children) {
		data, stat, err := c.sess.Conn().Get(c.cfg.node(cd.name))
		if errors.Is(err, zk.ErrNoNode) {
			continue
		}
		if err != nil {
			return "", err
		}
		if stat.EphemeralOwner == sessionID && bytes.Equal(data, c.data) {
			return c.cfg.node(cd.name), nil
		}
	}
	return "", nil
}

// fail records err, stops leading and pauses before the next try.
func (c *Contender) fail(ctx context.Context, err error) {
	c.log.Warn("contending", zap.Error(err))
	c.update(func(s *Status) { s.Leading, s.Err = false, err })
	t := time.NewTimer(retryDelay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// Abdicate gives up the lead (or the place in line): the contender deletes
// its znode and contends again at the back of the line, so another
// contender leads if there is one.
func (c *Contender) Abdicate() {
	select {
	case c.abdicate <- struct{}{}:
	default: // one is pending already
	}
}

// Withdraw stops contending and deletes the contender's znode so that the
// next contender leads at once (without waiting for the session to
// expire). It returns when the contender has stopped; the error tells
// whether the delete failed (the znode then goes with the session).
func (c *Contender) Withdraw(ctx context.Context) error {
	c.cancel()
	select {
	case <-c.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	st, _ := c.Status()
	if st.Node == "" {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	err := c.sess.Conn().Delete(st.Node, -1)
	if err != nil && !errors.Is(err, zk.ErrNoNode) {
		return fmt.Errorf("election: withdraw: delete %s: %w", st.Node, err)
	}
	c.log.Info("withdrew", zap.String("node", st.Node))
	c.update(func(s *Status) { s.Node = "" })
	return nil
}

func sameErr(a, b error) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Error() == b.Error()
}
