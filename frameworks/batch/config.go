package batch

import (
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"github.com/agoracluster/agora/cors"
	"github.com/agoracluster/agora/frameworks/batch/retry"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/security/credentials"
)

// Config configures the batch framework. Start from DefaultConfig.
type Config struct {
	// Masters lists the masters ("host:port"); --master.
	Masters []string
	// Credential authenticates the framework to the master (Marathon's
	// --mesos_authentication_principal and --mesos_authentication_secret_file); zero: none.
	Credential credentials.Credential
	// MasterTLS, when set, makes the connections to the master (and, for Marathon, to the
	// agents) HTTPS with this configuration (--tls_*).
	MasterTLS *tls.Config
	// PeerTLS, when set, says the instances' REST APIs serve HTTPS: the instance advertises
	// https:// addresses, and a follower (--zk) proxies to the leader over HTTPS with this
	// client configuration (the leader's certificate checked against the CA, this
	// instance's shown when the leader asks for one).
	PeerTLS *tls.Config
	// HTTPCredentials, when set, is the user and password every REST API request but /ping
	// must carry (HTTP Basic; Marathon's --http_credentials), in realm HTTPRealm
	// (--http_realm).
	HTTPCredentials credentials.Credential
	HTTPRealm       string
	// HTTPPort is the port the REST API is advertised on (the listener is passed to Run).
	HTTPPort int
	// Hostname is advertised as the leader's address and in FrameworkInfo.
	Hostname string
	// WorkDir holds the state store (jobs, schedules, runs, history, framework id).
	WorkDir string
	// User is FrameworkInfo.user and the default user of tasks ("" = the agent's user).
	User string
	// Role is the framework's role.
	Role string
	// GPUResources registers with the GPU_RESOURCES capability: only then are agents with
	// GPUs offered, and jobs with run.gpus can run.
	GPUResources bool
	// FrameworkName is FrameworkInfo.name.
	FrameworkName string
	// FailoverTimeout is how long the master keeps the framework's tasks while it is away.
	FailoverTimeout time.Duration
	// TickInterval is how often the loop looks at schedules, deadlines and back-offs without
	// an event.
	TickInterval time.Duration
	// FlushInterval is how often changed runs are handed to the store writer (and the status
	// updates they hold acknowledged); many updates of a run in between cost one write.
	FlushInterval time.Duration
	// WaitingRefuse is the refuse filter of offers declined while tasks wait (so that other
	// agents are offered soon); offers are suppressed altogether when nothing waits.
	WaitingRefuse time.Duration
	// MaxTasksPerOffer bounds the tasks launched on one offer (count), so that one ACCEPT
	// stays well within the master's request size limit; what remains is offered again.
	MaxTasksPerOffer int
	// MaxBodyBytes bounds request bodies; larger ones get 413.
	MaxBodyBytes int64
	// HistoryRuns is how many finished runs of each job are kept (count).
	HistoryRuns int
	// Retry is the back-off before a failed task is launched again (restart policy
	// ON_FAILURE), capped further by a job's run.maxLaunchDelay, and the retry limit per run
	// (0: retry until the run's active deadline, as Metronome does).
	Retry retry.Policy
	// FindSandboxes looks up each task's agent URL (the master's /state) and sandbox
	// directory (the agent's /state), so that runs say where stdout and stderr are.
	FindSandboxes bool
	// AccessControlAllowOrigin are the origins whose pages may call the REST API from a
	// browser (--access_control_allow_origin, as Marathon's); the zero Policy allows none.
	AccessControlAllowOrigin cors.Policy
}

// DefaultConfig returns the defaults (Metronome's where it has one).
func DefaultConfig() Config {
	return Config{
		Masters:          []string{"127.0.0.1:5050"},
		HTTPPort:         8081,
		Hostname:         "localhost",
		Role:             "*",
		FrameworkName:    "batch",
		FailoverTimeout:  7 * 24 * time.Hour,
		TickInterval:     time.Second,
		FlushInterval:    50 * time.Millisecond,
		WaitingRefuse:    time.Second,
		MaxBodyBytes:     1 << 20,
		MaxTasksPerOffer: 1000,
		HistoryRuns:      10,
		Retry:            retry.Default(),
		FindSandboxes:    true,
	}
}

// Validate returns every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if len(c.Masters) == 0 {
		errs = append(errs, errors.New("master: must be set"))
	}
	for i, m := range c.Masters {
		if m == "" {
			errs = append(errs, fmt.Errorf("master[%d]: must not be empty", i))
		}
	}
	if c.HTTPPort < 0 || c.HTTPPort > 65535 {
		errs = append(errs, fmt.Errorf("http_port: %d out of range 0-65535", c.HTTPPort))
	}
	if c.Hostname == "" {
		errs = append(errs, errors.New("hostname: must not be empty"))
	}
	if c.WorkDir == "" {
		errs = append(errs, errors.New("work_dir: must be set"))
	}
	if c.Role == "" {
		errs = append(errs, errors.New("role: must not be empty"))
	}
	if c.FrameworkName == "" {
		errs = append(errs, errors.New("framework_name: must not be empty"))
	}
	if c.FailoverTimeout < 0 {
		errs = append(errs, errors.New("failover_timeout: must not be negative"))
	}
	if c.TickInterval <= 0 {
		errs = append(errs, errors.New("tick_interval: must be positive"))
	}
	if c.FlushInterval <= 0 {
		errs = append(errs, errors.New("flush_interval: must be positive"))
	}
	if c.WaitingRefuse < 0 {
		errs = append(errs, errors.New("waiting_refuse: must not be negative"))
	}
	if c.MaxTasksPerOffer < 1 {
		errs = append(errs, errors.New("max_tasks_per_offer: must be at least 1"))
	}
	if c.MaxBodyBytes <= 0 {
		errs = append(errs, errors.New("max_body_bytes: must be positive"))
	}
	if c.HistoryRuns < 1 {
		errs = append(errs, errors.New("history_runs: must be at least 1"))
	}
	if err := c.Retry.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// capabilities are the framework's FrameworkInfo.capabilities.
func (c Config) capabilities() []*mesos.FrameworkInfo_Capability {
	caps := []*mesos.FrameworkInfo_Capability{
		{Type: mesos.FrameworkInfo_Capability_TASK_KILLING_STATE.Enum()},
		{Type: mesos.FrameworkInfo_Capability_MULTI_ROLE.Enum()},
	}
	if c.GPUResources {
		caps = append(caps, &mesos.FrameworkInfo_Capability{Type: mesos.FrameworkInfo_Capability_GPU_RESOURCES.Enum()})
	}
	return caps
}
