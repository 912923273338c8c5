package defaultexec

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/commandexec"
	"github.com/agoracluster/agora/agent/executorclient"
	"github.com/agoracluster/agora/agent/healthcheck"
	"github.com/agoracluster/agora/agent/taskproc"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/executor"
)

// ErrAgentLost is returned by Run when the agent stayed unreachable for longer than the
// recovery timeout; the tasks have been killed.
var ErrAgentLost = errors.New("defaultexec: agent connection lost")

const (
	initialBackoff = 100 * time.Millisecond
	sendQueueSize  = 256
	drainTimeout   = time.Second
)

// Config is commandexec's: the same MESOS_* environment configures both executors
// (commandexec.ConfigFromEnv); the per-task output and process placement fields are not used.
type Config = commandexec.Config

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
	processExited struct {
		taskID    string
		succeeded bool
		message   string
	}
	healthChanged struct {
		taskID string
		status healthcheck.Status
	}
)

// proc is a task's running process group.
type proc struct {
	cmd          *exec.Cmd
	pgid         int
	sandbox      string
	env          []string
	healthCancel context.CancelFunc
}

// Run runs the default executor until every task it was given has ended and the updates are
// acknowledged, the agent sends SHUTDOWN, or the agent is lost. Cancelling ctx shuts the
// tasks down as SHUTDOWN does.
func Run(ctx context.Context, cfg Config, log *zap.Logger) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	ioCtx, ioCancel := context.WithCancel(context.WithoutCancel(ctx))
	e := &defaultExecutor{
		cfg:    cfg,
		log:    log.Named("defaultexec").With(zap.String("framework_id", cfg.FrameworkID), zap.String("executor_id", cfg.ExecutorID)),
		agent:  executorclient.NewTLS(cfg.AgentEndpoint, cfg.HTTPClient, cfg.TLS).WithToken(cfg.AuthToken),
		ioCtx:  ioCtx,
		events: make(chan any, 16),
		sendQ:  make(chan *executor.Call, sendQueueSize),
		core:   NewCore(cfg.KillGracePeriod, max(cfg.ShutdownGracePeriod-2*time.Second, 0)),
		procs:  make(map[string]*proc),
		last:   make(map[string]*mesos.TaskStatus),
	}
	senderDone := make(chan struct{})
	go func() { defer close(senderDone); e.sender() }()
	err := e.loop(ctx)
	close(e.sendQ)
	select {
	case <-senderDone:
	case <-time.After(drainTimeout):
	}
	ioCancel()
	<-senderDone
	e.wg.Wait()
	return err
}

// defaultExecutor is the loop's state; only the loop goroutine touches it.
type defaultExecutor struct {
	cfg    Config
	log    *zap.Logger
	agent  *executorclient.Client
	ioCtx  context.Context
	events chan any
	sendQ  chan *executor.Call
	wg     sync.WaitGroup

	core  *Core
	procs map[string]*proc             // live task processes
	last  map[string]*mesos.TaskStatus // each task's last status, for health updates
	info  *mesos.ExecutorInfo          // from SUBSCRIBED
	tasks map[string]*mesos.TaskInfo   // launched, not yet acknowledged, for re-SUBSCRIBE

	conn          int
	connCancel    context.CancelFunc
	subscribed    bool
	backoff       time.Duration
	frameworkInfo *mesos.FrameworkInfo
	agentID       *mesos.AgentID
	unacked       []*executor.Call_Update
	inSubscribe   map[string]bool

	exiting bool // the core said Exit: leave once every update is acknowledged
	done    bool
	exitErr error

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

func (e *defaultExecutor) loop(ctx context.Context) error {
	defer e.cleanup()
	e.disconnected(nil)
	e.subscribe()
	ctxDone := ctx.Done()
	for !e.done {
		select {
		case <-ctxDone:
			ctxDone = nil
			e.log.Info("executor stopping: shutting the tasks down")
			e.apply(e.core.Shutdown(e.cfg.Clock.Now()))
			e.hardStopTimer = time.NewTimer(e.cfg.ShutdownGracePeriod)
		case ev := <-e.events:
			e.handle(ev)
		case <-timerC(e.subscribeTimer):
			e.subscribeTimer = nil
			e.subscribe()
		case <-timerC(e.killTimer):
			e.killTimer = nil
			e.apply(e.core.Tick(e.cfg.Clock.Now()))
		case <-timerC(e.ackTimer):
			e.ackTimer = nil
			e.log.Warn("updates not acknowledged in time; exiting", zap.Int("unacknowledged", len(e.unacked)))
			e.done = true
		case <-timerC(e.recoveryTimer):
			e.recoveryTimer = nil
			e.log.Error("agent unreachable for too long; killing the tasks and exiting", zap.Duration("recovery_timeout", e.cfg.RecoveryTimeout))
			e.exitErr = ErrAgentLost
			e.done = true
		case <-timerC(e.hardStopTimer):
			e.hardStopTimer = nil
			e.done = true
		}
		e.armKillTimer()
	}
	return e.exitErr
}

// cleanup never leaves a task behind: what still runs is SIGKILLed and reaped.
func (e *defaultExecutor) cleanup() {
	for _, t := range []**time.Timer{&e.subscribeTimer, &e.killTimer, &e.ackTimer, &e.recoveryTimer, &e.hardStopTimer} {
		stopTimer(t)
	}
	if e.connCancel != nil {
		e.connCancel()
	}
	for _, p := range e.procs {
		if p.healthCancel != nil {
			p.healthCancel()
		}
		_ = taskproc.SignalGroup(p.pgid, syscall.SIGKILL)
	}
	for len(e.procs) > 0 {
		if m, ok := (<-e.events).(processExited); ok {
			delete(e.procs, m.taskID)
		}
	}
}

func (e *defaultExecutor) armKillTimer() {
	stopTimer(&e.killTimer)
	if next, ok := e.core.NextDeadline(); ok {
		e.killTimer = time.NewTimer(max(next.Sub(e.cfg.Clock.Now()), 0))
	}
}

func (e *defaultExecutor) post(msg any) bool {
	select {
	case e.events <- msg:
		return true
	case <-e.ioCtx.Done():
		return false
	}
}

func (e *defaultExecutor) handle(msg any) {
	now := e.cfg.Clock.Now()
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
	case processExited:
		if p := e.procs[m.taskID]; p != nil && p.healthCancel != nil {
			p.healthCancel()
		}
		delete(e.procs, m.taskID)
		e.apply(e.core.Exited(m.taskID, m.succeeded, m.message, now))
	case healthChanged:
		e.apply(e.core.Health(m.taskID, m.status.Healthy, m.status.Kill, now))
	}
}

// --- the agent connection ---

func (e *defaultExecutor) call(t executor.Call_Type, fill func(*executor.Call)) *executor.Call {
	c := &executor.Call{
		Type:        t.Enum(),
		FrameworkId: &mesos.FrameworkID{Value: proto.String(e.cfg.FrameworkID)},
		ExecutorId:  &mesos.ExecutorID{Value: proto.String(e.cfg.ExecutorID)},
	}
	fill(c)
	return c
}

func (e *defaultExecutor) subscribe() {
	if e.connCancel != nil {
		e.connCancel()
	}
	e.conn++
	id := e.conn
	sub := &executor.Call_Subscribe{UnacknowledgedUpdates: e.unacked}
	for _, t := range e.tasks {
		sub.UnacknowledgedTasks = append(sub.UnacknowledgedTasks, t)
	}
	call := proto.Clone(e.call(executor.Call_SUBSCRIBE, func(c *executor.Call) { c.Subscribe = sub })).(*executor.Call)
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

// disconnected re-subscribes with back-off until the recovery timeout runs out.
func (e *defaultExecutor) disconnected(err error) {
	e.subscribed = false
	if e.done {
		return
	}
	if e.recoveryTimer == nil {
		timeout := e.cfg.RecoveryTimeout
		if !e.cfg.Checkpoint && err != nil {
			timeout = 0
		}
		e.recoveryTimer = time.NewTimer(timeout)
	}
	if err == nil {
		return
	}
	e.backoff = min(max(2*e.backoff, initialBackoff), e.cfg.SubscriptionBackoffMax)
	stopTimer(&e.subscribeTimer)
	e.subscribeTimer = time.NewTimer(e.backoff)
}

func (e *defaultExecutor) received(ev *executor.Event) {
	now := e.cfg.Clock.Now()
	switch ev.GetType() {
	case executor.Event_SUBSCRIBED:
		s := ev.GetSubscribed()
		e.subscribed = true
		e.backoff = 0
		stopTimer(&e.recoveryTimer)
		e.frameworkInfo = s.GetFrameworkInfo()
		e.info = s.GetExecutorInfo()
		e.agentID = s.GetAgentInfo().GetId()
		e.core.KillingState = hasCapability(e.frameworkInfo, mesos.FrameworkInfo_Capability_TASK_KILLING_STATE)
		e.log.Info("subscribed", zap.String("agent_id", e.agentID.GetValue()), zap.Int("unacknowledged_updates", len(e.unacked)))
		for _, u := range e.unacked {
			if !e.inSubscribe[string(u.GetStatus().GetUuid())] {
				e.send(u)
			}
		}
		e.maybeDone()
	case executor.Event_LAUNCH_GROUP:
		tasks := ev.GetLaunchGroup().GetTaskGroup().GetTasks()
		if e.tasks == nil {
			e.tasks = make(map[string]*mesos.TaskInfo)
		}
		for _, t := range tasks {
			if !e.core.Known(t.GetTaskId().GetValue()) {
				e.tasks[t.GetTaskId().GetValue()] = t
			}
		}
		e.apply(e.core.Launch(tasks))
	case executor.Event_LAUNCH:
		t := ev.GetLaunch().GetTask()
		e.log.Warn("the default executor runs task groups only; failing a LAUNCH", zap.String("task_id", t.GetTaskId().GetValue()))
		e.forward(&mesos.TaskStatus{TaskId: t.GetTaskId(), State: mesos.TaskState_TASK_FAILED.Enum(),
			Message: proto.String("The default executor runs task groups (LAUNCH_GROUP) only")})
	case executor.Event_KILL:
		k := ev.GetKill()
		acts, ok := e.core.Kill(k.GetTaskId().GetValue(), k.GetKillPolicy(), now)
		if !ok {
			e.log.Warn("kill for an unknown or ended task", zap.String("task_id", k.GetTaskId().GetValue()))
			return
		}
		e.apply(acts)
	case executor.Event_ACKNOWLEDGED:
		e.acknowledged(ev.GetAcknowledged().GetTaskId().GetValue(), ev.GetAcknowledged().GetUuid())
	case executor.Event_SHUTDOWN:
		e.log.Info("shutdown requested by the agent")
		e.apply(e.core.Shutdown(now))
	case executor.Event_ERROR:
		e.log.Error("error from the agent", zap.String("message", ev.GetError().GetMessage()))
	case executor.Event_MESSAGE, executor.Event_HEARTBEAT:
	default:
		e.log.Warn("ignoring unknown event", zap.Stringer("type", ev.GetType()))
	}
}

func hasCapability(fw *mesos.FrameworkInfo, c mesos.FrameworkInfo_Capability_Type) bool {
	for _, cap := range fw.GetCapabilities() {
		if cap.GetType() == c {
			return true
		}
	}
	return false
}

// --- updates ---

// forward stamps status, keeps it until acknowledged and sends it when subscribed.
func (e *defaultExecutor) forward(status *mesos.TaskStatus) {
	id := uuid.New()
	status.Uuid = id[:]
	status.Source = mesos.TaskStatus_SOURCE_EXECUTOR.Enum()
	status.Timestamp = proto.Float64(float64(e.cfg.Clock.Now().UnixNano()) / 1e9)
	status.ExecutorId = &mesos.ExecutorID{Value: proto.String(e.cfg.ExecutorID)}
	status.AgentId = e.agentID
	update := &executor.Call_Update{Status: status}
	e.unacked = append(e.unacked, update)
	e.last[status.GetTaskId().GetValue()] = status
	e.log.Info("status update", zap.String("task_id", status.GetTaskId().GetValue()), zap.Stringer("state", status.GetState()),
		zap.String("message", status.GetMessage()), zap.String("uuid", id.String()))
	if e.subscribed {
		e.send(update)
	}
}

func (e *defaultExecutor) send(update *executor.Call_Update) {
	call := e.call(executor.Call_UPDATE, func(c *executor.Call) { c.Update = update })
	select {
	case e.sendQ <- proto.Clone(call).(*executor.Call):
	default:
		e.log.Warn("send queue full; update goes out with the next subscription")
	}
}

func (e *defaultExecutor) sender() {
	for call := range e.sendQ {
		if err := e.agent.Send(e.ioCtx, call); err != nil {
			if e.ioCtx.Err() != nil {
				return
			}
			e.log.Warn("send update", zap.Error(err))
		}
	}
}

func (e *defaultExecutor) acknowledged(taskID string, id []byte) {
	for i, u := range e.unacked {
		if string(u.GetStatus().GetUuid()) != string(id) {
			continue
		}
		e.unacked = append(e.unacked[:i], e.unacked[i+1:]...)
		delete(e.tasks, taskID)
		e.maybeDone()
		return
	}
	e.log.Warn("acknowledgement for an unknown update", zap.String("task_id", taskID))
}

// maybeDone ends an exiting executor once every update is acknowledged.
func (e *defaultExecutor) maybeDone() {
	if e.exiting && (len(e.unacked) == 0 || !e.subscribed && e.core.ShuttingDown()) {
		e.log.Info("no task is left and every update is acknowledged; exiting")
		e.done = true
	}
}

// --- actions ---

func (e *defaultExecutor) apply(actions []Action) {
	now := e.cfg.Clock.Now()
	for i := 0; i < len(actions); i++ {
		a := actions[i]
		switch a.Kind {
		case SendUpdate:
			e.sendUpdate(a.Update)
		case StartTask:
			err := e.start(a.Task)
			actions = append(actions, e.core.Started(a.TaskID, err, now)...)
		case StartHealthCheck:
			e.startHealthCheck(a.Task)
		case StopHealthCheck:
			if p := e.procs[a.TaskID]; p != nil && p.healthCancel != nil {
				p.healthCancel()
				p.healthCancel = nil
			}
		case TerminateTask:
			if p := e.procs[a.TaskID]; p != nil {
				e.log.Info("killing task", zap.String("task_id", a.TaskID), zap.Duration("grace_period", a.Grace))
				_ = taskproc.SignalGroup(p.pgid, syscall.SIGTERM)
			}
		case KillTask:
			if p := e.procs[a.TaskID]; p != nil {
				e.log.Info("task did not terminate in its grace period; sending SIGKILL", zap.String("task_id", a.TaskID))
				_ = taskproc.SignalGroup(p.pgid, syscall.SIGKILL)
			}
		case Exit:
			e.exiting = true
			stopTimer(&e.ackTimer)
			e.ackTimer = time.NewTimer(e.cfg.TerminalAckTimeout)
			e.maybeDone()
		}
	}
}

func (e *defaultExecutor) sendUpdate(u Update) {
	var status *mesos.TaskStatus
	if u.HealthUpdate {
		last := e.last[u.TaskID]
		if last == nil {
			return
		}
		status = proto.Clone(last).(*mesos.TaskStatus)
	} else {
		status = &mesos.TaskStatus{TaskId: &mesos.TaskID{Value: proto.String(u.TaskID)}, State: u.State.Enum()}
		if u.Message != "" {
			status.Message = proto.String(u.Message)
		}
	}
	if u.Reason != 0 {
		status.Reason = u.Reason.Enum()
	} else {
		status.Reason = nil
	}
	status.Healthy = nil
	if u.Healthy != nil {
		status.Healthy = proto.Bool(*u.Healthy)
	}
	e.forward(status)
}

// TaskSandbox is a task's sandbox under the executor's, as Mesos lays it out.
func TaskSandbox(executorSandbox, taskID string) string {
	return filepath.Join(executorSandbox, "tasks", taskID)
}

// start creates the task's sandbox, links its volumes and starts its command.
func (e *defaultExecutor) start(ti *mesos.TaskInfo) error {
	taskID := ti.GetTaskId().GetValue()
	if ti.GetCommand() == nil {
		return errors.New("the task has no command")
	}
	if c := ti.GetContainer(); c != nil && (c.GetType() == mesos.ContainerInfo_DOCKER || c.GetMesos().GetImage() != nil) {
		return errors.New("tasks with a container image are not supported by the default executor; run the task's command on the host")
	}
	dir := TaskSandbox(e.cfg.Sandbox, taskID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create the task sandbox: %w", err)
	}
	if err := linkVolumes(e.cfg.Sandbox, dir, e.info.GetContainer().GetVolumes(), ti.GetContainer().GetVolumes()); err != nil {
		return err
	}
	stdout, err := os.OpenFile(filepath.Join(dir, "stdout"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer stdout.Close()
	stderr, err := os.OpenFile(filepath.Join(dir, "stderr"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer stderr.Close()
	ci := ti.GetCommand()
	userName := ci.GetUser()
	if userName == "" {
		userName = e.frameworkInfo.GetUser()
	}
	if !e.cfg.SwitchUser {
		userName = ""
	}
	env := taskproc.Env(e.cfg.Env, taskID, dir, ci)
	cmd, err := taskproc.Build(ci, env, dir, userName, false, stdout, stderr)
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	p := &proc{cmd: cmd, pgid: cmd.Process.Pid, sandbox: dir, env: env}
	e.procs[taskID] = p
	e.log.Info("task started", zap.String("task_id", taskID), zap.Int("pid", p.pgid), zap.String("sandbox", dir))
	e.wg.Go(func() {
		err := cmd.Wait()
		_ = taskproc.SignalGroup(p.pgid, syscall.SIGKILL) // leftovers of the task's process group
		state, msg := taskproc.ExitOutcome(cmd.ProcessState, err, false)
		e.post(processExited{taskID: taskID, succeeded: state == mesos.TaskState_TASK_FINISHED, message: msg})
	})
	return nil
}

func (e *defaultExecutor) startHealthCheck(ti *mesos.TaskInfo) {
	taskID := ti.GetTaskId().GetValue()
	p := e.procs[taskID]
	if p == nil {
		return
	}
	log := e.log.With(zap.String("task_id", taskID))
	hc := ti.GetHealthCheck()
	policy := healthcheck.PolicyFromProto(hc)
	probe, err := healthcheck.ProbeFromProto(hc, p.env, p.sandbox)
	if err == nil {
		err = policy.Validate()
	}
	if err != nil {
		log.Error("health check not started", zap.Error(err))
		return
	}
	if cp, ok := probe.(healthcheck.CommandProbe); ok {
		cp.User = p.cmd.SysProcAttr.Credential
		probe = cp
	}
	ctx, cancel := context.WithCancel(e.ioCtx)
	p.healthCancel = cancel
	runner := healthcheck.NewRunner(policy, probe, e.cfg.Clock.Now(), func(s healthcheck.Status) {
		e.post(healthChanged{taskID: taskID, status: s})
	}, log)
	e.wg.Go(func() { _ = runner.Run(ctx) })
}
