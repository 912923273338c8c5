package supervisor

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/agent/workload"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// limitationCheckInterval is how often the containers are checked for OOM kills that no
// task end revealed (a task's child was killed, the task lives on).
const limitationCheckInterval = time.Second

// Limit ends a container that hit its memory limit: its live tasks fail with
// REASON_CONTAINER_LIMITATION_MEMORY and every process in it is killed. Loop only.
func (s *Supervisor) Limit(ex *workload.Executor, msg string) {
	if ex.Limited || ex.Gone() {
		return
	}
	ex.Limited = true
	ex.FailReason = mesos.TaskStatus_REASON_CONTAINER_LIMITATION_MEMORY
	ex.FailMessage = msg
	s.log.Warn("container exceeded its memory limit, killing it", zap.String("framework_id", ex.Framework.ID),
		zap.String("executor_id", ex.ID), zap.String("container_id", ex.ContainerID), zap.String("limitation", msg))
	s.kill(ex)
}

// checkLimitations kills containers whose memory limit was hit. Loop only.
func (s *Supervisor) checkLimitations() {
	if s.iso == nil {
		return
	}
	for _, fw := range s.w.Frameworks {
		for _, ex := range fw.Executors {
			if ex.Gone() || ex.Limited || ex.PID == 0 {
				continue
			}
			if msg, ok := s.iso.MemoryLimitation(ex.ContainerID); ok {
				s.Limit(ex, msg)
			}
		}
	}
}

// WatchLimitations runs checkLimitations on the loop until ctx is done.
func (s *Supervisor) WatchLimitations(ctx context.Context) {
	t := time.NewTicker(limitationCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			sessions := make(map[int]string)
			if err := s.loop.Query(ctx, func() {
				for _, fw := range s.w.Frameworks {
					for _, ex := range fw.Executors {
						if !ex.Gone() && ex.PID > 0 && !ex.Hosted {
							sessions[ex.PID] = ex.ContainerID
						}
					}
				}
			}); err != nil {
				return
			}
			s.hosted.TaskSessions(sessions) // a hosted task's session is its own
			s.iso.Sweep(sessions)
			if !s.loop.Send(s.checkLimitations) {
				return
			}
		}
	}
}
