package httpapi

import (
	"context"
	"strings"

	"github.com/agoracluster/agora/master/ledger"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
)

// The master's figures under Mesos's metric names (master/tasks_running,
// master/cpus_percent, …), for /metrics/snapshot and GET_METRICS; dashboards
// and tools written for Mesos read them. Prometheus scrapes /metrics.

// mesosMetrics reads the figures from the ledger through the loop.
func (s *Server) mesosMetrics(ctx context.Context) (map[string]float64, error) {
	var m map[string]float64
	err := s.loop.Do(ctx, func(l *ledger.Ledger) {
		m = MesosMetrics(l.Snapshot(), l.Gauges(), true)
	})
	return m, err
}

// cumulativeTaskStates are the terminal states Mesos counts since the master
// started; the others are counts of the tasks in them now.
var cumulativeTaskStates = []mesos.TaskState{
	mesos.TaskState_TASK_FINISHED, mesos.TaskState_TASK_FAILED, mesos.TaskState_TASK_KILLED,
	mesos.TaskState_TASK_LOST, mesos.TaskState_TASK_ERROR, mesos.TaskState_TASK_DROPPED,
	mesos.TaskState_TASK_GONE, mesos.TaskState_TASK_GONE_BY_OPERATOR,
}

var currentTaskStates = []mesos.TaskState{
	mesos.TaskState_TASK_STAGING, mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_RUNNING,
	mesos.TaskState_TASK_KILLING, mesos.TaskState_TASK_UNREACHABLE,
}

// metricTaskName is a task state as Mesos's metric suffix: TASK_RUNNING → running.
func metricTaskName(st mesos.TaskState) string {
	return strings.ToLower(strings.TrimPrefix(st.String(), "TASK_"))
}

// MesosMetrics computes the Mesos metrics of a leading master from its
// snapshot and gauges.
func MesosMetrics(snap *ledger.Snapshot, g ledger.Gauges, elected bool) map[string]float64 {
	m := map[string]float64{}
	b2f := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	m["master/elected"] = b2f(elected)
	if !snap.StartTime.IsZero() {
		m["master/uptime_secs"] = snap.Now.Sub(snap.StartTime).Seconds()
	}
	var active, disconnected, inactive, unreachable float64
	var total, used, offered resources.Resources
	for _, a := range snap.Agents {
		switch a.State {
		case "active":
			active++
		case "disconnected":
			disconnected++
		case "recovered":
			inactive++
		case "unreachable":
			unreachable++
			continue
		}
		total = total.Plus(a.Total)
		used = used.Plus(a.Used)
		offered = offered.Plus(a.Offered)
	}
	m["master/slaves_active"] = active
	m["master/slaves_inactive"] = inactive + disconnected
	m["master/slaves_connected"] = active
	m["master/slaves_disconnected"] = disconnected + inactive
	m["master/slaves_unreachable"] = unreachable
	var fwActive, fwInactive, fwConnected, fwDisconnected float64
	for _, fw := range snap.Frameworks {
		if fw.Active {
			fwActive++
		} else {
			fwInactive++
		}
		if fw.Connected {
			fwConnected++
		} else {
			fwDisconnected++
		}
	}
	m["master/frameworks_active"] = fwActive
	m["master/frameworks_inactive"] = fwInactive
	m["master/frameworks_connected"] = fwConnected
	m["master/frameworks_disconnected"] = fwDisconnected
	for _, st := range currentTaskStates {
		m["master/tasks_"+metricTaskName(st)] = float64(g.Tasks[st.String()])
	}
	for _, st := range cumulativeTaskStates {
		m["master/tasks_"+metricTaskName(st)] = float64(g.Counters.TasksEnded[st])
	}
	for _, name := range []string{"cpus", "mem", "disk", "gpus"} {
		t, u := total.Scalar(name), used.Scalar(name)
		m["master/"+name+"_total"] = t
		m["master/"+name+"_used"] = u
		m["master/"+name+"_percent"] = 0
		if t > 0 {
			m["master/"+name+"_percent"] = u / t
		}
	}
	m["master/outstanding_offers"] = float64(g.Offers)
	m["master/valid_status_updates"] = float64(g.Counters.StatusUpdates)
	m["master/messages_launch_tasks"] = float64(g.Counters.TasksLaunched)
	m["master/messages_decline_offers"] = float64(g.Counters.OffersDeclined)
	m["master/offers_rescinded"] = float64(g.Counters.OffersRescinded)
	return m
}
