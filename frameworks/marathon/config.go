package marathon

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/agoracluster/agora/cors"
	"github.com/agoracluster/agora/frameworks/ha"
	"github.com/agoracluster/agora/frameworks/marathon/callbacks"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/security/credentials"
)

// Config configures the Marathon framework. Start from DefaultConfig.
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
	// WorkDir holds the state store (apps, versions, deployments, tasks, framework id).
	WorkDir string
	// FrameworkName is FrameworkInfo.name.
	FrameworkName string
	// FailoverTimeout is how long the master keeps the framework's tasks while it is away.
	FailoverTimeout time.Duration
	// User is FrameworkInfo.user ("" = the master's/agent's user).
	User string
	// Role is the framework's role.
	Role string
	// GPUResources registers with the GPU_RESOURCES capability (Marathon's
	// --enable_features gpu_resources): only then are agents with GPUs offered, and apps
	// with gpus can run.
	GPUResources bool
	// WaitingRefuse is the refuse filter for offers declined while launches wait (so that
	// other agents are offered soon); IdleRefuse when nothing waits (Marathon's
	// --decline_offer_duration).
	WaitingRefuse, IdleRefuse time.Duration
	// TickInterval is how often the loop re-checks back-offs, unreachable tasks and
	// deployments without an event.
	TickInterval time.Duration
	// MaxBodyBytes bounds request bodies; larger ones get 413.
	MaxBodyBytes int64
	// ServicePortMin and ServicePortMax bound the service ports assigned to apps.
	ServicePortMin, ServicePortMax int
	// MaxReadinessChecks bounds the readiness check probes in flight at once.
	MaxReadinessChecks int
	// MaxVersions is how many versions of each app and of the root group are stored
	// (Marathon's --max_versions); the oldest are pruned first, never the current one.
	MaxVersions int
	// TaskLaunchTimeout is how long a launched task may take to reach TASK_RUNNING before
	// it is killed and replaced (Marathon's --task_launch_timeout); 0 waits forever.
	TaskLaunchTimeout time.Duration
	// ReconciliationInterval is how often every task is reconciled with the master besides
	// at each subscription (Marathon's --reconciliation_interval); 0 never.
	ReconciliationInterval time.Duration
	// AutoscaleInterval is how often the autoscaler samples the agents that run autoscaled
	// apps (those with AGORA_AUTOSCALE_ labels) and scales them; 0 turns autoscaling off.
	AutoscaleInterval time.Duration
	// AutoscaleLBURLs are the admin APIs of the load balancers (`agora lb`, its
	// /_lb/stats) read each round for the request rates of apps with a
	// AGORA_AUTOSCALE_TARGET_RPS; empty: request rates are not measured.
	AutoscaleLBURLs []string
	// WebUIURL is FrameworkInfo.webui_url (Marathon's --webui_url); "" means the
	// instance's own http://hostname:http_port.
	WebUIURL string
	// EventSubscriber names the event subscriber to run besides /v2/events: "" none,
	// "http_callback" POSTs every event to the subscribed callback URLs (Marathon's
	// --event_subscriber); HTTPEndpoints are subscribed at every start (--http_endpoints).
	EventSubscriber string
	HTTPEndpoints   []string
	// Now is the clock every decision reads (version stamps, back-offs, kill retries,
	// event timestamps); nil means time.Now. Tests set a fake one.
	Now func() time.Time
	// AccessControlAllowOrigin are the origins whose pages may call the REST API from a
	// browser (Marathon's --access_control_allow_origin); the zero Policy allows none.
	AccessControlAllowOrigin cors.Policy
}

// DefaultConfig returns Marathon's defaults.
func DefaultConfig() Config {
	return Config{
		Masters:         []string{"127.0.0.1:5050"},
		HTTPPort:        8080,
		Hostname:        "localhost",
		FrameworkName:   "marathon",
		FailoverTimeout: 7 * 24 * time.Hour,
		Role:            "*",
		WaitingRefuse:   2 * time.Second,
		IdleRefuse:      120 * time.Second,
		TickInterval:    time.Second,
		MaxBodyBytes:    1 << 20,
		ServicePortMin:  10000,
		ServicePortMax:  20000,

		MaxReadinessChecks: 64,
		MaxVersions:        50,

		TaskLaunchTimeout:      5 * time.Minute,
		ReconciliationInterval: 10 * time.Minute,
		AutoscaleInterval:      30 * time.Second,
		Now:                    time.Now,
	}
}

// Validate returns every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if len(c.Masters) == 0 {
		errs = append(errs, errors.New("master: must be set"))
	}
	if c.HTTPPort < 0 || c.HTTPPort > 65535 {
		errs = append(errs, fmt.Errorf("http_port: %d out of range", c.HTTPPort))
	}
	if c.WorkDir == "" {
		errs = append(errs, errors.New("work_dir: must be set"))
	}
	if c.FrameworkName == "" {
		errs = append(errs, errors.New("framework_name: must not be empty"))
	}
	if c.FailoverTimeout < 0 {
		errs = append(errs, errors.New("failover_timeout: must not be negative"))
	}
	if c.Role == "" {
		errs = append(errs, errors.New("role: must not be empty"))
	}
	if c.TickInterval <= 0 {
		errs = append(errs, errors.New("tick_interval: must be positive"))
	}
	if c.MaxBodyBytes <= 0 {
		errs = append(errs, errors.New("max_body_bytes: must be positive"))
	}
	if c.ServicePortMin <= 0 || c.ServicePortMax < c.ServicePortMin || c.ServicePortMax > 65535 {
		errs = append(errs, errors.New("service ports: need 0 < min <= max <= 65535"))
	}
	if c.MaxReadinessChecks <= 0 {
		errs = append(errs, errors.New("max_readiness_checks: must be positive"))
	}
	if c.TaskLaunchTimeout < 0 {
		errs = append(errs, errors.New("task_launch_timeout: must not be negative"))
	}
	if c.AutoscaleInterval < 0 {
		errs = append(errs, errors.New("autoscale_interval: must not be negative"))
	}
	for _, u := range c.AutoscaleLBURLs {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			errs = append(errs, fmt.Errorf("autoscale_lb_url: %q is not an http(s)://host:port URL", u))
		}
	}
	if c.ReconciliationInterval < 0 {
		errs = append(errs, errors.New("reconciliation_interval: must not be negative"))
	}
	switch c.EventSubscriber {
	case "", "http_callback":
	default:
		errs = append(errs, fmt.Errorf("event_subscriber: unknown subscriber %q (known: http_callback)", c.EventSubscriber))
	}
	if len(c.HTTPEndpoints) > 0 && c.EventSubscriber != "http_callback" {
		errs = append(errs, errors.New("http_endpoints: needs --event_subscriber http_callback"))
	}
	for _, e := range c.HTTPEndpoints {
		if err := callbacks.ValidateURL(e); err != nil {
			errs = append(errs, fmt.Errorf("http_endpoints: %w", err))
		}
	}
	if c.MaxVersions <= 0 {
		errs = append(errs, errors.New("max_versions: must be positive"))
	}
	return errors.Join(errs...)
}

// capabilities are the framework's FrameworkInfo.capabilities.
func (c Config) capabilities() []*mesos.FrameworkInfo_Capability {
	caps := []*mesos.FrameworkInfo_Capability{
		{Type: mesos.FrameworkInfo_Capability_TASK_KILLING_STATE.Enum()},
		{Type: mesos.FrameworkInfo_Capability_PARTITION_AWARE.Enum()},
		{Type: mesos.FrameworkInfo_Capability_MULTI_ROLE.Enum()},
	}
	if c.GPUResources {
		caps = append(caps, &mesos.FrameworkInfo_Capability{Type: mesos.FrameworkInfo_Capability_GPU_RESOURCES.Enum()})
	}
	return caps
}

// features lists the enabled optional features by Marathon's names, as /v2/info reports
// them.
func (c Config) features() []string {
	out := []string{}
	if c.GPUResources {
		out = append(out, "gpu_resources")
	}
	return out
}

// webUIURL is FrameworkInfo.webui_url: --webui_url, or the instance's own address.
func (c Config) webUIURL() string {
	if c.WebUIURL != "" {
		return c.WebUIURL
	}
	return ha.Scheme(c.PeerTLS) + "://" + net.JoinHostPort(c.Hostname, strconv.Itoa(c.HTTPPort))
}

// ParseFeatures applies Marathon's --enable_features (a comma-separated list); gpu_resources
// is the one feature known here.
func (c *Config) ParseFeatures(list string) error {
	for _, f := range strings.Split(list, ",") {
		switch f = strings.TrimSpace(f); f {
		case "":
		case "gpu_resources":
			c.GPUResources = true
		default:
			return fmt.Errorf("enable_features: unknown or unsupported feature %q (known: gpu_resources)", f)
		}
	}
	return nil
}
