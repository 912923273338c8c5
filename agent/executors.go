package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/cgroups"
	"github.com/agoracluster/agora/agent/checkpoint"
	"github.com/agoracluster/agora/agent/clock"
	"github.com/agoracluster/agora/agent/containerizer"
	"github.com/agoracluster/agora/agent/isolation"
	"github.com/agoracluster/agora/agent/proc"
	"github.com/agoracluster/agora/agent/sandbox"
	"github.com/agoracluster/agora/agent/volumes"
	"github.com/agoracluster/agora/agent/workload"
	"github.com/agoracluster/agora/duration"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	executorpb "github.com/agoracluster/agora/proto/mesos/v1/executor"
	"github.com/agoracluster/agora/resources"
)

// supervisor starts, watches and stops executor containers through the containerizer,
// and carries their starts, exits, limitations and timeouts into the executors' state on
// the loop. Its watchers are goroutines of the agent (Agent.watchers).
type supervisor struct{ a *Agent }

// executorInfoFor returns the executor that runs task: its own ExecutorInfo, or Agora's
// command executor (executor id = task id) for a command task.
func executorInfoFor(fw *workload.Framework, t *mesos.TaskInfo, bin string) (*mesos.ExecutorInfo, bool) {
	if t.GetExecutor() != nil {
		info := proto.Clone(t.GetExecutor()).(*mesos.ExecutorInfo)
		if info.FrameworkId == nil {
			info.FrameworkId = &mesos.FrameworkID{Value: proto.String(fw.ID)}
		}
		return info, false
	}
	cmd := t.GetCommand()
	return &mesos.ExecutorInfo{
		ExecutorId:  &mesos.ExecutorID{Value: proto.String(t.GetTaskId().GetValue())},
		FrameworkId: &mesos.FrameworkID{Value: proto.String(fw.ID)},
		Name:        proto.String("Command Executor (Task: " + t.GetTaskId().GetValue() + ")"),
		Source:      proto.String(t.GetTaskId().GetValue()),
		Command: &mesos.CommandInfo{
			Shell:     proto.Bool(false),
			Value:     proto.String(bin),
			Arguments: []string{bin, "executor"},
			Uris:      cmd.GetUris(),
			User:      cmd.User,
		},
		Labels: t.GetLabels(),
	}, true
}

// isDefaultExecutor: a task group's executor without a command is Mesos's DEFAULT executor,
// which the agent provides (`agora default-executor`).
func isDefaultExecutor(info *mesos.ExecutorInfo) bool {
	return info.GetCommand().GetValue() == "" && info.GetType() != mesos.ExecutorInfo_CUSTOM
}

// executorCommand is what the executor's container runs: its own command, or Agora's
// default executor for a DEFAULT executor (the URIs and environment of a command it was
// given still apply).
func executorCommand(info *mesos.ExecutorInfo, bin string) *mesos.CommandInfo {
	if !isDefaultExecutor(info) {
		return info.GetCommand()
	}
	ci := &mesos.CommandInfo{
		Shell:       proto.Bool(false),
		Value:       proto.String(bin),
		Arguments:   []string{bin, "default-executor"},
		Uris:        info.GetCommand().GetUris(),
		Environment: info.GetCommand().GetEnvironment(),
	}
	if u := info.GetCommand().GetUser(); u != "" {
		ci.User = proto.String(u)
	}
	return ci
}

// launch registers a new executor and starts it in the background; its checkpoints,
// tasks included, are written there too, off the loop. Loop only.
func (s supervisor) launch(fw *workload.Framework, info *mesos.ExecutorInfo, command bool, tasks []*mesos.TaskInfo) *workload.Executor {
	a := s.a
	eid := info.GetExecutorId().GetValue()
	cid := uuid.NewString()
	ex := &workload.Executor{
		Framework:    fw,
		ID:           eid,
		Info:         info,
		ContainerID:  cid,
		Sandbox:      sandbox.Path(a.cfg.WorkDir, a.st.AgentID, fw.ID, eid, cid),
		Command:      command,
		State:        workload.ExecutorLaunching,
		Tasks:        make(map[string]*workload.Task),
		PendingKills: make(map[string]*mesos.KillPolicy),
		FailReason:   mesos.TaskStatus_REASON_EXECUTOR_TERMINATED,
	}
	slot := &launchSlot{slots: a.launches, clock: a.clock}
	ex.Starting = slot
	docker := command && slices.ContainsFunc(tasks, isDockerTask)
	// The command executor of DOCKER tasks stays a process of its own, which the docker
	// containerizer finds its containers by.
	ex.Hosted = command && a.cfg.ExecutorHost && !docker
	fw.Executors[eid] = ex
	var taskRecs [][]byte
	for _, ti := range tasks {
		t := &workload.Task{Executor: ex, Info: ti, State: mesos.TaskState_TASK_STAGING}
		if rec, err := checkpoint.TaskRecord(t.ToTask(a.st.AgentID, nil)); err != nil {
			a.log.Warn("checkpoint task", zap.Error(err))
		} else {
			taskRecs = append(taskRecs, rec)
		}
	}
	user := info.GetCommand().GetUser()
	if user == "" {
		user = fw.Info.GetUser()
	}
	if !a.cfg.SwitchUser {
		user = ""
	}
	spec := containerizer.ContainerSpec{
		ContainerID: cid,
		FrameworkID: fw.ID,
		ExecutorID:  eid,
		Sandbox:     ex.Sandbox,
		Command:     executorCommand(info, a.executorBin),
		Env:         a.executorEnv(ex),
		User:        user,
		Container:   info.GetContainer(),
		Hosted:      ex.Hosted,
		Docker:      docker,
	}
	agentID := a.st.AgentID
	limits := isolation.LimitsOf(info, tasks, command)
	gpus, gpuErr := gpusOf(info, tasks)
	vols := volumes.Of(info, tasks)
	log := a.log.With(zap.String("framework_id", fw.ID), zap.String("executor_id", eid), zap.String("container_id", cid))
	log.Debug("launching executor", zap.String("sandbox", ex.Sandbox))
	a.watchers.Add(1)
	go func() {
		defer a.watchers.Done()
		a.sup.watch(ex, slot, spec, agentID, info, taskRecs, limits, gpus, gpuErr, vols, log)
	}()
	return ex
}

// launchSlotTimeout bounds how long a started executor holds its launch slot without
// subscribing (a custom executor may be slow, or not speak the executor API at all).
const launchSlotTimeout = time.Second

// launchSlot is an executor's place among the executors starting at once: taken by its
// launch goroutine before the sandbox is created, given back when the executor subscribes
// (loop), ends or fails to launch, or after launchSlotTimeout.
type launchSlot struct {
	slots chan struct{}
	mu    sync.Mutex
	held  bool
	clock clock.Clock
	timer clock.Timer
}

// acquire waits for a slot; false when ctx ended first.
func (s *launchSlot) acquire(ctx context.Context) bool {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	s.mu.Lock()
	s.held = true
	s.mu.Unlock()
	return true
}

// started starts the timeout once the executor process runs.
func (s *launchSlot) started() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held {
		s.timer = s.clock.AfterFunc(launchSlotTimeout, s.Release)
	}
}

// Release gives the slot back; only the first call after acquire does anything.
func (s *launchSlot) Release() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.held {
		return
	}
	s.held = false
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	<-s.slots
}

// watch creates the sandbox, launches the executor, waits for it to end and reports
// each step to the loop. It runs on its own goroutine and touches no loop state.
func (s supervisor) watch(ex *workload.Executor, slot *launchSlot, spec containerizer.ContainerSpec, agentID string, info *mesos.ExecutorInfo, taskRecs [][]byte, limits cgroups.Limits, gpus int, gpuErr error, vols resources.Resources, log *zap.Logger) {
	a := s.a
	defer slot.Release()
	if !slot.acquire(a.procCtx) {
		a.send(func() { a.sup.launchFailed(ex, errors.New("agent stopping")) })
		return
	}
	err := sandbox.Create(spec.Sandbox)
	if err == nil {
		if cerr := a.ckpt.WriteExecutorRun(agentID, spec.FrameworkID, info, spec.ContainerID, spec.Hosted, taskRecs); cerr != nil {
			log.Warn("checkpoint executor", zap.Error(cerr))
		}
	}
	if err == nil {
		// Persistent volumes appear at their container paths in the sandbox.
		err = volumes.Link(a.cfg.WorkDir, spec.Sandbox, vols, volumes.OwnerOf(spec.User))
	}
	if err == nil {
		err = gpuErr
	}
	if err == nil {
		// The container's GPUs (exactly the gpus it asked for) in its environment; on an
		// agent with GPUs the others are denied in its cgroup.
		var env []string
		runDir := a.ckpt.RunDir(agentID, spec.FrameworkID, spec.ExecutorID, spec.ContainerID)
		env, limits.DenyDevices, err = a.assignGPUs(runDir, spec.ContainerID, gpus, log)
		spec.Env = append(spec.Env, env...)
	}
	if err == nil {
		if ierr := a.iso.Prepare(spec.ContainerID, limits); ierr != nil {
			log.Warn("executor runs without limits", zap.Error(ierr))
		}
	}
	var pid int
	if err == nil {
		pid, err = a.containerizer.Launch(a.procCtx, spec)
	}
	if err != nil {
		a.iso.Destroy(spec.ContainerID)
		a.gpus.Release(spec.ContainerID)
		a.send(func() { a.sup.launchFailed(ex, err) })
		return
	}
	if cerr := a.ckpt.WritePID(agentID, spec.FrameworkID, spec.ExecutorID, spec.ContainerID, pid, proc.StartTime(pid), spec.Hosted); cerr != nil {
		log.Warn("checkpoint executor pid", zap.Error(cerr))
	}
	slot.started()
	a.send(func() { a.sup.started(ex, pid) })
	a.sup.wait(ex, spec.ContainerID)
}

// wait waits for a container to end, learns whether it hit its memory limit,
// removes its cgroup (killing what is left) and reports the end to the loop.
func (s supervisor) wait(ex *workload.Executor, containerID string) {
	a := s.a
	term, err := a.containerizer.Wait(a.procCtx, containerID)
	if err != nil {
		return // the agent is exiting and leaves the executor running
	}
	limitation, limited := a.iso.MemoryLimitation(containerID)
	a.iso.Destroy(containerID)
	a.gpus.Release(containerID)
	a.send(func() {
		if limited {
			a.sup.limit(ex, limitation)
		}
		a.sup.exited(ex, term)
	})
}

func (s supervisor) launchFailed(ex *workload.Executor, err error) {
	a := s.a
	a.log.Warn("executor launch failed", zap.String("framework_id", ex.Framework.ID), zap.String("executor_id", ex.ID), zap.Error(err))
	ex.FailReason = mesos.TaskStatus_REASON_CONTAINER_LAUNCH_FAILED
	ex.FailMessage = "Failed to launch container: " + err.Error()
	a.sup.exited(ex, containerizer.Termination{Status: -1, Message: err.Error()})
}

func (s supervisor) started(ex *workload.Executor, pid int) {
	a := s.a
	ex.PID = pid
	if ex.State == workload.ExecutorTerminating {
		a.sup.kill(ex)
		return
	}
	if ex.State != workload.ExecutorLaunching {
		return
	}
	ex.State = workload.ExecutorRegistering
	ex.RegTimer = a.afterFunc(a.cfg.ExecutorRegistrationTimeout, func() {
		if ex.State != workload.ExecutorRegistering {
			return
		}
		a.log.Warn("executor did not subscribe in time, killing it",
			zap.String("framework_id", ex.Framework.ID), zap.String("executor_id", ex.ID),
			zap.Duration("timeout", a.cfg.ExecutorRegistrationTimeout))
		ex.FailReason = mesos.TaskStatus_REASON_EXECUTOR_REGISTRATION_TIMEOUT
		ex.FailMessage = fmt.Sprintf("Executor did not register within %v", a.cfg.ExecutorRegistrationTimeout)
		a.sup.kill(ex)
	})
}

// exited fails the executor's live tasks and tells the master.
func (s supervisor) exited(ex *workload.Executor, term containerizer.Termination) {
	a := s.a
	if ex.Gone() {
		return
	}
	ex.StopTimers()
	if ex.Conn != nil {
		ex.Conn.Close()
		ex.Conn = nil
	}
	ex.State = workload.ExecutorTerminated
	a.log.Info("executor exited", zap.String("framework_id", ex.Framework.ID), zap.String("executor_id", ex.ID),
		zap.String("status", term.Message))
	msg := ex.FailMessage
	if msg == "" {
		msg = "Executor terminated: " + term.Message
	}
	ex.Queue = nil
	for _, t := range workload.SortedByID(ex.Tasks) {
		if t.State.IsTerminal() {
			continue
		}
		state := mesos.TaskState_TASK_FAILED
		if t.KillRequested || ex.ShutdownRequested || ex.Framework.ShuttingDown {
			state = mesos.TaskState_TASK_KILLED
		}
		a.agentUpdate(t, state, ex.FailReason, msg)
	}
	a.master.Enqueue(ex.ExitedCall(term.Status))
	a.maybeRemoveExecutor(ex)
	a.checkStopped() // a stopping agent waits for this exit even while the tasks' updates are pending
}

// kill sends SIGKILL to the executor's container.
func (s supervisor) kill(ex *workload.Executor) {
	a := s.a
	if ex.Gone() {
		return
	}
	ex.State = workload.ExecutorTerminating
	if ex.PID == 0 {
		return // still launching; started kills it
	}
	if err := a.containerizer.Kill(a.procCtx, ex.ContainerID, syscall.SIGKILL); err != nil {
		a.log.Warn("kill executor", zap.String("executor_id", ex.ID), zap.Error(err))
	}
}

// shutdown asks the executor to shut down and kills it after the grace period.
func (s supervisor) shutdown(ex *workload.Executor) {
	a := s.a
	if ex.Gone() || ex.State == workload.ExecutorTerminating {
		return
	}
	ex.State = workload.ExecutorTerminating
	if ex.Conn == nil {
		a.sup.kill(ex)
		return
	}
	ex.Conn.Push(&executorpb.Event{Type: executorpb.Event_SHUTDOWN.Enum()})
	ex.KillTimer = a.afterFunc(ex.GracePeriod(a.cfg.ExecutorShutdownGracePeriod), func() { a.sup.kill(ex) })
}

// detach leaves the executor running when the agent exits.
func (s supervisor) detach(ex *workload.Executor) {
	ex.Detached = true
	ex.StopTimers()
	if ex.Conn != nil {
		ex.Conn.Close()
		ex.Conn = nil
	}
}

// executorEnv is the executor's environment: the agent's own (without AGORA_* and MESOS_*),
// the Mesos executor variables, then ExecutorInfo.command.environment.
func (a *Agent) executorEnv(ex *workload.Executor) []string {
	env := containerizer.InheritedEnv()
	env = append(env,
		"MESOS_FRAMEWORK_ID="+ex.Framework.ID,
		"MESOS_EXECUTOR_ID="+ex.ID,
		"MESOS_AGENT_ENDPOINT="+a.endpoint,
		"MESOS_DIRECTORY="+ex.Sandbox,
		"MESOS_SANDBOX="+ex.Sandbox,
		"MESOS_CHECKPOINT=1",
		"MESOS_HTTP_COMMAND_EXECUTOR=1",
		"MESOS_RECOVERY_TIMEOUT=15mins",
		"MESOS_SUBSCRIPTION_BACKOFF_MAX=2secs",
		"MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD="+duration.Format(ex.GracePeriod(a.cfg.ExecutorShutdownGracePeriod)),
	)
	if !a.cfg.SwitchUser {
		env = append(env, "AGORA_SWITCH_USER=0")
	}
	if a.tokens != nil {
		env = append(env, "MESOS_EXECUTOR_AUTHENTICATION_TOKEN="+a.tokens.Token(ex.Framework.ID, ex.ID))
	}
	// With TLS, the executor reaches the agent over HTTPS with the agent's certificates.
	env = append(env, a.cfg.TLS.Vars()...)
	// The container id names and labels a DOCKER task's container.
	env = append(env, "AGORA_CONTAINER_ID="+ex.ContainerID)
	if a.docker != nil {
		env = append(env, a.docker.Env()...)
	}
	for _, v := range ex.Info.GetCommand().GetEnvironment().GetVariables() {
		if v.GetType() == mesos.Environment_Variable_SECRET {
			continue
		}
		env = append(env, v.GetName()+"="+v.GetValue())
	}
	return env
}
