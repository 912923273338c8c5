package agent

import (
	"maps"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/clock"
	"github.com/agoracluster/agora/agent/executorapi"
	"github.com/agoracluster/agora/agent/statusupdate"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	executorpb "github.com/agoracluster/agora/proto/mesos/v1/executor"
)

// maxCompleted bounds the completed tasks, executors and frameworks kept for /state.
const maxCompleted = 200

type framework struct {
	id                 string
	info               *mesos.FrameworkInfo
	executors          map[string]*executor
	completedExecutors []*executor
	shuttingDown       bool
}

type executorState int

const (
	executorLaunching   executorState = iota // sandbox, fetch and process start under way
	executorRegistering                      // process runs, waiting for SUBSCRIBE
	executorRunning                          // subscribed
	executorTerminating                      // told to shut down or being killed
	executorTerminated                       // process gone
)

func (s executorState) String() string {
	return [...]string{"LAUNCHING", "REGISTERING", "RUNNING", "TERMINATING", "TERMINATED"}[s]
}

type executor struct {
	fw          *framework
	id          string
	info        *mesos.ExecutorInfo
	containerID string
	sandbox     string
	command     bool // Agora's command executor for a command task
	hosted      bool // runs in the executor host (pid is the host's)
	state       executorState
	pid         int
	conn        *executorapi.Conn
	// queue holds launches not yet sent to the executor, in arrival order.
	queue []launchItem
	// tasks holds queued, launched and terminal-but-unacknowledged tasks.
	tasks     map[string]*task
	completed []*mesos.Task
	// pendingKills are kills for launched tasks that arrived while disconnected.
	pendingKills map[string]*mesos.KillPolicy
	// failReason is the reason given to tasks failed when the executor ends.
	failReason  mesos.TaskStatus_Reason
	failMessage string
	regTimer    clock.Timer
	starting    *launchSlot // released once the executor subscribed
	killTimer   clock.Timer
	detached    bool // left running on agent exit (ShutdownExecutorsOnExit false)
	// recovered marks an executor adopted from a previous agent run until it subscribes.
	recovered bool
	// limited is set once the container hit a resource limit and is being killed for it.
	limited bool
	// shutdownRequested is set by the master's SHUTDOWN_EXECUTOR (the scheduler's SHUTDOWN
	// call): the executor's live tasks end TASK_KILLED when it exits.
	shutdownRequested bool
}

// launchItem is one queued RUN_TASK (task) or RUN_TASK_GROUP (group).
type launchItem struct {
	task  *mesos.TaskInfo
	group *mesos.TaskGroupInfo
}

type task struct {
	ex            *executor
	info          *mesos.TaskInfo
	state         mesos.TaskState
	statuses      []*mesos.TaskStatus // latest status per state change, bounded
	launched      bool                // sent to the executor
	killRequested bool
}

func (ex *executor) key(taskID string) statusupdate.TaskKey {
	return statusupdate.TaskKey{FrameworkID: ex.fw.id, TaskID: taskID}
}

func (ex *executor) stopTimers() {
	if ex.regTimer != nil {
		ex.regTimer.Stop()
		ex.regTimer = nil
	}
	if ex.killTimer != nil {
		ex.killTimer.Stop()
		ex.killTimer = nil
	}
}

func (ex *executor) gone() bool { return ex.state == executorTerminated }

// toTask renders a task as a mesos.Task for the master and /state.
func (t *task) toTask(agentID string, sum *statusupdate.Manager) *mesos.Task {
	mt := &mesos.Task{
		Name:        proto.String(t.info.GetName()),
		TaskId:      t.info.GetTaskId(),
		FrameworkId: &mesos.FrameworkID{Value: proto.String(t.ex.fw.id)},
		ExecutorId:  &mesos.ExecutorID{Value: proto.String(t.ex.id)},
		AgentId:     &mesos.AgentID{Value: proto.String(agentID)},
		State:       t.state.Enum(),
		Resources:   t.info.GetResources(),
		Statuses:    t.statuses,
		Labels:      t.info.GetLabels(),
		Discovery:   t.info.GetDiscovery(),
		Container:   t.info.GetContainer(),
		HealthCheck: t.info.GetHealthCheck(),
		KillPolicy:  t.info.GetKillPolicy(),
	}
	if sum != nil {
		if p := sum.Pending(t.ex.key(t.info.GetTaskId().GetValue())); len(p) > 0 {
			if s, ok := mesos.TaskState_value[p[0].State]; ok {
				mt.StatusUpdateState = mesos.TaskState(s).Enum()
			}
			mt.StatusUpdateUuid = []byte(p[0].UUID)
		}
	}
	if u := t.info.GetCommand().GetUser(); u != "" {
		mt.User = proto.String(u)
	} else if u := t.ex.fw.info.GetUser(); u != "" {
		mt.User = proto.String(u)
	}
	return mt
}

// frameworkFor returns the framework, creating or refreshing it from info. Loop only.
func (st *loopState) frameworkFor(info *mesos.FrameworkInfo) *framework {
	id := info.GetId().GetValue()
	fw := st.frameworks[id]
	if fw == nil {
		fw = &framework{id: id, executors: make(map[string]*executor)}
		st.frameworks[id] = fw
	}
	fw.info = info
	return fw
}

// executorOf finds an executor. Loop only.
func (st *loopState) executorOf(frameworkID, executorID string) *executor {
	fw := st.frameworks[frameworkID]
	if fw == nil {
		return nil
	}
	return fw.executors[executorID]
}

// completeTask moves a task whose terminal update was acknowledged to completed.
func (a *Agent) completeTask(k statusupdate.TaskKey) {
	t := a.st.tasks[k]
	if t == nil {
		return
	}
	delete(a.st.tasks, k)
	ex := t.ex
	delete(ex.tasks, k.TaskID)
	ex.completed = appendBounded(ex.completed, t.toTask(a.st.agentID, nil))
	a.maybeRemoveExecutor(ex)
}

// maybeRemoveExecutor forgets a terminated executor without live tasks, and its framework
// when that was the framework's last executor.
func (a *Agent) maybeRemoveExecutor(ex *executor) {
	if !ex.gone() || (len(ex.tasks) > 0 && !ex.fw.shuttingDown) {
		return
	}
	fw := ex.fw
	for tid := range ex.tasks {
		delete(a.st.tasks, ex.key(tid))
	}
	delete(fw.executors, ex.id)
	fw.completedExecutors = appendBounded(fw.completedExecutors, ex)
	a.gc.scheduleExecutor(ex)
	if len(fw.executors) == 0 && (fw.shuttingDown || fw.idle()) {
		a.removeFramework(fw)
	}
	a.checkStopped()
}

// frameworkIdle reports whether the framework has no live tasks on this agent.
func (fw *framework) idle() bool {
	for _, ex := range fw.executors {
		if len(ex.tasks) > 0 {
			return false
		}
	}
	return true
}

func (a *Agent) removeFramework(fw *framework) {
	delete(a.st.frameworks, fw.id)
	if fw.shuttingDown {
		a.st.sum.CleanupFramework(fw.id)
	}
	a.st.completedFrameworks = appendBounded(a.st.completedFrameworks, fw)
	a.gc.scheduleFramework(fw)
}

func appendBounded[T any](s []T, v T) []T {
	s = append(s, v)
	if len(s) > maxCompleted {
		s = append(s[:0:0], s[len(s)-maxCompleted:]...)
	}
	return s
}

// sortedByID returns the values of m (frameworks, executors or tasks by id) in the order
// of their ids.
func sortedByID[V any](m map[string]V) []V {
	out := make([]V, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[k])
	}
	return out
}

// flushQueue sends every queued launch to the subscribed executor.
func (ex *executor) flushQueue() {
	for _, item := range ex.queue {
		if item.task != nil {
			t := ex.tasks[item.task.GetTaskId().GetValue()]
			if t == nil || t.launched || t.state.IsTerminal() {
				continue
			}
			t.launched = true
			ex.conn.Push(&executorpb.Event{Type: executorpb.Event_LAUNCH.Enum(),
				Launch: &executorpb.Event_Launch{Task: item.task}})
			continue
		}
		var live []*mesos.TaskInfo
		for _, ti := range item.group.GetTasks() {
			if t := ex.tasks[ti.GetTaskId().GetValue()]; t != nil && !t.launched && !t.state.IsTerminal() {
				t.launched = true
				live = append(live, ti)
			}
		}
		if len(live) > 0 {
			ex.conn.Push(&executorpb.Event{Type: executorpb.Event_LAUNCH_GROUP.Enum(),
				LaunchGroup: &executorpb.Event_LaunchGroup{TaskGroup: &mesos.TaskGroupInfo{Tasks: live}}})
		}
	}
	ex.queue = nil
}

func (ex *executor) hasLiveTasks() bool {
	for _, t := range ex.tasks {
		if !t.state.IsTerminal() {
			return true
		}
	}
	return false
}

// unqueue removes a task that ended before it was sent from its executor's queue.
func (ex *executor) unqueue(t *task) {
	tid := t.info.GetTaskId().GetValue()
	out := ex.queue[:0]
	for _, item := range ex.queue {
		if item.task != nil && item.task.GetTaskId().GetValue() == tid {
			continue
		}
		if item.group != nil {
			var rest []*mesos.TaskInfo
			for _, ti := range item.group.GetTasks() {
				if ti.GetTaskId().GetValue() != tid {
					rest = append(rest, ti)
				}
			}
			if len(rest) == 0 {
				continue
			}
			item.group = &mesos.TaskGroupInfo{Tasks: rest}
		}
		out = append(out, item)
	}
	ex.queue = out
}

func (ex *executor) exitedCall(status int) *agorapb.AgentCall {
	return &agorapb.AgentCall{
		Type: agorapb.AgentCall_EXECUTOR_EXITED.Enum(),
		ExecutorExited: &agorapb.AgentCall_ExecutorExited{
			FrameworkId: &mesos.FrameworkID{Value: proto.String(ex.fw.id)},
			ExecutorId:  &mesos.ExecutorID{Value: proto.String(ex.id)},
			Status:      proto.Int32(int32(status)),
		},
	}
}
