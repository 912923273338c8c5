package pod

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
)

const webPod = `{
  "id": "/prod/web",
  "labels": {"team": "a"},
  "scaling": {"kind": "fixed", "instances": 2},
  "volumes": [{"name": "shared"}],
  "containers": [
    {"name": "web", "resources": {"cpus": 0.5, "mem": 64},
     "exec": {"command": {"shell": "python3 -m http.server 8080"}},
     "volumeMounts": [{"name": "shared", "mountPath": "www"}],
     "healthCheck": {"exec": {"command": {"shell": "test -d www"}}, "intervalSeconds": 5}},
    {"name": "sidecar", "exec": {"command": {"shell": "while true; do date > data/now; sleep 1; done"}},
     "volumeMounts": [{"name": "shared", "mountPath": "data"}]}
  ]
}`

func TestDecodeFillsMarathonDefaults(t *testing.T) {
	p, err := Decode([]byte(webPod))
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != "/prod/web" || p.Scaling.Instances != 2 || len(p.Containers) != 2 {
		t.Fatalf("pod = %+v", p)
	}
	if r := p.Containers[1].Resources; r.Cpus != DefaultCpus || r.Mem != DefaultMem {
		t.Fatalf("sidecar resources = %+v, want Marathon's defaults", r)
	}
	hc := p.Containers[0].HealthCheck
	if hc.IntervalSeconds != 5 || hc.MaxConsecutiveFailures != DefaultMaxConsecutiveFailures || hc.GracePeriodSeconds != DefaultGracePeriodSeconds {
		t.Fatalf("health check = %+v", hc)
	}
	single, err := Decode([]byte(`{"id": "one", "containers": [{"name": "c", "exec": {"command": {"shell": "true"}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if single.Scaling.Instances != 1 || single.ID != "/one" {
		t.Fatalf("defaults: instances %d, id %q", single.Scaling.Instances, single.ID)
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, tc := range []struct {
		name, body, path, msg string
	}{
		{"no containers", `{"id": "p", "containers": []}`, "/containers", "must not be empty"},
		{"bad id", `{"id": "Bad_Id", "containers": [{"name": "c", "exec": {"command": {"shell": "true"}}}]}`, "/id", ""},
		{"no command", `{"id": "p", "containers": [{"name": "c"}]}`, "/containers/0/exec/command/shell", "must not be empty"},
		{"duplicate container", `{"id": "p", "containers": [{"name": "c", "exec": {"command": {"shell": "true"}}}, {"name": "c", "exec": {"command": {"shell": "true"}}}]}`, "/containers/1/name", "must be unique"},
		{"unknown volume", `{"id": "p", "containers": [{"name": "c", "exec": {"command": {"shell": "true"}}, "volumeMounts": [{"name": "v", "mountPath": "d"}]}]}`, "/containers/0/volumeMounts/0/name", "must name a volume"},
		{"absolute mount path", `{"id": "p", "volumes": [{"name": "v"}], "containers": [{"name": "c", "exec": {"command": {"shell": "true"}}, "volumeMounts": [{"name": "v", "mountPath": "/d"}]}]}`, "/containers/0/volumeMounts/0/mountPath", "relative path"},
		{"image", `{"id": "p", "containers": [{"name": "c", "image": {"kind": "DOCKER", "id": "nginx"}, "exec": {"command": {"shell": "true"}}}]}`, "/containers/0/image", notSupported},
		{"relative host volume", `{"id": "p", "volumes": [{"name": "v", "host": "etc"}], "containers": [{"name": "c", "exec": {"command": {"shell": "true"}}}]}`, "/volumes/0/host", "absolute path"},
		{"read-only mount", `{"id": "p", "volumes": [{"name": "v", "host": "/etc"}], "containers": [{"name": "c", "exec": {"command": {"shell": "true"}}, "volumeMounts": [{"name": "v", "mountPath": "etc", "readOnly": true}]}]}`, "/containers/0/volumeMounts/0/readOnly", notSupported},
		{"check of an unknown endpoint", `{"id": "p", "containers": [{"name": "c", "exec": {"command": {"shell": "true"}}, "healthCheck": {"http": {"endpoint": "web"}}}]}`, "/containers/0/healthCheck/http/endpoint", "must name an endpoint of the container"},
		{"check of another container's endpoint", `{"id": "p", "containers": [{"name": "a", "exec": {"command": {"shell": "true"}}, "endpoints": [{"name": "web"}]}, {"name": "b", "exec": {"command": {"shell": "true"}}, "healthCheck": {"tcp": {"endpoint": "web"}}}]}`, "/containers/1/healthCheck/tcp/endpoint", "must name an endpoint of the container"},
		{"two kinds of check", `{"id": "p", "containers": [{"name": "c", "exec": {"command": {"shell": "true"}}, "endpoints": [{"name": "web"}], "healthCheck": {"tcp": {"endpoint": "web"}, "exec": {"command": {"shell": "true"}}}}]}`, "/containers/0/healthCheck", "exactly one of http, tcp and exec"},
		{"bad scheme", `{"id": "p", "containers": [{"name": "c", "exec": {"command": {"shell": "true"}}, "endpoints": [{"name": "web"}], "healthCheck": {"http": {"endpoint": "web", "scheme": "FTP"}}}]}`, "/containers/0/healthCheck/http/scheme", "HTTPS"},
		{"duplicate endpoint", `{"id": "p", "containers": [{"name": "a", "exec": {"command": {"shell": "true"}}, "endpoints": [{"name": "web"}]}, {"name": "b", "exec": {"command": {"shell": "true"}}, "endpoints": [{"name": "web"}]}]}`, "/containers/1/endpoints/0/name", "unique in the pod"},
		{"duplicate host port", `{"id": "p", "containers": [{"name": "c", "exec": {"command": {"shell": "true"}}, "endpoints": [{"name": "a", "hostPort": 8080}, {"name": "b", "hostPort": 8080}]}]}`, "/containers/0/endpoints/1/hostPort", "unique in the pod"},
		{"host port range", `{"id": "p", "containers": [{"name": "c", "exec": {"command": {"shell": "true"}}, "endpoints": [{"name": "a", "hostPort": 70000}]}]}`, "/containers/0/endpoints/0/hostPort", "65535"},
		{"protocol", `{"id": "p", "containers": [{"name": "c", "exec": {"command": {"shell": "true"}}, "endpoints": [{"name": "a", "protocol": ["sctp"]}]}]}`, "/containers/0/endpoints/0/protocol/0", `"tcp" or "udp"`},
		{"container port", `{"id": "p", "containers": [{"name": "c", "exec": {"command": {"shell": "true"}}, "endpoints": [{"name": "a", "containerPort": 80}]}]}`, "/containers/0/endpoints/0/containerPort", notSupported},
		{"secret in environment", `{"id": "p", "environment": {"K": {"secret": "s"}}, "containers": [{"name": "c", "exec": {"command": {"shell": "true"}}}]}`, "/environment/K", "secrets " + notSupported},
		{"negative kill grace", `{"id": "p", "containers": [{"name": "c", "exec": {"command": {"shell": "true"}}, "lifecycle": {"killGracePeriodSeconds": -1}}]}`, "/containers/0/lifecycle/killGracePeriodSeconds", "greater than or equal to 0"},
		{"networks", `{"id": "p", "networks": [{"mode": "container"}], "containers": [{"name": "c", "exec": {"command": {"shell": "true"}}}]}`, "/networks/0/mode", `must be "host"`},
		{"wrong type", `{"id": "p", "scaling": {"instances": "two"}, "containers": []}`, "/scaling/instances", "must be of type int"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.body))
			var ve *app.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a validation error", err)
			}
			for _, d := range ve.Details {
				if d.Path == tc.path && (tc.msg == "" || strings.Contains(strings.Join(d.Errors, "; "), tc.msg)) {
					return
				}
			}
			b, _ := json.Marshal(ve)
			t.Fatalf("no %q at %s in %s", tc.msg, tc.path, b)
		})
	}
}

func TestDecodeAcceptsEmptyDefaultsOfUnsupportedFields(t *testing.T) {
	body := `{"id": "p", "networks": [], "secrets": {}, "constraints": null, "containers": [{"name": "c", "endpoints": [], "exec": {"command": {"shell": "true"}}}]}`
	if _, err := Decode([]byte(body)); err != nil {
		t.Fatal(err)
	}
}

func TestDecodeMalformed(t *testing.T) {
	for _, body := range []string{`{`, `null`, `[]`} {
		var me *app.MalformedError
		if _, err := Decode([]byte(body)); !errors.As(err, &me) {
			t.Errorf("%s: err = %v, want a malformed-JSON error", body, err)
		}
	}
}

func TestTaskGroupSharesTheVolumesThroughTheExecutor(t *testing.T) {
	p, err := Decode([]byte(webPod))
	if err != nil {
		t.Fatal(err)
	}
	ex, tasks, err := TaskGroup(p, Instance{ID: "prod_web.instance-1", Host: "h1"})
	if err != nil {
		t.Fatal(err)
	}
	if ex.GetType() != mesos.ExecutorInfo_DEFAULT || ex.GetCommand() != nil {
		t.Fatalf("executor = %v, want a DEFAULT executor without a command", ex)
	}
	vols := ex.GetContainer().GetVolumes()
	if len(vols) != 1 || vols[0].GetContainerPath() != "shared" || vols[0].GetSource().GetSandboxPath().GetPath() != "volumes/shared" ||
		vols[0].GetSource().GetSandboxPath().GetType() != mesos.Volume_Source_SandboxPath_SELF {
		t.Fatalf("executor volumes = %v", vols)
	}
	if len(tasks) != 2 || tasks[0].GetTaskId().GetValue() != "prod_web.instance-1.web" {
		t.Fatalf("tasks = %v", tasks)
	}
	mount := tasks[1].GetContainer().GetVolumes()[0]
	if mount.GetContainerPath() != "data" || mount.GetSource().GetSandboxPath().GetType() != mesos.Volume_Source_SandboxPath_PARENT ||
		mount.GetSource().GetSandboxPath().GetPath() != "shared" {
		t.Fatalf("sidecar mount = %v", mount)
	}
	hc := tasks[0].GetHealthCheck()
	if hc.GetType() != mesos.HealthCheck_COMMAND || hc.GetCommand().GetValue() != "test -d www" || hc.GetIntervalSeconds() != 5 || hc.GetConsecutiveFailures() != 3 {
		t.Fatalf("health check = %v", hc)
	}
	if tasks[1].GetHealthCheck() != nil {
		t.Fatal("the sidecar has no health check")
	}
	if got := tasks[0].GetLabels().GetLabels(); len(got) != 1 || got[0].GetKey() != "team" {
		t.Fatalf("labels = %v", got)
	}
}

// webWithEndpoints: a server with an HTTP-checked endpoint on any port, a sidecar with a
// TCP-checked fixed port, a host volume, environments at both levels and a kill grace.
const webWithEndpoints = `{
  "id": "/prod/api",
  "labels": {"team": "a"},
  "user": "nobody",
  "environment": {"LEVEL": "pod", "POD_ONLY": "1"},
  "volumes": [{"name": "logs", "host": "/var/log/api"}],
  "containers": [
    {"name": "server", "resources": {"cpus": 0.5, "mem": 64},
     "exec": {"command": {"shell": "serve"}},
     "environment": {"LEVEL": "container"},
     "endpoints": [{"name": "http-api", "hostPort": 0}],
     "healthCheck": {"http": {"endpoint": "http-api", "path": "/ping"}, "intervalSeconds": 2},
     "volumeMounts": [{"name": "logs", "mountPath": "logs"}],
     "labels": {"role": "server"},
     "lifecycle": {"killGracePeriodSeconds": 2.5}},
    {"name": "admin", "user": "root", "exec": {"command": {"shell": "admin"}},
     "endpoints": [{"name": "admin", "hostPort": 9090, "protocol": ["tcp", "udp"]}],
     "healthCheck": {"tcp": {"endpoint": "admin"}}}
  ]
}`

func TestTaskGroupEndpointsEnvironmentAndChecks(t *testing.T) {
	p, err := Decode([]byte(webWithEndpoints))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.HostPorts(); !slices.Equal(got, []int{0, 9090}) {
		t.Fatalf("host ports = %v, want [0 9090] (endpoints in container order)", got)
	}
	if got := p.Containers[0].Endpoints[0].Protocol; !slices.Equal(got, []string{"tcp"}) {
		t.Fatalf("default protocol = %v, want Marathon's [tcp]", got)
	}
	if _, _, err := TaskGroup(p, Instance{ID: "prod_api.instance-1", Host: "h1", Ports: []uint64{31005}}); err == nil {
		t.Fatal("a port missing for an endpoint was accepted")
	}
	ex, tasks, err := TaskGroup(p, Instance{ID: "prod_api.instance-1", Host: "h1", Ports: []uint64{31005, 9090}})
	if err != nil {
		t.Fatal(err)
	}
	exRes, _ := resources.FromProto(ex.GetResources())
	if !strings.Contains(exRes.String(), "ports:[9090-9090, 31005-31005]") && !strings.Contains(exRes.String(), "ports:[9090-9090,31005-31005]") {
		t.Fatalf("executor resources = %v, want the endpoints' ports (as Marathon gives them to the executor)", exRes)
	}
	if ex.GetContainer() != nil {
		t.Fatalf("executor container = %v, want none (a host volume is the container's own)", ex.GetContainer())
	}
	server, admin := tasks[0], tasks[1]
	env := map[string]string{}
	for _, v := range server.GetCommand().GetEnvironment().GetVariables() {
		env[v.GetName()] = v.GetValue()
	}
	for k, want := range map[string]string{
		"LEVEL": "container", "POD_ONLY": "1", "HOST": "h1", "ENDPOINT_HTTP_API": "31005", "EP_HOST_HTTP_API": "31005",
		"ENDPOINT_ADMIN": "9090", "MARATHON_APP_ID": "/prod/api", "MARATHON_CONTAINER_ID": "server",
		"MARATHON_CONTAINER_RESOURCE_CPUS": "0.5", "MARATHON_APP_LABEL_ROLE": "server", "MARATHON_APP_LABEL_TEAM": "a",
		"MESOS_TASK_ID": "prod_api.instance-1.server", "MESOS_EXECUTOR_ID": "instance-prod_api.instance-1",
	} {
		if env[k] != want {
			t.Errorf("server's %s = %q, want %q", k, env[k], want)
		}
	}
	if server.GetCommand().GetUser() != "nobody" || admin.GetCommand().GetUser() != "root" {
		t.Errorf("users = %q, %q; want the pod's, then the container's own", server.GetCommand().GetUser(), admin.GetCommand().GetUser())
	}
	if g := server.GetKillPolicy().GetGracePeriod().GetNanoseconds(); g != 2500*1e6 {
		t.Errorf("kill grace = %dns, want 2.5s", g)
	}
	hc := server.GetHealthCheck()
	if hc.GetType() != mesos.HealthCheck_HTTP || hc.GetHttp().GetPort() != 31005 || hc.GetHttp().GetPath() != "/ping" ||
		hc.GetHttp().GetScheme() != "http" || hc.GetIntervalSeconds() != 2 {
		t.Errorf("server's check = %v, want HTTP GET /ping on the endpoint's port", hc)
	}
	if hc := admin.GetHealthCheck(); hc.GetType() != mesos.HealthCheck_TCP || hc.GetTcp().GetPort() != 9090 {
		t.Errorf("admin's check = %v, want TCP to 9090", hc)
	}
	vols := server.GetContainer().GetVolumes()
	if len(vols) != 1 || vols[0].GetContainerPath() != "logs" || vols[0].GetSource().GetType() != mesos.Volume_Source_HOST_PATH ||
		vols[0].GetSource().GetHostPath().GetPath() != "/var/log/api" {
		t.Errorf("server's volumes = %v, want the host path linked at logs", vols)
	}
	if got := server.GetLabels().GetLabels(); len(got) != 2 {
		t.Errorf("server's labels = %v, want the pod's and its own", got)
	}
}
