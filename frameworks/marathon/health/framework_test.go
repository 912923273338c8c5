package health

import (
	"testing"
	"time"

	"github.com/agoracluster/agora/frameworks/marathon/app"
)

func intp(i int) *int { return &i }

func TestIsMesosAndMesosCheckOf(t *testing.T) {
	tests := []struct {
		protocols []string
		want      string // the Mesos check's protocol, "" = none
		framework bool   // some check runs from the framework
	}{
		{nil, "", false},
		{[]string{"HTTP", "TCP", "HTTPS"}, "", true},
		{[]string{"HTTP", "MESOS_HTTP"}, "MESOS_HTTP", true},
		{[]string{"TCP", "COMMAND"}, "COMMAND", true},
		{[]string{"MESOS_TCP"}, "MESOS_TCP", false},
		{[]string{"COMMAND"}, "COMMAND", false},
		{[]string{"HTTPS", "MESOS_HTTPS"}, "MESOS_HTTPS", true},
	}
	for _, tc := range tests {
		var checks []app.HealthCheck
		for _, p := range tc.protocols {
			checks = append(checks, app.HealthCheck{Protocol: p})
		}
		hc, ok := MesosCheckOf(checks)
		if got := map[bool]string{true: hc.Protocol, false: ""}[ok]; got != tc.want {
			t.Errorf("MesosCheckOf(%v) = %q; want %q", tc.protocols, got, tc.want)
		}
		if HasFrameworkChecks(checks) != tc.framework {
			t.Errorf("HasFrameworkChecks(%v) = %v", tc.protocols, HasFrameworkChecks(checks))
		}
	}
}

// TestScheduleDue: each framework-side check of each target runs at once, then every
// intervalSeconds, never twice at a time; Mesos checks are the executor's; a task that
// is no longer a target is forgotten and a late result of it does not count.
func TestScheduleDue(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	checks := []app.HealthCheck{
		{Protocol: "HTTP", Path: "/health", PortIndex: intp(1), IntervalSeconds: 10, TimeoutSeconds: 2},
		{Protocol: "MESOS_TCP", PortIndex: intp(0), IntervalSeconds: 10},
		{Protocol: "TCP", Port: intp(9000), IntervalSeconds: 5},
	}
	target := Target{TaskID: "a.1", Host: "h1", Ports: []uint64{31000, 31001}, Checks: checks}
	s := NewSchedule()

	ps := s.Due(t0, []Target{target})
	if len(ps) != 2 {
		t.Fatalf("due at start: %+v; want the two framework checks", ps)
	}
	http, tcp := ps[0], ps[1]
	if http.Index != 0 || http.Protocol != "HTTP" || http.Host != "h1" || http.Port != 31001 || http.Path != "/health" || http.Timeout != 2*time.Second {
		t.Errorf("HTTP probe = %+v", http)
	}
	if tcp.Index != 2 || tcp.Port != 9000 || tcp.Timeout != 5*time.Second {
		t.Errorf("TCP probe = %+v", tcp)
	}
	if ps := s.Due(t0.Add(6*time.Second), []Target{target}); len(ps) != 0 {
		t.Fatalf("due while in flight: %+v", ps)
	}
	if !s.Done(tcp.Key, tcp.Gen) || s.Done(tcp.Key, tcp.Gen) {
		t.Fatal("Done: want true once")
	}
	if ps := s.Due(t0.Add(6*time.Second), []Target{target}); len(ps) != 1 || ps[0].Index != 2 {
		t.Fatalf("due after the TCP interval: %+v", ps)
	}
	if ps := s.Due(t0.Add(7*time.Second), nil); len(ps) != 0 || s.Len() != 0 {
		t.Fatalf("a task no longer running: due %+v, %d scheduled", ps, s.Len())
	}
	if s.Done(http.Key, http.Gen) {
		t.Fatal("a forgotten check's result counted")
	}
}

func TestEvaluate(t *testing.T) {
	started := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	hc := app.HealthCheck{Protocol: "HTTP", GracePeriodSeconds: 30, MaxConsecutiveFailures: 3}
	fail := Result{Cause: "503 Service Unavailable"}
	ok := Result{Healthy: true}
	type step struct {
		at            time.Duration // since start
		res           Result
		changed, kill bool
		failures      int
	}
	tests := []struct {
		name  string
		hc    app.HealthCheck
		steps []step
	}{
		{"failures in the grace period are ignored", hc, []step{
			{5 * time.Second, fail, false, false, 0},
			{10 * time.Second, ok, true, false, 0},
		}},
		{"after a success the grace period is over", hc, []step{
			{5 * time.Second, ok, true, false, 0},
			{6 * time.Second, fail, true, false, 1},
		}},
		{"maxConsecutiveFailures kills", hc, []step{
			{31 * time.Second, fail, true, false, 1},
			{32 * time.Second, fail, false, false, 2},
			{33 * time.Second, fail, false, true, 3},
		}},
		{"a success resets the count", hc, []step{
			{31 * time.Second, fail, true, false, 1},
			{32 * time.Second, fail, false, false, 2},
			{33 * time.Second, ok, true, false, 0},
			{34 * time.Second, fail, true, false, 1},
		}},
		{"0 never kills", app.HealthCheck{Protocol: "TCP"}, []step{
			{1 * time.Second, fail, true, false, 1},
			{2 * time.Second, fail, false, false, 2},
		}},
		{"an ignored answer changes nothing", hc, []step{
			{31 * time.Second, Result{Ignored: true}, false, false, 0},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var st Status
			for i, s := range tc.steps {
				changed, kill := Evaluate(&st, tc.hc, s.res, started, started.Add(s.at))
				if changed != s.changed || kill != s.kill || st.ConsecutiveFailures != s.failures {
					t.Fatalf("step %d: changed %v kill %v failures %d; want %v %v %d", i, changed, kill, st.ConsecutiveFailures, s.changed, s.kill, s.failures)
				}
			}
		})
	}
	var st Status
	Evaluate(&st, hc, ok, started, started.Add(time.Second))
	Evaluate(&st, hc, fail, started, started.Add(2*time.Second))
	if !st.FirstSuccess.Equal(started.Add(time.Second)) || !st.LastFailure.Equal(started.Add(2*time.Second)) || st.LastFailureCause != fail.Cause || st.IsHealthy() {
		t.Fatalf("status = %+v", st)
	}
}

func TestHTTPResult(t *testing.T) {
	tests := []struct {
		status    int
		ignore1xx bool
		want      Result
	}{
		{200, false, Result{Healthy: true}},
		{302, false, Result{Healthy: true}},
		{399, false, Result{Healthy: true}},
		{404, false, Result{Cause: "404 Not Found"}},
		{503, false, Result{Cause: "503 Service Unavailable"}},
		{102, true, Result{Ignored: true}},
		{102, false, Result{Cause: "102 Processing"}},
	}
	for _, tc := range tests {
		if got := HTTPResult(tc.status, tc.ignore1xx); got != tc.want {
			t.Errorf("HTTPResult(%d, %v) = %+v; want %+v", tc.status, tc.ignore1xx, got, tc.want)
		}
	}
}
