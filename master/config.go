package master

import (
	"errors"
	"fmt"
	"time"

	"github.com/agoracluster/agora/cors"
	"github.com/agoracluster/agora/loglevel"
	"github.com/agoracluster/agora/master/allocator"
	"github.com/agoracluster/agora/master/httpapi"
	"github.com/agoracluster/agora/master/ledger"
)

// Config holds the master's settings.
type Config struct {
	// IP is the address advertised in MasterInfo; empty means the listener's address.
	IP string
	// Port is advertised in MasterInfo; 0 means the listener's port.
	Port int
	// Hostname is advertised in MasterInfo; empty means the OS hostname.
	Hostname string
	// WorkDir holds the registry (admitted agents, frameworks). Required.
	WorkDir string
	// Cluster is a human readable cluster name shown in /state.
	Cluster string
	// Version is the build version reported in MasterInfo and /state.
	Version string

	// AgentHeartbeatInterval is how often the master sends HEARTBEAT events to agents
	// and frameworks, and the heartbeat_interval_seconds it announces.
	AgentHeartbeatInterval time.Duration
	// FrameworkHeartbeatInterval is the heartbeat period on scheduler streams.
	FrameworkHeartbeatInterval time.Duration
	// AgentPingTimeout × MaxAgentPingTimeouts without a heartbeat call or a
	// re-subscription marks an agent unreachable.
	AgentPingTimeout     time.Duration
	MaxAgentPingTimeouts int
	// AgentReregisterTimeout is how long an agent recovered from the registry after a
	// master restart has to re-register before it is marked unreachable.
	AgentReregisterTimeout time.Duration
	// AgentRemovalTimeout is how long an unreachable agent stays in the registry.
	AgentRemovalTimeout time.Duration
	// OfferTimeout rescinds outstanding offers after this long; 0 disables.
	OfferTimeout time.Duration
	// AllocationInterval is the slow safety tick of the allocator.
	AllocationInterval time.Duration
	// AllocationBatch is how long events are batched before an allocation cycle.
	AllocationBatch time.Duration
	// MaxCompletedTasksPerFramework bounds the completed tasks kept per framework.
	MaxCompletedTasksPerFramework int
	// MaxCompletedFrameworks bounds the removed frameworks kept for /state.
	MaxCompletedFrameworks int
	// MaxBodySize bounds API request bodies, in bytes.
	MaxBodySize int64
	// MinAllocatable are the smallest amounts worth offering
	// (--min_allocatable_resources); empty means any non-empty resources.
	MinAllocatable []allocator.Quantities
	// Weights are the role weights set at start (--weights). Weights set
	// through the operator API (UPDATE_WEIGHTS, PUT /weights) are kept in the
	// registry and win over these after a restart or failover.
	Weights map[string]float64
	// Credentials is the file of the principals and secrets that may authenticate
	// (--credentials; Mesos's JSON or text format, reloaded on change); "" none.
	Credentials string
	// ACLs are Mesos's ACLs (--acls): inline JSON or a file path (reloaded on change);
	// "" allows everything.
	ACLs string
	// Which callers must authenticate with HTTP Basic: schedulers, agents, and operators'
	// calls that change or read the master (Mesos's --authenticate_* flags).
	AuthenticateFrameworks, AuthenticateAgents          bool
	AuthenticateHTTPReadWrite, AuthenticateHTTPReadOnly bool
	// Flags are the settings the master was started with, by flag name, as
	// GET_FLAGS and /flags show them.
	Flags map[string]string
	// LogLevel is the process logger's level, which /logging/toggle and SET_LOGGING_LEVEL
	// change for a while; nil: they answer 501.
	LogLevel *loglevel.Toggle
	// AccessControlAllowOrigin are the origins whose pages may call the master's
	// APIs from a browser (--access_control_allow_origin); the zero Policy allows
	// none but the master's own web UI, which needs no CORS.
	AccessControlAllowOrigin cors.Policy
}

// DefaultConfig returns the Mesos defaults.
func DefaultConfig() Config {
	return Config{
		Version:                       Version,
		AgentHeartbeatInterval:        15 * time.Second,
		FrameworkHeartbeatInterval:    15 * time.Second,
		AgentPingTimeout:              15 * time.Second,
		MaxAgentPingTimeouts:          5,
		AgentReregisterTimeout:        10 * time.Minute,
		AgentRemovalTimeout:           10 * time.Minute,
		AllocationInterval:            time.Second,
		AllocationBatch:               3 * time.Millisecond,
		MaxCompletedTasksPerFramework: 1000,
		MaxCompletedFrameworks:        50,
		MaxBodySize:                   4 << 20,
		MinAllocatable:                allocator.DefaultConfig().MinAllocatable,
	}
}

// Validate reports every problem with the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if c.WorkDir == "" {
		errs = append(errs, errors.New("master: work_dir must be set"))
	}
	if c.Port < 0 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("master: port %d out of range", c.Port))
	}
	for _, p := range []struct {
		name string
		d    time.Duration
	}{{"allocation_interval", c.AllocationInterval}, {"allocation_batch", c.AllocationBatch}} {
		if p.d <= 0 {
			errs = append(errs, fmt.Errorf("master: %s must be positive, got %s", p.name, p.d))
		}
	}
	// The heartbeats, timeouts and limits are the ledger's.
	errs = append(errs, c.ledger().Validate())
	if c.MaxBodySize <= 0 {
		errs = append(errs, fmt.Errorf("master: max body size must be positive, got %d", c.MaxBodySize))
	}
	errs = append(errs, c.validateSecurity())
	return errors.Join(errs...)
}

// ledger is the ledger's part of the configuration.
func (c Config) ledger() ledger.Config {
	return ledger.Config{
		FrameworkHeartbeatInterval:    c.FrameworkHeartbeatInterval,
		AgentHeartbeatInterval:        c.AgentHeartbeatInterval,
		AgentPingTimeout:              c.AgentPingTimeout,
		MaxAgentPingTimeouts:          c.MaxAgentPingTimeouts,
		AgentReregisterTimeout:        c.AgentReregisterTimeout,
		AgentRemovalTimeout:           c.AgentRemovalTimeout,
		OfferTimeout:                  c.OfferTimeout,
		MaxCompletedTasksPerFramework: c.MaxCompletedTasksPerFramework,
		MaxCompletedFrameworks:        c.MaxCompletedFrameworks,
		Allocator: allocator.Config{
			MinAllocatable: c.MinAllocatable,
			Weights:        c.Weights,
		},
	}
}

// httpapi is the HTTP surface's part of the configuration.
func (c Config) httpapi() httpapi.Config {
	return httpapi.Config{
		FrameworkHeartbeatInterval: c.FrameworkHeartbeatInterval,
		AgentHeartbeatInterval:     c.ledger().AgentHeartbeat(),
		MaxBodySize:                c.MaxBodySize,
		Version:                    c.Version,
		Cluster:                    c.Cluster,
		Flags:                      c.Flags,
		LogLevel:                   c.LogLevel,
	}
}
