package workload

import mesos "github.com/agoracluster/agora/proto/mesos/v1"

// Viewer decides what one caller may see of the workload (the view ACLs): a framework,
// then each executor and task under it. The renderings of /state, /monitor/statistics and
// the operator API leave out what it refuses, as Mesos's agent does.
type Viewer interface {
	Framework(fw *mesos.FrameworkInfo) bool
	Executor(fw *mesos.FrameworkInfo, ex *mesos.ExecutorInfo) bool
	Task(fw *mesos.FrameworkInfo, t *mesos.Task) bool
}

// All sees everything (no ACLs).
type All struct{}

func (All) Framework(*mesos.FrameworkInfo) bool                     { return true }
func (All) Executor(*mesos.FrameworkInfo, *mesos.ExecutorInfo) bool { return true }
func (All) Task(*mesos.FrameworkInfo, *mesos.Task) bool             { return true }
