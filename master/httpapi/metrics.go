package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/agoracluster/agora/master/ledger"
)

// Metrics are the master's Prometheus metrics, in a registry of their own.
type Metrics struct {
	reg                   *prometheus.Registry
	schedulerCalls        *prometheus.CounterVec
	invalidSchedulerCalls prometheus.Counter
	operatorCalls         *prometheus.CounterVec
	allocationSeconds     prometheus.Histogram
}

// NewMetrics returns the master's metrics; the ledger's sizes are read through
// loop on each scrape.
func NewMetrics(loop Loop) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		schedulerCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agora_master_scheduler_calls_total", Help: "Scheduler API calls received, by type.",
		}, []string{"type"}),
		invalidSchedulerCalls: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "agora_master_scheduler_calls_invalid_total", Help: "Scheduler API calls rejected as malformed or invalid.",
		}),
		operatorCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agora_master_operator_calls_total", Help: "Operator API calls received, by type.",
		}, []string{"type"}),
		allocationSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "agora_master_allocation_duration_seconds", Help: "Duration of allocation cycles.",
			Buckets: prometheus.ExponentialBuckets(0.00001, 4, 10),
		}),
	}
	m.reg.MustRegister(m.schedulerCalls, m.invalidSchedulerCalls, m.operatorCalls, m.allocationSeconds, ledgerCollector{loop})
	return m
}

// ObserveAllocation records the duration of one allocation cycle.
func (m *Metrics) ObserveAllocation(d time.Duration) {
	m.allocationSeconds.Observe(d.Seconds())
}

func (m *Metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// ledgerCollector reads the ledger's gauges on each scrape.
type ledgerCollector struct{ loop Loop }

var (
	descAgents     = prometheus.NewDesc("agora_master_agents", "Agents by state.", []string{"state"}, nil)
	descFrameworks = prometheus.NewDesc("agora_master_frameworks", "Frameworks by connection.", []string{"state"}, nil)
	descCompleted  = prometheus.NewDesc("agora_master_frameworks_completed", "Removed frameworks kept for /state.", nil, nil)
	descTasks      = prometheus.NewDesc("agora_master_tasks", "Active tasks by state.", []string{"state"}, nil)
	descOffers     = prometheus.NewDesc("agora_master_offers_outstanding", "Outstanding offers.", nil, nil)
	descCounters   = prometheus.NewDesc("agora_master_events_total", "Master events.", []string{"event"}, nil)
)

func (c ledgerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descAgents, descFrameworks, descCompleted, descTasks, descOffers, descCounters} {
		ch <- d
	}
}

func (c ledgerCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var g ledger.Gauges
	if err := c.loop.Do(ctx, func(l *ledger.Ledger) { g = l.Gauges() }); err != nil {
		return
	}
	for st, n := range g.Agents {
		ch <- prometheus.MustNewConstMetric(descAgents, prometheus.GaugeValue, float64(n), st)
	}
	for st, n := range g.Frameworks {
		ch <- prometheus.MustNewConstMetric(descFrameworks, prometheus.GaugeValue, float64(n), st)
	}
	ch <- prometheus.MustNewConstMetric(descCompleted, prometheus.GaugeValue, float64(g.CompletedFrameworks))
	for st, n := range g.Tasks {
		ch <- prometheus.MustNewConstMetric(descTasks, prometheus.GaugeValue, float64(n), st)
	}
	ch <- prometheus.MustNewConstMetric(descOffers, prometheus.GaugeValue, float64(g.Offers))
	for name, v := range map[string]int64{
		"offers_sent": g.Counters.OffersSent, "offers_rescinded": g.Counters.OffersRescinded,
		"offers_declined": g.Counters.OffersDeclined, "tasks_launched": g.Counters.TasksLaunched,
		"status_updates": g.Counters.StatusUpdates,
	} {
		ch <- prometheus.MustNewConstMetric(descCounters, prometheus.CounterValue, float64(v), name)
	}
}
