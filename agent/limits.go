package agent

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

// limit ends a container that hit its memory limit: its live tasks fail with
// REASON_CONTAINER_LIMITATION_MEMORY and every process in it is killed. Loop only.
func (s supervisor) limit(ex *workload.Executor, msg string) {
	a := s.a
	if ex.Limited || ex.Gone() {
		return
	}
	ex.Limited = true
	ex.FailReason = mesos.TaskStatus_REASON_CONTAINER_LIMITATION_MEMORY
	ex.FailMessage = msg
	a.log.Warn("container exceeded its memory limit, killing it", zap.String("framework_id", ex.Framework.ID),
		zap.String("executor_id", ex.ID), zap.String("container_id", ex.ContainerID), zap.String("limitation", msg))
	a.sup.kill(ex)
}

// checkLimitations kills containers whose memory limit was hit. Loop only.
func (s supervisor) checkLimitations() {
	a := s.a
	if a.iso == nil {
		return
	}
	for _, fw := range a.st.Frameworks {
		for _, ex := range fw.Executors {
			if ex.Gone() || ex.Limited || ex.PID == 0 {
				continue
			}
			if msg, ok := a.iso.MemoryLimitation(ex.ContainerID); ok {
				a.sup.limit(ex, msg)
			}
		}
	}
}

// watchLimitations runs checkLimitations on the loop until ctx is done.
func (s supervisor) watchLimitations(ctx context.Context) {
	a := s.a
	t := time.NewTicker(limitationCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			sessions := make(map[int]string)
			if err := a.query(ctx, func() {
				for _, fw := range a.st.Frameworks {
					for _, ex := range fw.Executors {
						if !ex.Gone() && ex.PID > 0 && !ex.Hosted {
							sessions[ex.PID] = ex.ContainerID
						}
					}
				}
			}); err != nil {
				return
			}
			a.hosted.TaskSessions(sessions) // a hosted task's session is its own
			a.iso.Sweep(sessions)
			if !a.send(a.sup.checkLimitations) {
				return
			}
		}
	}
}
