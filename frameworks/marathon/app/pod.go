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
	Scaling           PodScaling        `json:"scaling"`
	Scheduling        PodScheduling     `json:"scheduling"`
	ExecutorResources PodResources      `json:"executorResources"`
}

// PodContainer is one container of a pod (one task of the group).
type PodContainer struct {
	Name         string           `json:"name"`
	Resources    PodResources     `json:"resources"`
	Exec         *PodExec         `json:"exec,omitempty"`
	HealthCheck  *PodHealthCheck  `json:"healthCheck,omitempty"`
	VolumeMounts []PodVolumeMount `json:"volumeMounts,omitempty"`
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

// PodHealthCheck is a container's COMMAND health check (exec), with Marathon's pod timings.
type PodHealthCheck struct {
	Exec                   *PodExec `json:"exec,omitempty"`
	GracePeriodSeconds     int      `json:"gracePeriodSeconds"`
	IntervalSeconds        int      `json:"intervalSeconds"`
	MaxConsecutiveFailures int      `json:"maxConsecutiveFailures"`
	TimeoutSeconds         int      `json:"timeoutSeconds"`
	DelaySeconds           int      `json:"delaySeconds"`
}

// PodVolume is an ephemeral volume: a directory of the executor's sandbox shared by the
// containers that mount it.
type PodVolume struct {
	Name string `json:"name"`
}

// PodVolumeMount mounts a pod volume into a container at MountPath (relative to the
// container's sandbox: containers without an image run on the host's filesystem).
type PodVolumeMount struct {
	Name      string `json:"name"`
	MountPath string `json:"mountPath"`
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
