package loop

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/agoracluster/agora/frameworks/marathon/events"
	"github.com/agoracluster/agora/frameworks/marathon/health"
	"github.com/agoracluster/agora/frameworks/sdk/sdktest"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// fakeProber records the probes the loop starts; the test reports their results.
type fakeProber struct{ probes []health.Probe }

func (f *fakeProber) Run(p health.Probe, _ func(context.Context, health.Probe, health.Result)) bool {
	f.probes = append(f.probes, p)
	return true
}

func (f *fakeProber) take() []health.Probe {
	out := f.probes
	f.probes = nil
	return out
}

// TestEveryHealthCheck: an app with two framework-side checks (HTTP, TCP) and a Mesos one.
// The TaskInfo carries the Mesos check; the loop probes the other two on their intervals;
// the instance is healthy (and its deployment done) only once all three pass; every
// check's result is reported; maxConsecutiveFailures failures of one check kill the task.
func TestEveryHealthCheck(t *testing.T) {
	l := newTestLoop(t)
	fp := &fakeProber{}
	l.prober = fp
	tx := &Tx{l: l.Loop}
	_, _, err := tx.CreateApp([]byte(`{"id":"/h","cmd":"sleep 100","cpus":0.1,"mem":16,"instances":1,
		"portDefinitions":[{"port":0},{"port":0}],
		"healthChecks":[
			{"protocol":"HTTP","path":"/ok","portIndex":0,"intervalSeconds":5,"gracePeriodSeconds":0,"maxConsecutiveFailures":2},
			{"protocol":"TCP","portIndex":1,"intervalSeconds":5,"gracePeriodSeconds":0,"maxConsecutiveFailures":0},
			{"protocol":"MESOS_TCP","portIndex":1,"intervalSeconds":5}]}`), false, Origin{})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := l.bus.Subscribe([]string{"health_status_changed_event", "unhealthy_instance_kill_event"})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	l.handleOffers([]*mesos.Offer{offer("o1", "a1", "cpus:1;mem:128;ports:[31000-31009]")})
	ts := tx.View().TasksOf("/h")
	if len(ts) != 1 {
		t.Fatalf("launched %d tasks", len(ts))
	}
	tk := ts[0]
	l.handleUpdate(sdktest.NewStatus(tk.ID, "a1", mesos.TaskState_TASK_RUNNING, nil))
	l.flushReconcile()

	l.now = l.now.Add(time.Second)
	l.tick()
	probes := fp.take()
	if len(probes) != 2 || probes[0].Index != 0 || probes[1].Index != 1 {
		t.Fatalf("probes = %+v; want the HTTP and the TCP check", probes)
	}
	if p := probes[0]; p.Protocol != "HTTP" || p.Host != "a1.test" || p.Port != int(tk.Ports[0]) || p.Path != "/ok" {
		t.Fatalf("HTTP probe = %+v (ports %v)", p, tk.Ports)
	}
	if p := probes[1]; p.Protocol != "TCP" || p.Port != int(tk.Ports[1]) {
		t.Fatalf("TCP probe = %+v (ports %v)", p, tk.Ports)
	}
	a := tx.View().App("/h")
	for i, p := range probes {
		l.healthReported(p, health.Result{Healthy: true})
		l.flushReconcile()
		if tk.HealthyFor(a) || len(tx.View().Deployments()) != 1 {
			t.Fatalf("after %d of 3 checks passed: healthy %v, deployments %d", i+1, tk.HealthyFor(a), len(tx.View().Deployments()))
		}
	}
	healthy := true
	st := sdktest.NewStatus(tk.ID, "a1", mesos.TaskState_TASK_RUNNING, nil)
	st.Healthy = &healthy
	l.handleUpdate(st)
	l.flushReconcile()
	if !tk.HealthyFor(a) || len(tx.View().Deployments()) != 0 {
		t.Fatalf("all checks pass: healthy %v, deployments %+v", tk.HealthyFor(a), tx.View().Deployments())
	}
	if rs := tk.HealthResults(a); len(rs) != 3 {
		t.Fatalf("health results = %+v; want one per check", rs)
	}
	// The instance's health became known (not healthy: one check had not passed), then
	// healthy once all had.
	if got := drain(sub); !slices.Equal(got, []string{
		`health_status_changed_event alive=false`, `health_status_changed_event alive=true`,
	}) {
		t.Fatalf("events = %q", got)
	}

	// The HTTP check fails: unhealthy at once, killed at the second failure in a row.
	for i := 1; i <= 2; i++ {
		l.now = l.now.Add(5 * time.Second)
		l.tick()
		probes = fp.take()
		if len(probes) != 2 {
			t.Fatalf("round %d: probes %+v", i, probes)
		}
		before := l.out.calls.Len()
		l.healthReported(probes[0], health.Result{Cause: "503 Service Unavailable"})
		l.healthReported(probes[1], health.Result{Healthy: true})
		hs := tk.CheckStatus(0)
		if tk.HealthyFor(a) || hs.ConsecutiveFailures != i || hs.LastFailureCause != "503 Service Unavailable" {
			t.Fatalf("round %d: healthy %v, HTTP check %+v", i, tk.HealthyFor(a), hs)
		}
		if killed := tk.Killing && l.out.calls.Len() > before; killed != (i == 2) {
			t.Fatalf("round %d: killed %v", i, killed)
		}
	}
	if got := drain(sub); !slices.Equal(got, []string{
		`health_status_changed_event alive=false`, `unhealthy_instance_kill_event`,
	}) {
		t.Fatalf("events = %q", got)
	}
	// A killed task is probed no more.
	l.now = l.now.Add(5 * time.Second)
	l.tick()
	if probes := fp.take(); len(probes) != 0 {
		t.Fatalf("probes of a task being killed: %+v", probes)
	}
}

// drain returns the events delivered so far, as "type" or "type alive=…".
func drain(sub *events.Subscription) []string {
	var out []string
	for {
		select {
		case m := <-sub.C():
			var ev struct{ Alive *bool }
			s := m.Type
			if json.Unmarshal(m.Data, &ev) == nil && ev.Alive != nil {
				s += fmt.Sprintf(" alive=%v", *ev.Alive)
			}
			out = append(out, s)
		default:
			return out
		}
	}
}
