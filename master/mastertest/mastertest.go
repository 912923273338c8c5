// Package mastertest builds the scheduler and agent calls that the tests of the
// master's packages send: framework infos, command tasks, LAUNCH accepts and
// status updates, as a Mesos scheduler and an Agora agent would write them.
package mastertest

import (
	"google.golang.org/protobuf/proto"

	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
	"github.com/agoracluster/agora/resources"
)

// FrameworkID, AgentID, TaskID and ExecutorID wrap ids in their messages.
func FrameworkID(id string) *mesos.FrameworkID { return &mesos.FrameworkID{Value: proto.String(id)} }
func AgentID(id string) *mesos.AgentID         { return &mesos.AgentID{Value: proto.String(id)} }
func TaskID(id string) *mesos.TaskID           { return &mesos.TaskID{Value: proto.String(id)} }
func ExecutorID(id string) *mesos.ExecutorID   { return &mesos.ExecutorID{Value: proto.String(id)} }

// FrameworkInfo is a framework of user root with the given capabilities.
func FrameworkInfo(name string, caps ...mesos.FrameworkInfo_Capability_Type) *mesos.FrameworkInfo {
	info := &mesos.FrameworkInfo{User: proto.String("root"), Name: proto.String(name)}
	for _, c := range caps {
		info.Capabilities = append(info.Capabilities, &mesos.FrameworkInfo_Capability{Type: c.Enum()})
	}
	return info
}

// CommandTask is a task running "sleep 100" with res (in the Mesos text form).
func CommandTask(id, agentID, res string) *mesos.TaskInfo {
	return &mesos.TaskInfo{
		Name:      proto.String("task " + id),
		TaskId:    TaskID(id),
		AgentId:   AgentID(agentID),
		Resources: resources.MustParse(res).ToProto(),
		Command:   &mesos.CommandInfo{Value: proto.String("sleep 100")},
	}
}

// LaunchCall accepts offers with one LAUNCH of tasks; the caller sets the
// framework id.
func LaunchCall(offerIDs []*mesos.OfferID, tasks ...*mesos.TaskInfo) *scheduler.Call {
	return &scheduler.Call{
		Type: scheduler.Call_ACCEPT.Enum(),
		Accept: &scheduler.Call_Accept{
			OfferIds: offerIDs,
			Operations: []*mesos.Offer_Operation{{
				Type:   mesos.Offer_Operation_LAUNCH.Enum(),
				Launch: &mesos.Offer_Operation_Launch{TaskInfos: tasks},
			}},
		},
	}
}

// OfferIDs are the offers' ids.
func OfferIDs(offers ...*mesos.Offer) []*mesos.OfferID {
	var ids []*mesos.OfferID
	for _, o := range offers {
		ids = append(ids, o.GetId())
	}
	return ids
}

// StatusUpdateCall is an agent's STATUS_UPDATE of a task, from its executor.
func StatusUpdateCall(agentID, fwID, taskID string, state mesos.TaskState, uuid []byte) *agorapb.AgentCall {
	return &agorapb.AgentCall{
		AgentId: AgentID(agentID),
		Type:    agorapb.AgentCall_STATUS_UPDATE.Enum(),
		StatusUpdate: &agorapb.AgentCall_StatusUpdate{Update: &agorapb.StatusUpdateRecord{
			FrameworkId: FrameworkID(fwID),
			Status: &mesos.TaskStatus{
				TaskId: TaskID(taskID), State: state.Enum(), Uuid: uuid,
				Source: mesos.TaskStatus_SOURCE_EXECUTOR.Enum(), AgentId: AgentID(agentID),
			},
		}},
	}
}
