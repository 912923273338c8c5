package agent

import (
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/isolation"
	"github.com/agoracluster/agora/agent/statusupdate"
	"github.com/agoracluster/agora/agent/supervisor"
	"github.com/agoracluster/agora/agent/volumes"
	"github.com/agoracluster/agora/agent/workload"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	executorpb "github.com/agoracluster/agora/proto/mesos/v1/executor"
)

// What the master asks of the agent (agent protocol events), carried out on the loop.

// event carries out one event from the master. Loop only.
func (l masterLink) event(ev *agorapb.AgentEvent) {
	a := l.a
	switch ev.GetType() {
	case agorapb.AgentEvent_RUN_TASK:
		rt := ev.GetRunTask()
		l.runTasks(rt.GetFrameworkInfo(), nil, []*mesos.TaskInfo{rt.GetTask()})
	case agorapb.AgentEvent_RUN_TASK_GROUP:
		rg := ev.GetRunTaskGroup()
		l.runTasks(rg.GetFrameworkInfo(), rg.GetExecutor(), rg.GetTaskGroup().GetTasks())
	case agorapb.AgentEvent_KILL_TASK:
		k := ev.GetKillTask()
		l.killTask(k.GetFrameworkId().GetValue(), k.GetTaskId().GetValue(), k.GetKillPolicy())
	case agorapb.AgentEvent_ACKNOWLEDGE:
		ack := ev.GetAcknowledge()
		key := statusupdate.TaskKey{FrameworkID: ack.GetFrameworkId().GetValue(), TaskID: ack.GetTaskId().GetValue()}
		if err := a.st.Updates.Ack(key, string(ack.GetUuid()), a.clock.Now()); err != nil {
			a.log.Debug("ignoring acknowledgement", zap.Error(err))
		}
	case agorapb.AgentEvent_SHUTDOWN_FRAMEWORK:
		l.shutdownFramework(ev.GetShutdownFramework().GetFrameworkId().GetValue())
	case agorapb.AgentEvent_SHUTDOWN_EXECUTOR:
		sh := ev.GetShutdownExecutor()
		l.shutdownExecutor(sh.GetFrameworkId().GetValue(), sh.GetExecutorId().GetValue())
	case agorapb.AgentEvent_FRAMEWORK_MESSAGE:
		m := ev.GetFrameworkMessage()
		ex := a.st.ExecutorOf(m.GetFrameworkId().GetValue(), m.GetExecutorId().GetValue())
		if ex == nil || ex.Conn == nil {
			a.log.Warn("dropping framework message for an executor that is not subscribed",
				zap.String("framework_id", m.GetFrameworkId().GetValue()), zap.String("executor_id", m.GetExecutorId().GetValue()))
			return
		}
		ex.Conn.Push(&executorpb.Event{Type: executorpb.Event_MESSAGE.Enum(),
			Message: &executorpb.Event_Message{Data: m.GetData()}})
	case agorapb.AgentEvent_SHUTDOWN:
		a.log.Warn("the master asked this agent to shut down")
		a.st.shutdownByMaster = true
		a.cfg.ShutdownExecutorsOnExit = true
		a.beginStop()
	case agorapb.AgentEvent_CHECKPOINT_RESOURCES:
		a.checkpointResources(ev.GetCheckpointResources().GetResources())
	case agorapb.AgentEvent_HEARTBEAT, agorapb.AgentEvent_SUBSCRIBED:
	case agorapb.AgentEvent_ERROR:
		a.log.Warn("error from master", zap.String("message", ev.GetError().GetMessage()))
	default:
		a.log.Warn("unknown event from master", zap.Stringer("type", ev.GetType()))
	}
}

// runTasks handles RUN_TASK (one task, executor nil or in the task) and RUN_TASK_GROUP.
func (l masterLink) runTasks(fwInfo *mesos.FrameworkInfo, groupExecutor *mesos.ExecutorInfo, tasks []*mesos.TaskInfo) {
	a := l.a
	if len(tasks) == 0 {
		return
	}
	fid := fwInfo.GetId().GetValue()
	if a.st.stopping {
		l.dropTasks(fid, tasks, "Agent is shutting down")
		return
	}
	_, known := a.st.Frameworks[fid]
	fw := a.st.FrameworkFor(fwInfo)
	if !known {
		if err := a.ckpt.WriteFramework(a.st.AgentID, fwInfo); err != nil {
			a.log.Warn("checkpoint framework", zap.Error(err))
		}
	}
	if fw.ShuttingDown {
		l.dropTasks(fid, tasks, "Framework is shutting down")
		return
	}
	for _, t := range tasks {
		if a.st.Tasks[statusupdate.TaskKey{FrameworkID: fid, TaskID: t.GetTaskId().GetValue()}] != nil {
			a.log.Warn("ignoring a task with a duplicate id", zap.String("framework_id", fid), zap.String("task_id", t.GetTaskId().GetValue()))
			return
		}
	}
	if msg := a.unsupportedContainer(groupExecutor, tasks); msg != "" {
		l.dropTasksAs(fid, tasks, mesos.TaskState_TASK_FAILED, mesos.TaskStatus_REASON_CONTAINER_LAUNCH_FAILED, msg)
		return
	}
	var info *mesos.ExecutorInfo
	command := false
	if groupExecutor != nil {
		info = proto.Clone(groupExecutor).(*mesos.ExecutorInfo)
		if info.FrameworkId == nil {
			info.FrameworkId = &mesos.FrameworkID{Value: proto.String(fid)}
		}
		if info.GetCommand().GetValue() == "" && info.GetType() == mesos.ExecutorInfo_CUSTOM {
			l.dropTasksAs(fid, tasks, mesos.TaskState_TASK_FAILED, mesos.TaskStatus_REASON_TASK_GROUP_INVALID,
				"The task group's CUSTOM executor has no command (a DEFAULT executor needs none)")
			return
		}
	} else {
		info, command = supervisor.ExecutorInfoFor(fw, tasks[0], a.executorBin)
	}
	ex := fw.Executors[info.GetExecutorId().GetValue()]
	if ex != nil && ex.State >= workload.ExecutorTerminating {
		l.dropTasks(fid, tasks, "Executor is terminating")
		return
	}
	newExecutor := ex == nil
	if newExecutor {
		// The launch checkpoints the tasks with the executor's run, off the loop.
		ex = a.sup.Launch(fw, info, command, tasks)
	} else if a.iso != nil {
		all := append([]*mesos.TaskInfo(nil), tasks...)
		for _, t := range ex.Tasks {
			all = append(all, t.Info)
		}
		a.iso.Update(ex.ContainerID, isolation.LimitsOf(ex.Info, all, ex.Command))
	}
	if !newExecutor {
		// The new executor's launch links its volumes once the sandbox exists.
		user := ex.Info.GetCommand().GetUser()
		if user == "" {
			user = fw.Info.GetUser()
		}
		if err := volumes.Link(a.cfg.WorkDir, ex.Sandbox, volumes.Of(nil, tasks), volumes.OwnerOf(user)); err != nil {
			l.dropTasksAs(fid, tasks, mesos.TaskState_TASK_FAILED, mesos.TaskStatus_REASON_CONTAINER_LAUNCH_FAILED, err.Error())
			return
		}
	}
	item := workload.LaunchItem{}
	if groupExecutor != nil {
		item.Group = &mesos.TaskGroupInfo{Tasks: tasks}
	} else {
		item.Task = tasks[0]
	}
	for _, ti := range tasks {
		t := &workload.Task{Executor: ex, Info: ti, State: mesos.TaskState_TASK_STAGING}
		ex.Tasks[ti.GetTaskId().GetValue()] = t
		a.st.Tasks[ex.Key(ti.GetTaskId().GetValue())] = t
		if newExecutor {
			continue
		}
		if err := a.ckpt.WriteTask(a.st.AgentID, fid, ex.ID, ex.ContainerID, t.ToTask(a.st.AgentID, nil)); err != nil {
			a.log.Warn("checkpoint task", zap.Error(err))
		}
	}
	ex.Queue = append(ex.Queue, item)
	if ex.State == workload.ExecutorRunning && ex.Conn != nil {
		ex.FlushQueue()
	}
}

// killTask handles KILL_TASK.
func (l masterLink) killTask(fid, tid string, policy *mesos.KillPolicy) {
	a := l.a
	log := a.log.With(zap.String("framework_id", fid), zap.String("task_id", tid))
	t := a.st.Tasks[statusupdate.TaskKey{FrameworkID: fid, TaskID: tid}]
	if t == nil {
		if a.st.Frameworks[fid] == nil {
			log.Info("ignoring kill of a task of an unknown framework")
			return
		}
		log.Info("kill of an unknown task")
		a.untrackedUpdate(fid, tid, mesos.TaskState_TASK_LOST, mesos.TaskStatus_REASON_TASK_UNKNOWN, "Cannot find the task on the agent")
		return
	}
	if t.State.IsTerminal() {
		return
	}
	t.KillRequested = true
	ex := t.Executor
	if !t.Launched {
		a.agentUpdate(t, mesos.TaskState_TASK_KILLED, mesos.TaskStatus_REASON_TASK_KILLED_DURING_LAUNCH,
			"Killed before delivery to the executor")
		if ex.State < workload.ExecutorRunning && !ex.HasLiveTasks() {
			a.sup.Shutdown(ex)
		}
		return
	}
	if policy == nil {
		policy = t.Info.GetKillPolicy()
	}
	if ex.Conn == nil {
		ex.PendingKills[tid] = policy
		return
	}
	ex.Conn.Push(killEvent(tid, policy))
}

func killEvent(tid string, policy *mesos.KillPolicy) *executorpb.Event {
	return &executorpb.Event{Type: executorpb.Event_KILL.Enum(), Kill: &executorpb.Event_Kill{
		TaskId: &mesos.TaskID{Value: proto.String(tid)}, KillPolicy: policy}}
}

// shutdownFramework handles SHUTDOWN_FRAMEWORK.
func (l masterLink) shutdownFramework(fid string) {
	a := l.a
	fw := a.st.Frameworks[fid]
	if fw == nil {
		return
	}
	a.log.Info("shutting down framework", zap.String("framework_id", fid))
	fw.ShuttingDown = true
	if len(fw.Executors) == 0 {
		a.removeFramework(fw)
		return
	}
	for _, ex := range fw.Executors {
		a.sup.Shutdown(ex)
	}
}

// shutdownExecutor handles SHUTDOWN_EXECUTOR: the executor gets a SHUTDOWN event
// and SIGKILL after its grace period; its live tasks end TASK_KILLED. An unknown executor
// is logged and ignored, as by Mesos.
func (l masterLink) shutdownExecutor(fid, eid string) {
	a := l.a
	log := a.log.With(zap.String("framework_id", fid), zap.String("executor_id", eid))
	ex := a.st.ExecutorOf(fid, eid)
	if ex == nil || ex.Gone() {
		log.Warn("ignoring shutdown of an unknown executor")
		return
	}
	log.Info("shutting down executor at the framework's request")
	ex.ShutdownRequested = true
	a.sup.Shutdown(ex)
}

// dropTasks reports TASK_LOST for tasks the agent will not run.
func (l masterLink) dropTasks(fid string, tasks []*mesos.TaskInfo, msg string) {
	l.dropTasksAs(fid, tasks, mesos.TaskState_TASK_LOST, mesos.TaskStatus_REASON_EXECUTOR_TERMINATED, msg)
}

func (l masterLink) dropTasksAs(fid string, tasks []*mesos.TaskInfo, state mesos.TaskState, reason mesos.TaskStatus_Reason, msg string) {
	a := l.a
	for _, t := range tasks {
		a.untrackedUpdate(fid, t.GetTaskId().GetValue(), state, reason, msg)
	}
}
