package agent

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"time"

	"github.com/agoracluster/agora/apicodec"

	"github.com/prometheus/client_golang/prometheus"
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

// statistics gathers the usage of every running executor with a cgroup.
func (a *Agent) statistics(ctx context.Context) ([]ExecutorStatistics, error) {
	var out []ExecutorStatistics
	err := a.query(ctx, func() {
		for _, fw := range a.st.frameworks {
			for _, ex := range fw.executors {
				if ex.gone() {
					continue
				}
				out = append(out, ExecutorStatistics{ExecutorID: ex.id, ExecutorName: ex.info.GetName(),
					FrameworkID: fw.id, Source: ex.info.GetSource(), ContainerID: ex.containerID})
			}
		}
	})
	if err != nil {
		return nil, err
	}
	kept := out[:0]
	for _, e := range out {
		st, ok := a.iso.stats(e.ContainerID)
		if !ok {
			continue
		}
		cpus := st.CPULimit
		if l, ok := a.iso.limits(e.ContainerID); ok && l.CPUs > 0 {
			cpus = l.CPUs
		}
		e.Statistics = ResourceStatistics{
			Timestamp:             float64(time.Now().UnixNano()) / 1e9,
			CPUsUserTimeSecs:      st.CPUUserSeconds,
			CPUsSystemTimeSecs:    st.CPUSystemSeconds,
			CPUsLimit:             cpus,
			CPUsNrPeriods:         st.CPUPeriods,
			CPUsNrThrottled:       st.CPUThrottled,
			CPUsThrottledTimeSecs: st.CPUThrottledSecs,
			MemRSSBytes:           st.MemRSSBytes,
			MemTotalBytes:         st.MemUsageBytes,
			MemLimitBytes:         st.MemLimitBytes,
			MemOOMKills:           st.OOMKills,
		}
		kept = append(kept, e)
	}
	sort.Slice(kept, func(i, j int) bool {
		if kept[i].FrameworkID != kept[j].FrameworkID {
			return kept[i].FrameworkID < kept[j].FrameworkID
		}
		return kept[i].ExecutorID < kept[j].ExecutorID
	})
	return kept, nil
}

// handleStatistics serves GET /monitor/statistics(.json).
func (a *Agent) handleStatistics(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "Expecting a 'GET' request", http.StatusMethodNotAllowed)
		return
	}
	stats, err := a.statistics(r.Context())
	if err != nil {
		writeAPIError(w, err)
		return
	}
	if stats == nil {
		stats = []ExecutorStatistics{}
	}
	w.Header().Set("Content-Type", apicodec.MediaJSON)
	_ = json.NewEncoder(w).Encode(stats)
}

// statisticsCollector exports the per-container usage as Prometheus metrics.
type statisticsCollector struct{ a *Agent }

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
	stats, err := c.a.statistics(ctx)
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
