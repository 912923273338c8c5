package marathon

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/agoracluster/agora/frameworks/marathon/app"
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
	cfg := DefaultConfig()
	cfg.WorkDir = t.TempDir()
	m, err := New(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	m.now = func() time.Time { return now.Add(time.Hour) }
	all := embeds{counts: true, deployments: true, tasks: true, lastTaskFailure: true, taskStats: true, readiness: true}
	for _, def := range defs {
		a, err := app.Parse([]byte(def), "/")
		if err != nil {
			t.Fatalf("parse %s: %v", def, err)
		}
		a.Version = app.FormatTime(now)
		m.apps[a.ID] = a
		m.tasks.add(&task{ID: TaskIDPrefix(a.ID) + ".1", AppID: a.ID, State: stateRunning, StagedAt: now, StartedAt: now, Ports: []uint64{31000}})
		for _, e := range []embeds{{}, all} {
			for round := range 2 { // the second round reads the cache
				want, _ := json.Marshal(m.renderApp(a, e))
				got, _ := json.Marshal(m.renderAppJSON(a, e))
				if !bytes.Equal(got, want) {
					t.Fatalf("app %s round %d:\n got %s\nwant %s", a.ID, round, got, want)
				}
				if got := m.appendAppJSON(nil, a, e); !bytes.Equal(got, want) {
					t.Fatalf("appendAppJSON %s round %d:\n got %s\nwant %s", a.ID, round, got, want)
				}
			}
		}
		// A changed task is rendered anew.
		tk := m.tasks.get(TaskIDPrefix(a.ID) + ".1")
		tk.State, tk.Healthy = stateStaging, new(bool)
		m.persistTask(tk)
		want, _ := json.Marshal(m.renderApp(a, all))
		got, _ := json.Marshal(m.renderAppJSON(a, all))
		if !bytes.Equal(got, want) {
			t.Fatalf("app %s after a task change:\n got %s\nwant %s", a.ID, got, want)
		}
		if got := m.appendAppJSON(nil, a, all); !bytes.Equal(got, want) {
			t.Fatalf("appendAppJSON %s after a task change:\n got %s\nwant %s", a.ID, got, want)
		}
		// A new version of the app is rendered anew.
		b := *a
		b.Instances++
		b.Version = app.FormatTime(now.Add(time.Second))
		m.apps[a.ID] = &b
		want, _ = json.Marshal(m.renderApp(&b, all))
		got, _ = json.Marshal(m.renderAppJSON(&b, all))
		if !bytes.Equal(got, want) {
			t.Fatalf("app %s after a change:\n got %s\nwant %s", a.ID, got, want)
		}
	}
}
