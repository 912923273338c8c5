package pod

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
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
		{"host volume", `{"id": "p", "volumes": [{"name": "v", "host": "/etc"}], "containers": [{"name": "c", "exec": {"command": {"shell": "true"}}}]}`, "/volumes/0/host", notSupported},
		{"http health check", `{"id": "p", "containers": [{"name": "c", "exec": {"command": {"shell": "true"}}, "healthCheck": {"http": {"endpoint": "web"}}}]}`, "/containers/0/healthCheck/http", notSupported},
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
	ex, tasks := TaskGroup(p, "prod_web.instance-1")
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
