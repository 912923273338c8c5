package supervisor

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
	"github.com/agoracluster/agora/agent/gpu"
	"github.com/agoracluster/agora/agent/isolation"
	"github.com/agoracluster/agora/agent/proc"
	"github.com/agoracluster/agora/agent/sandbox"
	"github.com/agoracluster/agora/agent/volumes"
	"github.com/agoracluster/agora/agent/workload"
	"github.com/agoracluster/agora/duration"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	executorpb "github.com/agoracluster/agora/proto/mesos/v1/executor"
	"github.com/agoracluster/agora/resources"
	"github.com/agoracluster/agora/security/exectoken"
)

// Supervisor starts, watches and stops executor containers through the containerizer,
// and carries their starts, exits, limitations and timeouts into the executors' state on
// the agent's loop. Its methods run on the loop unless they say otherwise; its watchers are
// goroutines of its own, ended by the context it was built with (Wait waits for them).
type Supervisor struct {
	cfg    Config
	loop   Loop
	owner  Owner
	w      *workload.State
	log    *zap.Logger
	clock  clock.Clock
	cz     containerizer.Containerizer
	hosted *containerizer.Hosted
	iso    *isolation.Isolator
	gpus   *gpu.Allocator
	ckpt   checkpoint.Store
	ctx    context.Context // ends the watchers' waits: the agent exits and leaves executors be
	slots  chan struct{}   // one element per executor starting (Config.LaunchConcurrency)
	wg     sync.WaitGroup  // the launch and wait goroutines
}

// Config is how executors are run.
type Config struct {
	WorkDir        string // the agent's work dir (sandboxes, volumes)
	ExecutorBinary string // the agora binary: command and default executors run it
	// SwitchUser runs executors as their command's (or framework's) user.
	SwitchUser bool
	// ExecutorHost runs command executors in the executor host, except those of DOCKER tasks.
	ExecutorHost bool
	// RegistrationTimeout is how long a launched executor has to subscribe, and
	// ReregistrationTimeout how long a recovered one has.
	RegistrationTimeout   time.Duration
	ReregistrationTimeout time.Duration
	// ShutdownGracePeriod is the time between SHUTDOWN and SIGKILL unless the executor
	// names its own.
	ShutdownGracePeriod time.Duration
	// LaunchConcurrency bounds the executors starting at once (before they subscribe).
	LaunchConcurrency int
	Endpoint          string            // host:port executors reach the agent on
	Tokens            *exectoken.Signer // executors' tokens; nil without authentication
	TLSEnv            []string          // how executors reach the agent over TLS
	DockerEnv         []string          // how command executors of DOCKER tasks reach the engine
}

// Loop is the agent's loop, which owns the workload.
type Loop interface {
	// Send runs ev on the loop; false once the loop has ended.
	Send(ev func()) bool
	// Query runs fn on the loop and waits for it.
	Query(ctx context.Context, fn func()) error
	// AfterFunc runs ev on the loop after d.
	AfterFunc(d time.Duration, ev func()) clock.Timer
}

// Owner is told, on the loop, what becomes of the executors' tasks and of the executors.
type Owner interface {
	// TaskUpdate is a status update for a task, on the agent's behalf.
	TaskUpdate(t *workload.Task, state mesos.TaskState, reason mesos.TaskStatus_Reason, msg string)
	// ExecutorExited: the executor's container ended with status, after its live tasks were
	// given their terminal updates.
	ExecutorExited(ex *workload.Executor, status int)
}

// Deps are what a Supervisor works with.
type Deps struct {
	Loop          Loop
	Owner         Owner
	Workload      *workload.State // read and written on the loop only
	Log           *zap.Logger
	Clock         clock.Clock
	Containerizer containerizer.Containerizer
	Hosted        *containerizer.Hosted // asked for its tasks' sessions
	Isolator      *isolation.Isolator
	GPUs          *gpu.Allocator
	Checkpoints   checkpoint.Store
}

// New builds a Supervisor whose watchers end with ctx.
func New(ctx context.Context, cfg Config, d Deps) *Supervisor {
	return &Supervisor{
		cfg: cfg, loop: d.Loop, owner: d.Owner, w: d.Workload, log: d.Log, clock: d.Clock,
		cz: d.Containerizer, hosted: d.Hosted, iso: d.Isolator, gpus: d.GPUs, ckpt: d.Checkpoints,
		ctx: ctx, slots: make(chan struct{}, cfg.LaunchConcurrency),
	}
}

// Wait waits for the watchers, once the context given to New has ended.
func (s *Supervisor) Wait() { s.wg.Wait() }

// ExecutorInfoFor returns the executor that runs task: its own ExecutorInfo, or Agora's
// command executor (executor id = task id) for a command task.
func ExecutorInfoFor(fw *workload.Framework, t *mesos.TaskInfo, bin string) (*mesos.ExecutorInfo, bool) {
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

// Launch registers a new executor and starts it in the background; its checkpoints,
// tasks included, are written there too, off the loop. Loop only.
func (s *Supervisor) Launch(fw *workload.Framework, info *mesos.ExecutorInfo, command bool, tasks []*mesos.TaskInfo) *workload.Executor {
	eid := info.GetExecutorId().GetValue()
	cid := uuid.NewString()
	ex := &workload.Executor{
		Framework:    fw,
		ID:           eid,
		Info:         info,
		ContainerID:  cid,
		Sandbox:      sandbox.Path(s.cfg.WorkDir, s.w.AgentID, fw.ID, eid, cid),
		Command:      command,
		State:        workload.ExecutorLaunching,
		Tasks:        make(map[string]*workload.Task),
		PendingKills: make(map[string]*mesos.KillPolicy),
		FailReason:   mesos.TaskStatus_REASON_EXECUTOR_TERMINATED,
	}
	slot := &launchSlot{slots: s.slots, clock: s.clock}
	ex.Starting = slot
	docker := command && slices.ContainsFunc(tasks, func(t *mesos.TaskInfo) bool { return containerizer.IsDocker(t.GetContainer()) })
	// The command executor of DOCKER tasks stays a process of its own, which the docker
	// containerizer finds its containers by.
	ex.Hosted = command && s.cfg.ExecutorHost && !docker
	fw.Executors[eid] = ex
	var taskRecs [][]byte
	for _, ti := range tasks {
		t := &workload.Task{Executor: ex, Info: ti, State: mesos.TaskState_TASK_STAGING}
		if rec, err := checkpoint.TaskRecord(t.ToTask(s.w.AgentID, nil)); err != nil {
			s.log.Warn("checkpoint task", zap.Error(err))
		} else {
			taskRecs = append(taskRecs, rec)
		}
	}
	user := info.GetCommand().GetUser()
	if user == "" {
		user = fw.Info.GetUser()
	}
	if !s.cfg.SwitchUser {
		user = ""
	}
	spec := containerizer.ContainerSpec{
		ContainerID: cid,
		FrameworkID: fw.ID,
		ExecutorID:  eid,
		Sandbox:     ex.Sandbox,
		Command:     executorCommand(info, s.cfg.ExecutorBinary),
		Env:         s.executorEnv(ex),
		User:        user,
		Container:   info.GetContainer(),
		Hosted:      ex.Hosted,
		Docker:      docker,
	}
	agentID := s.w.AgentID
	limits := isolation.LimitsOf(info, tasks, command)
	gpus, gpuErr := gpusOf(info, tasks)
	vols := volumes.Of(info, tasks)
	log := s.log.With(zap.String("framework_id", fw.ID), zap.String("executor_id", eid), zap.String("container_id", cid))
	log.Debug("launching executor", zap.String("sandbox", ex.Sandbox))
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.watch(ex, slot, spec, agentID, info, taskRecs, limits, gpus, gpuErr, vols, log)
	}()
	return ex
}

// launchSlotTimeout bounds how long a started executor holds its launch slot without
// subscribing (a custom executor may be slow, or not speak the executor API at all).
const launchSlotTimeout = time.Second

// launchSlot is an executor's place among the executors starting at once: taken by its
// Launch goroutine before the sandbox is created, given back when the executor subscribes
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
func (s *Supervisor) watch(ex *workload.Executor, slot *launchSlot, spec containerizer.ContainerSpec, agentID string, info *mesos.ExecutorInfo, taskRecs [][]byte, limits cgroups.Limits, gpus int, gpuErr error, vols resources.Resources, log *zap.Logger) {
	defer slot.Release()
	if !slot.acquire(s.ctx) {
		s.loop.Send(func() { s.launchFailed(ex, errors.New("agent stopping")) })
		return
	}
	err := sandbox.Create(spec.Sandbox)
	if err == nil {
		if cerr := s.ckpt.WriteExecutorRun(agentID, spec.FrameworkID, info, spec.ContainerID, spec.Hosted, taskRecs); cerr != nil {
			log.Warn("checkpoint executor", zap.Error(cerr))
		}
	}
	if err == nil {
		// Persistent volumes appear at their container paths in the sandbox.
		err = volumes.Link(s.cfg.WorkDir, spec.Sandbox, vols, volumes.OwnerOf(spec.User))
	}
	if err == nil {
		err = gpuErr
	}
	if err == nil {
		// The container's GPUs (exactly the gpus it asked for) in its environment; on an
		// agent with GPUs the others are denied in its cgroup.
		var env []string
		runDir := s.ckpt.RunDir(agentID, spec.FrameworkID, spec.ExecutorID, spec.ContainerID)
		env, limits.DenyDevices, err = s.assignGPUs(runDir, spec.ContainerID, gpus, log)
		spec.Env = append(spec.Env, env...)
	}
	if err == nil {
		if ierr := s.iso.Prepare(spec.ContainerID, limits); ierr != nil {
			log.Warn("executor runs without limits", zap.Error(ierr))
		}
	}
	var pid int
	if err == nil {
		pid, err = s.cz.Launch(s.ctx, spec)
	}
	if err != nil {
		s.iso.Destroy(spec.ContainerID)
		s.gpus.Release(spec.ContainerID)
		s.loop.Send(func() { s.launchFailed(ex, err) })
		return
	}
	if cerr := s.ckpt.WritePID(agentID, spec.FrameworkID, spec.ExecutorID, spec.ContainerID, pid, proc.StartTime(pid), spec.Hosted); cerr != nil {
		log.Warn("checkpoint executor pid", zap.Error(cerr))
	}
	slot.started()
	s.loop.Send(func() { s.started(ex, pid) })
	s.wait(ex, spec.ContainerID)
}

// wait waits for a container to end, learns whether it hit its memory limit,
// removes its cgroup (killing what is left) and reports the end to the loop.
func (s *Supervisor) wait(ex *workload.Executor, containerID string) {
	term, err := s.cz.Wait(s.ctx, containerID)
	if err != nil {
		return // the agent is exiting and leaves the executor running
	}
	limitation, limited := s.iso.MemoryLimitation(containerID)
	s.iso.Destroy(containerID)
	s.gpus.Release(containerID)
	s.loop.Send(func() {
		if limited {
			s.Limit(ex, limitation)
		}
		s.exited(ex, term)
	})
}

func (s *Supervisor) launchFailed(ex *workload.Executor, err error) {
	s.log.Warn("executor launch failed", zap.String("framework_id", ex.Framework.ID), zap.String("executor_id", ex.ID), zap.Error(err))
	ex.FailReason = mesos.TaskStatus_REASON_CONTAINER_LAUNCH_FAILED
	ex.FailMessage = "Failed to launch container: " + err.Error()
	s.exited(ex, containerizer.Termination{Status: -1, Message: err.Error()})
}

func (s *Supervisor) started(ex *workload.Executor, pid int) {
	ex.PID = pid
	if ex.State == workload.ExecutorTerminating {
		s.kill(ex)
		return
	}
	if ex.State != workload.ExecutorLaunching {
		return
	}
	ex.State = workload.ExecutorRegistering
	ex.RegTimer = s.loop.AfterFunc(s.cfg.RegistrationTimeout, func() {
		if ex.State != workload.ExecutorRegistering {
			return
		}
		s.log.Warn("executor did not subscribe in time, killing it",
			zap.String("framework_id", ex.Framework.ID), zap.String("executor_id", ex.ID),
			zap.Duration("timeout", s.cfg.RegistrationTimeout))
		ex.FailReason = mesos.TaskStatus_REASON_EXECUTOR_REGISTRATION_TIMEOUT
		ex.FailMessage = fmt.Sprintf("Executor did not register within %v", s.cfg.RegistrationTimeout)
		s.kill(ex)
	})
}

// exited fails the executor's live tasks and tells the master.
func (s *Supervisor) exited(ex *workload.Executor, term containerizer.Termination) {
	if ex.Gone() {
		return
	}
	ex.StopTimers()
	if ex.Conn != nil {
		ex.Conn.Close()
		ex.Conn = nil
	}
	ex.State = workload.ExecutorTerminated
	s.log.Info("executor exited", zap.String("framework_id", ex.Framework.ID), zap.String("executor_id", ex.ID),
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
		s.owner.TaskUpdate(t, state, ex.FailReason, msg)
	}
	s.owner.ExecutorExited(ex, term.Status)
}

// kill sends SIGKILL to the executor's container.
func (s *Supervisor) kill(ex *workload.Executor) {
	if ex.Gone() {
		return
	}
	ex.State = workload.ExecutorTerminating
	if ex.PID == 0 {
		return // still launching; started kills it
	}
	if err := s.cz.Kill(s.ctx, ex.ContainerID, syscall.SIGKILL); err != nil {
		s.log.Warn("kill executor", zap.String("executor_id", ex.ID), zap.Error(err))
	}
}

// Shutdown asks the executor to shut down and kills it after the grace period.
func (s *Supervisor) Shutdown(ex *workload.Executor) {
	if ex.Gone() || ex.State == workload.ExecutorTerminating {
		return
	}
	ex.State = workload.ExecutorTerminating
	if ex.Conn == nil {
		s.kill(ex)
		return
	}
	ex.Conn.Push(&executorpb.Event{Type: executorpb.Event_SHUTDOWN.Enum()})
	ex.KillTimer = s.loop.AfterFunc(ex.GracePeriod(s.cfg.ShutdownGracePeriod), func() { s.kill(ex) })
}

// Detach leaves the executor running when the agent exits.
func (s *Supervisor) Detach(ex *workload.Executor) {
	ex.Detached = true
	ex.StopTimers()
	if ex.Conn != nil {
		ex.Conn.Close()
		ex.Conn = nil
	}
}

// executorEnv is the executor's environment: the agent's own (without AGORA_* and MESOS_*),
// the Mesos executor variables, then ExecutorInfo.command.environment.
func (s *Supervisor) executorEnv(ex *workload.Executor) []string {
	env := containerizer.InheritedEnv()
	env = append(env,
		"MESOS_FRAMEWORK_ID="+ex.Framework.ID,
		"MESOS_EXECUTOR_ID="+ex.ID,
		"MESOS_AGENT_ENDPOINT="+s.cfg.Endpoint,
		"MESOS_DIRECTORY="+ex.Sandbox,
		"MESOS_SANDBOX="+ex.Sandbox,
		"MESOS_CHECKPOINT=1",
		"MESOS_HTTP_COMMAND_EXECUTOR=1",
		"MESOS_RECOVERY_TIMEOUT=15mins",
		"MESOS_SUBSCRIPTION_BACKOFF_MAX=2secs",
		"MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD="+duration.Format(ex.GracePeriod(s.cfg.ShutdownGracePeriod)),
	)
	if !s.cfg.SwitchUser {
		env = append(env, "AGORA_SWITCH_USER=0")
	}
	if s.cfg.Tokens != nil {
		env = append(env, "MESOS_EXECUTOR_AUTHENTICATION_TOKEN="+s.cfg.Tokens.Token(ex.Framework.ID, ex.ID))
	}
	// With TLS, the executor reaches the agent over HTTPS with the agent's certificates.
	env = append(env, s.cfg.TLSEnv...)
	// The container id names and labels a DOCKER task's container.
	env = append(env, "AGORA_CONTAINER_ID="+ex.ContainerID)
	env = append(env, s.cfg.DockerEnv...)
	for _, v := range ex.Info.GetCommand().GetEnvironment().GetVariables() {
		if v.GetType() == mesos.Environment_Variable_SECRET {
			continue
		}
		env = append(env, v.GetName()+"="+v.GetValue())
	}
	return env
}
