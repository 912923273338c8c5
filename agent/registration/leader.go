package registration

import (
	"context"
	"fmt"
	"net/url"

	"github.com/agoracluster/agora/election"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// Leader is the master elected in ZooKeeper (--master zk://…/agora), followed
// through an election.MasterDetector: the connection subscribes to the leader
// and, as a LeaderWatcher, drops its subscription when another master is
// elected, so the agent re-registers with the new leader at once.
type Leader struct{ det *election.MasterDetector }

var (
	_ MasterDetector = Leader{}
	_ LeaderWatcher  = Leader{}
)

// LeaderWatcher is a MasterDetector that can tell when the master it named is no
// longer the one to use.
type LeaderWatcher interface {
	// WaitChange blocks until the master to subscribe to differs from current
	// (or ctx is done).
	WaitChange(ctx context.Context, current *url.URL) error
}

// NewLeader follows det's leader; the caller closes det.
func NewLeader(det *election.MasterDetector) Leader { return Leader{det: det} }

// Detect implements MasterDetector: the elected master's agent API URL, waiting
// until one is elected (a leader whose znode does not decode is waited out too).
func (l Leader) Detect(ctx context.Context, _ *url.URL) (*url.URL, error) {
	obs, err := l.det.Wait(ctx, func(o election.Observation[*mesos.MasterInfo]) bool { return o.Err == nil })
	if err != nil {
		return nil, fmt.Errorf("agent: detect the leading master: %w", err)
	}
	return leaderURL(obs)
}

// WaitChange implements LeaderWatcher: it returns once ZooKeeper names a leader
// other than current's (not while none is elected: the current master's stream
// ends by itself if it stepped down).
func (l Leader) WaitChange(ctx context.Context, current *url.URL) error {
	_, err := l.det.Wait(ctx, func(o election.Observation[*mesos.MasterInfo]) bool {
		if o.Err != nil {
			return false
		}
		u, err := leaderURL(o)
		return err == nil && u.Host != current.Host
	})
	return err
}

func leaderURL(obs election.Observation[*mesos.MasterInfo]) (*url.URL, error) {
	addr, err := election.MasterAddress(obs.Leader)
	if err != nil {
		return nil, fmt.Errorf("agent: leading master %s: %w", obs.Node, err)
	}
	return MasterURL(addr)
}
