package taskinfo

import (
	"reflect"
	"testing"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

func parseApp(t *testing.T, js string) *app.App {
	t.Helper()
	a, err := app.Parse([]byte(js), "/")
	if err != nil {
		t.Fatalf("parse %s: %v", js, err)
	}
	a.Version = "2024-01-02T03:04:05.000Z"
	return a
}

func TestTaskIDs(t *testing.T) {
	tests := []struct{ app, id string }{
		{"/a", "a.u1"},
		{"/group/sub/app", "group_sub_app.u1"},
		{"/my.app", "my.app.u1"},
	}
	for _, tc := range tests {
		t.Run(tc.app, func(t *testing.T) {
			id := NewTaskID(tc.app, "u1")
			if id != tc.id {
				t.Fatalf("NewTaskID = %s, want %s", id, tc.id)
			}
			if back, ok := AppIDOfTask(id); !ok || back != tc.app {
				t.Fatalf("AppIDOfTask(%s) = %s, %v", id, back, ok)
			}
		})
	}
}

func TestTaskEnv(t *testing.T) {
	tests := []struct {
		name   string
		app    string
		ports  []uint64
		want   map[string]string // subset
		absent []string
	}{
		{
			name:  "ports and names",
			app:   `{"id":"/a","cmd":"x","portDefinitions":[{"port":10001,"name":"http"},{"port":0,"name":"admin-api"}]}`,
			ports: []uint64{31000, 31001},
			want: map[string]string{"PORT0": "31000", "PORT1": "31001", "PORT": "31000", "PORTS": "31000,31001",
				"PORT_HTTP": "31000", "PORT_ADMIN_API": "31001", "PORT_10001": "31000", "HOST": "h"},
		},
		{
			name:   "no ports",
			app:    `{"id":"/a","cmd":"x","portDefinitions":[]}`,
			want:   map[string]string{"MARATHON_APP_ID": "/a", "MARATHON_APP_VERSION": "2024-01-02T03:04:05.000Z", "MESOS_TASK_ID": "t1"},
			absent: []string{"PORT", "PORTS", "PORT0"},
		},
		{
			name: "resources and labels",
			app:  `{"id":"/a","cmd":"x","cpus":0.25,"mem":64,"disk":10,"gpus":0,"labels":{"team":"web","z.y":"1"}}`,
			want: map[string]string{"MARATHON_APP_RESOURCE_CPUS": "0.25", "MARATHON_APP_RESOURCE_MEM": "64.0",
				"MARATHON_APP_RESOURCE_DISK": "10.0", "MARATHON_APP_RESOURCE_GPUS": "0",
				"MARATHON_APP_LABELS": "TEAM Z_Y", "MARATHON_APP_LABEL_TEAM": "web", "MARATHON_APP_LABEL_Z_Y": "1"},
		},
		{
			name: "app env wins",
			app:  `{"id":"/a","cmd":"x","env":{"HOST":"override","EXTRA":"1"}}`,
			want: map[string]string{"HOST": "override", "EXTRA": "1"},
		},
		{
			name:  "docker port mappings",
			app:   `{"id":"/d","container":{"type":"DOCKER","docker":{"image":"img"},"portMappings":[{"containerPort":9001,"hostPort":0,"name":"web"}]},"networks":[{"mode":"container/bridge"}]}`,
			ports: []uint64{31005},
			want:  map[string]string{"PORT0": "31005", "PORT_9001": "31005", "PORT_WEB": "31005", "MARATHON_APP_DOCKER_IMAGE": "img"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := TaskEnv(parseApp(t, tc.app), "t1", "h", tc.ports)
			for k, v := range tc.want {
				if env[k] != v {
					t.Errorf("%s = %q, want %q", k, env[k], v)
				}
			}
			for _, k := range tc.absent {
				if _, ok := env[k]; ok {
					t.Errorf("%s set to %q", k, env[k])
				}
			}
		})
	}
}

func TestBuildTaskDocker(t *testing.T) {
	// The README's hello-marathon definition: host networking, hostPort 0 from the offer.
	a := parseApp(t, `{"id":"marathon-demo-application","cpus":1,"mem":128,"disk":0,"instances":1,
		"container":{"type":"DOCKER","docker":{"image":"hello_world:latest","portMappings":[{"containerPort":9001,"hostPort":0}]}},
		"networks":[{"mode":"host"}],"taskKillGracePeriodSeconds":7,
		"healthChecks":[{"protocol":"MESOS_HTTP","path":"/health","portIndex":0}]}`)
	if got := HostPorts(a); !reflect.DeepEqual(got, []int{0}) {
		t.Fatalf("HostPorts = %v", got)
	}
	ti := Build(a, Spec{TaskID: "t1", AgentID: "ag", Host: "h", Ports: []uint64{31007}})
	d := ti.GetContainer().GetDocker()
	if ti.GetContainer().GetType() != mesos.ContainerInfo_DOCKER || d.GetImage() != "hello_world:latest" ||
		d.GetNetwork() != mesos.ContainerInfo_DockerInfo_HOST {
		t.Fatalf("container = %v", ti.GetContainer())
	}
	if pm := d.GetPortMappings(); len(pm) != 1 || pm[0].GetHostPort() != 31007 || pm[0].GetContainerPort() != 9001 || pm[0].GetProtocol() != "tcp" {
		t.Fatalf("port mappings = %v", pm)
	}
	if ti.GetCommand().GetShell() || ti.GetCommand().Value != nil {
		t.Errorf("command = %v, want the image's entrypoint", ti.GetCommand())
	}
	if ti.GetKillPolicy().GetGracePeriod().GetNanoseconds() != 7e9 {
		t.Errorf("kill policy = %v", ti.GetKillPolicy())
	}
	hc := ti.GetHealthCheck()
	if hc.GetType() != mesos.HealthCheck_HTTP || hc.GetHttp().GetPort() != 31007 || hc.GetHttp().GetPath() != "/health" || hc.GetHttp().GetScheme() != "http" {
		t.Errorf("health check = %v", hc)
	}
}

// TestBuildTaskHealthCheck: the TaskInfo carries the app's Mesos check, wherever it is in
// healthChecks; Marathon's own HTTP, HTTPS and TCP checks stay with the framework.
func TestBuildTaskHealthCheck(t *testing.T) {
	tests := []struct {
		name   string
		checks string
		want   mesos.HealthCheck_Type // 0: no health check
	}{
		{"none", `[]`, 0},
		{"framework checks only", `[{"protocol":"HTTP","portIndex":0},{"protocol":"TCP","portIndex":0}]`, 0},
		{"mesos check after framework ones", `[{"protocol":"HTTP","portIndex":0},{"protocol":"MESOS_TCP","portIndex":0}]`, mesos.HealthCheck_TCP},
		{"command", `[{"protocol":"TCP","portIndex":0},{"protocol":"COMMAND","command":{"value":"true"}}]`, mesos.HealthCheck_COMMAND},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := parseApp(t, `{"id":"/h","cmd":"sleep 1","portDefinitions":[{"port":0}],"healthChecks":`+tc.checks+`}`)
			hc := Build(a, Spec{TaskID: "t1", AgentID: "ag", Host: "h", Ports: []uint64{31007}}).GetHealthCheck()
			if hc.GetType() != tc.want || (tc.want == 0) != (hc == nil) {
				t.Fatalf("health check = %v; want type %v", hc, tc.want)
			}
		})
	}
}
