package sdk

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
	"github.com/agoracluster/agora/security/credentials"
	"github.com/agoracluster/agora/zookeeper"
)

// Encoding is the media type used on the wire.
type Encoding string

const (
	// Protobuf sends calls and receives events as application/x-protobuf (the default).
	Protobuf Encoding = "application/x-protobuf"
	// JSON sends calls and receives events as application/json (Mesos field names).
	JSON Encoding = "application/json"
)

// Config configures a Scheduler. Start from DefaultConfig.
type Config struct {
	// Masters lists the masters to try in turn: "host:port" or "http(s)://host:port".
	// A 307 redirect from a non-leading master is followed to the leader. Or it holds one
	// zk://[user:password@]host:port[,host:port...]/path: the leading master is then
	// detected in ZooKeeper (Mesos's json.info_ znodes under path), and the scheduler
	// re-subscribes, with its framework id, whenever the leader changes.
	Masters []string
	// ZooKeeper configures the ZooKeeper session of a zk:// master (session timeout, and how
	// long Run waits for the ensemble at start). Default zookeeper.DefaultConfig().
	ZooKeeper zookeeper.Config
	// Framework describes the framework. Its Id is filled from FrameworkIDStore on Run and
	// from SUBSCRIBED afterwards; User and Name are required.
	Framework *mesos.FrameworkInfo
	// FrameworkIDStore persists the framework id so that a restarted scheduler resumes the
	// same framework (set FrameworkInfo.failover_timeout too). Default: in memory.
	FrameworkIDStore FrameworkIDStore
	// Encoding of calls and events. Default Protobuf.
	Encoding Encoding
	// AutoAcknowledge acknowledges every update that carries a uuid after Handler.Update
	// returns. Default true; turn it off to acknowledge yourself with Acknowledge.
	AutoAcknowledge bool
	// ImplicitReconcile sends an implicit RECONCILE (no tasks) after every subscription.
	// Default true.
	ImplicitReconcile bool
	// KnownTasks, when set, is asked after every subscription for the non-terminal tasks the
	// framework believes exist; they are reconciled explicitly, and RECONCILE is re-sent for
	// the tasks that got no UPDATE yet (any state, any reason answers a task) with back-off
	// (ReconcileInterval doubling up to ReconcileIntervalMax) until every task is answered;
	// then the implicit reconciliation follows (Mesos's reconciliation algorithm). A new
	// subscription restarts the process; the end of the stream stops it.
	KnownTasks func(ctx context.Context) []*scheduler.Call_Reconcile_Task
	// ReconcileInterval is the delay before the first repeat of the explicit reconciliation;
	// it doubles per repeat up to ReconcileIntervalMax. Defaults 5s and 5min (0 means the
	// default).
	ReconcileInterval, ReconcileIntervalMax time.Duration
	// WantOffers is the initial wish for offers (see Scheduler.SetWantOffers). Default true.
	// When false the framework subscribes with all its roles suppressed.
	WantOffers bool
	// MissedHeartbeats: the stream is considered dead, and the scheduler reconnects, when no
	// event arrived for MissedHeartbeats × the master's heartbeat interval. Default 5.
	MissedHeartbeats int
	// SubscribeTimeout bounds connecting, the subscription response and the wait for the
	// SUBSCRIBED event. Default 20s. (A master that announces no heartbeat interval is not
	// watched after SUBSCRIBED.)
	SubscribeTimeout time.Duration
	// CallTimeout bounds one call (ACCEPT, DECLINE, ...) unless the caller's ctx is shorter.
	// Default 10s.
	CallTimeout time.Duration
	// BackoffMin and BackoffMax bound the delay between subscription attempts; the delay
	// doubles per failed attempt, with jitter, and resets after a successful subscription.
	// Defaults 500ms and 30s.
	BackoffMin, BackoffMax time.Duration
	// MaxRedirects bounds how many 307 redirects one attempt follows. Default 5.
	MaxRedirects int
	// MaxEventSize bounds one RecordIO record on the event stream, in bytes. Default 64 MiB.
	MaxEventSize int
	// Transport carries the HTTP requests. Default: a private http.Transport.
	Transport http.RoundTripper
	// TLS, when set, makes every connection to masters HTTPS with this configuration (a
	// master given or detected as host:port is reached over https); ignored when Transport
	// is set (configure TLS there).
	TLS *tls.Config
	// Credential authenticates the framework to masters that ask for it (HTTP Basic, as
	// Mesos's --authenticate_frameworks wants); Framework.principal is set to its principal
	// when left empty. Zero: no credentials are sent.
	Credential credentials.Credential
	// DefaultRefuse is the refuse_seconds used by DeclineOffers and NoopHandler. Default 5s.
	DefaultRefuse time.Duration
}

// SplitMasters splits a --master flag into Config.Masters: a zk:// URL (whose host list has
// commas of its own) stays whole, anything else is a comma-separated list of masters.
func SplitMasters(flag string) []string {
	if zookeeper.IsURL(flag) {
		return []string{flag}
	}
	return strings.Split(flag, ",")
}

// DefaultConfig returns a Config with every default filled in; set Masters and Framework.
func DefaultConfig() Config {
	return Config{
		Encoding:             Protobuf,
		AutoAcknowledge:      true,
		ImplicitReconcile:    true,
		ReconcileInterval:    5 * time.Second,
		ReconcileIntervalMax: 5 * time.Minute,
		WantOffers:           true,
		MissedHeartbeats:     5,
		SubscribeTimeout:     20 * time.Second,
		CallTimeout:          10 * time.Second,
		BackoffMin:           500 * time.Millisecond,
		BackoffMax:           30 * time.Second,
		MaxRedirects:         5,
		MaxEventSize:         64 << 20,
		DefaultRefuse:        5 * time.Second,
		ZooKeeper:            zookeeper.DefaultConfig(),
	}
}

// Validate returns every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if len(c.Masters) == 0 {
		errs = append(errs, errors.New("masters: at least one master is required"))
	}
	for i, m := range c.Masters {
		if zookeeper.IsURL(m) {
			if len(c.Masters) > 1 {
				errs = append(errs, fmt.Errorf("masters[%d]: a zk:// master must be the only one", i))
			}
			if _, err := zookeeper.ParseURL(m); err != nil {
				errs = append(errs, fmt.Errorf("masters[%d]: %w", i, err))
			}
			if err := c.ZooKeeper.Validate(); err != nil {
				errs = append(errs, fmt.Errorf("zookeeper: %w", err))
			}
			continue
		}
		if _, err := masterURL(m); err != nil {
			errs = append(errs, fmt.Errorf("masters[%d]: %w", i, err))
		}
	}
	if c.Framework == nil {
		errs = append(errs, errors.New("framework: must be set"))
	} else {
		if c.Framework.GetName() == "" {
			errs = append(errs, errors.New("framework/name: must not be empty"))
		}
		if c.Framework.User == nil {
			errs = append(errs, errors.New("framework/user: must be set (may be empty for the master's user)"))
		}
	}
	if c.Encoding != Protobuf && c.Encoding != JSON {
		errs = append(errs, fmt.Errorf("encoding: %q is neither %q nor %q", c.Encoding, Protobuf, JSON))
	}
	if c.MissedHeartbeats < 1 {
		errs = append(errs, errors.New("missed_heartbeats: must be at least 1"))
	}
	if c.SubscribeTimeout <= 0 {
		errs = append(errs, errors.New("subscribe_timeout: must be positive"))
	}
	if c.CallTimeout <= 0 {
		errs = append(errs, errors.New("call_timeout: must be positive"))
	}
	if c.BackoffMin <= 0 || c.BackoffMax < c.BackoffMin {
		errs = append(errs, errors.New("backoff: need 0 < backoff_min <= backoff_max"))
	}
	if c.ReconcileInterval < 0 || c.ReconcileIntervalMax < 0 {
		errs = append(errs, errors.New("reconcile_interval: must not be negative"))
	} else if c.ReconcileInterval > 0 && c.ReconcileIntervalMax > 0 && c.ReconcileIntervalMax < c.ReconcileInterval {
		errs = append(errs, errors.New("reconcile_interval: need reconcile_interval <= reconcile_interval_max"))
	}
	if c.MaxRedirects < 0 {
		errs = append(errs, errors.New("max_redirects: must not be negative"))
	}
	if c.MaxEventSize < 0 {
		errs = append(errs, errors.New("max_event_size: must not be negative"))
	}
	if c.DefaultRefuse < 0 {
		errs = append(errs, errors.New("default_refuse: must not be negative"))
	}
	return errors.Join(errs...)
}

// FrameworkIDStore persists the framework id between runs of a scheduler.
type FrameworkIDStore interface {
	// Load returns the stored id, or "" when none is stored.
	Load(ctx context.Context) (string, error)
	// Save stores id; it is called when the master assigns or confirms an id.
	Save(ctx context.Context, id string) error
}

// MemoryIDStore is a FrameworkIDStore that keeps the id in memory (the default).
type MemoryIDStore struct {
	mu sync.Mutex
	id string
}

var _ FrameworkIDStore = (*MemoryIDStore)(nil)

// Load implements FrameworkIDStore.
func (m *MemoryIDStore) Load(context.Context) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.id, nil
}

// Save implements FrameworkIDStore.
func (m *MemoryIDStore) Save(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.id = id
	return nil
}
