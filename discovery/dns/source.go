package dns

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/election"
	"github.com/agoracluster/agora/zookeeper"
)

// Source yields snapshots of the cluster to update, one at a time, until ctx ends. The
// Poller reads the master's /state; a Source following the master's operator SUBSCRIBE
// stream (once the master has one) replaces it without touching Records or the Server.
type Source interface {
	Run(ctx context.Context, update func(*State)) error
}

// maxStateSize bounds one /state document.
const maxStateSize = 256 << 20

// Poller is the Source that reads the leading master's /state every Config.Refresh, and at
// once when ZooKeeper names a new leader (zk:// masters). With several host:port masters it
// asks them in turn; a standby redirects to the leader.
type Poller struct {
	cfg    Config
	log    *zap.Logger
	client *http.Client
	// LookupHost resolves an agent's hostname when it is not an IP. Default net.DefaultResolver.
	LookupHost func(ctx context.Context, host string) ([]string, error)
	// resolved caches LookupHost's answers for hostTTL; only Run's goroutine uses it.
	resolved map[string]resolvedHost
}

// hostTTL is how long an agent hostname's address is reused before it is looked up again.
const hostTTL = time.Minute

type resolvedHost struct {
	ip      string
	expires time.Time
}

var _ Source = (*Poller)(nil)

// NewPoller returns a Poller for cfg.Masters.
func NewPoller(cfg Config, log *zap.Logger) *Poller {
	return &Poller{cfg: cfg, log: log.Named("dns_poller"), client: &http.Client{Timeout: cfg.StateTimeout, Transport: cfg.transport()},
		LookupHost: net.DefaultResolver.LookupHost}
}

// masterFinder returns the masters to ask, leader first when ZooKeeper names one, and a
// channel closed when the leader changes (nil without ZooKeeper).
type masterFinder func() ([]string, <-chan struct{}, error)

// detect returns how to find the masters of cfg.Masters, and what to close when done.
func (p *Poller) detect(ctx context.Context) (masterFinder, func(), error) {
	if len(p.cfg.Masters) != 1 || !zookeeper.IsURL(p.cfg.Masters[0]) {
		return func() ([]string, <-chan struct{}, error) { return p.cfg.Masters, nil, nil }, func() {}, nil
	}
	u, err := zookeeper.ParseURL(p.cfg.Masters[0])
	if err != nil {
		return nil, nil, fmt.Errorf("dns: masters: %w", err)
	}
	sess, err := zookeeper.Connect(ctx, u, zookeeper.DefaultConfig(), p.log)
	if err != nil {
		return nil, nil, fmt.Errorf("dns: detect the leading master: %w", err)
	}
	d, err := election.DetectMaster(sess, u.Path, p.log)
	if err != nil {
		sess.Close()
		return nil, nil, fmt.Errorf("dns: detect the leading master: %w", err)
	}
	find := func() ([]string, <-chan struct{}, error) {
		obs, changed := d.Observe()
		if obs.Err != nil || obs.Leader == nil {
			return nil, changed, fmt.Errorf("no leading master in %s (%v)", u.Redacted(), obs.Err)
		}
		addr, err := election.MasterAddress(obs.Leader)
		if err != nil {
			return nil, changed, err
		}
		return []string{addr}, changed, nil
	}
	return find, func() { d.Close(); sess.Close() }, nil
}

// Run polls until ctx ends; a failed read is logged and retried at the next tick.
func (p *Poller) Run(ctx context.Context, update func(*State)) error {
	masters, done, err := p.detect(ctx)
	if err != nil {
		return err
	}
	defer done()
	t := time.NewTicker(p.cfg.Refresh)
	defer t.Stop()
	var lastErr string
	for {
		ms, leaderChanged, err := masters()
		var st *State
		if err == nil {
			st, _, err = p.fetch(ctx, ms)
		}
		if err != nil {
			if err.Error() != lastErr && ctx.Err() == nil {
				p.log.Warn("read the master's state", zap.Error(err))
			}
			lastErr = err.Error()
		} else {
			lastErr = ""
			update(st)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-leaderChanged:
		}
	}
}

// fetch reads /state from the first master that answers and resolves its agents' IPs; it
// returns the master that answered.
func (p *Poller) fetch(ctx context.Context, masters []string) (*State, string, error) {
	var errs []error
	for _, m := range masters {
		st, err := p.fetchFrom(ctx, m)
		if err == nil {
			p.resolveAgents(ctx, st)
			return st, m, nil
		}
		errs = append(errs, err)
	}
	return nil, "", errors.Join(errs...)
}

func (p *Poller) fetchFrom(ctx context.Context, master string) (*State, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.cfg.masterScheme()+master+"/state", nil)
	if err != nil {
		return nil, fmt.Errorf("master %q: %w", master, err)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("master %s: %w", master, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("master %s: GET /state: %s", master, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxStateSize))
	if err != nil {
		return nil, fmt.Errorf("master %s: read /state: %w", master, err)
	}
	st, err := DecodeState(data)
	if err != nil {
		return nil, fmt.Errorf("master %s: %w", master, err)
	}
	return st, nil
}

// resolveAgents fills in each agent's IP: its hostname when that is an IP, else the
// hostname's first address, looked up at most once a minute (an agent whose name does not
// resolve is left without one, and looked up again at the next read).
func (p *Poller) resolveAgents(ctx context.Context, st *State) {
	for i := range st.Slaves {
		a := &st.Slaves[i]
		if net.ParseIP(a.Hostname) != nil {
			a.IP = a.Hostname
			continue
		}
		now := time.Now()
		if r, ok := p.resolved[a.Hostname]; ok && now.Before(r.expires) {
			a.IP = r.ip
			continue
		}
		addrs, err := p.LookupHost(ctx, a.Hostname)
		if err != nil || len(addrs) == 0 {
			p.log.Debug("resolve agent", zap.String("agent_id", a.ID), zap.String("hostname", a.Hostname), zap.Error(err))
			continue
		}
		a.IP = addrs[0]
		if p.resolved == nil {
			p.resolved = map[string]resolvedHost{}
		}
		p.resolved[a.Hostname] = resolvedHost{ip: a.IP, expires: now.Add(hostTTL)}
	}
}
