package ledger

import (
	"errors"
	"fmt"
	"time"

	"github.com/agoracluster/agora/master/allocator"
	"github.com/agoracluster/agora/security/acl"
)

// Config holds the ledger's timeouts and limits.
type Config struct {
	// FrameworkHeartbeatInterval is the heartbeat_interval_seconds announced to
	// schedulers in SUBSCRIBED.
	FrameworkHeartbeatInterval time.Duration
	// AgentHeartbeatInterval is the heartbeat interval announced to agents, capped
	// at AgentPingTimeout (see AgentHeartbeat).
	AgentHeartbeatInterval time.Duration
	// AgentPingTimeout × MaxAgentPingTimeouts without a call or a re-subscription
	// marks an agent unreachable.
	AgentPingTimeout     time.Duration
	MaxAgentPingTimeouts int
	// AgentReregisterTimeout is how long an agent recovered from the registry has
	// to re-register before it is marked unreachable.
	AgentReregisterTimeout time.Duration
	// AgentRemovalTimeout is how long an unreachable agent is kept.
	AgentRemovalTimeout time.Duration
	// OfferTimeout rescinds outstanding offers after this long; 0 disables.
	OfferTimeout time.Duration
	// MaxCompletedTasksPerFramework bounds the completed tasks kept per framework.
	MaxCompletedTasksPerFramework int
	// MaxCompletedFrameworks bounds the removed frameworks kept.
	MaxCompletedFrameworks int
	// ACLs returns the ACLs in force (run_tasks is checked on every launch); nil, or nil
	// ACLs, allows everything.
	ACLs func() *acl.ACLs
	// Allocator configures the allocator: --min_allocatable_resources and the
	// initial --weights.
	Allocator allocator.Config
}

// DefaultConfig returns the Mesos defaults.
func DefaultConfig() Config {
	return Config{
		FrameworkHeartbeatInterval:    15 * time.Second,
		AgentHeartbeatInterval:        15 * time.Second,
		AgentPingTimeout:              15 * time.Second,
		MaxAgentPingTimeouts:          5,
		AgentReregisterTimeout:        10 * time.Minute,
		AgentRemovalTimeout:           10 * time.Minute,
		MaxCompletedTasksPerFramework: 1000,
		MaxCompletedFrameworks:        50,
		Allocator:                     allocator.DefaultConfig(),
	}
}

// Validate reports every problem with the configuration at once.
func (c Config) Validate() error {
	var errs []error
	positive := []struct {
		name string
		d    time.Duration
	}{
		{"framework_heartbeat_interval", c.FrameworkHeartbeatInterval},
		{"agent_heartbeat_interval", c.AgentHeartbeatInterval},
		{"agent_ping_timeout", c.AgentPingTimeout},
		{"agent_reregister_timeout", c.AgentReregisterTimeout},
		{"agent_removal_timeout", c.AgentRemovalTimeout},
	}
	for _, p := range positive {
		if p.d <= 0 {
			errs = append(errs, fmt.Errorf("ledger: %s must be positive, got %s", p.name, p.d))
		}
	}
	if c.OfferTimeout < 0 {
		errs = append(errs, fmt.Errorf("ledger: offer_timeout must not be negative, got %s", c.OfferTimeout))
	}
	if c.MaxAgentPingTimeouts < 1 {
		errs = append(errs, fmt.Errorf("ledger: max_agent_ping_timeouts must be at least 1, got %d", c.MaxAgentPingTimeouts))
	}
	if c.MaxCompletedTasksPerFramework < 0 || c.MaxCompletedFrameworks < 0 {
		errs = append(errs, errors.New("ledger: completed task/framework limits must not be negative"))
	}
	errs = append(errs, c.Allocator.Validate())
	return errors.Join(errs...)
}

// agentTimeout is how long an agent may stay silent before it is unreachable.
func (c Config) agentTimeout() time.Duration {
	return c.AgentPingTimeout * time.Duration(c.MaxAgentPingTimeouts)
}

// AgentHeartbeat is the heartbeat interval announced to agents (they heartbeat at
// it too, and the master's stream to them does): never longer than one ping
// timeout, so live agents are not marked unreachable.
func (c Config) AgentHeartbeat() time.Duration {
	return min(c.AgentHeartbeatInterval, c.AgentPingTimeout)
}

// recoveryGrace is how long a framework known from the registry or an agent's
// report has to re-subscribe after a master restart: its failover timeout, but at
// least as long as agents have to re-register.
func (c Config) recoveryGrace(failover time.Duration) time.Duration {
	return max(failover, c.AgentReregisterTimeout)
}
