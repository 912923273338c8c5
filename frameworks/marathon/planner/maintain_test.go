package planner

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/agoracluster/agora/frameworks/marathon/app"
)

func TestMaintain(t *testing.T) {
	now := time.Date(2024, 1, 1, 1, 0, 0, 0, time.UTC)
	spec := AppSpec{ID: "/a", Version: "v1", Instances: 2, KillSelection: app.KillYoungestFirst,
		InactiveAfter: time.Minute, ExpungeAfter: 10 * time.Minute}
	run := func(id string, startedMin int) Task {
		return Task{ID: id, AppID: "/a", Version: "v1", State: Running, Healthy: true, Ready: true,
			StartedAt: now.Add(time.Duration(-startedMin) * time.Minute)}
	}
	unreach := func(id string, since time.Duration) Task {
		return Task{ID: id, AppID: "/a", Version: "v1", State: Unreachable, UnreachableSince: now.Add(-since)}
	}
	tests := []struct {
		name  string
		spec  AppSpec
		tasks []Task
		q     Queued
		want  []Action
	}{
		{"steady", spec, []Task{run("t1", 5), run("t2", 4)}, Queued{}, nil},
		{"replace failed", spec, []Task{run("t1", 5)}, Queued{}, []Action{{Kind: Start, AppID: "/a", Version: "v1", Count: 1}}},
		{"already queued", spec, []Task{run("t1", 5)}, Queued{Version: "v1", Count: 1}, nil},
		{"stale queue purged", spec, []Task{run("t1", 5)}, Queued{Version: "v0", Count: 1},
			[]Action{{Kind: Purge, AppID: "/a"}, {Kind: Start, AppID: "/a", Version: "v1", Count: 1}}},
		{"unreachable still counts", spec, []Task{run("t1", 5), unreach("t2", 30*time.Second)}, Queued{}, nil},
		{"inactive unreachable replaced", spec, []Task{run("t1", 5), unreach("t2", 2*time.Minute)}, Queued{},
			[]Action{{Kind: Start, AppID: "/a", Version: "v1", Count: 1}}},
		{"expunged", spec, []Task{run("t1", 5), unreach("t2", 11*time.Minute), run("t3", 1)}, Queued{},
			[]Action{{Kind: Expunge, AppID: "/a", TaskID: "t2"}}},
		{"disabled strategy keeps waiting", func() AppSpec { s := spec; s.UnreachableDisabled = true; return s }(),
			[]Task{run("t1", 5), unreach("t2", time.Hour)}, Queued{}, nil},
		{"excess killed youngest first", spec, []Task{run("t1", 5), run("t2", 1), run("t3", 3)}, Queued{},
			[]Action{{Kind: Kill, AppID: "/a", TaskID: "t2", Reason: ReasonOverCap}}},
		{"excess queue dropped first", spec, []Task{run("t1", 5), run("t2", 1)}, Queued{Version: "v1", Count: 2},
			[]Action{{Kind: Dequeue, AppID: "/a", Count: 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Maintain(tt.spec, tt.tasks, tt.q, now); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestSpecFromApp(t *testing.T) {
	a, err := app.Parse([]byte(`{"id":"g/a","cmd":"x","instances":3,"dependencies":["../db"],
	  "upgradeStrategy":{"minimumHealthCapacity":0.5,"maximumOverCapacity":0.2},"killSelection":"OLDEST_FIRST",
	  "unreachableStrategy":{"inactiveAfterSeconds":60,"expungeAfterSeconds":600}}`), "/")
	if err != nil {
		t.Fatal(err)
	}
	a.Version = "2024-01-02T00:00:00.000Z"
	a.VersionInfo = &app.VersionInfo{LastScalingAt: a.Version, LastConfigChangeAt: "2024-01-01T00:00:00.000Z"}
	want := AppSpec{ID: "/g/a", Version: "2024-01-01T00:00:00.000Z", Instances: 3, Dependencies: []string{"/g/db"},
		MinimumHealthCapacity: 0.5, MaximumOverCapacity: 0.2, KillSelection: "OLDEST_FIRST",
		InactiveAfter: time.Minute, ExpungeAfter: 10 * time.Minute}
	if got := SpecFromApp(a); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestInfoJSON(t *testing.T) {
	p, err := NewPlan("d1", "2024-01-01T00:00:00.000Z", map[string]AppSpec{},
		map[string]AppSpec{"/a": {ID: "/a", Version: "v1", Instances: 1}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(p.Info(1))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"d1","version":"2024-01-01T00:00:00.000Z","affectedApps":["/a"],"affectedPods":[],` +
		`"steps":[{"actions":[{"action":"StartApplication","app":"/a"}]},{"actions":[{"action":"ScaleApplication","app":"/a"}]}],` +
		`"currentActions":[{"action":"ScaleApplication","app":"/a","readinessCheckResults":[]}],"currentStep":2,"totalSteps":2}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
}

// TestInfoJSONNamesPods: a pod's actions are Marathon's pod actions, under "pod", and the
// pod is listed in affectedPods, not affectedApps.
func TestInfoJSONNamesPods(t *testing.T) {
	p, err := NewPlan("d2", "2024-01-01T00:00:00.000Z",
		map[string]AppSpec{"/old": {ID: "/old", Pod: true, Version: "v1", Instances: 1}},
		map[string]AppSpec{"/a": {ID: "/a", Version: "v1", Instances: 1}, "/p": {ID: "/p", Pod: true, Version: "v1", Instances: 1}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(p.Info(0))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"d2","version":"2024-01-01T00:00:00.000Z","affectedApps":["/a"],"affectedPods":["/old","/p"],` +
		`"steps":[{"actions":[{"action":"StopPod","pod":"/old"}]},` +
		`{"actions":[{"action":"StartApplication","app":"/a"},{"action":"StartPod","pod":"/p"}]},` +
		`{"actions":[{"action":"ScaleApplication","app":"/a"},{"action":"ScalePod","pod":"/p"}]}],` +
		`"currentActions":[{"action":"StopPod","pod":"/old","readinessCheckResults":[]}],"currentStep":1,"totalSteps":3}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
}

func TestMaintainDraining(t *testing.T) {
	now := time.Date(2024, 1, 1, 1, 0, 0, 0, time.UTC)
	spec := func(instances int, minHealth, maxOver float64) AppSpec {
		return AppSpec{ID: "/a", Version: "v1", Instances: instances, KillSelection: app.KillYoungestFirst,
			MinimumHealthCapacity: minHealth, MaximumOverCapacity: maxOver, InactiveAfter: time.Minute, ExpungeAfter: 10 * time.Minute}
	}
	on := func(id, agent string, state TaskState, healthy bool) Task {
		return Task{ID: id, AppID: "/a", Version: "v1", State: state, Healthy: healthy, Ready: true, AgentID: agent,
			StartedAt: now.Add(-time.Minute)}
	}
	draining := map[string]bool{"A": true}
	start := func(n int) Action { return Action{Kind: Start, AppID: "/a", Version: "v1", Count: n} }
	kill := func(id string) Action { return Action{Kind: Kill, AppID: "/a", TaskID: id, Reason: ReasonMaintenance} }
	tests := []struct {
		name  string
		spec  AppSpec
		tasks []Task
		q     Queued
		want  []Action
	}{
		{"nothing on the draining agent", spec(1, 1, 1), []Task{on("t1", "B", Running, true)}, Queued{}, nil},
		{"replacement first at full health", spec(1, 1, 1), []Task{on("t1", "A", Running, true)}, Queued{}, []Action{start(1)}},
		{"replacement queued: wait", spec(1, 1, 1), []Task{on("t1", "A", Running, true)}, Queued{Version: "v1", Count: 1}, nil},
		{"replacement staging: wait", spec(1, 1, 1), []Task{on("t1", "A", Running, true), on("t2", "B", Staging, false)}, Queued{}, nil},
		{"replacement running: kill", spec(1, 1, 1), []Task{on("t1", "A", Running, true), on("t2", "B", Running, true)}, Queued{},
			[]Action{kill("t1")}},
		{"no over capacity: stuck at full health", spec(1, 1, 0), []Task{on("t1", "A", Running, true)}, Queued{}, nil},
		{"no over capacity, half health: kill then replace", spec(2, 0.5, 0), []Task{on("t1", "A", Running, true), on("t2", "A", Running, true)}, Queued{},
			[]Action{kill("t1")}},
		{"killed one replaced", spec(2, 0.5, 0), []Task{on("t1", "A", Killing, true), on("t2", "A", Running, true)}, Queued{},
			[]Action{start(1)}},
		{"over capacity bounds the replacements", spec(4, 1, 0.5), []Task{on("t1", "A", Running, true), on("t2", "A", Running, true),
			on("t3", "A", Running, true), on("t4", "B", Running, true)}, Queued{}, []Action{start(2)}},
		{"unhealthy leaving tasks go first, and freely", spec(2, 1, 0), []Task{on("t1", "A", Running, true), on("t2", "A", Staging, false),
			on("t3", "B", Running, true)}, Queued{}, []Action{kill("t2")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MaintainDraining(tt.spec, tt.tasks, tt.q, now, draining); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
