package healthcheck

import (
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

var errFail = errors.New("probe failed")

// step is one check result observed at start+at.
type step struct {
	at   time.Duration
	ok   bool
	want Decision
}

var (
	healthy   = Decision{Report: true, Status: Status{Healthy: true}}
	quiet     = Decision{Status: Status{Healthy: true}}
	ignored   = Decision{Ignored: true}
	unhealthy = func(n int) Decision {
		return Decision{Report: true, Status: Status{ConsecutiveFailures: n}}
	}
	stillUnhealthy = func(n int) Decision { return Decision{Status: Status{ConsecutiveFailures: n}} }
	kill           = func(n int) Decision {
		return Decision{Report: true, Status: Status{ConsecutiveFailures: n, Kill: true}}
	}
)

func TestTracker(t *testing.T) {
	policy := Policy{Delay: 15 * time.Second, Interval: 10 * time.Second, Timeout: 20 * time.Second, ConsecutiveFailures: 3, GracePeriod: 30 * time.Second}
	s := time.Second
	tests := []struct {
		name  string
		steps []step
	}{
		{"first success reports healthy, later successes are quiet", []step{
			{15 * s, true, healthy}, {25 * s, true, quiet}, {35 * s, true, quiet},
		}},
		{"failures in the grace period are ignored", []step{
			{15 * s, false, ignored}, {25 * s, false, ignored}, {30 * s, false, ignored}, {35 * s, true, healthy},
		}},
		{"failures after the grace period count before a first success", []step{
			{15 * s, false, ignored}, {31 * s, false, unhealthy(1)}, {41 * s, false, stillUnhealthy(2)}, {51 * s, false, kill(3)},
		}},
		{"grace period ends with the first success", []step{
			{15 * s, true, healthy}, {20 * s, false, unhealthy(1)}, {25 * s, false, stillUnhealthy(2)}, {28 * s, false, kill(3)},
		}},
		{"success resets the failure count and reports healthy again", []step{
			{15 * s, true, healthy}, {25 * s, false, unhealthy(1)}, {35 * s, false, stillUnhealthy(2)},
			{45 * s, true, healthy}, {55 * s, false, unhealthy(1)}, {65 * s, true, healthy},
		}},
		{"failures beyond the limit keep deciding to kill", []step{
			{15 * s, true, healthy}, {25 * s, false, unhealthy(1)}, {35 * s, false, stillUnhealthy(2)},
			{45 * s, false, kill(3)}, {55 * s, false, kill(4)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Unix(1000, 0)
			tr := NewTracker(policy, start)
			if got := tr.FirstCheck(); !got.Equal(start.Add(15 * s)) {
				t.Errorf("FirstCheck = %v", got)
			}
			for i, st := range tt.steps {
				var result error
				if !st.ok {
					result = errFail
				}
				if got := tr.Observe(result, start.Add(st.at)); got != st.want {
					t.Fatalf("step %d (at %v, ok %v): got %+v, want %+v", i, st.at, st.ok, got, st.want)
				}
			}
		})
	}
}

func TestTrackerSingleFailureKills(t *testing.T) {
	tr := NewTracker(Policy{Interval: time.Second, Timeout: time.Second, ConsecutiveFailures: 1}, time.Unix(0, 0))
	if got := tr.Observe(errFail, time.Unix(1, 0)); got != kill(1) {
		t.Errorf("got %+v, want kill", got)
	}
}

func TestPolicyFromProto(t *testing.T) {
	if got := PolicyFromProto(&mesos.HealthCheck{}); got != DefaultPolicy() {
		t.Errorf("defaults: got %+v, want %+v", got, DefaultPolicy())
	}
	hc := &mesos.HealthCheck{
		DelaySeconds: proto.Float64(1.5), IntervalSeconds: proto.Float64(2), TimeoutSeconds: proto.Float64(0.25),
		ConsecutiveFailures: proto.Uint32(5), GracePeriodSeconds: proto.Float64(0),
	}
	want := Policy{Delay: 1500 * time.Millisecond, Interval: 2 * time.Second, Timeout: 250 * time.Millisecond, ConsecutiveFailures: 5}
	if got := PolicyFromProto(hc); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestPolicyValidate(t *testing.T) {
	if err := DefaultPolicy().Validate(); err != nil {
		t.Errorf("default policy: %v", err)
	}
	err := Policy{Delay: -1, ConsecutiveFailures: 0, GracePeriod: -1}.Validate()
	for _, want := range []string{"delay_seconds", "interval_seconds", "timeout_seconds", "consecutive_failures", "grace_period_seconds"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}
