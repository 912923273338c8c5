package pod

import (
	"strings"

	"github.com/agoracluster/agora/frameworks/marathon/app"
)

// AsApp is the loop's record of pod: an app that carries the pod, with the instances,
// resources (all containers' and the executor's, as one instance asks for them),
// constraints and upgrade strategy the planner and the offer matching read. Its health
// check stands for the containers' own: an instance is healthy when each of its checked
// containers is (see Aggregate).
func AsApp(pod *Pod) *app.App {
	a := app.Default()
	a.ID = pod.ID
	a.Pod = pod
	a.Instances = pod.Scaling.Instances
	a.Cpus, a.Mem, a.Disk = pod.ExecutorResources.Cpus, pod.ExecutorResources.Mem, pod.ExecutorResources.Disk
	for _, c := range pod.Containers {
		a.Cpus += c.Resources.Cpus
		a.Mem += c.Resources.Mem
		a.Disk += c.Resources.Disk
		if c.HealthCheck != nil && len(a.HealthChecks) == 0 {
			a.HealthChecks = []app.HealthCheck{{Protocol: "COMMAND"}}
		}
	}
	a.Gpus = 0
	a.Env = map[string]string{}
	a.Labels = pod.Labels
	if a.Labels == nil {
		a.Labels = map[string]string{}
	}
	a.Networks = []app.Network{{Mode: app.NetworkHost}}
	a.PortDefinitions = []app.PortDefinition{}
	a.UpgradeStrategy = app.UpgradeStrategy{
		MinimumHealthCapacity: pod.Scheduling.Upgrade.MinimumHealthCapacity,
		MaximumOverCapacity:   pod.Scheduling.Upgrade.MaximumOverCapacity,
	}
	for _, c := range pod.Scheduling.Placement.Constraints {
		a.Constraints = append(a.Constraints, ConstraintArray(c))
	}
	return &a
}

// Containers lists the names of pod's containers and, in the same order, whether each
// has a health check.
func Containers(pod *Pod) (names []string, checked []bool) {
	for _, c := range pod.Containers {
		names = append(names, c.Name)
		checked = append(checked, c.HealthCheck != nil)
	}
	return names, checked
}

// InstanceOf splits the id of a pod container's task, <instance id>.<container name>,
// into the instance's id and the container's name.
func InstanceOf(taskID string) (instanceID, container string, ok bool) {
	i := strings.LastIndexByte(taskID, '.')
	if i <= 0 || i == len(taskID)-1 {
		return "", "", false
	}
	return taskID[:i], taskID[i+1:], true
}
