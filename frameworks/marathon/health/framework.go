package health

import (
	"strings"
	"time"

	"github.com/agoracluster/agora/frameworks/marathon/app"
)

// IsMesos reports whether a check of the given protocol is one of Mesos's (MESOS_HTTP,
// MESOS_HTTPS, MESOS_TCP, COMMAND), which the executor runs next to the task. Marathon
// runs the others (HTTP, HTTPS, TCP) itself, from the framework.
func IsMesos(protocol string) bool {
	return protocol == "COMMAND" || strings.HasPrefix(protocol, "MESOS_")
}

// MesosCheckOf returns the app's Mesos check (Marathon allows at most one), if any: the
// one a task's TaskInfo carries.
func MesosCheckOf(checks []app.HealthCheck) (app.HealthCheck, bool) {
	for _, hc := range checks {
		if IsMesos(hc.Protocol) {
			return hc, true
		}
	}
	return app.HealthCheck{}, false
}

// HasFrameworkChecks reports whether any of checks runs from the framework.
func HasFrameworkChecks(checks []app.HealthCheck) bool {
	for _, hc := range checks {
		if !IsMesos(hc.Protocol) {
			return true
		}
	}
	return false
}

// Key names one framework-side check of one task: the task, and the check's index in
// the app's healthChecks.
type Key struct {
	TaskID string
	Index  int
}

// Target is a running task that the framework-side checks of its app probe.
type Target struct {
	TaskID string
	Host   string
	Ports  []uint64 // the task's host ports
	Checks []app.HealthCheck
}

// Probe is one framework-side check to run once.
type Probe struct {
	Key
	Gen           uint64 // tells the probe's result from one of a check forgotten meanwhile
	Protocol      string // HTTP, HTTPS or TCP
	Host          string
	Port          int
	Path          string
	Timeout       time.Duration
	IgnoreHTTP1xx bool
}

// Result is what one probe found: healthy, or not with a cause; Ignored when the answer
// says nothing (an HTTP 1xx with ignoreHttp1xx).
type Result struct {
	Healthy bool
	Ignored bool
	Cause   string
}

// Schedule decides when framework-side checks run, as Marathon's own health checks do:
// each check of each running task at once and then every intervalSeconds, never two
// probes of one check at a time. It is pure: the caller passes the time and runs the
// probes.
type Schedule struct {
	next     map[Key]time.Time
	inflight map[Key]uint64
	gen      uint64
}

// NewSchedule returns an empty schedule.
func NewSchedule() *Schedule {
	return &Schedule{next: map[Key]time.Time{}, inflight: map[Key]uint64{}}
}

// Due forgets the checks of tasks no longer among targets and returns the probes due at
// now, marking them in flight until Done.
func (s *Schedule) Due(now time.Time, targets []Target) []Probe {
	want := map[Key]bool{}
	var out []Probe
	for _, t := range targets {
		for i, hc := range t.Checks {
			if IsMesos(hc.Protocol) {
				continue
			}
			k := Key{TaskID: t.TaskID, Index: i}
			want[k] = true
			if _, busy := s.inflight[k]; busy {
				continue
			}
			if next, ok := s.next[k]; ok && now.Before(next) {
				continue
			}
			s.gen++
			s.inflight[k] = s.gen
			s.next[k] = now.Add(time.Duration(max(hc.IntervalSeconds, 1)) * time.Second)
			out = append(out, probeOf(k, s.gen, t, hc))
		}
	}
	for k := range s.next {
		if !want[k] {
			delete(s.next, k)
			delete(s.inflight, k)
		}
	}
	return out
}

// Done records that the probe of k with gen ended; it reports whether its result counts
// (false when the check was forgotten, or started again, meanwhile).
func (s *Schedule) Done(k Key, gen uint64) bool {
	if g, ok := s.inflight[k]; !ok || g != gen {
		return false
	}
	delete(s.inflight, k)
	return true
}

// Len is the number of checks scheduled.
func (s *Schedule) Len() int { return len(s.next) }

func probeOf(k Key, gen uint64, t Target, hc app.HealthCheck) Probe {
	port := 0
	switch {
	case hc.Port != nil:
		port = *hc.Port
	case hc.PortIndex != nil && *hc.PortIndex < len(t.Ports):
		port = int(t.Ports[*hc.PortIndex])
	case hc.PortIndex == nil && len(t.Ports) > 0:
		port = int(t.Ports[0])
	}
	timeout := time.Duration(hc.TimeoutSeconds) * time.Second
	if timeout <= 0 {
		timeout = time.Duration(max(hc.IntervalSeconds, 1)) * time.Second
	}
	path := hc.Path
	if path == "" {
		path = "/"
	}
	return Probe{Key: k, Gen: gen, Protocol: hc.Protocol, Host: t.Host, Port: port, Path: path,
		Timeout: timeout, IgnoreHTTP1xx: hc.IgnoreHTTP1xx}
}

// Evaluate records res, a probe's result for check hc of a task running since startedAt,
// in st at now, as Marathon's health check actor does: a failure within the grace period
// of a task that never passed is ignored; maxConsecutiveFailures failures in a row (0 =
// never) kill the task. It reports whether the check's alive changed and whether to kill.
func Evaluate(st *Status, hc app.HealthCheck, res Result, startedAt, now time.Time) (changed, kill bool) {
	if res.Ignored {
		return false, false
	}
	grace := startedAt.Add(time.Duration(hc.GracePeriodSeconds) * time.Second)
	if !res.Healthy && st.FirstSuccess.IsZero() && now.Before(grace) {
		return false, false
	}
	changed = st.Record(res.Healthy, res.Cause, now)
	kill = !res.Healthy && hc.MaxConsecutiveFailures > 0 && st.ConsecutiveFailures >= hc.MaxConsecutiveFailures
	return changed, kill
}
