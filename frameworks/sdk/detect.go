package sdk

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/election"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
	"github.com/agoracluster/agora/zookeeper"
)

// startDetector opens the ZooKeeper session of a zk:// master and starts following the
// leading master; stop closes both.
func (s *Scheduler) startDetector(ctx context.Context) (stop func(), err error) {
	sess, err := zookeeper.Connect(ctx, *s.zk, s.cfg.ZooKeeper, s.log)
	if err != nil {
		return nil, fmt.Errorf("sdk: detect the leading master: %w", err)
	}
	d, err := election.DetectMaster(sess, s.zk.Path, s.log)
	if err != nil {
		sess.Close()
		return nil, fmt.Errorf("sdk: detect the leading master: %w", err)
	}
	s.detector = d
	return func() {
		d.Close()
		sess.Close()
		s.detector = nil
	}, nil
}

// connectDetected waits until ZooKeeper names a leading master and subscribes to it
// (following redirects, should it already have stepped down).
func (s *Scheduler) connectDetected(ctx context.Context, call *scheduler.Call) (*http.Response, *url.URL, string, error) {
	obs, err := s.detector.Wait(ctx, func(o election.Observation[*mesos.MasterInfo]) bool { return o.Err == nil })
	if err != nil {
		return nil, nil, "", fmt.Errorf("sdk: no leading master detected in %s: %w (last: %v)", s.zk.Redacted(), err, obs.Err)
	}
	addr, err := election.MasterAddress(obs.Leader)
	if err != nil {
		return nil, nil, "", fmt.Errorf("sdk: leading master %s: %w", obs.Node, err)
	}
	u, err := masterURL(addr)
	if err != nil {
		return nil, nil, "", fmt.Errorf("sdk: leading master %s at %q: %w", obs.Node, addr, err)
	}
	u = s.withScheme(u, addr)
	s.log.Info("leading master detected", zap.String("master", addr), zap.String("node", obs.Node))
	resp, u, err := s.subscribeTo(ctx, u, call)
	return resp, u, obs.Node, err
}

// followLeader ends the subscription (cause ErrLeaderChanged) when ZooKeeper no longer
// names node as the leader.
func (s *Scheduler) followLeader(ctx context.Context, node string, cancel context.CancelCauseFunc) {
	for {
		obs, changed := s.detector.Observe()
		if obs.Node != node {
			s.log.Info("leading master changed", zap.String("from", node), zap.String("to", obs.Node), zap.NamedError("detector_error", obs.Err))
			cancel(ErrLeaderChanged)
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return
		}
	}
}
