package commandexec

import (
	"context"
	"errors"
	"os"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/clock"
	"github.com/agoracluster/agora/agent/docker"
	"github.com/agoracluster/agora/agent/executorclient"
	"github.com/agoracluster/agora/agent/healthcheck"
	"github.com/agoracluster/agora/agent/taskproc"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/executor"
)

// ErrAgentLost is returned by Run when the agent stayed unreachable for longer than the
// recovery timeout (or at all, without checkpointing); the task has been killed.
var ErrAgentLost = errors.New("commandexec: agent connection lost")

const (
	initialBackoff = 100 * time.Millisecond
	sendQueueSize  = 64
	drainTimeout   = time.Second
)

// Messages from helper goroutines to the loop.
type (
	streamEvent struct {
		conn  int
		event *executor.Event
	}
	streamClosed struct {
		conn int
		err  error
	}
	healthChanged struct{ status healthcheck.Status }
)

// Run runs the executor until its task is done and the terminal update acknowledged, the
// agent sends SHUTDOWN, or the agent is lost. Cancelling ctx shuts the task down like
// SHUTDOWN does. It returns nil on a normal exit.
func Run(ctx context.Context, cfg Config, log *zap.Logger) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.TaskStdout == nil {
		cfg.TaskStdout = os.Stdout
	}
	if cfg.TaskStderr == nil {
		cfg.TaskStderr = os.Stderr
	}
	if cfg.ContainerID == "" {
		cfg.ContainerID = uuid.NewString()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	ioCtx, ioCancel := context.WithCancel(context.WithoutCancel(ctx))
	e := &commandExecutor{
		cfg:    cfg,
		log:    log.Named("commandexec").With(zap.String("framework_id", cfg.FrameworkID), zap.String("executor_id", cfg.ExecutorID)),
		agent:  executorclient.NewTLS(cfg.AgentEndpoint, cfg.HTTPClient, cfg.TLS).WithToken(cfg.AuthToken),
		ioCtx:  ioCtx,
		events: make(chan any, 16),
		sendQ:  make(chan *executor.Call, sendQueueSize),
		start:  cfg.Clock.Now(),
	}
	senderDone := make(chan struct{})
	go func() { defer close(senderDone); e.sender() }()

	err := e.loop(ctx)

	// Let queued calls (normally none once the terminal update is acknowledged) go out.
	close(e.sendQ)
	select {
	case <-senderDone:
	case <-time.After(drainTimeout):
	}
	ioCancel()
	<-senderDone
	e.wg.Wait()
	if e.dockerClose != nil {
		_ = e.dockerClose()
	}
	return err
}

// commandExecutor is the loop's state; only the loop goroutine touches it.
type commandExecutor struct {
	cfg    Config
	log    *zap.Logger
	agent  *executorclient.Client
	ioCtx  context.Context
	events chan any
	sendQ  chan *executor.Call
	wg     sync.WaitGroup
	start  time.Time

	// connection
	conn          int // id of the current subscription attempt
	connCancel    context.CancelFunc
	subscribed    bool
	backoff       time.Duration
	frameworkInfo *mesos.FrameworkInfo
	agentID       *mesos.AgentID

	// task
	task           *mesos.TaskInfo
	taskAcked      bool
	run            runner // nil until the task runs
	launching      bool   // a container launch is under way
	launchCancel   context.CancelFunc
	killed         bool
	killedByHealth bool
	terminated     bool // the task is over (exited, or failed to launch)
	killStart      time.Time
	killDeadline   time.Time
	healthCancel   context.CancelFunc
	lastStatus     *mesos.TaskStatus

	docker      *docker.Runtime // connected on the first docker task
	dockerClose func() error

	// updates not yet acknowledged, oldest first
	unacked []*executor.Call_Update
	// inSubscribe holds the uuids of the updates the pending SUBSCRIBE carries; updates made
	// after it was sent go out as UPDATE calls once SUBSCRIBED arrives.
	inSubscribe  map[string]bool
	terminalUUID []byte

	shuttingDown bool
	aborted      bool // Config.Abort was closed: nothing more goes to the agent
	exitOnReap   bool
	exitErr      error
	done         bool

	subscribeTimer, killTimer, ackTimer, recoveryTimer, hardStopTimer *time.Timer
}

func timerC(t *time.Timer) <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.C
}

func stopTimer(t **time.Timer) {
	if *t != nil {
		(*t).Stop()
		*t = nil
	}
}

func (e *commandExecutor) loop(ctx context.Context) error {
	defer func() {
		for _, t := range []**time.Timer{&e.subscribeTimer, &e.killTimer, &e.ackTimer, &e.recoveryTimer, &e.hardStopTimer} {
			stopTimer(t)
		}
		if e.connCancel != nil {
			e.connCancel()
		}
		if e.healthCancel != nil {
			e.healthCancel()
		}
		if e.taskActive() {
			// Never leave the task behind; the wait goroutine finishes once it is dead.
			e.killed = true
			e.forceKill()
			for !e.terminated {
				switch m := (<-e.events).(type) {
				case containerLaunched:
					e.launched(m)
				case taskExited:
					e.reaped(m)
				}
			}
		}
	}()
	e.disconnected(nil)
	e.subscribe()
	ctxDone := ctx.Done()
	for !e.done {
		select {
		case <-e.cfg.Abort:
			e.abort()
		case <-ctxDone:
			ctxDone = nil
			e.log.Info("executor stopping: shutting the task down")
			e.shutdown()
			e.hardStopTimer = time.NewTimer(e.cfg.ShutdownGracePeriod)
		case ev := <-e.events:
			e.handle(ev)
		case <-timerC(e.subscribeTimer):
			e.subscribeTimer = nil
			e.subscribe()
		case <-timerC(e.killTimer):
			e.killTimer = nil
			e.escalate()
		case <-timerC(e.ackTimer):
			e.ackTimer = nil
			e.log.Warn("terminal update not acknowledged in time; exiting", zap.Duration("timeout", e.cfg.TerminalAckTimeout))
			e.done = true
		case <-timerC(e.recoveryTimer):
			e.recoveryTimer = nil
			e.agentLost()
		case <-timerC(e.hardStopTimer):
			e.hardStopTimer = nil
			e.forceExit()
		}
	}
	return e.exitErr
}

// post hands a message to the loop; it gives up when the executor is exiting.
func (e *commandExecutor) post(msg any) bool {
	select {
	case e.events <- msg:
		return true
	case <-e.ioCtx.Done():
		return false
	}
}

func (e *commandExecutor) handle(msg any) {
	switch m := msg.(type) {
	case streamEvent:
		if m.conn == e.conn {
			e.received(m.event)
		}
	case streamClosed:
		if m.conn == e.conn {
			e.log.Warn("agent connection lost", zap.Error(m.err))
			e.disconnected(m.err)
		}
	case taskExited:
		e.reaped(m)
	case containerLaunched:
		e.launched(m)
	case healthChanged:
		e.healthUpdated(m.status)
	}
}

// --- connection ---

func (e *commandExecutor) subscribeCall() *executor.Call {
	sub := &executor.Call_Subscribe{UnacknowledgedUpdates: e.unacked}
	if e.task != nil && !e.taskAcked {
		sub.UnacknowledgedTasks = []*mesos.TaskInfo{e.task}
	}
	return e.call(executor.Call_SUBSCRIBE, func(c *executor.Call) { c.Subscribe = sub })
}

func (e *commandExecutor) call(t executor.Call_Type, fill func(*executor.Call)) *executor.Call {
	c := &executor.Call{
		Type:        t.Enum(),
		FrameworkId: &mesos.FrameworkID{Value: proto.String(e.cfg.FrameworkID)},
		ExecutorId:  &mesos.ExecutorID{Value: proto.String(e.cfg.ExecutorID)},
	}
	fill(c)
	return c
}

func (e *commandExecutor) subscribe() {
	if e.connCancel != nil {
		e.connCancel()
	}
	if e.aborted {
		return
	}
	e.conn++
	id := e.conn
	call := proto.Clone(e.subscribeCall()).(*executor.Call)
	e.inSubscribe = make(map[string]bool, len(e.unacked))
	for _, u := range e.unacked {
		e.inSubscribe[string(u.GetStatus().GetUuid())] = true
	}
	ctx, cancel := context.WithCancel(e.ioCtx)
	e.connCancel = cancel
	e.wg.Go(func() {
		err := e.agent.Subscribe(ctx, call, func(ev *executor.Event) bool {
			return e.post(streamEvent{conn: id, event: ev})
		})
		e.post(streamClosed{conn: id, err: err})
	})
}

// disconnected starts (or continues) recovery: re-subscribe with back-off until the recovery
// timeout runs out.
func (e *commandExecutor) disconnected(err error) {
	e.subscribed = false
	stopTimer(&e.ackTimer)
	if e.done || e.aborted {
		return // an aborted executor neither re-subscribes nor finds the agent lost
	}
	if e.recoveryTimer == nil {
		timeout := e.cfg.RecoveryTimeout
		if !e.cfg.Checkpoint && err != nil {
			timeout = 0
		}
		e.recoveryTimer = time.NewTimer(timeout)
	}
	if err == nil {
		return // the first subscription, started by loop
	}
	e.backoff = min(max(2*e.backoff, initialBackoff), e.cfg.SubscriptionBackoffMax)
	stopTimer(&e.subscribeTimer)
	e.subscribeTimer = time.NewTimer(e.backoff)
}

func (e *commandExecutor) agentLost() {
	e.log.Error("agent unreachable for too long; killing the task and exiting", zap.Duration("recovery_timeout", e.cfg.RecoveryTimeout))
	e.exitErr = ErrAgentLost
	e.forceExit()
}

// forceExit kills the task at once and exits once it is gone.
func (e *commandExecutor) forceExit() {
	if e.taskActive() {
		e.killed = true
		e.forceKill()
		e.exitOnReap = true
		return
	}
	e.done = true
}

// abort ends the executor as SIGKILL ends an executor process: the task is killed, the
// executor returns once it is reaped, and nothing more is sent to the agent.
func (e *commandExecutor) abort() {
	e.cfg.Abort = nil
	e.aborted = true
	if e.connCancel != nil {
		e.connCancel()
		e.connCancel = nil
	}
	stopTimer(&e.subscribeTimer)
	stopTimer(&e.recoveryTimer)
	e.forceExit()
}

// taskActive: the task is being launched or runs, and has not ended.
func (e *commandExecutor) taskActive() bool {
	return (e.run != nil || e.launching) && !e.terminated
}

// forceKill kills the running task, or aborts its launch.
func (e *commandExecutor) forceKill() {
	switch {
	case e.run != nil:
		e.run.kill()
	case e.launching:
		e.launchCancel()
	}
}

func (e *commandExecutor) received(ev *executor.Event) {
	switch ev.GetType() {
	case executor.Event_SUBSCRIBED:
		s := ev.GetSubscribed()
		e.subscribed = true
		e.backoff = 0
		stopTimer(&e.recoveryTimer)
		e.frameworkInfo = s.GetFrameworkInfo()
		e.agentID = s.GetAgentInfo().GetId()
		e.log.Info("subscribed", zap.String("agent_id", e.agentID.GetValue()), zap.Int("unacknowledged_updates", len(e.unacked)))
		for _, u := range e.unacked {
			if !e.inSubscribe[string(u.GetStatus().GetUuid())] {
				e.send(u) // made while the SUBSCRIBE was under way
			}
		}
		if e.terminalUUID != nil {
			e.armAckTimer()
		}
		if e.done {
			return
		}
		if e.shuttingDown && (e.task == nil || e.terminated) && e.terminalUUID == nil {
			e.done = true
		}
	case executor.Event_LAUNCH:
		e.launch(ev.GetLaunch().GetTask())
	case executor.Event_LAUNCH_GROUP:
		e.rejectGroup(ev.GetLaunchGroup().GetTaskGroup())
	case executor.Event_KILL:
		k := ev.GetKill()
		if e.task == nil || k.GetTaskId().GetValue() != e.task.GetTaskId().GetValue() {
			e.log.Warn("kill for an unknown task", zap.String("task_id", k.GetTaskId().GetValue()))
			return
		}
		e.kill(e.gracePeriod(k.GetKillPolicy()))
	case executor.Event_ACKNOWLEDGED:
		e.acknowledged(ev.GetAcknowledged().GetUuid())
	case executor.Event_SHUTDOWN:
		e.log.Info("shutdown requested by the agent")
		e.shutdown()
	case executor.Event_ERROR:
		e.log.Error("error from the agent", zap.String("message", ev.GetError().GetMessage()))
	case executor.Event_MESSAGE, executor.Event_HEARTBEAT:
	default:
		e.log.Warn("ignoring unknown event", zap.Stringer("type", ev.GetType()))
	}
}

// --- updates ---

func (e *commandExecutor) newStatus(taskID *mesos.TaskID, state mesos.TaskState, message string) *mesos.TaskStatus {
	s := &mesos.TaskStatus{TaskId: taskID, State: state.Enum()}
	if message != "" {
		s.Message = proto.String(message)
	}
	return s
}

// forward stamps status (uuid, source, time, ids), remembers it until acknowledged and
// sends it when subscribed.
func (e *commandExecutor) forward(status *mesos.TaskStatus) {
	id := uuid.New()
	status.Uuid = id[:]
	status.Source = mesos.TaskStatus_SOURCE_EXECUTOR.Enum()
	status.Timestamp = proto.Float64(float64(e.cfg.Clock.Now().UnixNano()) / 1e9)
	status.ExecutorId = &mesos.ExecutorID{Value: proto.String(e.cfg.ExecutorID)}
	status.AgentId = e.agentID
	update := &executor.Call_Update{Status: status}
	e.unacked = append(e.unacked, update)
	if e.task != nil && status.GetTaskId().GetValue() == e.task.GetTaskId().GetValue() {
		e.lastStatus = status
	}
	e.log.Info("status update", zap.String("task_id", status.GetTaskId().GetValue()), zap.Stringer("state", status.GetState()),
		zap.String("message", status.GetMessage()), zap.String("uuid", id.String()))
	if status.GetState().IsTerminal() && (e.task == nil || status.GetTaskId().GetValue() == e.task.GetTaskId().GetValue()) {
		e.terminalUUID = status.Uuid
		if e.subscribed {
			e.armAckTimer()
		}
	}
	if !e.subscribed {
		return // goes out with the next SUBSCRIBE, or after the pending one
	}
	e.send(update)
}

// send queues an UPDATE call for update.
func (e *commandExecutor) send(update *executor.Call_Update) {
	if e.aborted {
		return
	}
	call := e.call(executor.Call_UPDATE, func(c *executor.Call) { c.Update = update })
	select {
	case e.sendQ <- proto.Clone(call).(*executor.Call):
	default:
		e.log.Warn("send queue full; update goes out with the next subscription")
	}
}

func (e *commandExecutor) armAckTimer() {
	stopTimer(&e.ackTimer)
	e.ackTimer = time.NewTimer(e.cfg.TerminalAckTimeout)
}

// sender posts queued calls in order until the queue is closed or IO is cancelled.
func (e *commandExecutor) sender() {
	for call := range e.sendQ {
		if err := e.agent.Send(e.ioCtx, call); err != nil {
			if e.ioCtx.Err() != nil {
				return
			}
			e.log.Warn("send update", zap.Error(err))
		}
	}
}

func (e *commandExecutor) acknowledged(id []byte) {
	for i, u := range e.unacked {
		if string(u.GetStatus().GetUuid()) != string(id) {
			continue
		}
		e.unacked = append(e.unacked[:i], e.unacked[i+1:]...)
		e.taskAcked = true
		if e.terminalUUID != nil && string(id) == string(e.terminalUUID) {
			e.log.Info("terminal update acknowledged; exiting")
			e.done = true
		}
		return
	}
	e.log.Warn("acknowledgement for an unknown update")
}

// --- task ---

func (e *commandExecutor) launch(task *mesos.TaskInfo) {
	taskID := task.GetTaskId().GetValue()
	if e.task != nil {
		if taskID == e.task.GetTaskId().GetValue() {
			e.log.Warn("ignoring a repeated launch of the task", zap.String("task_id", taskID))
			return
		}
		e.forward(e.newStatus(task.GetTaskId(), mesos.TaskState_TASK_FAILED, `Attempted to run multiple tasks using a "command" executor`))
		return
	}
	e.task = task
	log := e.log.With(zap.String("task_id", taskID))
	e.forward(e.newStatus(task.GetTaskId(), mesos.TaskState_TASK_STARTING, ""))
	if e.shuttingDown {
		e.failLaunch(errors.New("executor is shutting down"))
		return
	}
	if isDocker(task) {
		e.launchDocker(task, log)
		return
	}
	ci := task.GetCommand()
	userName := ci.GetUser()
	if userName == "" {
		userName = e.frameworkInfo.GetUser()
	}
	if !e.cfg.SwitchUser {
		userName = ""
	}
	env := taskproc.Env(e.cfg.Env, taskID, e.cfg.Sandbox, ci)
	cmd, err := taskproc.Build(ci, env, e.cfg.Sandbox, userName, e.cfg.TaskSession, e.cfg.TaskStdout, e.cfg.TaskStderr)
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		e.failLaunch(err)
		return
	}
	if e.cfg.PlaceProcess != nil {
		e.cfg.PlaceProcess(cmd.Process.Pid)
	}
	if e.cfg.TaskStarted != nil {
		e.cfg.TaskStarted(cmd.Process.Pid)
	}
	pr := &processRunner{cmd: cmd, pgid: cmd.Process.Pid, dir: e.cfg.Sandbox, place: e.cfg.PlaceProcess}
	e.run = pr
	log.Info("task started", zap.Int("pid", pr.pgid))
	e.wg.Go(func() { e.post(pr.wait()) })
	e.forward(e.newStatus(task.GetTaskId(), mesos.TaskState_TASK_RUNNING, ""))
	if hc := task.GetHealthCheck(); hc != nil {
		e.startHealthCheck(hc, env, log)
	}
}

func (e *commandExecutor) failLaunch(err error) {
	e.terminated = true
	s := e.newStatus(e.task.GetTaskId(), mesos.TaskState_TASK_FAILED, "Failed to launch task: "+err.Error())
	s.Reason = mesos.TaskStatus_REASON_COMMAND_EXECUTOR_FAILED.Enum()
	e.forward(s)
}

func (e *commandExecutor) startHealthCheck(hc *mesos.HealthCheck, env []string, log *zap.Logger) {
	policy := healthcheck.PolicyFromProto(hc)
	probe, err := e.run.probe(hc, env)
	if err == nil {
		err = policy.Validate()
	}
	if err != nil {
		log.Error("health check not started", zap.Error(err))
		return
	}
	ctx, cancel := context.WithCancel(e.ioCtx)
	e.healthCancel = cancel
	runner := healthcheck.NewRunner(policy, probe, e.cfg.Clock.Now(), func(s healthcheck.Status) {
		e.post(healthChanged{status: s})
	}, log)
	e.wg.Go(func() { _ = runner.Run(ctx) })
}

func (e *commandExecutor) stopHealthCheck() {
	if e.healthCancel != nil {
		e.healthCancel()
		e.healthCancel = nil
	}
}

func (e *commandExecutor) healthUpdated(s healthcheck.Status) {
	if e.killed || e.terminated || e.lastStatus == nil {
		return // a check that raced with the end of the task
	}
	status := proto.Clone(e.lastStatus).(*mesos.TaskStatus)
	status.Healthy = proto.Bool(s.Healthy)
	status.Reason = mesos.TaskStatus_REASON_TASK_HEALTH_CHECK_STATUS_UPDATED.Enum()
	e.forward(status)
	if s.Kill {
		e.killedByHealth = true
		e.kill(e.gracePeriod(nil))
	}
}

// gracePeriod is the kill policy's grace period: the KILL event's, else the task's, else
// the default.
func (e *commandExecutor) gracePeriod(override *mesos.KillPolicy) time.Duration {
	if override.GetGracePeriod() != nil {
		return time.Duration(override.GetGracePeriod().GetNanoseconds())
	}
	if kp := e.task.GetKillPolicy(); kp.GetGracePeriod() != nil {
		return time.Duration(kp.GetGracePeriod().GetNanoseconds())
	}
	return e.cfg.KillGracePeriod
}

// kill sends SIGTERM to the task's process group and schedules SIGKILL after grace. A kill
// while one is in progress can only shorten the grace period (as in Mesos).
func (e *commandExecutor) kill(grace time.Duration) {
	if !e.taskActive() {
		return
	}
	grace = max(grace, 0)
	now := e.cfg.Clock.Now()
	if e.killed {
		if deadline := e.killStart.Add(grace); deadline.Before(e.killDeadline) {
			e.killDeadline = deadline
			stopTimer(&e.killTimer)
			e.killTimer = time.NewTimer(max(deadline.Sub(now), 0))
		}
		return
	}
	e.killed = true
	e.stopHealthCheck()
	if e.hasCapability(mesos.FrameworkInfo_Capability_TASK_KILLING_STATE) {
		e.forward(e.newStatus(e.task.GetTaskId(), mesos.TaskState_TASK_KILLING, ""))
	}
	e.log.Info("killing task", zap.String("task_id", e.task.GetTaskId().GetValue()), zap.Duration("grace_period", grace))
	if e.run != nil {
		e.run.terminate(grace)
	} else {
		e.launchCancel() // abort the launch; launched reports TASK_KILLED
	}
	e.killStart = now
	e.killDeadline = now.Add(grace)
	e.killTimer = time.NewTimer(grace)
}

func (e *commandExecutor) escalate() {
	if e.terminated || e.run == nil {
		return
	}
	e.log.Info("task did not terminate in its grace period; sending SIGKILL", zap.String("task_id", e.task.GetTaskId().GetValue()))
	e.run.kill()
}

func (e *commandExecutor) hasCapability(c mesos.FrameworkInfo_Capability_Type) bool {
	for _, cap := range e.frameworkInfo.GetCapabilities() {
		if cap.GetType() == c {
			return true
		}
	}
	return false
}

func (e *commandExecutor) reaped(m taskExited) {
	e.terminated = true
	stopTimer(&e.killTimer)
	e.stopHealthCheck()
	state, msg, reason := m.outcome(e.killed)
	status := e.newStatus(e.task.GetTaskId(), state, msg)
	status.Reason = reason
	if e.killed && e.killedByHealth {
		status.Healthy = proto.Bool(false)
	}
	e.forward(status)
	if e.exitOnReap {
		e.done = true
	}
}

// shutdown kills the task with the shutdown grace period (less a margin to report it) and
// exits once its terminal update is acknowledged.
func (e *commandExecutor) shutdown() {
	e.shuttingDown = true
	if e.taskActive() {
		e.kill(e.cfg.ShutdownGracePeriod - 2*time.Second)
		return
	}
	if e.terminalUUID == nil || !e.subscribed {
		e.done = true
	}
}

// rejectGroup fails every task of a task group: the command executor runs one task only.
func (e *commandExecutor) rejectGroup(g *mesos.TaskGroupInfo) {
	// Without a task of its own the executor exits once the last of these is acknowledged
	// (forward records it as the terminal update).
	for _, t := range g.GetTasks() {
		e.forward(e.newStatus(t.GetTaskId(), mesos.TaskState_TASK_FAILED, "The command executor cannot run task groups"))
	}
}
