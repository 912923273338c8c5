package defaultexec

import (
	"sort"
	"time"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// ActionKind names what the shell must do for one Action.
type ActionKind int

const (
	// SendUpdate forwards Action.Update to the agent.
	SendUpdate ActionKind = iota + 1
	// StartTask starts the task's process and reports back with Core.Started.
	StartTask
	// StartHealthCheck starts the task's health check; its results come back through
	// Core.Health.
	StartHealthCheck
	// StopHealthCheck stops the task's health check.
	StopHealthCheck
	// TerminateTask sends SIGTERM to the task's process group; SIGKILL follows as KillTask
	// once Action.Grace has passed (Core.Tick).
	TerminateTask
	// KillTask sends SIGKILL to the task's process group.
	KillTask
	// Exit: no task is left; the executor exits once its updates are acknowledged.
	Exit
)

// Update is a status update the core decides on; the shell stamps it (uuid, time, source,
// ids) and forwards it.
type Update struct {
	TaskID  string
	State   mesos.TaskState
	Message string
	Reason  mesos.TaskStatus_Reason // 0: none
	// Healthy is set on health updates and on the terminal update of a task killed for
	// failing its health check.
	Healthy *bool
	// HealthUpdate marks a health change: the shell resends the task's last status with
	// Healthy and REASON_TASK_HEALTH_CHECK_STATUS_UPDATED, as Mesos does.
	HealthUpdate bool
}

// Action is one thing the shell carries out, in order.
type Action struct {
	Kind   ActionKind
	TaskID string
	Task   *mesos.TaskInfo // StartTask and StartHealthCheck
	Update Update          // SendUpdate
	Grace  time.Duration   // TerminateTask
}

type phase int

const (
	phaseLaunching phase = iota // StartTask sent, Started not yet reported
	phaseRunning
	phaseDone
)

// taskRun is one task of a group as the core sees it.
type taskRun struct {
	info           *mesos.TaskInfo
	group          int // index of the LAUNCH_GROUP it came in
	phase          phase
	killing        bool // SIGTERM sent (or due once started)
	killGrace      time.Duration
	escalated      bool // SIGKILL sent
	killDeadline   time.Time
	killingGroup   bool // killed because another task of its group ended badly
	killedByHealth bool
	healthChecked  bool
}

// Core is the default executor's decision-making: the tasks of every task group it was
// given, what each is doing, and Mesos's group semantics (a task that fails or is killed
// takes the rest of its group down; the executor ends when no task is left). It does no IO,
// starts no goroutines and reads no clock: the shell feeds it events with the time and
// carries out the Actions it returns.
type Core struct {
	// DefaultGrace is the time between SIGTERM and SIGKILL when neither the KILL event nor
	// the task has a kill policy (Mesos: 3s).
	DefaultGrace time.Duration
	// ShutdownGrace is the grace the tasks get on SHUTDOWN (the executor's shutdown grace
	// period less a margin to report them).
	ShutdownGrace time.Duration
	// KillingState is set when the framework has the TASK_KILLING_STATE capability.
	KillingState bool

	tasks        map[string]*taskRun
	groups       int
	shuttingDown bool
	exited       bool
}

// NewCore returns a core with no tasks.
func NewCore(defaultGrace, shutdownGrace time.Duration) *Core {
	return &Core{DefaultGrace: defaultGrace, ShutdownGrace: shutdownGrace, tasks: make(map[string]*taskRun)}
}

// Known reports whether the core has seen the task.
func (c *Core) Known(taskID string) bool { return c.tasks[taskID] != nil }

// Active is the number of tasks launched and not yet ended.
func (c *Core) Active() int {
	n := 0
	for _, t := range c.tasks {
		if t.phase != phaseDone {
			n++
		}
	}
	return n
}

// Launch takes a LAUNCH_GROUP: every new task gets TASK_STARTING and is started. Tasks
// whose id the core already knows are skipped; on a shutting-down executor every task
// fails at once.
func (c *Core) Launch(tasks []*mesos.TaskInfo) []Action {
	var out []Action
	group := c.groups
	c.groups++
	for _, ti := range tasks {
		id := ti.GetTaskId().GetValue()
		if c.tasks[id] != nil {
			continue
		}
		t := &taskRun{info: ti, group: group}
		c.tasks[id] = t
		if c.shuttingDown || c.exited {
			t.phase = phaseDone
			out = append(out, update(id, mesos.TaskState_TASK_FAILED, "Executor is shutting down", mesos.TaskStatus_REASON_EXECUTOR_TERMINATED))
			continue
		}
		out = append(out, update(id, mesos.TaskState_TASK_STARTING, "", 0),
			Action{Kind: StartTask, TaskID: id, Task: ti})
	}
	return append(out, c.exitIfIdle()...)
}

// Started reports the outcome of a StartTask: a task that could not start fails (and takes
// its group down); one that runs is TASK_RUNNING with its health check started, or is
// terminated at once when its group was killed while it started.
func (c *Core) Started(taskID string, err error, now time.Time) []Action {
	t := c.tasks[taskID]
	if t == nil || t.phase != phaseLaunching {
		return nil
	}
	if err != nil {
		t.phase = phaseDone
		out := []Action{update(taskID, mesos.TaskState_TASK_FAILED, "Failed to launch task: "+err.Error(), mesos.TaskStatus_REASON_COMMAND_EXECUTOR_FAILED)}
		return append(out, c.afterEnd(t, mesos.TaskState_TASK_FAILED, now)...)
	}
	t.phase = phaseRunning
	if t.killing {
		t.killDeadline = now.Add(t.killGrace)
		return []Action{{Kind: TerminateTask, TaskID: taskID, Grace: t.killGrace}}
	}
	out := []Action{update(taskID, mesos.TaskState_TASK_RUNNING, "", 0)}
	if t.info.GetHealthCheck() != nil {
		t.healthChecked = true
		out = append(out, Action{Kind: StartHealthCheck, TaskID: taskID, Task: t.info})
	}
	return out
}

// Exited reports the end of a task's process: TASK_KILLED when the executor killed it,
// TASK_FINISHED on exit status 0, TASK_FAILED otherwise, with message (the shell's
// "Command exited with status 1"). A task that failed or was killed kills the rest of its
// group, unless its group is already being killed or the executor is shutting down; the
// last task to end makes the executor exit.
func (c *Core) Exited(taskID string, succeeded bool, message string, now time.Time) []Action {
	t := c.tasks[taskID]
	if t == nil || t.phase == phaseDone {
		return nil
	}
	t.phase = phaseDone
	state := mesos.TaskState_TASK_FAILED
	switch {
	case t.killing:
		state = mesos.TaskState_TASK_KILLED
	case succeeded:
		state = mesos.TaskState_TASK_FINISHED
	}
	var out []Action
	if t.healthChecked {
		t.healthChecked = false
		out = append(out, Action{Kind: StopHealthCheck, TaskID: taskID})
	}
	u := update(taskID, state, message, 0)
	if t.killedByHealth {
		u.Update.Healthy = boolPtr(false)
	}
	out = append(out, u)
	return append(out, c.afterEnd(t, state, now)...)
}

// afterEnd applies the group semantics once t has ended in state.
func (c *Core) afterEnd(t *taskRun, state mesos.TaskState, now time.Time) []Action {
	if c.Active() == 0 {
		return c.exitIfIdle()
	}
	if c.shuttingDown || t.killingGroup {
		return nil
	}
	if state != mesos.TaskState_TASK_FAILED && state != mesos.TaskState_TASK_KILLED {
		return nil
	}
	var out []Action
	for _, id := range c.sortedIDs() {
		other := c.tasks[id]
		if other == t || other.group != t.group || other.phase == phaseDone {
			continue
		}
		other.killingGroup = true
		if other.killing {
			continue
		}
		out = append(out, c.startKill(id, other, c.graceOf(other, nil), now)...)
	}
	return out
}

// Kill handles KILL for one task; a kill while one is under way can only shorten the grace
// period. It reports false for a task the core does not know or that has ended.
func (c *Core) Kill(taskID string, policy *mesos.KillPolicy, now time.Time) ([]Action, bool) {
	t := c.tasks[taskID]
	if t == nil || t.phase == phaseDone {
		return nil, false
	}
	return c.kill(taskID, t, c.graceOf(t, policy), now), true
}

func (c *Core) kill(taskID string, t *taskRun, grace time.Duration, now time.Time) []Action {
	if t.killing {
		if deadline := now.Add(grace); t.phase == phaseRunning && !t.escalated && deadline.Before(t.killDeadline) {
			t.killDeadline = deadline
		}
		return nil
	}
	return c.startKill(taskID, t, grace, now)
}

func (c *Core) startKill(taskID string, t *taskRun, grace time.Duration, now time.Time) []Action {
	t.killing = true
	t.killGrace = max(grace, 0)
	var out []Action
	if t.healthChecked {
		t.healthChecked = false
		out = append(out, Action{Kind: StopHealthCheck, TaskID: taskID})
	}
	if c.KillingState {
		out = append(out, update(taskID, mesos.TaskState_TASK_KILLING, "", 0))
	}
	if t.phase != phaseRunning {
		return out // Started terminates it
	}
	t.killDeadline = now.Add(t.killGrace)
	return append(out, Action{Kind: TerminateTask, TaskID: taskID, Grace: t.killGrace})
}

// graceOf is the kill policy's grace period: the KILL event's, else the task's, else the
// default.
func (c *Core) graceOf(t *taskRun, override *mesos.KillPolicy) time.Duration {
	if override.GetGracePeriod() != nil {
		return time.Duration(override.GetGracePeriod().GetNanoseconds())
	}
	if kp := t.info.GetKillPolicy(); kp.GetGracePeriod() != nil {
		return time.Duration(kp.GetGracePeriod().GetNanoseconds())
	}
	return c.DefaultGrace
}

// Health reports a health check result: the task's last status goes out again with
// healthy set, and a task whose check says to kill it is killed (its group follows it).
func (c *Core) Health(taskID string, healthy, kill bool, now time.Time) []Action {
	t := c.tasks[taskID]
	if t == nil || t.phase != phaseRunning || t.killing || !t.healthChecked {
		return nil // a result that raced with the end of the check
	}
	out := []Action{{Kind: SendUpdate, TaskID: taskID, Update: Update{TaskID: taskID, Healthy: boolPtr(healthy), HealthUpdate: true,
		Reason: mesos.TaskStatus_REASON_TASK_HEALTH_CHECK_STATUS_UPDATED}}}
	if kill {
		t.killedByHealth = true
		out = append(out, c.kill(taskID, t, c.graceOf(t, nil), now)...)
	}
	return out
}

// Shutdown handles SHUTDOWN: every live task is killed with the shutdown grace period, and
// the executor exits once they have ended (at once when none is left).
func (c *Core) Shutdown(now time.Time) []Action {
	c.shuttingDown = true
	var out []Action
	for _, id := range c.sortedIDs() {
		t := c.tasks[id]
		if t.phase == phaseDone {
			continue
		}
		out = append(out, c.kill(id, t, min(c.ShutdownGrace, c.graceOf(t, nil)), now)...)
	}
	return append(out, c.exitIfIdle()...)
}

// ShuttingDown reports whether SHUTDOWN was received.
func (c *Core) ShuttingDown() bool { return c.shuttingDown }

// Tick escalates to SIGKILL every kill whose grace period has passed at now.
func (c *Core) Tick(now time.Time) []Action {
	var out []Action
	for _, id := range c.sortedIDs() {
		t := c.tasks[id]
		if t.phase == phaseRunning && t.killing && !t.escalated && !now.Before(t.killDeadline) {
			t.escalated = true
			out = append(out, Action{Kind: KillTask, TaskID: id})
		}
	}
	return out
}

// NextDeadline is the earliest time Tick has something to do; false when nothing waits.
func (c *Core) NextDeadline() (time.Time, bool) {
	var next time.Time
	found := false
	for _, t := range c.tasks {
		if t.phase == phaseRunning && t.killing && !t.escalated && (!found || t.killDeadline.Before(next)) {
			next, found = t.killDeadline, true
		}
	}
	return next, found
}

// exitIfIdle emits Exit once, when tasks have run and none is left, or on shutdown.
func (c *Core) exitIfIdle() []Action {
	if c.exited || c.Active() > 0 || (len(c.tasks) == 0 && !c.shuttingDown) {
		return nil
	}
	c.exited = true
	return []Action{{Kind: Exit}}
}

func (c *Core) sortedIDs() []string {
	ids := make([]string, 0, len(c.tasks))
	for id := range c.tasks {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func update(taskID string, state mesos.TaskState, message string, reason mesos.TaskStatus_Reason) Action {
	return Action{Kind: SendUpdate, TaskID: taskID, Update: Update{TaskID: taskID, State: state, Message: message, Reason: reason}}
}

func boolPtr(b bool) *bool { return &b }
