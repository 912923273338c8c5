package marathon

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/frameworks/marathon/app"
)

// BenchmarkRenderApps renders GET /v2/apps?embed=apps.tasks for 1,000 apps of 10 tasks:
// the loop's part (render) and the handler's part (encode).
func BenchmarkRenderApps(b *testing.B) {
	cfg := DefaultConfig()
	cfg.WorkDir = b.TempDir()
	m, err := New(cfg, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	m.now = func() time.Time { return now }
	for i := range 1000 {
		a, err := app.Parse([]byte(fmt.Sprintf(`{"id":"/bench/app%04d","cmd":"sleep 3600","cpus":0.01,"mem":1,"instances":10}`, i)), "/")
		if err != nil {
			b.Fatal(err)
		}
		a.Version = app.FormatTime(now)
		m.apps[a.ID] = a
		for j := range 10 {
			m.tasks.add(&task{ID: fmt.Sprintf("%s.%d", TaskIDPrefix(a.ID), j), AppID: a.ID, State: stateRunning,
				StagedAt: now, StartedAt: now, Ports: []uint64{31000}, Host: "sim-agent-1", AgentID: "S1"})
		}
	}
	e := embeds{counts: true, deployments: true, tasks: true}
	ids := m.tasks.apps()
	b.ReportAllocs()
	b.ResetTimer()
	var out []byte
	for range b.N {
		out = append(out[:0], `{"apps":[`...)
		for i, id := range ids {
			if i > 0 {
				out = append(out, ',')
			}
			out = m.appendAppJSON(out, m.apps[id], e)
		}
		out = append(out, "]}"...)
	}
	b.StopTimer()
	if !json.Valid(out) {
		b.Fatal("invalid JSON")
	}
}
