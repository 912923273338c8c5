package stateapi

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/agoracluster/agora/apicodec"
	"github.com/agoracluster/agora/proto/mesos/v1"
)

// ResourceStatistics is Mesos's per-executor usage (the fields the cgroups isolators fill).
type ResourceStatistics struct {
	Timestamp             float64 `json:"timestamp"`
	CPUsUserTimeSecs      float64 `json:"cpus_user_time_secs"`
	CPUsSystemTimeSecs    float64 `json:"cpus_system_time_secs"`
	CPUsLimit             float64 `json:"cpus_limit"`
	CPUsNrPeriods         uint64  `json:"cpus_nr_periods"`
	CPUsNrThrottled       uint64  `json:"cpus_nr_throttled"`
	CPUsThrottledTimeSecs float64 `json:"cpus_throttled_time_secs"`
	MemRSSBytes           uint64  `json:"mem_rss_bytes"`
	MemTotalBytes         uint64  `json:"mem_total_bytes"`
	MemLimitBytes         uint64  `json:"mem_limit_bytes"`
	MemOOMKills           uint64  `json:"mem_oom_kills"`
}

// ExecutorStatistics is one entry of GET /monitor/statistics (Mesos's shape).
type ExecutorStatistics struct {
	ExecutorID   string             `json:"executor_id"`
	ExecutorName string             `json:"executor_name"`
	FrameworkID  string             `json:"framework_id"`
	Source       string             `json:"source"`
	ContainerID  string             `json:"container_id"`
	Statistics   ResourceStatistics `json:"statistics"`
}

// statistics gathers the usage of every running executor with a cgroup, sorted by
// framework and executor id.
func (e endpoints) statistics(ctx context.Context) ([]ExecutorStatistics, error) {
	out, err := e.src.Executors(ctx)
	if err != nil {
		return nil, err
	}
	kept := out[:0]
	for _, ex := range out {
		st, ok := e.src.Usage(ex.ContainerID)
		if !ok {
			continue
		}
		st.Timestamp = float64(e.now().UnixNano()) / 1e9
		ex.Statistics = st
		kept = append(kept, ex)
	}
	slices.SortFunc(kept, func(a, b ExecutorStatistics) int {
		return cmp.Or(cmp.Compare(a.FrameworkID, b.FrameworkID), cmp.Compare(a.ExecutorID, b.ExecutorID))
	})
	return kept, nil
}

// handleStatistics serves GET /monitor/statistics(.json).
func (e endpoints) handleStatistics(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "Expecting a 'GET' request", http.StatusMethodNotAllowed)
		return
	}
	stats, err := e.statistics(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	if stats == nil {
		stats = []ExecutorStatistics{}
	}
	w.Header().Set("Content-Type", apicodec.MediaJSON)
	_ = json.NewEncoder(w).Encode(stats)
}

// statisticsCollector exports the per-container usage as Prometheus metrics.
type statisticsCollector struct{ e endpoints }

var (
	statLabels       = []string{"framework_id", "executor_id", "container_id"}
	descCPUUser      = prometheus.NewDesc("agora_container_cpu_user_seconds_total", "CPU time in user mode.", statLabels, nil)
	descCPUSystem    = prometheus.NewDesc("agora_container_cpu_system_seconds_total", "CPU time in kernel mode.", statLabels, nil)
	descCPULimit     = prometheus.NewDesc("agora_container_cpu_limit", "CPUs allocated to the container.", statLabels, nil)
	descCPUThrottled = prometheus.NewDesc("agora_container_cpu_throttled_periods_total", "CFS periods in which the container was throttled.", statLabels, nil)
	descMemRSS       = prometheus.NewDesc("agora_container_memory_rss_bytes", "Resident anonymous memory.", statLabels, nil)
	descMemLimit     = prometheus.NewDesc("agora_container_memory_limit_bytes", "Memory limit.", statLabels, nil)
	descOOMKills     = prometheus.NewDesc("agora_container_oom_kills_total", "Processes killed by the OOM killer.", statLabels, nil)
)

func (c *statisticsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descCPUUser, descCPUSystem, descCPULimit, descCPUThrottled, descMemRSS, descMemLimit, descOOMKills} {
		ch <- d
	}
}

func (c *statisticsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stats, err := c.e.statistics(ctx)
	if err != nil {
		return
	}
	for _, e := range stats {
		l := []string{e.FrameworkID, e.ExecutorID, e.ContainerID}
		s := e.Statistics
		ch <- prometheus.MustNewConstMetric(descCPUUser, prometheus.CounterValue, s.CPUsUserTimeSecs, l...)
		ch <- prometheus.MustNewConstMetric(descCPUSystem, prometheus.CounterValue, s.CPUsSystemTimeSecs, l...)
		ch <- prometheus.MustNewConstMetric(descCPULimit, prometheus.GaugeValue, s.CPUsLimit, l...)
		ch <- prometheus.MustNewConstMetric(descCPUThrottled, prometheus.CounterValue, float64(s.CPUsNrThrottled), l...)
		ch <- prometheus.MustNewConstMetric(descMemRSS, prometheus.GaugeValue, float64(s.MemRSSBytes), l...)
		ch <- prometheus.MustNewConstMetric(descMemLimit, prometheus.GaugeValue, float64(s.MemLimitBytes), l...)
		ch <- prometheus.MustNewConstMetric(descOOMKills, prometheus.CounterValue, float64(s.MemOOMKills), l...)
	}
}

// agentCollector exports the agent's metrics; it reads them from the loop on scrape.
type agentCollector struct{ e endpoints }

var (
	descTasks = prometheus.NewDesc("agora_agent_tasks", "Tasks on this agent by state.",
		[]string{"state"}, nil)
	descExecutors = prometheus.NewDesc("agora_agent_executors_running", "Executors whose process runs.",
		nil, nil)
	descPending = prometheus.NewDesc("agora_agent_status_updates_pending",
		"Status updates not yet acknowledged by the framework.", nil, nil)
	descConnected = prometheus.NewDesc("agora_agent_connected", "1 when subscribed to the master.", nil, nil)
)

func (c *agentCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descTasks
	ch <- descExecutors
	ch <- descPending
	ch <- descConnected
}

func (c *agentCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := c.e.src.Metrics(ctx)
	if err != nil {
		return
	}
	for _, s := range mesos.TaskState_name {
		ch <- prometheus.MustNewConstMetric(descTasks, prometheus.GaugeValue, float64(m.TasksByState[s]), s)
	}
	ch <- prometheus.MustNewConstMetric(descExecutors, prometheus.GaugeValue, float64(m.Executors))
	ch <- prometheus.MustNewConstMetric(descPending, prometheus.GaugeValue, float64(m.PendingUpdates))
	v := 0.0
	if m.Connected {
		v = 1
	}
	ch <- prometheus.MustNewConstMetric(descConnected, prometheus.GaugeValue, v)
}
