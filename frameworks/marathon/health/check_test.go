package health

import (
	"testing"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

func TestHealthCheckTranslation(t *testing.T) {
	idx := 1
	tests := []struct {
		name string
		hc   app.HealthCheck
		want mesos.HealthCheck_Type
		port uint32
	}{
		{"http", app.HealthCheck{Protocol: "HTTP", Path: "/", PortIndex: &idx}, mesos.HealthCheck_HTTP, 31001},
		{"https", app.HealthCheck{Protocol: "MESOS_HTTPS", Path: "/", PortIndex: &idx}, mesos.HealthCheck_HTTP, 31001},
		{"tcp", app.HealthCheck{Protocol: "TCP", PortIndex: &idx}, mesos.HealthCheck_TCP, 31001},
		{"mesos tcp", app.HealthCheck{Protocol: "MESOS_TCP", PortIndex: &idx}, mesos.HealthCheck_TCP, 31001},
		{"command", app.HealthCheck{Protocol: "COMMAND", Command: &app.HealthCmd{Value: "true"}}, mesos.HealthCheck_COMMAND, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := MesosCheck(tc.hc, []uint64{31000, 31001})
			if m.GetType() != tc.want {
				t.Fatalf("type = %v, want %v", m.GetType(), tc.want)
			}
			port := m.GetHttp().GetPort() + m.GetTcp().GetPort()
			if port != tc.port {
				t.Errorf("port = %d, want %d", port, tc.port)
			}
		})
	}
}
