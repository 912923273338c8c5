package supervisor

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/agent/containerizer"
	"github.com/agoracluster/agora/agent/workload"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// recoverCleanupWait bounds how long cleanup waits for killed executors to disappear.
const recoverCleanupWait = 10 * time.Second

// WatchRecovered starts the re-registration timer of an adopted executor and waits for its
// container to end.
func (s *Supervisor) WatchRecovered(ex *workload.Executor) {
	timeout := s.cfg.ReregistrationTimeout
	ex.RegTimer = s.loop.AfterFunc(timeout, func() {
		if ex.State != workload.ExecutorRegistering {
			return
		}
		s.log.Warn("recovered executor did not subscribe in time, killing it",
			zap.String("framework_id", ex.Framework.ID), zap.String("executor_id", ex.ID), zap.Duration("timeout", timeout))
		ex.FailReason = mesos.TaskStatus_REASON_EXECUTOR_REREGISTRATION_TIMEOUT
		ex.FailMessage = fmt.Sprintf("Executor did not re-register within %v", timeout)
		s.kill(ex)
	})
	cid := ex.ContainerID
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.wait(ex, cid)
	}()
}

// KillRecovered kills the live executors of a previous run (recover=cleanup) and waits a
// bounded time for them to go.
func (s *Supervisor) KillRecovered(ctx context.Context, containers []containerizer.RecoveredContainer) {
	if err := s.cz.Recover(ctx, containers); err != nil {
		s.log.Warn("recover containers for cleanup", zap.Error(err))
		return
	}
	wctx, cancel := context.WithTimeout(ctx, recoverCleanupWait)
	defer cancel()
	for _, c := range containers {
		if err := s.cz.Kill(wctx, c.ContainerID, syscall.SIGKILL); err != nil {
			s.log.Warn("kill executor", zap.String("container_id", c.ContainerID), zap.Error(err))
		}
	}
	for _, c := range containers {
		if _, err := s.cz.Wait(wctx, c.ContainerID); err != nil {
			s.log.Warn("executor did not go away", zap.String("container_id", c.ContainerID), zap.Error(err))
		}
	}
}
