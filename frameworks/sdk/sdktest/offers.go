package sdktest

import (
	"fmt"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
	"google.golang.org/protobuf/proto"
)

// NewOffer returns an offer of res ("cpus:1;mem:128;ports:[31000-31009]") from agentID to
// the master's current framework; the agent's hostname is agentID + ".test". It panics on
// a malformed res (tests write it by hand).
func (m *Master) NewOffer(id, agentID, res string) *mesos.Offer {
	r, err := resources.Parse(res, "*")
	if err != nil {
		panic(fmt.Sprintf("sdktest: offer resources %q: %v", res, err))
	}
	m.mu.Lock()
	fid := m.frameworkID
	m.mu.Unlock()
	return &mesos.Offer{
		Id:          &mesos.OfferID{Value: proto.String(id)},
		FrameworkId: &mesos.FrameworkID{Value: proto.String(fid)},
		AgentId:     &mesos.AgentID{Value: proto.String(agentID)},
		Hostname:    proto.String(agentID + ".test"),
		Resources:   r.ToProto(),
	}
}

// NewStatus returns a task status from agentID; a non-empty uuid asks for an
// acknowledgement.
func NewStatus(taskID, agentID string, state mesos.TaskState, uuid []byte) *mesos.TaskStatus {
	return &mesos.TaskStatus{
		TaskId:  &mesos.TaskID{Value: proto.String(taskID)},
		AgentId: &mesos.AgentID{Value: proto.String(agentID)},
		State:   state.Enum(),
		Source:  mesos.TaskStatus_SOURCE_EXECUTOR.Enum(),
		Uuid:    uuid,
	}
}
