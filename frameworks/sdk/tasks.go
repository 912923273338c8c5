package sdk

import (
	"time"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
	"github.com/agoracluster/agora/resources"
	"google.golang.org/protobuf/proto"
)

// CommandTask returns a TaskInfo that runs cmd with /bin/sh -c under Agora's command
// executor, with every required field except the agent id filled in (Launch, or
// offers.Offer.Task, fills it from the offer).
func CommandTask(name, id, cmd string, res resources.Resources) *mesos.TaskInfo {
	return &mesos.TaskInfo{
		Name:      proto.String(name),
		TaskId:    TaskID(id),
		Resources: res.ToProto(),
		Command:   &mesos.CommandInfo{Shell: proto.Bool(true), Value: proto.String(cmd)},
	}
}

// LaunchOp returns a LAUNCH operation for tasks.
func LaunchOp(tasks ...*mesos.TaskInfo) *mesos.Offer_Operation {
	return &mesos.Offer_Operation{
		Type:   mesos.Offer_Operation_LAUNCH.Enum(),
		Launch: &mesos.Offer_Operation_Launch{TaskInfos: tasks},
	}
}

// LaunchGroupOp returns a LAUNCH_GROUP operation: tasks run together under executor.
func LaunchGroupOp(executor *mesos.ExecutorInfo, tasks ...*mesos.TaskInfo) *mesos.Offer_Operation {
	return &mesos.Offer_Operation{
		Type: mesos.Offer_Operation_LAUNCH_GROUP.Enum(),
		LaunchGroup: &mesos.Offer_Operation_LaunchGroup{
			Executor:  executor,
			TaskGroup: &mesos.TaskGroupInfo{Tasks: tasks},
		},
	}
}

// RefuseFilter returns Filters with refuse_seconds = refuse, or nil for refuse <= 0 (the
// master's default).
func RefuseFilter(refuse time.Duration) *mesos.Filters {
	if refuse <= 0 {
		return nil
	}
	return &mesos.Filters{RefuseSeconds: proto.Float64(refuse.Seconds())}
}

// OfferIDs returns the ids of offers.
func OfferIDs(offers []*mesos.Offer) []*mesos.OfferID {
	ids := make([]*mesos.OfferID, 0, len(offers))
	for _, o := range offers {
		ids = append(ids, o.GetId())
	}
	return ids
}

// ReconcileTask names a task for explicit reconciliation; agentID may be "".
func ReconcileTask(taskID, agentID string) *scheduler.Call_Reconcile_Task {
	t := &scheduler.Call_Reconcile_Task{TaskId: TaskID(taskID)}
	if agentID != "" {
		t.AgentId = AgentID(agentID)
	}
	return t
}

// TaskID returns a TaskID with value v.
func TaskID(v string) *mesos.TaskID { return &mesos.TaskID{Value: proto.String(v)} }

// AgentID returns an AgentID with value v.
func AgentID(v string) *mesos.AgentID { return &mesos.AgentID{Value: proto.String(v)} }

// OfferID returns an OfferID with value v.
func OfferID(v string) *mesos.OfferID { return &mesos.OfferID{Value: proto.String(v)} }

// ExecutorID returns an ExecutorID with value v.
func ExecutorID(v string) *mesos.ExecutorID { return &mesos.ExecutorID{Value: proto.String(v)} }

// IsTerminal reports whether a task in state st will never run again.
func IsTerminal(st mesos.TaskState) bool { return st.IsTerminal() }
