package api

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/taskinfo"
	"github.com/agoracluster/agora/frameworks/marathon/tasks"
)

// TestRenderAppJSONMatchesRenderApp: the cached raw rendering encodes to the same bytes as
// the decoded one, for every embed, and follows changes of the app.
func TestRenderAppJSONMatchesRenderApp(t *testing.T) {
	defs := []string{
		`{"id":"/a","cmd":"sleep 1","cpus":0.1,"mem":16.5,"instances":3}`,
		`{"id":"/g/b","cmd":"echo <&>","env":{"Z":"1","A":"x"},"labels":{"b":"2","a":"1"},"cpus":1,"mem":128,
		  "constraints":[["hostname","UNIQUE"]],"portDefinitions":[{"port":0,"name":"http"}],
		  "healthChecks":[{"protocol":"TCP","portIndex":0}],"upgradeStrategy":{"minimumHealthCapacity":0.5,"maximumOverCapacity":0.2}}`,
		`{"id":"/c","container":{"type":"DOCKER","docker":{"image":"x:1","portMappings":[{"containerPort":80,"hostPort":0}]}},"networks":[{"mode":"container/bridge"}],"cpus":0.25,"mem":64}`,
	}
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	st := newFakeState(now.Add(time.Hour))
	r := newRenderer()
	all := embeds{counts: true, deployments: true, tasks: true, lastTaskFailure: true, taskStats: true, readiness: true}
	for _, def := range defs {
		a, err := app.Parse([]byte(def), "/")
		if err != nil {
			t.Fatalf("parse %s: %v", def, err)
		}
		a.Version = app.FormatTime(now)
		st.apps[a.ID] = a
		st.tasks.Add(&tasks.Task{ID: taskinfo.TaskIDPrefix(a.ID) + ".1", AppID: a.ID, State: tasks.StateRunning, StagedAt: now, StartedAt: now, Ports: []uint64{31000}})
		for _, e := range []embeds{{}, all} {
			for round := range 2 { // the second round reads the cache
				want, _ := json.Marshal(r.app(st, a, e))
				got, _ := json.Marshal(r.appJSON(st, a, e))
				if !bytes.Equal(got, want) {
					t.Fatalf("app %s round %d:\n got %s\nwant %s", a.ID, round, got, want)
				}
				if got := r.appendAppJSON(nil, st, a, e); !bytes.Equal(got, want) {
					t.Fatalf("appendAppJSON %s round %d:\n got %s\nwant %s", a.ID, round, got, want)
				}
			}
		}
		// A changed task is rendered anew.
		tk := st.tasks.Get(taskinfo.TaskIDPrefix(a.ID) + ".1")
		tk.State, tk.Healthy = tasks.StateStaging, new(bool)
		st.tasks.Touch(tk)
		want, _ := json.Marshal(r.app(st, a, all))
		got, _ := json.Marshal(r.appJSON(st, a, all))
		if !bytes.Equal(got, want) {
			t.Fatalf("app %s after a task change:\n got %s\nwant %s", a.ID, got, want)
		}
		if got := r.appendAppJSON(nil, st, a, all); !bytes.Equal(got, want) {
			t.Fatalf("appendAppJSON %s after a task change:\n got %s\nwant %s", a.ID, got, want)
		}
		// A new version of the app is rendered anew.
		b := *a
		b.Instances++
		b.Version = app.FormatTime(now.Add(time.Second))
		st.apps[a.ID] = &b
		want, _ = json.Marshal(r.app(st, &b, all))
		got, _ = json.Marshal(r.appJSON(st, &b, all))
		if !bytes.Equal(got, want) {
			t.Fatalf("app %s after a change:\n got %s\nwant %s", a.ID, got, want)
		}
	}
}

// TestRendererForgetsEndedTasks: renderings of tasks that ended do not pile up.
func TestRendererForgetsEndedTasks(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	st := newFakeState(now)
	a, err := app.Parse([]byte(`{"id":"/a","cmd":"sleep 1"}`), "/")
	if err != nil {
		t.Fatal(err)
	}
	st.apps[a.ID] = a
	r := newRenderer()
	for i := range 5 {
		tk := &tasks.Task{ID: taskinfo.NewTaskID(a.ID, string(rune('a'+i))), AppID: a.ID, State: tasks.StateRunning}
		st.tasks.Add(tk)
		r.appJSON(st, a, embeds{tasks: true})
		st.tasks.Remove(tk)
	}
	r.appJSON(st, a, embeds{tasks: true})
	if n := len(r.apps[a.ID].tasks); n != 0 {
		t.Errorf("%d renderings of ended tasks kept", n)
	}
	delete(st.apps, a.ID)
	r.forgetGone(st)
	if len(r.apps) != 0 {
		t.Errorf("renderings of a deleted app kept")
	}
}
