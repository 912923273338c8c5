package ha

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/election"
	"github.com/agoracluster/agora/store"
	"github.com/agoracluster/agora/store/zkstore"
	"github.com/agoracluster/agora/zookeeper"
)

// ErrNoLeader is returned while no instance leads.
var ErrNoLeader = errors.New("ha: no leader")

// Config configures an instance's place in the leader latch.
type Config struct {
	// ZK is the ensemble and the framework's znode path (--zk); the latch
	// lives in <path>/leader, the state in <path>/state.
	ZK zookeeper.URL
	// SessionTimeout is the ZooKeeper session timeout (--zk_session_timeout):
	// how long a crashed leader keeps the lead.
	SessionTimeout time.Duration
	// ConnectTimeout bounds the wait for the first session at start.
	ConnectTimeout time.Duration
	// Address is this instance's API "host:port", held by its latch znode
	// and used by the followers to proxy to it.
	Address string
	// RetryDelay is the pause after a term that failed on its own (say,
	// its state did not load) before the instance contends again.
	RetryDelay time.Duration
}

// DefaultConfig returns Marathon's defaults (a 10s session timeout).
func DefaultConfig() Config {
	return Config{SessionTimeout: 10 * time.Second, ConnectTimeout: 10 * time.Second, RetryDelay: time.Second}
}

// Validate returns every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if len(c.ZK.Hosts) == 0 || c.ZK.Path == "" {
		errs = append(errs, errors.New("zk: want zk://host:port[,host:port…]/path"))
	}
	if err := (zookeeper.Config{SessionTimeout: c.SessionTimeout, ConnectTimeout: c.ConnectTimeout}).Validate(); err != nil {
		errs = append(errs, err)
	}
	if _, err := election.DecodeAddress([]byte(c.Address)); err != nil {
		errs = append(errs, fmt.Errorf("address: %w", err))
	}
	if c.RetryDelay <= 0 {
		errs = append(errs, errors.New("retry_delay: must be positive"))
	}
	return errors.Join(errs...)
}

// Node is one instance of a framework in the leader latch.
type Node struct {
	cfg  Config
	log  *zap.Logger
	sess *zookeeper.Session
	cont *election.Contender
	det  *election.Detector[string]
	base *zkstore.Store
}

// Open connects to ZooKeeper, joins the latch and follows its leader.
// Close the node when done.
func Open(ctx context.Context, cfg Config, log *zap.Logger) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("ha: invalid config: %w", err)
	}
	sess, err := zookeeper.Connect(ctx, cfg.ZK, zookeeper.Config{SessionTimeout: cfg.SessionTimeout, ConnectTimeout: cfg.ConnectTimeout}, log)
	if err != nil {
		return nil, fmt.Errorf("ha: %w", err)
	}
	n := &Node{cfg: cfg, log: log.Named("ha"), sess: sess}
	if n.base, err = zkstore.New(ctx, sess, cfg.ZK.Path+"/state"); err != nil {
		sess.Close()
		return nil, fmt.Errorf("ha: %w", err)
	}
	if n.det, err = election.DetectLatch(sess, cfg.ZK.Path, log); err != nil {
		sess.Close()
		return nil, fmt.Errorf("ha: %w", err)
	}
	if n.cont, err = election.ContendLatch(sess, cfg.ZK.Path, cfg.Address, log); err != nil {
		n.det.Close()
		sess.Close()
		return nil, fmt.Errorf("ha: %w", err)
	}
	return n, nil
}

// Close withdraws from the latch (deleting the znode, so that a standby
// leads at once), stops following and closes the session.
func (n *Node) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.cont.Withdraw(ctx); err != nil {
		n.log.Warn("withdraw from the leader latch", zap.Error(err))
	}
	n.det.Close()
	n.sess.Close()
}

// Address is this instance's "host:port".
func (n *Node) Address() string { return n.cfg.Address }

// URL is the ZooKeeper URL the node works under.
func (n *Node) URL() zookeeper.URL { return n.cfg.ZK }

// SessionTimeout is the ZooKeeper session timeout.
func (n *Node) SessionTimeout() time.Duration { return n.cfg.SessionTimeout }

// ConnectTimeout is how long the node waited for ZooKeeper at start.
func (n *Node) ConnectTimeout() time.Duration { return n.cfg.ConnectTimeout }

// Leading reports whether this instance leads.
func (n *Node) Leading() bool {
	st, _ := n.cont.Status()
	return st.Leading
}

// Leader returns the leading instance's "host:port", or ErrNoLeader (or
// the error met while looking).
func (n *Node) Leader() (string, error) {
	if n.Leading() {
		return n.cfg.Address, nil
	}
	obs, _ := n.det.Observe()
	if obs.Err != nil {
		if errors.Is(obs.Err, election.ErrNoLeader) {
			return "", ErrNoLeader
		}
		return "", fmt.Errorf("%w: %w", ErrNoLeader, obs.Err)
	}
	return obs.Leader, nil
}

// Abdicate gives up the lead: the running term is cancelled and the
// instance contends again behind the others.
func (n *Node) Abdicate() { n.cont.Abdicate() }

// Store returns the state store, not fenced: for reads on a follower.
func (n *Node) Store() store.Store { return n.base }

// Term runs the framework while the instance leads, with its fenced state
// store; it returns when ctx ends (nil) or on a failure.
type Term func(ctx context.Context, st store.Store) error

// Run calls term each time the instance is elected, until ctx ends; it
// returns nil then. A term's context is cancelled as soon as the instance
// stops leading or one of its writes is fenced.
func (n *Node) Run(ctx context.Context, term Term) error {
	for {
		st, err := n.cont.WaitLeading(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("ha: wait for the lead: %w", err)
		}
		n.log.Info("leading: starting the framework", zap.String("node", st.Node), zap.Uint64("term", st.Term))
		err = n.runTerm(ctx, st, term)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			n.log.Error("term ended", zap.Uint64("term", st.Term), zap.Error(err))
		} else {
			n.log.Warn("term ended: following", zap.Uint64("term", st.Term))
		}
		if now, _ := n.cont.Status(); now.Leading && now.Term == st.Term {
			// The term failed on its own: let another instance try.
			n.cont.Abdicate()
			t := time.NewTimer(n.cfg.RetryDelay)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil
			}
		}
	}
}

// runTerm runs one term, cancelled when the lead of st is lost.
func (n *Node) runTerm(ctx context.Context, st election.Status, term Term) error {
	tctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() {
		for {
			now, changed := n.cont.Status()
			if !now.Leading || now.Term != st.Term {
				n.log.Warn("lost the lead: stopping the framework", zap.Uint64("term", st.Term))
				cancel()
				return
			}
			select {
			case <-changed:
			case <-tctx.Done():
				return
			}
		}
	})
	fenced := n.base.WithFence(st.Node, 0)
	if err := fenced.Sync(tctx); err != nil {
		return err
	}
	return term(tctx, &fencedStore{Store: fenced, lost: func() {
		n.log.Warn("a write was fenced: stopping the framework", zap.Uint64("term", st.Term))
		cancel()
	}})
}

// fencedStore cancels the term when a write is fenced.
type fencedStore struct {
	*zkstore.Store
	lost func()
}

func (s *fencedStore) check(err error) error {
	if errors.Is(err, store.ErrFenced) {
		s.lost()
	}
	return err
}

func (s *fencedStore) Put(ctx context.Context, key string, value []byte, expected store.Version) (store.Version, error) {
	v, err := s.Store.Put(ctx, key, value, expected)
	return v, s.check(err)
}

func (s *fencedStore) Delete(ctx context.Context, key string, expected store.Version) error {
	return s.check(s.Store.Delete(ctx, key, expected))
}

// ZooKeeperURL is the --zk URL with its password redacted.
func (n *Node) ZooKeeperURL() string { return n.cfg.ZK.Redacted() }
