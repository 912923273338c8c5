package app

import (
	"encoding/json"
)

// Pod is a pod definition (Marathon's /v2/pods): containers that run together, as one
// task group under the agent's default executor. An app whose Pod is set is the loop's
// record of a pod: its resources, instances, constraints and upgrade strategy are derived
// from the pod (see package pod), so that deployments, scaling and versions work for pods
// as for apps. Package pod decodes, validates and launches pods.
type Pod struct {
	ID                string            `json:"id"`
	Labels            map[string]string `json:"labels,omitempty"`
	Version           string            `json:"version,omitempty"`
	Containers        []PodContainer    `json:"containers"`
	Volumes           []PodVolume       `json:"volumes,omitempty"`
	Networks          []PodNetwork      `json:"networks,omitempty"`
	User              string            `json:"user,omitempty"`
	Environment       map[string]string `json:"environment,omitempty"`
	Scaling           PodScaling        `json:"scaling"`
	Scheduling        PodScheduling     `json:"scheduling"`
	ExecutorResources PodResources      `json:"executorResources"`
}

// PodContainer is one container of a pod (one task of the group).
type PodContainer struct {
	Name         string            `json:"name"`
	Resources    PodResources      `json:"resources"`
	Exec         *PodExec          `json:"exec,omitempty"`
	Endpoints    []PodEndpoint     `json:"endpoints,omitempty"`
	Environment  map[string]string `json:"environment,omitempty"`
	User         string            `json:"user,omitempty"` // overrides the pod's
	HealthCheck  *PodHealthCheck   `json:"healthCheck,omitempty"`
	VolumeMounts []PodVolumeMount  `json:"volumeMounts,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	Lifecycle    *PodLifecycle     `json:"lifecycle,omitempty"`
}

// PodEndpoint is a port a container listens on. On the host's network (the only one pods
// join yet) it is a host port taken from the offer: HostPort, or any port when 0. Every
// container of the instance gets ENDPOINT_<NAME> with the port.
type PodEndpoint struct {
	Name     string            `json:"name"`
	HostPort int               `json:"hostPort"`
	Protocol []string          `json:"protocol,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
}

// PodLifecycle is how a container is stopped: SIGTERM, then SIGKILL after
// KillGracePeriodSeconds (the default executor's grace period when unset).
type PodLifecycle struct {
	KillGracePeriodSeconds *float64 `json:"killGracePeriodSeconds,omitempty"`
}

// PodResources are a container's (or the executor's) resources: cpus, mem and disk in MiB.
type PodResources struct {
	Cpus float64 `json:"cpus"`
	Mem  float64 `json:"mem"`
	Disk float64 `json:"disk"`
}

// PodExec is what a container runs.
type PodExec struct {
	Command PodCommand `json:"command"`
}

// PodCommand is a shell command.
type PodCommand struct {
	Shell string `json:"shell"`
}

// PodHealthCheck is a container's health check, run by the default executor: an HTTP(S)
// GET or a TCP connection to one of the container's endpoints, or a command (exec); one of
// the three, with Marathon's pod timings.
type PodHealthCheck struct {
	HTTP                   *PodHTTPCheck `json:"http,omitempty"`
	TCP                    *PodTCPCheck  `json:"tcp,omitempty"`
	Exec                   *PodExec      `json:"exec,omitempty"`
	GracePeriodSeconds     int           `json:"gracePeriodSeconds"`
	IntervalSeconds        int           `json:"intervalSeconds"`
	MaxConsecutiveFailures int           `json:"maxConsecutiveFailures"`
	TimeoutSeconds         int           `json:"timeoutSeconds"`
	DelaySeconds           int           `json:"delaySeconds"`
}

// PodHTTPCheck GETs Path of the container's endpoint Endpoint (Scheme HTTP or HTTPS); a
// status in 200…399 is healthy.
type PodHTTPCheck struct {
	Endpoint string `json:"endpoint"`
	Path     string `json:"path,omitempty"`
	Scheme   string `json:"scheme,omitempty"`
}

// PodTCPCheck connects to the container's endpoint Endpoint.
type PodTCPCheck struct {
	Endpoint string `json:"endpoint"`
}

// PodVolume is a volume the pod's containers may mount: ephemeral (a directory of the
// executor's sandbox, gone with the instance) or, with Host, a directory of the agent's.
type PodVolume struct {
	Name string `json:"name"`
	Host string `json:"host,omitempty"` // an absolute path on the agent
}

// PodVolumeMount mounts a pod volume into a container at MountPath (relative to the
// container's sandbox: containers without an image run on the host's filesystem).
type PodVolumeMount struct {
	Name      string `json:"name"`
	MountPath string `json:"mountPath"`
	ReadOnly  bool   `json:"readOnly,omitempty"`
}

// PodNetwork is one network of a pod; only the host's ("host") is supported.
type PodNetwork struct {
	Mode string `json:"mode"`
}

// PodScaling is the number of instances.
type PodScaling struct {
	Kind      string `json:"kind"`
	Instances int    `json:"instances"`
}

// PodScheduling is where and how the pod's instances are placed and replaced.
type PodScheduling struct {
	Upgrade   PodUpgrade   `json:"upgrade"`
	Placement PodPlacement `json:"placement"`
}

// PodUpgrade is the pod's upgrade strategy (as an app's upgradeStrategy).
type PodUpgrade struct {
	MinimumHealthCapacity float64 `json:"minimumHealthCapacity"`
	MaximumOverCapacity   float64 `json:"maximumOverCapacity"`
}

// PodPlacement holds the pod's placement constraints.
type PodPlacement struct {
	Constraints []PodConstraint `json:"constraints"`
}

// PodConstraint is one placement constraint in the pod API's object form; it means what
// an app's ["fieldName", "operator", "value"] means.
type PodConstraint struct {
	FieldName string `json:"fieldName"`
	Operator  string `json:"operator"`
	Value     string `json:"value,omitempty"`
}

// Marathon's defaults for pods.
const (
	DefaultPodCpus                   = 0.1
	DefaultPodMem                    = 32.0
	DefaultPodGracePeriodSeconds     = 300
	DefaultPodIntervalSeconds        = 60
	DefaultPodMaxConsecutiveFailures = 3
	DefaultPodTimeoutSeconds         = 20
	DefaultPodDelaySeconds           = 2
	// The default executor's own resources in every instance.
	DefaultPodExecutorCpus = 0.1
	DefaultPodExecutorMem  = 32.0
	DefaultPodExecutorDisk = 10.0
)

// UnmarshalJSON fills Marathon's defaults for what the JSON leaves out.
func (p *Pod) UnmarshalJSON(b []byte) error {
	type plain Pod
	v := plain{
		Scaling:           PodScaling{Kind: "fixed", Instances: 1},
		Scheduling:        PodScheduling{Upgrade: PodUpgrade{MinimumHealthCapacity: 1, MaximumOverCapacity: 1}},
		ExecutorResources: PodResources{Cpus: DefaultPodExecutorCpus, Mem: DefaultPodExecutorMem, Disk: DefaultPodExecutorDisk},
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = Pod(v)
	return nil
}

// UnmarshalJSON fills Marathon's default resources when the JSON gives none.
func (c *PodContainer) UnmarshalJSON(b []byte) error {
	type plain PodContainer
	v := plain{Resources: PodResources{Cpus: DefaultPodCpus, Mem: DefaultPodMem}}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*c = PodContainer(v)
	return nil
}

// UnmarshalJSON fills Marathon's defaults for what the JSON leaves out.
func (s *PodScaling) UnmarshalJSON(b []byte) error {
	type plain PodScaling
	v := plain{Kind: "fixed", Instances: 1}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = PodScaling(v)
	return nil
}

// UnmarshalJSON fills Marathon's defaults for what the JSON leaves out.
func (u *PodUpgrade) UnmarshalJSON(b []byte) error {
	type plain PodUpgrade
	v := plain{MinimumHealthCapacity: 1, MaximumOverCapacity: 1}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*u = PodUpgrade(v)
	return nil
}

// UnmarshalJSON fills Marathon's defaults for what the JSON leaves out.
func (h *PodHealthCheck) UnmarshalJSON(b []byte) error {
	type plain PodHealthCheck
	v := plain{GracePeriodSeconds: DefaultPodGracePeriodSeconds, IntervalSeconds: DefaultPodIntervalSeconds,
		MaxConsecutiveFailures: DefaultPodMaxConsecutiveFailures, TimeoutSeconds: DefaultPodTimeoutSeconds, DelaySeconds: DefaultPodDelaySeconds}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*h = PodHealthCheck(v)
	return nil
}

// UnmarshalJSON fills Marathon's default protocol, tcp, when the JSON gives none.
func (e *PodEndpoint) UnmarshalJSON(b []byte) error {
	type plain PodEndpoint
	var v plain
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if len(v.Protocol) == 0 {
		v.Protocol = []string{"tcp"}
	}
	*e = PodEndpoint(v)
	return nil
}

// UnmarshalJSON fills Marathon's default cpus and mem when the JSON leaves them out.
func (r *PodResources) UnmarshalJSON(b []byte) error {
	type plain PodResources
	v := plain{Cpus: DefaultPodCpus, Mem: DefaultPodMem}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = PodResources(v)
	return nil
}

// HostPorts lists the host port each endpoint asks for (0: any port of the offer),
// container by container in the pod's order: the order of an instance's ports.
func (p *Pod) HostPorts() []int {
	var out []int
	for _, c := range p.Containers {
		for _, e := range c.Endpoints {
			out = append(out, e.HostPort)
		}
	}
	return out
}
