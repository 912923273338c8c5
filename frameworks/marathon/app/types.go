package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Defaults that Marathon 1.x applies to fields that a definition leaves out.
const (
	DefaultCpus                  = 1.0
	DefaultMem                   = 128.0
	DefaultDisk                  = 0.0
	DefaultGpus                  = 0
	DefaultInstances             = 1
	DefaultBackoffSeconds        = 1
	DefaultBackoffFactor         = 1.15
	DefaultMaxLaunchDelaySeconds = 300 // Marathon >= 1.5 (1.0-1.4 used 3600)
	DefaultMinimumHealthCapacity = 1.0
	DefaultMaximumOverCapacity   = 1.0
	DefaultNetworkMode           = NetworkHost

	KillYoungestFirst = "YOUNGEST_FIRST"
	KillOldestFirst   = "OLDEST_FIRST"

	ContainerDocker = "DOCKER"
	ContainerMesos  = "MESOS"

	NetworkHost      = "host"
	NetworkBridge    = "container/bridge"
	NetworkContainer = "container"
)

// App is a Marathon app definition. Field names and JSON types are
// Marathon's; fields that Marathon renders even when empty have no omitempty.
type App struct {
	ID                         string              `json:"id"`
	Cmd                        *string             `json:"cmd,omitempty"`
	Args                       []string            `json:"args,omitempty"`
	User                       string              `json:"user,omitempty"`
	Env                        map[string]string   `json:"env"`
	Instances                  int                 `json:"instances"`
	Cpus                       float64             `json:"cpus"`
	Mem                        float64             `json:"mem"`
	Disk                       float64             `json:"disk"`
	Gpus                       int                 `json:"gpus"`
	Executor                   string              `json:"executor"`
	Constraints                [][]string          `json:"constraints"`
	Fetch                      []Artifact          `json:"fetch"`
	BackoffSeconds             int                 `json:"backoffSeconds"`
	BackoffFactor              float64             `json:"backoffFactor"`
	MaxLaunchDelaySeconds      int                 `json:"maxLaunchDelaySeconds"`
	Container                  *Container          `json:"container,omitempty"`
	HealthChecks               []HealthCheck       `json:"healthChecks"`
	ReadinessChecks            []ReadinessCheck    `json:"readinessChecks"`
	Dependencies               []string            `json:"dependencies"`
	UpgradeStrategy            UpgradeStrategy     `json:"upgradeStrategy"`
	Labels                     map[string]string   `json:"labels"`
	AcceptedResourceRoles      []string            `json:"acceptedResourceRoles,omitempty"`
	Role                       string              `json:"role,omitempty"`
	RequirePorts               bool                `json:"requirePorts"`
	Networks                   []Network           `json:"networks"`
	PortDefinitions            []PortDefinition    `json:"portDefinitions"`
	KillSelection              string              `json:"killSelection"`
	UnreachableStrategy        UnreachableStrategy `json:"unreachableStrategy"`
	TaskKillGracePeriodSeconds *int                `json:"taskKillGracePeriodSeconds,omitempty"`
	Version                    string              `json:"version,omitempty"`
	VersionInfo                *VersionInfo        `json:"versionInfo,omitempty"`
	// Pod is set when the app is the loop's record of a pod (see Pod); such an app is
	// served by /v2/pods, never as an app.
	Pod *Pod `json:"pod,omitempty"`
}

// Artifact is one entry of "fetch" (the Mesos fetcher URI).
type Artifact struct {
	URI        string `json:"uri"`
	Extract    bool   `json:"extract"`
	Executable bool   `json:"executable"`
	Cache      bool   `json:"cache"`
	DestPath   string `json:"destPath,omitempty"`
}

// Container is "container": a Docker or Mesos container.
type Container struct {
	Type         string        `json:"type"`
	Docker       *Docker       `json:"docker,omitempty"`
	Volumes      []Volume      `json:"volumes"`
	PortMappings []PortMapping `json:"portMappings,omitempty"`
}

// Docker is "container.docker". Network and PortMappings are the pre-1.5
// locations; decoding moves them to App.Networks and Container.PortMappings.
type Docker struct {
	Image          string        `json:"image"`
	Network        string        `json:"network,omitempty"`
	PortMappings   []PortMapping `json:"portMappings,omitempty"`
	Privileged     bool          `json:"privileged"`
	Parameters     []DockerParam `json:"parameters"`
	ForcePullImage bool          `json:"forcePullImage"`
}

// DockerParam is one "docker run" option.
type DockerParam struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Volume is a host volume mounted into the container.
type Volume struct {
	ContainerPath string `json:"containerPath"`
	HostPath      string `json:"hostPath,omitempty"`
	Mode          string `json:"mode"`
}

// PortMapping maps a container port to a host port (0 = from the offer).
// HostPort is a pointer: absent means "no host port" on container networks.
type PortMapping struct {
	ContainerPort int               `json:"containerPort"`
	HostPort      *int              `json:"hostPort,omitempty"`
	ServicePort   int               `json:"servicePort"`
	Protocol      string            `json:"protocol"`
	Name          string            `json:"name,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
}

// Network is one entry of "networks".
type Network struct {
	Mode   string            `json:"mode"`
	Name   string            `json:"name,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
}

// PortDefinition is one host port for host networking (0 = from the offer).
type PortDefinition struct {
	Port     int               `json:"port"`
	Protocol string            `json:"protocol"`
	Name     string            `json:"name,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
}

// HealthCheck is one entry of "healthChecks".
type HealthCheck struct {
	Protocol               string     `json:"protocol"`
	Path                   string     `json:"path,omitempty"`
	PortIndex              *int       `json:"portIndex,omitempty"`
	Port                   *int       `json:"port,omitempty"`
	Command                *HealthCmd `json:"command,omitempty"`
	GracePeriodSeconds     int        `json:"gracePeriodSeconds"`
	IntervalSeconds        int        `json:"intervalSeconds"`
	TimeoutSeconds         int        `json:"timeoutSeconds"`
	MaxConsecutiveFailures int        `json:"maxConsecutiveFailures"`
	DelaySeconds           int        `json:"delaySeconds"`
	IgnoreHTTP1xx          bool       `json:"ignoreHttp1xx,omitempty"`
}

// HealthCmd is the command of a COMMAND health check.
type HealthCmd struct {
	Value string `json:"value"`
}

// ReadinessCheck is one entry of "readinessChecks".
type ReadinessCheck struct {
	Name                    string `json:"name"`
	Protocol                string `json:"protocol"`
	Path                    string `json:"path"`
	PortName                string `json:"portName"`
	IntervalSeconds         int    `json:"intervalSeconds"`
	TimeoutSeconds          int    `json:"timeoutSeconds"`
	HTTPStatusCodesForReady []int  `json:"httpStatusCodesForReady"`
	PreserveLastResponse    bool   `json:"preserveLastResponse"`
}

// UpgradeStrategy bounds capacity during a rolling restart.
type UpgradeStrategy struct {
	MinimumHealthCapacity float64 `json:"minimumHealthCapacity"`
	MaximumOverCapacity   float64 `json:"maximumOverCapacity"`
}

// VersionInfo tells when the app was last scaled and last changed in a way
// that restarts its tasks.
type VersionInfo struct {
	LastScalingAt      string `json:"lastScalingAt"`
	LastConfigChangeAt string `json:"lastConfigChangeAt"`
}

// UnreachableStrategy is either "disabled" or the two timeouts.
type UnreachableStrategy struct {
	Disabled             bool
	InactiveAfterSeconds int64
	ExpungeAfterSeconds  int64
}

// MarshalJSON renders "disabled" or {"inactiveAfterSeconds":…,"expungeAfterSeconds":…}.
func (u UnreachableStrategy) MarshalJSON() ([]byte, error) {
	if u.Disabled {
		return []byte(`"disabled"`), nil
	}
	return []byte(fmt.Sprintf(`{"inactiveAfterSeconds":%d,"expungeAfterSeconds":%d}`,
		u.InactiveAfterSeconds, u.ExpungeAfterSeconds)), nil
}

// UnmarshalJSON accepts both forms; absent timeouts take Marathon's defaults (0).
func (u *UnreachableStrategy) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s != "disabled" {
			return &json.UnmarshalTypeError{Value: "string " + s, Type: unreachableType}
		}
		*u = UnreachableStrategy{Disabled: true}
		return nil
	}
	var v struct {
		Inactive *int64 `json:"inactiveAfterSeconds"`
		Expunge  *int64 `json:"expungeAfterSeconds"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*u = UnreachableStrategy{}
	if v.Inactive != nil {
		u.InactiveAfterSeconds = *v.Inactive
	}
	if v.Expunge != nil {
		u.ExpungeAfterSeconds = *v.Expunge
	}
	return nil
}

// FormatTime renders t as Marathon writes timestamps: ISO-8601 UTC with milliseconds.
func FormatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// ParseTime parses a Marathon timestamp (any RFC 3339 form is accepted).
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("app: bad timestamp %q: %w", s, err)
	}
	return t.UTC(), nil
}
