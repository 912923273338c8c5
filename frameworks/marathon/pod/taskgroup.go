package pod

import (
	"fmt"
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
)

// TaskGroup is one instance of pod as a LAUNCH_GROUP: a DEFAULT executor (no command: the
// agent runs its default executor) whose sandbox holds the pod's ephemeral volumes
// (volumes/<name>, mounted at <name>), and one task per container, with the volumes it
// mounts linked at their mountPath (SANDBOX_PATH, PARENT). Task ids are
// <instanceID>.<container name>; the caller fills in the agent id.
func TaskGroup(pod *Pod, instanceID string) (*mesos.ExecutorInfo, []*mesos.TaskInfo) {
	labels := labelsOf(pod.Labels)
	ex := &mesos.ExecutorInfo{
		Type:       mesos.ExecutorInfo_DEFAULT.Enum(),
		ExecutorId: &mesos.ExecutorID{Value: proto.String(ExecutorID(instanceID))},
		Name:       proto.String(fmt.Sprintf("pod %s (instance %s)", pod.ID, instanceID)),
		Resources:  resourcesOf(pod.ExecutorResources).ToProto(),
		Labels:     labels,
	}
	if len(pod.Volumes) > 0 {
		ex.Container = &mesos.ContainerInfo{Type: mesos.ContainerInfo_MESOS.Enum()}
		for _, v := range pod.Volumes {
			ex.Container.Volumes = append(ex.Container.Volumes, sandboxVolume(v.Name, mesos.Volume_Source_SandboxPath_SELF, "volumes/"+v.Name))
		}
	}
	tasks := make([]*mesos.TaskInfo, 0, len(pod.Containers))
	for _, c := range pod.Containers {
		t := &mesos.TaskInfo{
			Name:      proto.String(c.Name),
			TaskId:    &mesos.TaskID{Value: proto.String(instanceID + "." + c.Name)},
			Resources: resourcesOf(c.Resources).ToProto(),
			Command:   &mesos.CommandInfo{Shell: proto.Bool(true), Value: proto.String(c.Exec.Command.Shell)},
			Labels:    labels,
		}
		if len(c.VolumeMounts) > 0 {
			t.Container = &mesos.ContainerInfo{Type: mesos.ContainerInfo_MESOS.Enum()}
			for _, m := range c.VolumeMounts {
				t.Container.Volumes = append(t.Container.Volumes, sandboxVolume(m.MountPath, mesos.Volume_Source_SandboxPath_PARENT, m.Name))
			}
		}
		if hc := c.HealthCheck; hc != nil {
			t.HealthCheck = &mesos.HealthCheck{
				Type:                mesos.HealthCheck_COMMAND.Enum(),
				Command:             &mesos.CommandInfo{Shell: proto.Bool(true), Value: proto.String(hc.Exec.Command.Shell)},
				DelaySeconds:        proto.Float64(float64(hc.DelaySeconds)),
				IntervalSeconds:     proto.Float64(float64(hc.IntervalSeconds)),
				TimeoutSeconds:      proto.Float64(float64(hc.TimeoutSeconds)),
				GracePeriodSeconds:  proto.Float64(float64(hc.GracePeriodSeconds)),
				ConsecutiveFailures: proto.Uint32(uint32(hc.MaxConsecutiveFailures)),
			}
		}
		tasks = append(tasks, t)
	}
	return ex, tasks
}

// ExecutorID is the id of the default executor that runs the instance instanceID, as
// Marathon names it: instance-<instance id>.
func ExecutorID(instanceID string) string { return "instance-" + instanceID }

func sandboxVolume(containerPath string, typ mesos.Volume_Source_SandboxPath_Type, path string) *mesos.Volume {
	return &mesos.Volume{
		Mode:          mesos.Volume_RW.Enum(),
		ContainerPath: proto.String(containerPath),
		Source: &mesos.Volume_Source{Type: mesos.Volume_Source_SANDBOX_PATH.Enum(),
			SandboxPath: &mesos.Volume_Source_SandboxPath{Type: typ.Enum(), Path: proto.String(path)}},
	}
}

func labelsOf(m map[string]string) *mesos.Labels {
	if len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	l := &mesos.Labels{}
	for _, k := range keys {
		l.Labels = append(l.Labels, &mesos.Label{Key: proto.String(k), Value: proto.String(m[k])})
	}
	return l
}

// resourcesOf is r as scalar resources (those that are zero left out).
func resourcesOf(r Resources) resources.Resources {
	var parts []string
	for _, s := range []struct {
		name string
		v    float64
	}{{"cpus", r.Cpus}, {"mem", r.Mem}, {"disk", r.Disk}} {
		if s.v > 0 {
			parts = append(parts, fmt.Sprintf("%s:%g", s.name, s.v))
		}
	}
	if len(parts) == 0 {
		return resources.Resources{}
	}
	return resources.MustParse(strings.Join(parts, ";"))
}
