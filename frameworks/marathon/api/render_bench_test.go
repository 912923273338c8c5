package api

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/taskinfo"
	"github.com/agoracluster/agora/frameworks/marathon/tasks"
)

// BenchmarkRenderApps renders GET /v2/apps?embed=apps.tasks for 1,000 apps of 10 tasks:
// the loop's part (render) and the handler's part (encode).
func BenchmarkRenderApps(b *testing.B) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	st := newFakeState(now)
	for i := range 1000 {
		a, err := app.Parse([]byte(fmt.Sprintf(`{"id":"/bench/app%04d","cmd":"sleep 3600","cpus":0.01,"mem":1,"instances":10}`, i)), "/")
		if err != nil {
			b.Fatal(err)
		}
		a.Version = app.FormatTime(now)
		st.apps[a.ID] = a
		for j := range 10 {
			st.tasks.Add(&tasks.Task{ID: fmt.Sprintf("%s.%d", taskinfo.TaskIDPrefix(a.ID), j), AppID: a.ID, State: tasks.StateRunning,
				StagedAt: now, StartedAt: now, Ports: []uint64{31000}, Host: "sim-agent-1", AgentID: "S1"})
		}
	}
	r := newRenderer()
	e := embeds{counts: true, deployments: true, tasks: true}
	ids := st.tasks.Apps()
	b.ReportAllocs()
	b.ResetTimer()
	var out []byte
	for range b.N {
		out = append(out[:0], `{"apps":[`...)
		for i, id := range ids {
			if i > 0 {
				out = append(out, ',')
			}
			out = r.appendAppJSON(out, st, st.apps[id], e)
		}
		out = append(out, "]}"...)
	}
	b.StopTimer()
	if !json.Valid(out) {
		b.Fatal("invalid JSON")
	}
}
