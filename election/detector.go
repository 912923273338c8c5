package election

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
	"go.uber.org/zap"

	"github.com/agoracluster/agora/zookeeper"
)

// ErrNoLeader is an Observation's error while no contender is in line.
var ErrNoLeader = errors.New("election: no leader")

// ErrBadLeaderData is wrapped by an Observation's error when the leader's
// znode holds data that does not decode (corrupt or foreign).
var ErrBadLeaderData = errors.New("election: leader znode holds data that does not decode")

// Observation is what a Detector last saw: the leader's znode and decoded
// payload, or an error (ErrNoLeader, ErrBadLeaderData, or a ZooKeeper
// error while it cannot look).
type Observation[T any] struct {
	// Node is the full path of the leader's znode ("" if none).
	Node string
	// Data is the leader's payload as stored.
	Data []byte
	// Leader is Data decoded; valid when Err is nil.
	Leader T
	Err    error
}

// Detector follows the leader of an election.
type Detector[T any] struct {
	sess   *zookeeper.Session
	cfg    Config
	decode func([]byte) (T, error)
	log    *zap.Logger

	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	obs     Observation[T]
	changed chan struct{}
}

// NewDetector starts following the election of cfg, decoding the
// leader's payload with decode; Close stops it. Until the first look the
// observation's error is ErrNoLeader.
func NewDetector[T any](sess *zookeeper.Session, cfg Config, decode func([]byte) (T, error), log *zap.Logger) (*Detector[T], error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Detector[T]{
		sess: sess, cfg: cfg, decode: decode,
		log:    log.Named("detector").With(zap.String("path", cfg.Path)),
		cancel: cancel, done: make(chan struct{}),
		obs:     Observation[T]{Err: ErrNoLeader},
		changed: make(chan struct{}),
	}
	go func() {
		defer close(d.done)
		d.run(ctx)
	}()
	return d, nil
}

// Observe returns the last observation and a channel closed when it
// changes.
func (d *Detector[T]) Observe() (Observation[T], <-chan struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.obs, d.changed
}

// Wait waits until an observation satisfies ok and returns it.
func (d *Detector[T]) Wait(ctx context.Context, ok func(Observation[T]) bool) (Observation[T], error) {
	for {
		obs, changed := d.Observe()
		if ok(obs) {
			return obs, nil
		}
		select {
		case <-changed:
		case <-d.done:
			return obs, ErrStopped
		case <-ctx.Done():
			return obs, ctx.Err()
		}
	}
}

// Close stops the detector and waits for it.
func (d *Detector[T]) Close() {
	d.cancel()
	<-d.done
}

func (d *Detector[T]) set(obs Observation[T]) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if obs.Node == d.obs.Node && string(obs.Data) == string(d.obs.Data) && sameErr(obs.Err, d.obs.Err) {
		return
	}
	switch {
	case obs.Err == nil:
		d.log.Info("leader detected", zap.String("node", obs.Node))
	case errors.Is(obs.Err, ErrNoLeader):
		d.log.Info("no leader")
	default:
		d.log.Warn("cannot detect the leader", zap.Error(obs.Err))
	}
	d.obs = obs
	close(d.changed)
	d.changed = make(chan struct{})
}

func (d *Detector[T]) run(ctx context.Context) {
	for ctx.Err() == nil {
		st, sessChanged := d.sess.State()
		if st.Status == zookeeper.Closed {
			return
		}
		if st.Status != zookeeper.Connected {
			// Keep the last leader: it most likely still leads.
			select {
			case <-sessChanged:
			case <-ctx.Done():
			}
			continue
		}
		watch, err := d.look()
		if err != nil {
			d.set(Observation[T]{Err: err})
			// Wait for the path to appear, or for the session to change.
			if watch == nil {
				if err := d.pause(ctx, sessChanged); err != nil {
					return
				}
				continue
			}
		}
		select {
		case <-ctx.Done():
		case <-watch:
		case <-sessChanged:
		}
	}
}

// look reads the line of contenders and the leader's payload, publishes
// what it found and returns a watch that fires when the line changes.
func (d *Detector[T]) look() (<-chan zk.Event, error) {
	children, _, watch, err := d.sess.Conn().ChildrenW(d.cfg.Path)
	if errors.Is(err, zk.ErrNoNode) {
		// No contender yet: watch for the path to be created.
		ok, _, ew, eerr := d.sess.Conn().ExistsW(d.cfg.Path)
		if eerr != nil {
			return nil, fmt.Errorf("election: watch %s: %w", d.cfg.Path, eerr)
		}
		if ok { // created meanwhile: look again
			again := make(chan zk.Event)
			close(again)
			return again, nil
		}
		d.set(Observation[T]{Err: ErrNoLeader})
		return ew, nil
	}
	if err != nil {
		return nil, fmt.Errorf("election: list %s: %w", d.cfg.Path, err)
	}
	obs, err := leaderOf(d.sess.Conn(), d.cfg, children, d.decode)
	if err != nil {
		return nil, err
	}
	d.set(obs)
	return watch, nil
}

// leaderOf reads and decodes the payload of the lowest contender among
// children; the observation's error is ErrNoLeader when there is none.
func leaderOf[T any](conn *zk.Conn, cfg Config, children []string, decode func([]byte) (T, error)) (Observation[T], error) {
	for _, cd := range cfg.candidates(children) {
		node := cfg.node(cd.name)
		data, _, err := conn.Get(node)
		if errors.Is(err, zk.ErrNoNode) {
			continue // gone meanwhile: the next in line leads
		}
		if err != nil {
			return Observation[T]{}, fmt.Errorf("election: read %s: %w", node, err)
		}
		obs := Observation[T]{Node: node, Data: data}
		if obs.Leader, err = decode(data); err != nil {
			obs.Err = fmt.Errorf("%w: %s (%d bytes): %v", ErrBadLeaderData, node, len(data), err)
		}
		return obs, nil
	}
	return Observation[T]{Err: ErrNoLeader}, nil
}

// Lookup reads the current leader once, without watching (for a command
// line tool). The observation's error is ErrNoLeader or ErrBadLeaderData
// when there is no usable leader; the returned error is ZooKeeper's.
func Lookup[T any](ctx context.Context, sess *zookeeper.Session, cfg Config, decode func([]byte) (T, error)) (Observation[T], error) {
	if err := cfg.Validate(); err != nil {
		return Observation[T]{}, err
	}
	if err := ctx.Err(); err != nil {
		return Observation[T]{}, err
	}
	children, _, err := sess.Conn().Children(cfg.Path)
	if errors.Is(err, zk.ErrNoNode) {
		return Observation[T]{Err: ErrNoLeader}, nil
	}
	if err != nil {
		return Observation[T]{}, fmt.Errorf("election: list %s: %w", cfg.Path, err)
	}
	return leaderOf(sess.Conn(), cfg, children, decode)
}

func (d *Detector[T]) pause(ctx context.Context, sessChanged <-chan struct{}) error {
	t := time.NewTimer(retryDelay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-sessChanged:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}
