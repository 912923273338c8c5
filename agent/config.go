package agent

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/agoracluster/agora/agent/gpu"
	"github.com/agoracluster/agora/agent/isolation"
	"github.com/agoracluster/agora/agent/registration"
	"github.com/agoracluster/agora/agent/statusupdate"
	"github.com/agoracluster/agora/cors"
	"github.com/agoracluster/agora/loglevel"
	"github.com/agoracluster/agora/security/credentials"
	"github.com/agoracluster/agora/security/tlsconfig"
)

// Config configures an agent.
type Config struct {
	// Master is the master's address: host:port or http://host:port.
	Master string
	// MasterDetector, when set, tells which master to subscribe to instead of Master (a
	// leader detector for an HA cluster); nil means Master, fixed.
	MasterDetector registration.MasterDetector
	// Hostname is advertised to the master; empty means os.Hostname().
	Hostname string
	// WorkDir holds sandboxes (slaves/...) and checkpoints (meta/...).
	WorkDir string
	// Resources in Mesos text form; names not given are detected.
	Resources string
	// Attributes in Mesos text form ("rack:r1;zone:a").
	Attributes string
	// NvidiaGPUDevices lists the indices (nvidia-smi's) of the GPUs the agent offers
	// ("0,1"; Mesos's --nvidia_gpu_devices); empty means every detected GPU, or the first N
	// with gpus:N in Resources.
	NvidiaGPUDevices string
	// GPUDetector finds the host's GPUs; nil means nvidia-smi (agent/gpu). Tests inject one.
	GPUDetector gpu.Detector
	// Containerizers lists the enabled containerizers: "process" (executors as processes)
	// and "docker" (DOCKER tasks as containers, run by the command executor; enabled only
	// when the engine answers at start).
	Containerizers []string
	// DockerSocket is the Docker Engine's unix socket; empty means DOCKER_HOST, else
	// /var/run/docker.sock.
	DockerSocket string
	// ExecutorBinary is the agora binary run as `<binary> executor` for command tasks;
	// empty means os.Executable().
	ExecutorBinary string
	// ExecutorHost runs Agora's command executors (command tasks that are not DOCKER tasks)
	// inside one long-lived executor host process (`agora executor-host`, agent/exechost)
	// instead of an `agora executor` process per task: the same executor and executor API,
	// without the start of a Go process per task. Like executor processes, the host and its
	// tasks outlive the agent process. Custom executors are always processes of their own.
	ExecutorHost bool
	// ExecutorRegistrationTimeout is how long a launched executor has to subscribe.
	ExecutorRegistrationTimeout time.Duration
	// ExecutorShutdownGracePeriod is how long an executor told to shut down has before SIGKILL.
	ExecutorShutdownGracePeriod time.Duration
	// ExecutorHeartbeatInterval is the period of HEARTBEAT events on executor streams.
	ExecutorHeartbeatInterval time.Duration
	// LaunchConcurrency is how many executors may be starting at once (sandbox and
	// checkpoints created, URIs fetched, process started, not yet subscribed; a slot is
	// given back after a second at most). A thousand executors started together share the
	// CPUs and all subscribe late; a few at a time each start in milliseconds, so tasks
	// reach TASK_RUNNING progressively, for the same total time.
	LaunchConcurrency int
	// RegistrationBackoffMin and RegistrationBackoffMax bound the exponential back-off
	// between attempts to subscribe to the master.
	RegistrationBackoffMin time.Duration
	RegistrationBackoffMax time.Duration
	// Credential authenticates the agent to the master (--credential; needed when the
	// master runs with --authenticate_agents); zero: none.
	Credential credentials.Credential
	// AuthenticateHTTPExecutors makes executors authenticate to the executor API with a
	// token of their own (MESOS_EXECUTOR_AUTHENTICATION_TOKEN; Mesos's
	// --authenticate_http_executors), so one task cannot act as another's executor.
	AuthenticateHTTPExecutors bool
	// HTTPCredentials is the file of the principals and secrets that may authenticate to
	// the agent's HTTP endpoints (Mesos's --http_credentials: JSON or "principal secret"
	// lines; reloaded on change); "" none.
	HTTPCredentials string
	// AuthenticateHTTPReadOnly makes the endpoints that read the agent (/state, /files/*,
	// /monitor/statistics, /containers, /metrics, the operator API's GET_* and file calls)
	// want HTTP Basic credentials of HTTPCredentials; AuthenticateHTTPReadWrite the calls
	// that would change it (Mesos's --authenticate_http_readonly and _readwrite).
	AuthenticateHTTPReadOnly, AuthenticateHTTPReadWrite bool
	// ACLs are Mesos's ACLs (--acls: inline JSON or a file, reloaded on change) that decide
	// what each principal sees of the agent (view_frameworks, view_executors, view_tasks)
	// and whose sandboxes it may read (access_sandboxes); "" allows everything.
	ACLs string
	// SwitchUser runs executors and tasks as their user (CommandInfo.user, else
	// FrameworkInfo.user: its uid, gid and supplementary groups; the sandbox is theirs) when
	// the agent runs as root, as Mesos's --switch_user; false runs them as the agent's user.
	SwitchUser bool
	// TLS is the agent's TLS setting (--tls_*): handed to executors (LIBPROCESS_SSL_*) so
	// that they reach the agent over HTTPS; MasterTLS, when set, makes the connection to the
	// master HTTPS.
	TLS       tlsconfig.Config
	MasterTLS *tls.Config
	// ShutdownExecutorsOnExit makes Run shut down every executor before it returns. Off by
	// default: executors and their tasks outlive the agent process, and a restarted agent
	// recovers them (`agora local` turns it on so that Ctrl-C stops the tasks too).
	ShutdownExecutorsOnExit bool
	// StatusUpdate is the retry policy of status updates.
	StatusUpdate statusupdate.Config
	// Recover is what a starting agent does with the checkpoints of a previous run:
	// RecoverReconnect adopts live executors and re-registers with the same agent id;
	// RecoverCleanup kills every executor it finds and registers as a new agent.
	Recover string
	// ExecutorReregistrationTimeout is how long a recovered executor has to subscribe again
	// before it is killed and its tasks are failed.
	ExecutorReregistrationTimeout time.Duration
	// BootIDPath is where the host's boot id is read (a changed boot id means the host
	// rebooted: the agent starts fresh). Tests point it at a file.
	BootIDPath string
	// Isolation lists the isolators (Mesos names): "cgroups/cpu,cgroups/mem" (default) puts
	// every executor container in a cgroup with CPU and memory limits where the host allows;
	// "posix/cpu,posix/mem" (or "none") runs without limits.
	Isolation string
	// CgroupsRoot is the cgroup under which every container gets one (<root>/<container_id>).
	CgroupsRoot string
	// CgroupsEnableCFS adds a CFS quota (a hard cap of cpus × 100ms per 100ms) to the CPU shares.
	CgroupsEnableCFS bool
	// GCDelay is how long the sandbox and checkpoints of a finished executor (or removed
	// framework) are kept on an empty disk; the allowed age shrinks as the disk fills:
	// GCDelay × max(0, 1 − GCDiskHeadroom − disk usage) (Mesos's --gc_delay).
	GCDelay time.Duration
	// GCDiskHeadroom is the fraction (0..1) of the work dir's disk to keep free: at that
	// usage every finished sandbox goes at once (Mesos's --gc_disk_headroom).
	GCDiskHeadroom float64
	// DiskWatchInterval is how often the disk usage of the work dir is checked for GC.
	DiskWatchInterval time.Duration
	// Version is reported to the master.
	Version string
	// Flags are the settings the agent was started with, by flag name, as the operator
	// API's GET_FLAGS shows them.
	Flags map[string]string
	// LogLevel is the process logger's level, which /logging/toggle and SET_LOGGING_LEVEL
	// change for a while; nil: they answer 501.
	LogLevel *loglevel.Toggle
	// AccessControlAllowOrigin are the origins whose pages may call the agent's APIs
	// from a browser (--access_control_allow_origin): the master's web UI reads
	// sandboxes through the files API from the master's origin. The zero Policy
	// allows none.
	AccessControlAllowOrigin cors.Policy
}

// DefaultConfig returns the Mesos defaults.
func DefaultConfig() Config {
	return Config{
		WorkDir:                     "/var/lib/agora/agent",
		Containerizers:              []string{"process", "docker"},
		ExecutorHost:                true,
		SwitchUser:                  true,
		ExecutorRegistrationTimeout: time.Minute,
		ExecutorShutdownGracePeriod: 5 * time.Second,
		ExecutorHeartbeatInterval:   30 * time.Second,
		LaunchConcurrency:           8 * runtime.NumCPU(),
		RegistrationBackoffMin:      100 * time.Millisecond,
		RegistrationBackoffMax:      10 * time.Second,
		StatusUpdate:                statusupdate.DefaultConfig(),
		Version:                     "dev",

		Recover:                       RecoverReconnect,
		ExecutorReregistrationTimeout: 5 * time.Second,
		BootIDPath:                    "/proc/sys/kernel/random/boot_id",
		Isolation:                     "cgroups/cpu,cgroups/mem",
		CgroupsRoot:                   "agora",
		GCDelay:                       7 * 24 * time.Hour,
		GCDiskHeadroom:                0.1,
		DiskWatchInterval:             time.Minute,
	}
}

// Recovery modes (Config.Recover, --recover).
const (
	RecoverReconnect = "reconnect"
	RecoverCleanup   = "cleanup"
)

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	switch {
	case c.MasterDetector != nil:
	case c.Master == "":
		errs = append(errs, errors.New("agent: master must be set (host:port or http://host:port)"))
	default:
		if _, err := registration.MasterURL(c.Master); err != nil {
			errs = append(errs, err)
		}
	}
	if c.WorkDir == "" {
		errs = append(errs, errors.New("agent: work_dir must be set"))
	}
	for _, cz := range c.Containerizers {
		if cz != "process" && cz != "docker" {
			errs = append(errs, fmt.Errorf("agent: containerizers: unsupported %q (supported: process, docker)", cz))
		}
	}
	if len(c.Containerizers) == 0 {
		errs = append(errs, errors.New("agent: containerizers must not be empty"))
	}
	if c.HTTPCredentials == "" && (c.AuthenticateHTTPReadOnly || c.AuthenticateHTTPReadWrite) {
		errs = append(errs, errors.New("agent: --authenticate_http_readonly and --authenticate_http_readwrite need --http_credentials"))
	}
	if c.ExecutorRegistrationTimeout <= 0 {
		errs = append(errs, errors.New("agent: executor_registration_timeout must be positive"))
	}
	if c.ExecutorShutdownGracePeriod <= 0 {
		errs = append(errs, errors.New("agent: executor_shutdown_grace_period must be positive"))
	}
	if c.ExecutorHeartbeatInterval <= 0 {
		errs = append(errs, errors.New("agent: executor heartbeat interval must be positive"))
	}
	if c.LaunchConcurrency <= 0 {
		errs = append(errs, errors.New("agent: launch_concurrency must be positive"))
	}
	if c.RegistrationBackoffMin <= 0 || c.RegistrationBackoffMax < c.RegistrationBackoffMin {
		errs = append(errs, errors.New("agent: registration back-off must be positive with max >= min"))
	}
	if c.Recover != RecoverReconnect && c.Recover != RecoverCleanup {
		errs = append(errs, fmt.Errorf("agent: recover: %q is not %q or %q", c.Recover, RecoverReconnect, RecoverCleanup))
	}
	for _, iso := range strings.Split(c.Isolation, ",") {
		switch strings.TrimSpace(iso) {
		case "cgroups/cpu", "cgroups/mem", "posix/cpu", "posix/mem", "none", "":
		default:
			errs = append(errs, fmt.Errorf("agent: isolation: unsupported %q (supported: cgroups/cpu, cgroups/mem, posix/cpu, posix/mem, none)", iso))
		}
	}
	if c.isolation().CgroupsEnabled() && c.CgroupsRoot == "" {
		errs = append(errs, errors.New("agent: cgroups_root must be set"))
	}
	if c.ExecutorReregistrationTimeout <= 0 {
		errs = append(errs, errors.New("agent: executor_reregistration_timeout must be positive"))
	}
	if c.GCDelay <= 0 {
		errs = append(errs, errors.New("agent: gc_delay must be positive"))
	}
	if c.GCDiskHeadroom < 0 || c.GCDiskHeadroom > 1 {
		errs = append(errs, fmt.Errorf("agent: gc_disk_headroom: %v is not between 0 and 1", c.GCDiskHeadroom))
	}
	if c.DiskWatchInterval <= 0 {
		errs = append(errs, errors.New("agent: disk_watch_interval must be positive"))
	}
	if err := c.StatusUpdate.Validate(); err != nil {
		errs = append(errs, err)
	}
	if _, err := gpu.ParseIndices(c.NvidiaGPUDevices); err != nil {
		errs = append(errs, fmt.Errorf("agent: %w", err))
	}
	return errors.Join(errs...)
}

// isolation is the isolator's part of the configuration.
func (c Config) isolation() isolation.Config {
	return isolation.Config{Isolation: c.Isolation, CgroupsRoot: c.CgroupsRoot, CgroupsEnableCFS: c.CgroupsEnableCFS}
}

// containerizerEnabled reports whether name is listed in --containerizers.
func (c Config) containerizerEnabled(name string) bool {
	return slices.Contains(c.Containerizers, name)
}

func (c Config) executorBinary() (string, error) {
	if c.ExecutorBinary != "" {
		return c.ExecutorBinary, nil
	}
	return os.Executable()
}
