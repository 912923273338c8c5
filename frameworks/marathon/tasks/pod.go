package tasks

import (
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/frameworks/sdk"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// PodInstance is what a Task that is one instance of a pod knows of its containers: the
// task group's tasks, each with its latest status. The instance's own state and health
// (the Task's) are the aggregate of theirs (see Aggregate).
type PodInstance struct {
	Containers []ContainerState `json:"containers"`
}

// ContainerState is one container (one task of the group) as its statuses report it.
type ContainerState struct {
	Name    string    `json:"name"`
	TaskID  string    `json:"taskId"`
	Checked bool      `json:"checked,omitempty"` // has a health check
	State   string    `json:"state"`             // the Mesos state's name (StateStaging…)
	Healthy *bool     `json:"healthy,omitempty"` // latest result of its check
	Message string    `json:"message,omitempty"`
	Since   time.Time `json:"since"` // when State last changed
	Updated time.Time `json:"updated"`
	// Endpoints are the container's endpoints with the host ports the instance got.
	Endpoints []Endpoint `json:"endpoints,omitempty"`
}

// Endpoint is a pod container's endpoint and the host port it was given.
type Endpoint struct {
	Name     string `json:"name"`
	HostPort uint64 `json:"hostPort"`
}

// NewPodInstance is a freshly launched instance: every container staging.
func NewPodInstance(instanceID string, names []string, checked []bool, now time.Time) *PodInstance {
	p := &PodInstance{}
	for i, n := range names {
		p.Containers = append(p.Containers, ContainerState{
			Name: n, TaskID: instanceID + "." + n, Checked: checked[i], State: StateStaging, Since: now, Updated: now,
		})
	}
	return p
}

// Container is the container named name; nil when the instance has none.
func (p *PodInstance) Container(name string) *ContainerState {
	for i := range p.Containers {
		if p.Containers[i].Name == name {
			return &p.Containers[i]
		}
	}
	return nil
}

// Record keeps st, the status of container c.
func (c *ContainerState) Record(st *mesos.TaskStatus, now time.Time) {
	if s := st.GetState().String(); s != c.State {
		c.State, c.Since = s, now
	}
	if st.Healthy != nil {
		h := st.GetHealthy()
		c.Healthy = &h
	}
	if st.GetMessage() != "" {
		c.Message = st.GetMessage()
	}
	c.Updated = now
}

// Live lists the containers not known to have ended.
func (p *PodInstance) Live() []ContainerState {
	var out []ContainerState
	for _, c := range p.Containers {
		if s, ok := mesos.TaskState_value[c.State]; !ok || !sdk.IsTerminal(mesos.TaskState(s)) {
			out = append(out, c)
		}
	}
	return out
}

// Aggregate is the instance's status as the framework loop takes a task's, as Marathon
// sees a pod instance: a container that finished (exit 0) is done, not gone; the instance
// ends when one container ends otherwise (failed, killed, lost: the default executor kills
// the rest of the group) or when all finished; else its state is the least advanced of the
// running containers' (RUNNING only when all run). It is healthy when every checked container's latest check passed, unhealthy
// when one failed, and says nothing of health until each checked container reported.
func (p *PodInstance) Aggregate(instanceID string, from *mesos.TaskStatus) *mesos.TaskStatus {
	st := &mesos.TaskStatus{
		TaskId:    &mesos.TaskID{Value: proto.String(instanceID)},
		AgentId:   from.GetAgentId(),
		Timestamp: from.Timestamp,
		Message:   from.Message,
		Source:    from.Source,
		Reason:    from.Reason,
	}
	rank := func(s mesos.TaskState) int {
		switch s {
		case mesos.TaskState_TASK_UNREACHABLE:
			return 0
		case mesos.TaskState_TASK_KILLING:
			return 1
		case mesos.TaskState_TASK_STAGING:
			return 2
		case mesos.TaskState_TASK_STARTING:
			return 3
		}
		return 4 // RUNNING
	}
	state, finished := mesos.TaskState_TASK_RUNNING, 0
	for _, c := range p.Containers {
		s := mesos.TaskState(mesos.TaskState_value[c.State])
		if s == mesos.TaskState_TASK_FINISHED {
			finished++
			continue
		}
		if sdk.IsTerminal(s) || s == mesos.TaskState_TASK_UNKNOWN || s == mesos.TaskState_TASK_GONE ||
			s == mesos.TaskState_TASK_GONE_BY_OPERATOR || s == mesos.TaskState_TASK_DROPPED {
			if c.Message != "" {
				st.Message = proto.String("container " + c.Name + ": " + c.Message)
			}
			st.State = s.Enum()
			return st
		}
		if rank(s) < rank(state) {
			state = s
		}
	}
	if finished == len(p.Containers) {
		state = mesos.TaskState_TASK_FINISHED
	}
	st.State = state.Enum()
	healthy, reported := true, true
	for _, c := range p.Containers {
		switch {
		case !c.Checked, c.State == StateFinished:
		case c.Healthy == nil:
			reported = false
		case !*c.Healthy:
			healthy = false
		}
	}
	if !healthy || reported && p.checkedLive() {
		st.Healthy = proto.Bool(healthy)
	}
	return st
}

// checkedLive reports whether a container with a health check has not finished.
func (p *PodInstance) checkedLive() bool {
	for _, c := range p.Containers {
		if c.Checked && c.State != StateFinished {
			return true
		}
	}
	return false
}
