package simulate

import (
	"errors"
	"fmt"
	"time"

	"github.com/agoracluster/agora/agent/registration"
	"github.com/agoracluster/agora/resources"
)

// Config shapes a set of simulated agents.
type Config struct {
	// Master is the master's address, host:port (a standby redirects to the leader), unless
	// Detector is set.
	Master string
	// Detector, when set, finds the leading master (a zk:// master: registration.NewLeader
	// over election.DetectMaster); the agents follow it when it changes.
	Detector registration.MasterDetector
	// SourceAddrs spreads the connections to a loopback master over this many source
	// addresses (127.1.0.1, 127.1.0.2, …), each with its own ephemeral ports, so that tens
	// of thousands of agents do not run out of them; 0 or 1: the kernel's choice.
	SourceAddrs int
	// Agents is how many agents to simulate.
	Agents int
	// Resources is every agent's resources in the Mesos text form.
	Resources string
	// Attributes is every agent's attributes ("rack:r1;zone:a"); AttributesFor overrides it.
	Attributes string
	// AttributesFor, when set, gives agent i (0-based) its own attributes.
	AttributesFor func(i int) string
	// HostnamePrefix names agent i "<prefix><i>"; HostnameFor overrides it.
	HostnamePrefix string
	// HostnameFor, when set, gives agent i (0-based) its hostname.
	HostnameFor func(i int) string
	// RunningDelay is how long a task stays TASK_STARTING before it reports TASK_RUNNING.
	RunningDelay time.Duration
	// FinishDelay, when positive, makes every task run to completion: it reports
	// TASK_FINISHED this long after TASK_RUNNING (run-to-completion work, for batch jobs).
	// 0: tasks run until they are killed.
	FinishDelay time.Duration
	// Unhealthy makes tasks with a health check report healthy=false with TASK_RUNNING
	// (healthy=true by default).
	Unhealthy bool
	// RetryInterval is how long an unacknowledged status update waits before it is sent
	// again (a real agent starts at 10s).
	RetryInterval time.Duration
	// HeartbeatInterval is how often agents send HEARTBEAT; 0 means the interval the
	// master announces in SUBSCRIBED.
	HeartbeatInterval time.Duration
	// ResubscribeBackoff is how long an agent waits before subscribing again after its
	// stream ended.
	ResubscribeBackoff time.Duration
	// CallWorkers is how many calls to the master are in flight at once, for all agents.
	CallWorkers int
	// CallTimeout bounds one call to the master.
	CallTimeout time.Duration
}

// DefaultConfig returns a config for one agent with plenty of resources; set Master.
func DefaultConfig() Config {
	return Config{
		Agents:             1,
		Resources:          "cpus:64;mem:262144;disk:1000000;ports:[31000-32000]",
		HostnamePrefix:     "sim-agent-",
		RetryInterval:      10 * time.Second,
		ResubscribeBackoff: 200 * time.Millisecond,
		CallWorkers:        32,
		CallTimeout:        15 * time.Second,
	}
}

// Validate reports every problem with the config at once.
func (c Config) Validate() error {
	var errs []error
	if c.Master == "" && c.Detector == nil {
		errs = append(errs, errors.New("simulate: master must be set"))
	}
	if c.SourceAddrs < 0 || c.SourceAddrs > 1<<16 {
		errs = append(errs, fmt.Errorf("simulate: source addresses must be in [0, 65536], got %d", c.SourceAddrs))
	}
	if c.Agents < 1 {
		errs = append(errs, fmt.Errorf("simulate: agents must be at least 1, got %d", c.Agents))
	}
	if _, err := resources.Parse(c.Resources, "*"); err != nil {
		errs = append(errs, fmt.Errorf("simulate: resources: %w", err))
	}
	if c.AttributesFor == nil && c.Attributes != "" {
		if _, err := resources.ParseAttributes(c.Attributes); err != nil {
			errs = append(errs, fmt.Errorf("simulate: attributes: %w", err))
		}
	}
	if c.HostnameFor == nil && c.HostnamePrefix == "" {
		errs = append(errs, errors.New("simulate: hostname prefix must be set"))
	}
	if c.RunningDelay < 0 {
		errs = append(errs, fmt.Errorf("simulate: running delay must not be negative, got %s", c.RunningDelay))
	}
	if c.FinishDelay < 0 {
		errs = append(errs, fmt.Errorf("simulate: finish delay must not be negative, got %s", c.FinishDelay))
	}
	if c.HeartbeatInterval < 0 {
		errs = append(errs, fmt.Errorf("simulate: heartbeat interval must not be negative, got %s", c.HeartbeatInterval))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"retry interval", c.RetryInterval}, {"resubscribe backoff", c.ResubscribeBackoff}, {"call timeout", c.CallTimeout}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("simulate: %s must be positive, got %s", d.name, d.v))
		}
	}
	if c.CallWorkers < 1 {
		errs = append(errs, fmt.Errorf("simulate: call workers must be at least 1, got %d", c.CallWorkers))
	}
	return errors.Join(errs...)
}
