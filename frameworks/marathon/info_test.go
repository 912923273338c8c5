package marathon

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// TestInfoReportsTheInstanceConfiguration pins /v2/info: Marathon's fields, filled with
// the values this instance runs with (its flags, the master it is subscribed to).
func TestInfoReportsTheInstanceConfiguration(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.TaskLaunchTimeout = 90 * time.Second
		c.ReconciliationInterval = 3 * time.Minute
		c.GPUResources = true
		c.MaxVersions = 7
		c.FrameworkName = "marathon-info"
	})
	resp, body := h.do(http.MethodGet, "/v2/info", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v2/info: %d %s", resp.StatusCode, body)
	}
	var info struct {
		Name, Version, Buildref, Leader, FrameworkID string
		Elected                                      bool
		MarathonConfig                               map[string]any `json:"marathon_config"`
		ZooKeeperConfig                              map[string]any `json:"zookeeper_config"`
		HTTPConfig                                   map[string]any `json:"http_config"`
		EventSubscriber                              any            `json:"event_subscriber"`
	}
	if err := json.Unmarshal([]byte(body), &info); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	if info.Name != "marathon" || info.Version != Version || !info.Elected || info.FrameworkID != "fake-0000" ||
		info.Leader != "127.0.0.1:8080" { // the advertised --hostname and --http_port
		t.Errorf("info = %+v", info)
	}
	mc := info.MarathonConfig
	want := map[string]any{
		"master": h.master.Addr(), "framework_name": "marathon-info", "failover_timeout": float64(7 * 24 * 3600),
		"ha": false, "checkpoint": true, "local_port_min": float64(10000), "local_port_max": float64(20000),
		"executor": "//cmd", "hostname": "127.0.0.1", "webui_url": "http://127.0.0.1:8080", "mesos_role": "*",
		"task_launch_timeout": float64(90000), "reconciliation_interval": float64(180000),
		"reconciliation_initial_delay": float64(0), "leader_proxy_connection_timeout_ms": float64(5000),
		"mesos_leader_ui_url": "http://" + h.master.Addr(),
	}
	for k, v := range want {
		if mc[k] != v {
			t.Errorf("marathon_config.%s = %v (%T), want %v", k, mc[k], mc[k], v)
		}
	}
	if f, _ := mc["features"].([]any); len(f) != 1 || f[0] != "gpu_resources" {
		t.Errorf("marathon_config.features = %v", mc["features"])
	}
	if info.ZooKeeperConfig["zk_max_versions"] != float64(7) {
		t.Errorf("zookeeper_config = %v", info.ZooKeeperConfig)
	}
	if info.HTTPConfig["http_port"] != float64(8080) {
		t.Errorf("http_config = %v", info.HTTPConfig)
	}
	if info.EventSubscriber != nil {
		t.Errorf("event_subscriber = %v without --event_subscriber", info.EventSubscriber)
	}
}
