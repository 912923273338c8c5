package master

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/election"
	"github.com/agoracluster/agora/master/registry"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/store/zkstore"
	"github.com/agoracluster/agora/zookeeper"
)

// HA is where masters in ZooKeeper elect their leader and keep their registry.
type HA struct {
	// Session is the ZooKeeper session the master contends with; the caller
	// closes it after Run returns.
	Session *zookeeper.Session
	// Path is the election's znode ("/agora"): the contenders' json.info_
	// znodes live under it (Mesos's layout) and the registry under
	// Path/registry.
	Path string
}

// Validate reports every problem of h at once.
func (h HA) Validate() error {
	var errs []error
	if h.Session == nil {
		errs = append(errs, errors.New("master: HA needs a ZooKeeper session"))
	}
	errs = append(errs, election.DefaultConfig(h.Path).Validate())
	return errors.Join(errs...)
}

// RegistryPath is the znode under which the masters of election path keep
// their registry.
func RegistryPath(path string) string { return path + "/registry" }

// NewHA returns a master that contends for the lead in ZooKeeper: while it is
// not elected it is a standby (API calls get 307 to the leader, it sends no
// offer and writes nothing); each time it is elected it recovers the registry
// from ZooKeeper and leads with writes fenced on its election znode; when it
// loses the lead it stops leading at once and contends again. Run's
// cancellation withdraws its znode so a standby takes over at once.
func NewHA(cfg Config, ha HA, log *zap.Logger) (*Master, error) {
	if err := errors.Join(cfg.Validate(), ha.Validate()); err != nil {
		return nil, err
	}
	m, err := newMaster(cfg, log)
	if err != nil {
		return nil, err
	}
	m.ha = &ha
	return m, nil
}

// reContendDelay is the pause before a master that failed to lead (its
// registry could not be read) contends again.
const reContendDelay = time.Second

// runHA contends until ctx is done, leading for each term it wins.
func (m *Master) runHA(ctx context.Context, info *mesos.MasterInfo) error {
	det, err := election.DetectMaster(m.ha.Session, m.ha.Path, m.log)
	if err != nil {
		return fmt.Errorf("master: detect leader: %w", err)
	}
	defer det.Close()
	followCtx, stopFollowing := context.WithCancel(ctx)
	followDone := make(chan struct{})
	go func() {
		defer close(followDone)
		m.followLeader(followCtx, det)
	}()
	defer func() {
		stopFollowing()
		<-followDone
	}()

	c, err := election.ContendMaster(m.ha.Session, m.ha.Path, info, m.log)
	if err != nil {
		return fmt.Errorf("master: contend: %w", err)
	}
	defer func() {
		wctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.Withdraw(wctx); err != nil {
			m.log.Warn("withdraw from the election", zap.Error(err))
		}
	}()

	var last uint64 // the last term led
	for {
		st, err := waitTerm(ctx, c, last)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("master: contend: %w", err)
		}
		last = st.Term
		err = m.leadTerm(ctx, c, st)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			// Leading failed while still elected (the registry could not be
			// read): let another master try, and try again later.
			m.log.Error("cannot lead; abdicating", zap.Error(err))
			c.Abdicate()
			last = 0
			t := time.NewTimer(reContendDelay)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil
			}
		}
	}
}

// waitTerm waits until c leads in a term after last.
func waitTerm(ctx context.Context, c *election.Contender, last uint64) (election.Status, error) {
	for {
		st, changed := c.Status()
		if st.Leading && st.Term > last {
			return st, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return st, ctx.Err()
		}
	}
}

// leadTerm leads while c leads in st's term: it opens the registry in
// ZooKeeper fenced on the election znode, syncs, recovers and leads; it returns
// when the term is over (the lead lost, a write fenced, or ctx done).
func (m *Master) leadTerm(ctx context.Context, c *election.Contender, st election.Status) error {
	termCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		defer cancel()
		for {
			now, changed := c.Status()
			if !now.Leading || now.Term != st.Term {
				m.log.Warn("lost the lead; standing by", zap.Uint64("term", st.Term))
				return
			}
			select {
			case <-changed:
			case <-termCtx.Done():
				return
			}
		}
	}()
	defer func() {
		cancel()
		<-watchDone
	}()
	m.log.Info("elected; recovering the registry", zap.String("node", st.Node), zap.Uint64("term", st.Term))
	zs, err := zkstore.New(termCtx, m.ha.Session, RegistryPath(m.ha.Path))
	if err != nil {
		return err
	}
	fenced := zs.WithFence(st.Node, 0)
	if err := fenced.Sync(termCtx); err != nil {
		return err
	}
	err = m.lead(termCtx, registry.New(fenced, registry.DefaultTimeout), cancel)
	if termCtx.Err() != nil {
		return nil // the term ended: not a failure to lead
	}
	return err
}

// followLeader keeps m.leader at the detector's leader until ctx is done.
func (m *Master) followLeader(ctx context.Context, det *election.MasterDetector) {
	for {
		obs, changed := det.Observe()
		m.mu.Lock()
		if obs.Err == nil {
			m.leader = obs.Leader
		} else {
			m.leader = nil
		}
		m.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return
		}
	}
}

// standbyLeader returns the elected master's address, or why there is none to
// send a client to.
func (m *Master) standbyLeader() (*mesos.MasterInfo, string, error) {
	m.mu.Lock()
	leader, self := m.leader, m.info
	m.mu.Unlock()
	if m.ha == nil {
		return nil, "", errors.New("Master is recovering its registry")
	}
	if leader == nil {
		return nil, "", errors.New("No leader elected")
	}
	if leader.GetId() == self.GetId() {
		// Elected, but the term has not started (or just ended).
		return nil, "", errors.New("Master is becoming the leader; try again")
	}
	addr, err := election.MasterAddress(leader)
	if err != nil {
		return nil, "", err
	}
	return leader, addr, nil
}

// redirectToLeader answers 307 to path on the leader, as a Mesos standby does,
// or 503 while there is no leader to send the client to.
func (m *Master) redirectToLeader(w http.ResponseWriter, r *http.Request, path string) {
	_, addr, err := m.standbyLeader()
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	loc := "//" + addr + path
	if r.URL.RawQuery != "" {
		loc += "?" + r.URL.RawQuery
	}
	w.Header().Set("Location", loc)
	w.WriteHeader(http.StatusTemporaryRedirect)
}

// serveStandby answers what a master that does not lead can: API calls get 307
// to the leader, /state says who leads, anything else 404.
func (m *Master) serveStandby(w http.ResponseWriter, r *http.Request) {
	switch p := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/master"), ".json"); {
	case r.URL.Path == "/api/v1/agent", p == "/api/v1/scheduler", p == "/api/v1", p == "/metrics", leaderOnlyLegacy[p],
		strings.HasPrefix(p, "/quota/"):
		m.redirectToLeader(w, r, r.URL.Path)
	case p == "/state":
		m.standbyState(w, r)
	default:
		http.NotFound(w, r)
	}
}

// leaderOnlyLegacy are the legacy JSON endpoints only the leader answers; a
// standby redirects them, as Mesos does.
var leaderOnlyLegacy = map[string]bool{
	"/state-summary": true, "/tasks": true, "/frameworks": true, "/slaves": true, "/roles": true,
	"/metrics/snapshot": true, "/weights": true, "/quota": true, "/flags": true, "/version": true, "/teardown": true,
	"/maintenance/schedule": true, "/maintenance/status": true, "/machine/down": true, "/machine/up": true,
}

// standbyStateJSON is a standby's /state: Mesos's fields that a standby fills.
type standbyStateJSON struct {
	Version                string            `json:"version"`
	ID                     string            `json:"id"`
	PID                    string            `json:"pid"`
	Hostname               string            `json:"hostname"`
	Cluster                string            `json:"cluster,omitempty"`
	Elected                bool              `json:"elected"`
	Leader                 string            `json:"leader,omitempty"`
	LeaderInfo             json.RawMessage   `json:"leader_info,omitempty"`
	ActivatedSlaves        int               `json:"activated_slaves"`
	DeactivatedSlaves      int               `json:"deactivated_slaves"`
	UnreachableSlaves      int               `json:"unreachable_slaves"`
	Slaves                 []json.RawMessage `json:"slaves"`
	Frameworks             []json.RawMessage `json:"frameworks"`
	CompletedFrameworks    []json.RawMessage `json:"completed_frameworks"`
	UnregisteredFrameworks []string          `json:"unregistered_frameworks"`
	OrphanTasks            []json.RawMessage `json:"orphan_tasks"`
}

func (m *Master) standbyState(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "Expecting 'GET'", http.StatusMethodNotAllowed)
		return
	}
	m.mu.Lock()
	self, leader := m.info, m.leader
	m.mu.Unlock()
	doc := standbyStateJSON{
		Version: m.cfg.Version, ID: self.GetId(), PID: self.GetPid(), Hostname: self.GetHostname(),
		Cluster: m.cfg.Cluster, Slaves: []json.RawMessage{}, Frameworks: []json.RawMessage{},
		CompletedFrameworks: []json.RawMessage{}, UnregisteredFrameworks: []string{}, OrphanTasks: []json.RawMessage{},
	}
	if leader != nil {
		b, err := election.EncodeMasterInfo(leader)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		doc.Leader, doc.LeaderInfo = leader.GetPid(), b
	}
	b, err := json.Marshal(doc)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}
