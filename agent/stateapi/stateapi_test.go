package stateapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/agoracluster/agora/resources"
)

// source is a Source with fixed answers.
type source struct {
	executors []ExecutorStatistics
	usage     map[string]ResourceStatistics
	err       error
}

func (s source) State(context.Context) (State, error) { return State{ID: "a1"}, s.err }
func (s source) Executors(context.Context) ([]ExecutorStatistics, error) {
	return append([]ExecutorStatistics(nil), s.executors...), s.err
}
func (s source) Usage(cid string) (ResourceStatistics, bool) { u, ok := s.usage[cid]; return u, ok }
func (s source) Metrics(context.Context) (Metrics, error) {
	return Metrics{TasksByState: map[string]int{"TASK_RUNNING": 2}, Executors: 1, Connected: true}, s.err
}
func (s source) Connected() bool { return true }

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body)
}

func TestStatisticsOnlyWithUsageSortedAndStamped(t *testing.T) {
	now := time.Unix(1700000000, 0)
	src := source{
		executors: []ExecutorStatistics{
			{FrameworkID: "f2", ExecutorID: "a", ContainerID: "c3"},
			{FrameworkID: "f1", ExecutorID: "b", ContainerID: "c2"},
			{FrameworkID: "f1", ExecutorID: "a", ContainerID: "c1"},
			{FrameworkID: "f1", ExecutorID: "c", ContainerID: "no-cgroup"},
		},
		usage: map[string]ResourceStatistics{"c1": {CPUsLimit: 1}, "c2": {CPUsLimit: 2}, "c3": {CPUsLimit: 3}},
	}
	code, body := get(t, Handler(src, func() time.Time { return now }), "/monitor/statistics")
	var got []ExecutorStatistics
	if err := json.Unmarshal([]byte(body), &got); err != nil || code != http.StatusOK {
		t.Fatalf("%d %s: %v", code, body, err)
	}
	var order []string
	for _, e := range got {
		order = append(order, e.ContainerID)
		if e.Statistics.Timestamp != 1700000000 {
			t.Errorf("%s stamped %v", e.ContainerID, e.Statistics.Timestamp)
		}
	}
	if strings.Join(order, ",") != "c1,c2,c3" {
		t.Fatalf("statistics of %v, want c1,c2,c3", order)
	}
}

func TestEndpointsOfAStoppedAgent(t *testing.T) {
	h := Handler(source{err: ErrUnavailable}, time.Now)
	for _, path := range []string{"/state", "/monitor/statistics"} {
		if code, body := get(t, h, path); code != http.StatusServiceUnavailable || !strings.Contains(body, "shutting down") {
			t.Errorf("%s: %d %q, want 503", path, code, body)
		}
	}
	if code, body := get(t, h, "/health"); code != http.StatusOK || !strings.Contains(body, `"connected":true`) {
		t.Errorf("/health: %d %q", code, body)
	}
}

func TestMetrics(t *testing.T) {
	_, body := get(t, Handler(source{}, time.Now), "/metrics")
	for _, want := range []string{`agora_agent_tasks{state="TASK_RUNNING"} 2`, "agora_agent_executors_running 1", "agora_agent_connected 1"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestResourceMap(t *testing.T) {
	rs := resources.MustParse("cpus:2;cpus(web):1;mem:64;ports:[31000-31001,31005-31005]").ToProto()
	got := ResourceMap(rs)
	if got["cpus"] != 3.0 || got["mem"] != 64.0 || got["ports"] != "[31000-31001, 31005-31005]" {
		t.Fatalf("ResourceMap = %v", got)
	}
}
