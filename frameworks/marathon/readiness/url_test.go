package readiness

import (
	"testing"

	"github.com/agoracluster/agora/frameworks/marathon/app"
)

func TestReadinessURL(t *testing.T) {
	zero := 0
	rc := readinessCheck(200)
	https := rc
	https.Protocol, https.Path = "HTTPS", "health"
	host := &app.App{PortDefinitions: []app.PortDefinition{{Name: "admin"}, {Name: "http"}}}
	bridge := &app.App{Container: &app.Container{PortMappings: []app.PortMapping{{ContainerPort: 80, HostPort: &zero, Name: "http"}}}}
	overlay := &app.App{Container: &app.Container{PortMappings: []app.PortMapping{{ContainerPort: 8080, Name: "http"}}}}
	tests := []struct {
		name string
		a    *app.App
		t    Target
		rc   app.ReadinessCheck
		want string
	}{
		{"host port by name", host, Target{Host: "h1", Ports: []uint64{31000, 31001}}, rc, "http://h1:31001/"},
		{"https and path", host, Target{Host: "h1", Ports: []uint64{31000, 31001}}, https, "https://h1:31001/health"},
		{"mapped host port", bridge, Target{Host: "h1", Ports: []uint64{31005}}, rc, "http://h1:31005/"},
		{"container address", overlay, Target{Host: "h1", IP: "fd00::2"}, rc, "http://[fd00::2]:8080/"},
		{"container address unknown", overlay, Target{Host: "h1"}, rc, ""},
		{"no such port", host, Target{Host: "h1", Ports: []uint64{31000}}, rc, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := URL(tc.a, tc.t, tc.rc)
			if got != tc.want || ok != (tc.want != "") {
				t.Errorf("readinessURL = %q %v, want %q", got, ok, tc.want)
			}
		})
	}
}
