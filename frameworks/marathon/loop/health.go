package loop

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/frameworks/marathon/events"
	"github.com/agoracluster/agora/frameworks/marathon/health"
	"github.com/agoracluster/agora/frameworks/marathon/tasks"
)

// maxHealthProbes bounds the framework-side health probes in flight.
const maxHealthProbes = 64

// healthProber runs the framework's own health checks: health.Prober, a fake in tests.
type healthProber interface {
	Run(p health.Probe, report func(context.Context, health.Probe, health.Result)) bool
}

// syncHealth starts the framework-side health checks (an app's HTTP, HTTPS and TCP
// checks; the executor runs its Mesos check) that are due: every such check of every
// running task, each on its own interval. Called on every tick.
func (l *Loop) syncHealth(now time.Time) {
	if l.prober == nil {
		return
	}
	var targets []health.Target
	for t := range l.s.tasks.All() {
		a := l.s.apps[t.AppID]
		if a == nil || t.Killing || t.State != tasks.StateRunning || !health.HasFrameworkChecks(a.HealthChecks) {
			continue
		}
		targets = append(targets, health.Target{TaskID: t.ID, Host: t.Host, Ports: t.Ports, Checks: a.HealthChecks})
	}
	for _, p := range l.health.Due(now, targets) {
		l.prober.Run(p, func(ctx context.Context, p health.Probe, res health.Result) {
			_ = l.doDeferred(ctx, func() { l.healthReported(p, res) })
		})
	}
}

// healthReported records a framework-side probe's result: the check's status, the
// task's health events when the instance's health changed, and a kill after
// maxConsecutiveFailures failures in a row.
func (l *Loop) healthReported(p health.Probe, res health.Result) {
	if !l.health.Done(p.Key, p.Gen) {
		return // the task ended, or its app changed, meanwhile
	}
	t := l.s.tasks.Get(p.TaskID)
	if t == nil || t.Killing {
		return
	}
	a := l.s.apps[t.AppID]
	if a == nil || p.Index >= len(a.HealthChecks) || health.IsMesos(a.HealthChecks[p.Index].Protocol) {
		return
	}
	now := l.now()
	wasHealthy := t.HealthyFor(a)
	hadResult := len(t.HealthResults(a)) > 0
	changed, kill := health.Evaluate(t.CheckStatus(p.Index), a.HealthChecks[p.Index], res, t.StartedAt, now)
	if !changed && !kill {
		if !res.Ignored {
			l.s.tasks.Touch(t) // the times and counts moved on: renderings are stale
		}
		return
	}
	l.s.tasks.Touch(t)
	if healthy := t.HealthyFor(a); healthy != wasHealthy || !hadResult {
		l.publishAll(healthEvents(t, healthy, now))
	}
	if !res.Healthy {
		l.publish(events.NewFailedHealthCheck(t.AppID, t.ID, a.HealthChecks[p.Index], now))
	}
	if kill {
		l.log.Info("killing unhealthy task", zap.String("task_id", t.ID), zap.String("app_id", t.AppID),
			zap.Int("check", p.Index), zap.Int("consecutive_failures", t.CheckStatus(p.Index).ConsecutiveFailures))
		l.publish(events.NewUnhealthyInstanceKill(t.AppID, t.ID, t.ID, t.AppVersion, "health check failed", t.Host, t.AgentID, now))
		l.killTask(t, now)
	}
	l.reconcileSoon()
}
