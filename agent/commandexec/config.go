package commandexec

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/agoracluster/agora/agent/clock"
	"github.com/agoracluster/agora/agent/taskproc"
	"github.com/agoracluster/agora/duration"
	"github.com/agoracluster/agora/security/tlsconfig"
)

// Config is the executor's configuration, normally read from the MESOS_* environment the
// agent sets (ConfigFromEnv).
type Config struct {
	// FrameworkID is the task's framework (MESOS_FRAMEWORK_ID).
	FrameworkID string
	// ExecutorID is this executor's id, the task id for command tasks (MESOS_EXECUTOR_ID).
	ExecutorID string
	// AgentEndpoint is host:port of the agent's HTTP server (MESOS_AGENT_ENDPOINT).
	AgentEndpoint string
	// Sandbox is the task's sandbox directory and working directory (MESOS_SANDBOX, else
	// MESOS_DIRECTORY).
	Sandbox string
	// Checkpoint keeps the task running while the agent is away, for up to RecoveryTimeout
	// (MESOS_CHECKPOINT=1); without it a lost agent connection kills the task at once.
	Checkpoint bool
	// RecoveryTimeout is how long to keep re-subscribing to a lost agent before the task is
	// killed and the executor exits (MESOS_RECOVERY_TIMEOUT).
	RecoveryTimeout time.Duration
	// SubscriptionBackoffMax caps the back-off between subscription attempts
	// (MESOS_SUBSCRIPTION_BACKOFF_MAX).
	SubscriptionBackoffMax time.Duration
	// ShutdownGracePeriod is the time the agent gives the executor to shut down
	// (MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD); the task gets this minus 2s after SIGTERM.
	ShutdownGracePeriod time.Duration
	// KillGracePeriod is the time between SIGTERM and SIGKILL when neither the KILL event nor
	// the task has a kill policy.
	KillGracePeriod time.Duration
	// TerminalAckTimeout is how long to wait, while subscribed, for the agent to acknowledge
	// the terminal update before exiting anyway.
	TerminalAckTimeout time.Duration
	// Env is the environment the agent gave the executor ("NAME=value"); the task gets it
	// plus MESOS_TASK_ID, MESOS_SANDBOX and its CommandInfo.environment.
	Env []string
	// TaskStdout and TaskStderr receive the task's output; nil means the executor's own
	// stdout and stderr (the sandbox files the agent opened).
	TaskStdout, TaskStderr *os.File
	// Clock stamps status updates and times kills and health checks; nil means the wall
	// clock. The loop's own timers run on the runtime's clock (testing/synctest fakes it).
	Clock clock.Clock
	// HTTPClient talks to the agent; nil means a private client without timeouts.
	HTTPClient *http.Client
	// TLS, when set, makes the connection to the agent HTTPS (LIBPROCESS_SSL_* from the
	// agent); with HTTPClient nil, the private client uses it.
	TLS *tls.Config
	// ContainerID is the agent's container id for this executor (AGORA_CONTAINER_ID, else
	// the sandbox directory's name, runs/<container_id>); a DOCKER task's container is named
	// agora-<ContainerID> and labelled with it, so the agent can tell live containers from
	// orphans.
	ContainerID string
	// TaskSession starts the task in a session of its own rather than only a process group
	// of its own: an executor that shares its process with other executors (the executor
	// host) gives each task a session the agent can find and kill everything of.
	TaskSession bool
	// AuthToken is the executor's token for an agent with --authenticate_http_executors
	// (MESOS_EXECUTOR_AUTHENTICATION_TOKEN), sent with every call; "" none.
	AuthToken string
	// SwitchUser runs the task as its user (CommandInfo.user, else FrameworkInfo.user)
	// when the executor runs as root; false runs it as the executor's own user (the agent's
	// --switch_user=false, passed as AGORA_SWITCH_USER=0).
	SwitchUser bool
	// PlaceProcess, when set, is called with the pid of every process the executor starts
	// for its task, as soon as it runs: the task and its COMMAND health checks (the executor
	// host puts them into the container's cgroup, where an executor process's children
	// would be from the start).
	PlaceProcess func(pid int)
	// TaskStarted, when set, is called with the pid of the task's process as soon as it runs
	// (the executor host puts it into its container's cgroup).
	TaskStarted func(pid int)
	// Abort, when closed, ends the executor at once, as SIGKILL ends an executor process:
	// the task is killed and nothing more is sent to the agent. Nil never aborts.
	Abort <-chan struct{}
	// DockerSocket is the Docker Engine's unix socket for DOCKER tasks (AGORA_DOCKER_SOCKET);
	// empty means DOCKER_HOST, else /var/run/docker.sock.
	DockerSocket string
}

// DefaultConfig returns the Mesos defaults; the ids, the endpoint and the sandbox are empty.
func DefaultConfig() Config {
	return Config{
		Checkpoint:             true,
		SwitchUser:             true,
		RecoveryTimeout:        15 * time.Minute,
		SubscriptionBackoffMax: 2 * time.Second,
		ShutdownGracePeriod:    5 * time.Second,
		KillGracePeriod:        3 * time.Second,
		TerminalAckTimeout:     10 * time.Second,
		Clock:                  clock.Real{},
	}
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []string
	for _, f := range []struct{ name, value string }{
		{"MESOS_FRAMEWORK_ID", c.FrameworkID},
		{"MESOS_EXECUTOR_ID", c.ExecutorID},
		{"MESOS_AGENT_ENDPOINT", c.AgentEndpoint},
		{"MESOS_SANDBOX", c.Sandbox},
	} {
		if f.value == "" {
			errs = append(errs, f.name+" is not set")
		}
	}
	for _, f := range []struct {
		name string
		d    time.Duration
	}{
		{"MESOS_RECOVERY_TIMEOUT", c.RecoveryTimeout},
		{"MESOS_SUBSCRIPTION_BACKOFF_MAX", c.SubscriptionBackoffMax},
		{"MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", c.ShutdownGracePeriod},
		{"kill grace period", c.KillGracePeriod},
		{"terminal ack timeout", c.TerminalAckTimeout},
	} {
		if f.d < 0 {
			errs = append(errs, f.name+" must not be negative")
		}
	}
	if c.SubscriptionBackoffMax == 0 {
		errs = append(errs, "MESOS_SUBSCRIPTION_BACKOFF_MAX must be positive")
	}
	if len(errs) > 0 {
		return fmt.Errorf("commandexec: invalid config: %s", strings.Join(errs, "; "))
	}
	return nil
}

// TokenVar holds the executor's authentication token; tasks do not inherit it.
const TokenVar = taskproc.TokenVar

// ConfigFromEnv reads the MESOS_* variables the agent sets and validates them; the error
// names every missing or malformed variable. Env, TaskStdout and TaskStderr are left for
// the caller.
func ConfigFromEnv(env func(string) string) (Config, error) {
	return ConfigFromEnvTLS(env, func(tc tlsconfig.Config) (*tlsconfig.Files, error) { return tlsconfig.Load(tc, nil) })
}

// ConfigFromEnvTLS is ConfigFromEnv with the LIBPROCESS_SSL_* files loaded by loadTLS: the
// executor host loads them once for all of its executors with the same settings, rather
// than reading and parsing the certificate, key and CA again for each.
func ConfigFromEnvTLS(env func(string) string, loadTLS func(tlsconfig.Config) (*tlsconfig.Files, error)) (Config, error) {
	c := DefaultConfig()
	c.FrameworkID = env("MESOS_FRAMEWORK_ID")
	c.ExecutorID = env("MESOS_EXECUTOR_ID")
	c.AgentEndpoint = env("MESOS_AGENT_ENDPOINT")
	c.AuthToken = env(TokenVar)
	if v := env("AGORA_SWITCH_USER"); v == "0" || v == "false" {
		c.SwitchUser = false
	}
	var tlsErr error
	if tc := (tlsconfig.Config{}).Env(env); tc.Enabled() {
		files, err := loadTLS(tc)
		if err != nil {
			tlsErr = fmt.Errorf("LIBPROCESS_SSL_*: %w", err)
		} else {
			c.TLS = files.Client()
		}
	}
	c.Sandbox = env("MESOS_SANDBOX")
	if c.Sandbox == "" {
		c.Sandbox = env("MESOS_DIRECTORY")
	}
	if c.Sandbox != "" {
		if abs, err := filepath.Abs(c.Sandbox); err == nil {
			c.Sandbox = abs
		}
	}
	c.ContainerID = env("AGORA_CONTAINER_ID")
	if c.ContainerID == "" && c.Sandbox != "" {
		c.ContainerID = filepath.Base(c.Sandbox)
	}
	c.DockerSocket = env("AGORA_DOCKER_SOCKET")
	var errs []string
	if v := env("MESOS_CHECKPOINT"); v != "" {
		c.Checkpoint = v == "1" || strings.EqualFold(v, "true")
	}
	for _, d := range []struct {
		name string
		p    *time.Duration
	}{
		{"MESOS_RECOVERY_TIMEOUT", &c.RecoveryTimeout},
		{"MESOS_SUBSCRIPTION_BACKOFF_MAX", &c.SubscriptionBackoffMax},
		{"MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", &c.ShutdownGracePeriod},
	} {
		v := env(d.name)
		if v == "" {
			continue
		}
		parsed, err := duration.Parse(v)
		if err != nil {
			errs = append(errs, d.name+": "+err.Error())
			continue
		}
		*d.p = parsed
	}
	if err := c.Validate(); err != nil {
		errs = append([]string{err.Error()}, errs...)
	}
	if tlsErr != nil {
		errs = append(errs, tlsErr.Error())
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return c, nil
}
