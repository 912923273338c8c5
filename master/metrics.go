package master

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the master's Prometheus metrics, in a registry of its own.
type metrics struct {
	reg                   *prometheus.Registry
	schedulerCalls        *prometheus.CounterVec
	invalidSchedulerCalls prometheus.Counter
	allocationSeconds     prometheus.Histogram
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		schedulerCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agora_master_scheduler_calls_total", Help: "Scheduler API calls received, by type.",
		}, []string{"type"}),
		invalidSchedulerCalls: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "agora_master_scheduler_calls_invalid_total", Help: "Scheduler API calls rejected as malformed or invalid.",
		}),
		allocationSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "agora_master_allocation_duration_seconds", Help: "Duration of allocation cycles.",
			Buckets: prometheus.ExponentialBuckets(0.00001, 4, 10),
		}),
	}
	m.reg.MustRegister(m.schedulerCalls, m.invalidSchedulerCalls, m.allocationSeconds)
	return m
}

// gauges is a snapshot of the state's sizes taken on the loop for a scrape.
type gauges struct {
	agents      map[string]int // by state
	frameworks  map[string]int // connected / disconnected
	tasks       map[string]int // by state
	offers      int
	counters    counters
	completedFw int
}

func (s *state) gauges() gauges {
	g := gauges{agents: map[string]int{}, frameworks: map[string]int{}, tasks: map[string]int{}, counters: *s.stats}
	for _, st := range []agentState{agentActive, agentDisconnected, agentRecovered, agentUnreachable} {
		g.agents[st.String()] = 0
	}
	for _, a := range s.agents {
		g.agents[a.state.String()]++
	}
	g.frameworks["connected"], g.frameworks["disconnected"] = 0, 0
	for _, fw := range s.frameworks {
		if fw.connected {
			g.frameworks["connected"]++
		} else {
			g.frameworks["disconnected"]++
		}
		for _, t := range fw.tasks {
			g.tasks[t.state().String()]++
		}
		if n := len(fw.unreachable); n > 0 {
			g.tasks["TASK_UNREACHABLE"] += n
		}
	}
	g.offers = len(s.offers)
	g.completedFw = len(s.completedFrameworks)
	return g
}

// stateCollector reads the state on each scrape.
type stateCollector struct{ m *Master }

var (
	descAgents     = prometheus.NewDesc("agora_master_agents", "Agents by state.", []string{"state"}, nil)
	descFrameworks = prometheus.NewDesc("agora_master_frameworks", "Frameworks by connection.", []string{"state"}, nil)
	descCompleted  = prometheus.NewDesc("agora_master_frameworks_completed", "Removed frameworks kept for /state.", nil, nil)
	descTasks      = prometheus.NewDesc("agora_master_tasks", "Active tasks by state.", []string{"state"}, nil)
	descOffers     = prometheus.NewDesc("agora_master_offers_outstanding", "Outstanding offers.", nil, nil)
	descCounters   = prometheus.NewDesc("agora_master_events_total", "Master events.", []string{"event"}, nil)
)

func (c stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descAgents, descFrameworks, descCompleted, descTasks, descOffers, descCounters} {
		ch <- d
	}
}

func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var g gauges
	if err := c.m.exec(ctx, func(s *state) { g = s.gauges() }); err != nil {
		return
	}
	for st, n := range g.agents {
		ch <- prometheus.MustNewConstMetric(descAgents, prometheus.GaugeValue, float64(n), st)
	}
	for st, n := range g.frameworks {
		ch <- prometheus.MustNewConstMetric(descFrameworks, prometheus.GaugeValue, float64(n), st)
	}
	ch <- prometheus.MustNewConstMetric(descCompleted, prometheus.GaugeValue, float64(g.completedFw))
	for st, n := range g.tasks {
		ch <- prometheus.MustNewConstMetric(descTasks, prometheus.GaugeValue, float64(n), st)
	}
	ch <- prometheus.MustNewConstMetric(descOffers, prometheus.GaugeValue, float64(g.offers))
	for name, v := range map[string]int64{
		"offers_sent": g.counters.offersSent, "offers_rescinded": g.counters.offersRescinded,
		"offers_declined": g.counters.offersDeclined, "tasks_launched": g.counters.tasksLaunched,
		"status_updates": g.counters.statusUpdates,
	} {
		ch <- prometheus.MustNewConstMetric(descCounters, prometheus.CounterValue, float64(v), name)
	}
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
