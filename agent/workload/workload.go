package workload

import (
	"maps"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/clock"
	"github.com/agoracluster/agora/agent/executorapi"
	"github.com/agoracluster/agora/agent/statusupdate"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	executorpb "github.com/agoracluster/agora/proto/mesos/v1/executor"
)

// MaxCompleted bounds the completed tasks, executors and frameworks kept for /state.
const MaxCompleted = 200

// MaxStatuses bounds the statuses kept per task.
const MaxStatuses = 8

// State is what the agent runs, as its loop keeps it: every framework, executor and live
// task, the recently completed ones, and the status update streams of the tasks. Only the
// agent's loop goroutine touches it.
type State struct {
	AgentID             string // "" until the first subscription (or recovery)
	Frameworks          map[string]*Framework
	CompletedFrameworks []*Framework
	Tasks               map[statusupdate.TaskKey]*Task // every live task, by framework and task id
	Updates             *statusupdate.Manager
}

// NewState is an empty State whose status updates follow cfg.
func NewState(cfg statusupdate.Config) State {
	return State{
		Frameworks: make(map[string]*Framework),
		Tasks:      make(map[statusupdate.TaskKey]*Task),
		Updates:    statusupdate.New(cfg),
	}
}

// Slot is an executor's place among the executors starting at once, given back when the
// executor subscribes (or ends, or times out).
type Slot interface{ Release() }

// Framework is a framework with executors on this agent.
type Framework struct {
	ID                 string
	Info               *mesos.FrameworkInfo
	Executors          map[string]*Executor
	CompletedExecutors []*Executor
	ShuttingDown       bool
}

// ExecutorState is where an executor is in its life.
type ExecutorState int

const (
	ExecutorLaunching   ExecutorState = iota // sandbox, fetch and process start under way
	ExecutorRegistering                      // process runs, waiting for SUBSCRIBE
	ExecutorRunning                          // subscribed
	ExecutorTerminating                      // told to shut down or being killed
	ExecutorTerminated                       // process gone
)

func (s ExecutorState) String() string {
	return [...]string{"LAUNCHING", "REGISTERING", "RUNNING", "TERMINATING", "TERMINATED"}[s]
}

// Executor is one executor (its container) and the tasks it runs.
type Executor struct {
	Framework   *Framework
	ID          string
	Info        *mesos.ExecutorInfo
	ContainerID string
	Sandbox     string
	Command     bool // Agora's command executor for a command task
	Hosted      bool // runs in the executor host (pid is the host's)
	State       ExecutorState
	PID         int
	Conn        *executorapi.Conn
	// Queue holds launches not yet sent to the executor, in arrival order.
	Queue []LaunchItem
	// Tasks holds queued, launched and terminal-but-unacknowledged Tasks.
	Tasks     map[string]*Task
	Completed []*mesos.Task
	// PendingKills are kills for launched tasks that arrived while disconnected.
	PendingKills map[string]*mesos.KillPolicy
	// FailReason is the reason given to tasks failed when the executor ends.
	FailReason  mesos.TaskStatus_Reason
	FailMessage string
	RegTimer    clock.Timer
	Starting    Slot // released once the executor subscribed
	KillTimer   clock.Timer
	Detached    bool // left running on agent exit (ShutdownExecutorsOnExit false)
	// Recovered marks an executor adopted from a previous agent run until it subscribes.
	Recovered bool
	// Limited is set once the container hit a resource limit and is being killed for it.
	Limited bool
	// ShutdownRequested is set by the master's SHUTDOWN_EXECUTOR (the scheduler's SHUTDOWN
	// call): the executor's live tasks end TASK_KILLED when it exits.
	ShutdownRequested bool
}

// LaunchItem is one queued RUN_TASK (task) or RUN_TASK_GROUP (group).
type LaunchItem struct {
	Task  *mesos.TaskInfo
	Group *mesos.TaskGroupInfo
}

// Task is a task the agent runs, from STAGING until its terminal update is acknowledged.
type Task struct {
	Executor      *Executor
	Info          *mesos.TaskInfo
	State         mesos.TaskState
	Statuses      []*mesos.TaskStatus // latest status per state change, bounded
	Launched      bool                // sent to the executor
	KillRequested bool
}

// Key is the status update stream key of one of the executor's tasks.
func (ex *Executor) Key(taskID string) statusupdate.TaskKey {
	return statusupdate.TaskKey{FrameworkID: ex.Framework.ID, TaskID: taskID}
}

// StopTimers stops the registration and kill timers.
func (ex *Executor) StopTimers() {
	if ex.RegTimer != nil {
		ex.RegTimer.Stop()
		ex.RegTimer = nil
	}
	if ex.KillTimer != nil {
		ex.KillTimer.Stop()
		ex.KillTimer = nil
	}
}

// Gone reports whether the executor's container ended.
func (ex *Executor) Gone() bool { return ex.State == ExecutorTerminated }

// ToTask renders a task as a mesos.Task for the master and /state.
func (t *Task) ToTask(agentID string, sum *statusupdate.Manager) *mesos.Task {
	mt := &mesos.Task{
		Name:        proto.String(t.Info.GetName()),
		TaskId:      t.Info.GetTaskId(),
		FrameworkId: &mesos.FrameworkID{Value: proto.String(t.Executor.Framework.ID)},
		ExecutorId:  &mesos.ExecutorID{Value: proto.String(t.Executor.ID)},
		AgentId:     &mesos.AgentID{Value: proto.String(agentID)},
		State:       t.State.Enum(),
		Resources:   t.Info.GetResources(),
		Statuses:    t.Statuses,
		Labels:      t.Info.GetLabels(),
		Discovery:   t.Info.GetDiscovery(),
		Container:   t.Info.GetContainer(),
		HealthCheck: t.Info.GetHealthCheck(),
		KillPolicy:  t.Info.GetKillPolicy(),
	}
	if sum != nil {
		if p := sum.Pending(t.Executor.Key(t.Info.GetTaskId().GetValue())); len(p) > 0 {
			if s, ok := mesos.TaskState_value[p[0].State]; ok {
				mt.StatusUpdateState = mesos.TaskState(s).Enum()
			}
			mt.StatusUpdateUuid = []byte(p[0].UUID)
		}
	}
	if u := t.Info.GetCommand().GetUser(); u != "" {
		mt.User = proto.String(u)
	} else if u := t.Executor.Framework.Info.GetUser(); u != "" {
		mt.User = proto.String(u)
	}
	return mt
}

// FrameworkFor returns the framework, creating or refreshing it from info. Loop only.
func (st *State) FrameworkFor(info *mesos.FrameworkInfo) *Framework {
	id := info.GetId().GetValue()
	fw := st.Frameworks[id]
	if fw == nil {
		fw = &Framework{ID: id, Executors: make(map[string]*Executor)}
		st.Frameworks[id] = fw
	}
	fw.Info = info
	return fw
}

// ExecutorOf finds an executor. Loop only.
func (st *State) ExecutorOf(frameworkID, executorID string) *Executor {
	fw := st.Frameworks[frameworkID]
	if fw == nil {
		return nil
	}
	return fw.Executors[executorID]
}

// Idle reports whether the framework has no live tasks on this agent.
func (fw *Framework) Idle() bool {
	for _, ex := range fw.Executors {
		if len(ex.Tasks) > 0 {
			return false
		}
	}
	return true
}

// CompleteTask moves a task whose terminal update was acknowledged to its executor's
// completed tasks and returns the executor (nil for an unknown task).
func (st *State) CompleteTask(k statusupdate.TaskKey) *Executor {
	t := st.Tasks[k]
	if t == nil {
		return nil
	}
	delete(st.Tasks, k)
	ex := t.Executor
	delete(ex.Tasks, k.TaskID)
	ex.Completed = AppendBounded(ex.Completed, t.ToTask(st.AgentID, nil))
	return ex
}

// RemoveExecutor forgets a terminated executor without live tasks (any executor of a
// framework shutting down) and reports whether it did; removedFramework is its framework
// when that was the framework's last executor and the framework went too.
func (st *State) RemoveExecutor(ex *Executor) (removed bool, removedFramework *Framework) {
	if !ex.Gone() || (len(ex.Tasks) > 0 && !ex.Framework.ShuttingDown) {
		return false, nil
	}
	fw := ex.Framework
	for tid := range ex.Tasks {
		delete(st.Tasks, ex.Key(tid))
	}
	delete(fw.Executors, ex.ID)
	fw.CompletedExecutors = AppendBounded(fw.CompletedExecutors, ex)
	if len(fw.Executors) == 0 && (fw.ShuttingDown || fw.Idle()) {
		st.RemoveFramework(fw)
		return true, fw
	}
	return true, nil
}

// RemoveFramework forgets a framework (the status update streams of one shutting down too).
func (st *State) RemoveFramework(fw *Framework) {
	delete(st.Frameworks, fw.ID)
	if fw.ShuttingDown {
		st.Updates.CleanupFramework(fw.ID)
	}
	st.CompletedFrameworks = AppendBounded(st.CompletedFrameworks, fw)
}

// KnownContainerIDs is the container id of every executor the agent knows.
func (st *State) KnownContainerIDs() map[string]bool {
	known := make(map[string]bool)
	for _, fw := range st.Frameworks {
		for _, ex := range fw.Executors {
			known[ex.ContainerID] = true
		}
	}
	return known
}

// AppendBounded appends v, keeping the last MaxCompleted elements.
func AppendBounded[T any](s []T, v T) []T {
	s = append(s, v)
	if len(s) > MaxCompleted {
		s = append(s[:0:0], s[len(s)-MaxCompleted:]...)
	}
	return s
}

// SortedByID returns the values of m (frameworks, executors or tasks by id) in the order
// of their ids.
func SortedByID[V any](m map[string]V) []V {
	out := make([]V, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[k])
	}
	return out
}

// FlushQueue sends every queued launch to the subscribed executor.
func (ex *Executor) FlushQueue() {
	for _, item := range ex.Queue {
		if item.Task != nil {
			t := ex.Tasks[item.Task.GetTaskId().GetValue()]
			if t == nil || t.Launched || t.State.IsTerminal() {
				continue
			}
			t.Launched = true
			ex.Conn.Push(&executorpb.Event{Type: executorpb.Event_LAUNCH.Enum(),
				Launch: &executorpb.Event_Launch{Task: item.Task}})
			continue
		}
		var live []*mesos.TaskInfo
		for _, ti := range item.Group.GetTasks() {
			if t := ex.Tasks[ti.GetTaskId().GetValue()]; t != nil && !t.Launched && !t.State.IsTerminal() {
				t.Launched = true
				live = append(live, ti)
			}
		}
		if len(live) > 0 {
			ex.Conn.Push(&executorpb.Event{Type: executorpb.Event_LAUNCH_GROUP.Enum(),
				LaunchGroup: &executorpb.Event_LaunchGroup{TaskGroup: &mesos.TaskGroupInfo{Tasks: live}}})
		}
	}
	ex.Queue = nil
}

// HasLiveTasks reports whether a task of the executor is not terminal.
func (ex *Executor) HasLiveTasks() bool {
	for _, t := range ex.Tasks {
		if !t.State.IsTerminal() {
			return true
		}
	}
	return false
}

// Unqueue removes a task that ended before it was sent from its executor's queue.
func (ex *Executor) Unqueue(t *Task) {
	tid := t.Info.GetTaskId().GetValue()
	out := ex.Queue[:0]
	for _, item := range ex.Queue {
		if item.Task != nil && item.Task.GetTaskId().GetValue() == tid {
			continue
		}
		if item.Group != nil {
			var rest []*mesos.TaskInfo
			for _, ti := range item.Group.GetTasks() {
				if ti.GetTaskId().GetValue() != tid {
					rest = append(rest, ti)
				}
			}
			if len(rest) == 0 {
				continue
			}
			item.Group = &mesos.TaskGroupInfo{Tasks: rest}
		}
		out = append(out, item)
	}
	ex.Queue = out
}

// ExitedCall tells the master that the executor ended with status.
func (ex *Executor) ExitedCall(status int) *agorapb.AgentCall {
	return &agorapb.AgentCall{
		Type: agorapb.AgentCall_EXECUTOR_EXITED.Enum(),
		ExecutorExited: &agorapb.AgentCall_ExecutorExited{
			FrameworkId: &mesos.FrameworkID{Value: proto.String(ex.Framework.ID)},
			ExecutorId:  &mesos.ExecutorID{Value: proto.String(ex.ID)},
			Status:      proto.Int32(int32(status)),
		},
	}
}

// GracePeriod is the executor's shutdown grace period: its own, or def.
func (ex *Executor) GracePeriod(def time.Duration) time.Duration {
	if ns := ex.Info.GetShutdownGracePeriod().GetNanoseconds(); ns > 0 {
		return time.Duration(ns)
	}
	return def
}

// AppendStatus keeps the latest MaxStatuses statuses of a task.
func AppendStatus(s []*mesos.TaskStatus, st *mesos.TaskStatus) []*mesos.TaskStatus {
	s = append(s, st)
	if len(s) > MaxStatuses {
		s = append(s[:0:0], s[len(s)-MaxStatuses:]...)
	}
	return s
}
