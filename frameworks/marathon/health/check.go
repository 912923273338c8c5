package health

import (
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// MesosCheck translates a Marathon health check into the Mesos one the executor runs;
// the port comes from portIndex (the task's host port) or port.
func MesosCheck(hc app.HealthCheck, ports []uint64) *mesos.HealthCheck {
	m := &mesos.HealthCheck{
		DelaySeconds:        proto.Float64(float64(hc.DelaySeconds)),
		IntervalSeconds:     proto.Float64(float64(hc.IntervalSeconds)),
		TimeoutSeconds:      proto.Float64(float64(hc.TimeoutSeconds)),
		ConsecutiveFailures: proto.Uint32(uint32(hc.MaxConsecutiveFailures)),
		GracePeriodSeconds:  proto.Float64(float64(hc.GracePeriodSeconds)),
	}
	port := uint32(0)
	switch {
	case hc.Port != nil:
		port = uint32(*hc.Port)
	case hc.PortIndex != nil && *hc.PortIndex < len(ports):
		port = uint32(ports[*hc.PortIndex])
	}
	switch strings.TrimPrefix(hc.Protocol, "MESOS_") {
	case "COMMAND":
		m.Type = mesos.HealthCheck_COMMAND.Enum()
		val := ""
		if hc.Command != nil {
			val = hc.Command.Value
		}
		m.Command = &mesos.CommandInfo{Shell: proto.Bool(true), Value: proto.String(val)}
	case "TCP":
		m.Type = mesos.HealthCheck_TCP.Enum()
		m.Tcp = &mesos.HealthCheck_TCPCheckInfo{Port: proto.Uint32(port)}
	default: // HTTP, HTTPS
		scheme := "http"
		if strings.HasSuffix(hc.Protocol, "HTTPS") {
			scheme = "https"
		}
		m.Type = mesos.HealthCheck_HTTP.Enum()
		m.Http = &mesos.HealthCheck_HTTPCheckInfo{Port: proto.Uint32(port), Path: proto.String(hc.Path), Scheme: proto.String(scheme)}
	}
	return m
}
