package batch

import "github.com/prometheus/client_golang/prometheus"

// metrics are the framework's Prometheus metrics, on a registry of its own.
type metrics struct {
	reg           *prometheus.Registry
	runsStarted   prometheus.Counter
	runsFinished  *prometheus.CounterVec
	tasksLaunched prometheus.Counter
	tasksEnded    *prometheus.CounterVec
	jobs          prometheus.Gauge
	activeRuns    prometheus.Gauge
	offers        *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		runsStarted: prometheus.NewCounter(prometheus.CounterOpts{Name: "batch_runs_started_total",
			Help: "Job runs started."}),
		runsFinished: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "batch_runs_finished_total",
			Help: "Job runs finished, by status."}, []string{"status"}),
		tasksLaunched: prometheus.NewCounter(prometheus.CounterOpts{Name: "batch_tasks_launched_total",
			Help: "Tasks launched."}),
		tasksEnded: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "batch_tasks_terminal_total",
			Help: "Tasks that reached a terminal state, by state."}, []string{"state"}),
		jobs:       prometheus.NewGauge(prometheus.GaugeOpts{Name: "batch_jobs", Help: "Jobs defined."}),
		activeRuns: prometheus.NewGauge(prometheus.GaugeOpts{Name: "batch_active_runs", Help: "Runs not finished."}),
		offers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "batch_offers_total",
			Help: "Offers received, by outcome (used, declined)."}, []string{"outcome"}),
	}
	m.reg.MustRegister(m.runsStarted, m.runsFinished, m.tasksLaunched, m.tasksEnded, m.jobs, m.activeRuns, m.offers)
	return m
}
