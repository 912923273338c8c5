package marathon

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics serves Prometheus metrics of the framework state, read on the loop.
func (m *Marathon) metrics(w http.ResponseWriter, req *http.Request) {
	var apps, deployments, queued, running, staged, healthy, unhealthy float64
	if err := m.do(req.Context(), func() {
		apps, deployments = float64(len(m.apps)), float64(len(m.deployments))
		for _, q := range m.queue {
			queued += float64(q.Count)
		}
		for _, t := range m.tasks.byID {
			switch t.State {
			case stateRunning:
				running++
			case stateStaging, stateStarting:
				staged++
			}
			if t.Healthy != nil {
				if *t.Healthy {
					healthy++
				} else {
					unhealthy++
				}
			}
		}
	}); err != nil {
		writeReply(w, msgReply(http.StatusServiceUnavailable, "%s", err.Error()))
		return
	}
	reg := prometheus.NewRegistry()
	gauge := func(name, help string, v float64) {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "marathon", Name: name, Help: help})
		g.Set(v)
		reg.MustRegister(g)
	}
	gauge("apps_active", "Apps defined.", apps)
	gauge("deployments_active", "Deployments running.", deployments)
	gauge("launch_queue_size", "Task launches waiting for offers.", queued)
	gauge("tasks_running", "Tasks in TASK_RUNNING.", running)
	gauge("tasks_staged", "Tasks launched and not yet running.", staged)
	gauge("tasks_healthy", "Tasks passing health checks.", healthy)
	gauge("tasks_unhealthy", "Tasks failing health checks.", unhealthy)
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, req)
}
