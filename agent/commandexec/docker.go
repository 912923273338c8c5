package commandexec

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/docker"
	"github.com/agoracluster/agora/agent/healthcheck"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// containerLaunched reports the end of a container launch (pull, create, start): the
// container and what the engine says about it, or why it could not start.
type containerLaunched struct {
	c    *docker.Container
	info docker.Info
	err  error
}

// dockerRunner is a task running as a Docker container that this executor created.
type dockerRunner struct {
	c    *docker.Container
	info docker.Info
	// hostNetwork: the container shares the host's network (no port mappings, no own IP).
	hostNetwork bool
	// io runs fn on a goroutine the executor waits for, with its IO context.
	io  func(fn func(ctx context.Context))
	log *zap.Logger
}

var _ runner = (*dockerRunner)(nil)

// terminate stops the container like `docker stop`: its stop signal now, SIGKILL from the
// engine after grace (rounded up to seconds); the loop sends its own SIGKILL at grace.
func (d *dockerRunner) terminate(grace time.Duration) {
	d.io(func(ctx context.Context) {
		if err := d.c.Kill(ctx, grace); err != nil && ctx.Err() == nil {
			d.log.Warn("stop container", zap.Error(err))
		}
	})
}

func (d *dockerRunner) kill() {
	d.io(func(ctx context.Context) {
		// Fails harmlessly when the container has already stopped.
		if err := d.c.Signal(ctx, "SIGKILL"); err != nil && ctx.Err() == nil {
			d.log.Debug("SIGKILL container", zap.Error(err))
		}
	})
}

// probe aims HTTP and TCP checks at the container: a port that is a mapping's container port
// is reached through its host port on loopback; a port published as a host port, or any
// port with host networking, on loopback; otherwise the container's own address. COMMAND
// checks run inside the container.
func (d *dockerRunner) probe(hc *mesos.HealthCheck, _ []string) (healthcheck.Probe, error) {
	p, err := healthcheck.ProbeFromProto(hc, nil, "")
	if err != nil {
		return nil, err
	}
	switch p := p.(type) {
	case healthcheck.HTTPProbe:
		p.Host, p.Port = d.target(p.Host, p.Port)
		return p, nil
	case healthcheck.TCPProbe:
		p.Host, p.Port = d.target(p.Host, p.Port)
		return p, nil
	case healthcheck.CommandProbe:
		argv := []string{"/bin/sh", "-c", p.Value}
		if !p.Shell {
			argv = append([]string(nil), p.Args...)
			if len(argv) == 0 {
				argv = []string{p.Value}
			}
		}
		return execProbe{c: d.c, argv: argv, env: p.Env}, nil
	}
	return nil, fmt.Errorf("healthcheck: unsupported probe %T for a docker container", p)
}

func (d *dockerRunner) target(loopback string, port uint32) (string, uint32) {
	for _, b := range d.info.Ports {
		if b.ContainerPort == port && b.Protocol == "tcp" {
			return loopback, b.HostPort
		}
	}
	for _, b := range d.info.Ports {
		if b.HostPort == port {
			return loopback, port
		}
	}
	if d.hostNetwork || d.info.IPAddress == "" {
		return loopback, port
	}
	return d.info.IPAddress, port
}

// execProbe runs a COMMAND health check inside the container (docker exec).
type execProbe struct {
	c    *docker.Container
	argv []string
	env  []string
}

func (p execProbe) Probe(ctx context.Context) error {
	res, err := p.c.Exec(ctx, p.argv, p.env)
	if err != nil {
		if ctx.Err() != nil {
			return healthcheck.ErrTimeout
		}
		return err
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("command check exited with status %d: %s", res.ExitCode, strings.TrimSpace(string(res.Output)))
	}
	return nil
}

// isDocker: the task asks for a Docker container. (ContainerInfo.type's default is DOCKER,
// so an absent container must be checked for first.)
func isDocker(task *mesos.TaskInfo) bool {
	ci := task.GetContainer()
	return ci != nil && ci.Type != nil && ci.GetType() == mesos.ContainerInfo_DOCKER
}

// containerOutcome renders a container's end the way Mesos's docker executor does:
// "Container exited with status N"; an OOM kill fails the task with the memory-limit reason.
func containerOutcome(code int, oom bool, err error) func(bool) (mesos.TaskState, string, *mesos.TaskStatus_Reason) {
	return func(killed bool) (mesos.TaskState, string, *mesos.TaskStatus_Reason) {
		switch {
		case err != nil:
			return mesos.TaskState_TASK_FAILED, "Failed to get exit status of container: " + err.Error(), nil
		case killed:
			return mesos.TaskState_TASK_KILLED, docker.ExitMessage(code, false), nil
		case oom:
			return mesos.TaskState_TASK_FAILED, docker.ExitMessage(code, true), mesos.TaskStatus_REASON_CONTAINER_LIMITATION_MEMORY.Enum()
		case code == 0:
			return mesos.TaskState_TASK_FINISHED, docker.ExitMessage(code, false), nil
		}
		return mesos.TaskState_TASK_FAILED, docker.ExitMessage(code, false), nil
	}
}

// executorOnlyEnv are the executor's MESOS_* variables that mean nothing inside a container.
var executorOnlyEnv = map[string]bool{
	"MESOS_AGENT_ENDPOINT": true, "MESOS_SLAVE_ENDPOINT": true, "MESOS_DIRECTORY": true,
	"MESOS_SANDBOX": true, "MESOS_CHECKPOINT": true, "MESOS_HTTP_COMMAND_EXECUTOR": true,
	"MESOS_RECOVERY_TIMEOUT": true, "MESOS_SUBSCRIPTION_BACKOFF_MAX": true,
	"MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD": true, "MESOS_EXECUTOR_AUTHENTICATION_TOKEN": true,
}

// containerEnv is what the container gets from the executor: the executor's MESOS_* (those
// that make sense inside a container) and MARATHON_* variables, then MESOS_FRAMEWORK_ID,
// MESOS_EXECUTOR_ID and MESOS_TASK_ID. The docker package adds CommandInfo.environment,
// MESOS_SANDBOX and MESOS_CONTAINER_NAME. NVIDIA_VISIBLE_DEVICES and CUDA_VISIBLE_DEVICES (the
// GPUs the agent assigned, which the docker package requests from the engine) pass too.
func containerEnv(base []string, frameworkID, executorID, taskID string) []string {
	var env []string
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if (strings.HasPrefix(k, "MESOS_") && !executorOnlyEnv[k]) || strings.HasPrefix(k, "MARATHON_") ||
			k == "NVIDIA_VISIBLE_DEVICES" || k == "CUDA_VISIBLE_DEVICES" {
			env = append(env, kv)
		}
	}
	return append(env, "MESOS_FRAMEWORK_ID="+frameworkID, "MESOS_EXECUTOR_ID="+executorID, "MESOS_TASK_ID="+taskID)
}

// dockerRuntime connects to the engine on first use.
func (e *commandExecutor) dockerRuntime() (*docker.Runtime, error) {
	if e.docker != nil {
		return e.docker, nil
	}
	cli, err := docker.NewClient(e.cfg.DockerSocket)
	if err != nil {
		return nil, err
	}
	e.dockerClose = cli.Close
	e.docker = docker.New(cli, e.cfg.Clock, e.log)
	return e.docker, nil
}

// launchDocker starts the task's container on a goroutine; the loop learns the result from
// containerLaunched. Loop only.
func (e *commandExecutor) launchDocker(task *mesos.TaskInfo, log *zap.Logger) {
	rt, err := e.dockerRuntime()
	if err != nil {
		e.failLaunch(err)
		return
	}
	spec := docker.Spec{
		ContainerID: e.cfg.ContainerID,
		FrameworkID: e.cfg.FrameworkID,
		ExecutorID:  e.cfg.ExecutorID,
		Task:        task,
		Sandbox:     e.cfg.Sandbox,
		Env:         containerEnv(e.cfg.Env, e.cfg.FrameworkID, e.cfg.ExecutorID, task.GetTaskId().GetValue()),
	}
	if _, _, _, err := docker.ContainerConfig(spec); err != nil {
		e.failLaunch(err)
		return
	}
	ctx, cancel := context.WithCancel(e.ioCtx)
	e.launching = true
	e.launchCancel = cancel
	log.Info("launching container", zap.String("image", task.GetContainer().GetDocker().GetImage()),
		zap.String("container", docker.Name(spec.ContainerID)))
	e.wg.Go(func() {
		c, err := rt.Run(ctx, spec)
		if errors.Is(err, docker.ErrExists) {
			// Created by an earlier attempt of this executor: adopt it.
			c, err = rt.Attach(ctx, docker.Name(spec.ContainerID))
		}
		var info docker.Info
		if err == nil {
			var ierr error
			if info, ierr = c.Inspect(ctx); ierr != nil {
				log.Warn("inspect container", zap.Error(ierr))
			}
		}
		if !e.post(containerLaunched{c: c, info: info, err: err}) && c != nil {
			_ = c.Remove(context.Background())
		}
	})
}

// containerLaunched handles the end of a launch. Loop only.
func (e *commandExecutor) launched(m containerLaunched) {
	e.launching = false
	e.launchCancel()
	if m.err != nil {
		e.terminated = true
		var s *mesos.TaskStatus
		if e.killed {
			s = e.newStatus(e.task.GetTaskId(), mesos.TaskState_TASK_KILLED, "Task killed before its container started")
		} else {
			s = e.newStatus(e.task.GetTaskId(), mesos.TaskState_TASK_FAILED, "Failed to launch container: "+launchErrorMessage(m.err))
			s.Reason = mesos.TaskStatus_REASON_CONTAINER_LAUNCH_FAILED.Enum()
		}
		stopTimer(&e.killTimer)
		e.forward(s)
		if e.exitOnReap {
			e.done = true
		}
		return
	}
	log := e.log.With(zap.String("task_id", e.task.GetTaskId().GetValue()))
	di := e.task.GetContainer().GetDocker()
	r := &dockerRunner{
		c: m.c, info: m.info, log: log,
		hostNetwork: di.GetNetwork() == mesos.ContainerInfo_DockerInfo_HOST && len(di.GetPortMappings()) == 0,
		io:          func(fn func(context.Context)) { e.wg.Go(func() { fn(e.ioCtx) }) },
	}
	e.run = r
	c := m.c
	e.wg.Go(func() {
		code, oom, err := c.Wait(e.ioCtx)
		if err == nil {
			// The container is done: remove it (its output is already in the sandbox).
			rmCtx, cancel := context.WithTimeout(context.WithoutCancel(e.ioCtx), time.Minute)
			if rerr := c.Remove(rmCtx); rerr != nil {
				log.Warn("remove container", zap.Error(rerr))
			}
			cancel()
		} else {
			c.Close()
		}
		e.post(taskExited{outcome: containerOutcome(code, oom, err)})
	})
	if e.killed {
		r.kill() // killed while it was being launched: it never ran as far as anyone knows
		return
	}
	s := e.newStatus(e.task.GetTaskId(), mesos.TaskState_TASK_RUNNING, "")
	s.ContainerStatus = &mesos.ContainerStatus{
		ContainerId: &mesos.ContainerID{Value: proto.String(e.cfg.ContainerID)},
	}
	if ip := m.info.IPAddress; ip != "" {
		s.ContainerStatus.NetworkInfos = []*mesos.NetworkInfo{{
			IpAddresses: []*mesos.NetworkInfo_IPAddress{{IpAddress: proto.String(ip)}},
		}}
	}
	e.forward(s)
	if hc := e.task.GetHealthCheck(); hc != nil {
		e.startHealthCheck(hc, nil, log)
	}
}

// launchErrorMessage is the engine's own words for a failed pull, else the error.
func launchErrorMessage(err error) string {
	var pe *docker.PullError
	if errors.As(err, &pe) {
		return fmt.Sprintf("Failed to pull image %q: %v", pe.Image, pe.Err)
	}
	return err.Error()
}
