package app

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustParse(t *testing.T, body string) *App {
	t.Helper()
	a, err := Parse([]byte(body), "/")
	if err != nil {
		t.Fatalf("Parse(%s): %v", body, err)
	}
	return a
}

func TestDefaults(t *testing.T) {
	a := mustParse(t, `{"id":"web","cmd":"sleep 100"}`)
	want := App{
		ID: "/web", Cmd: a.Cmd, Env: map[string]string{}, Instances: 1, Cpus: 1, Mem: 128, Disk: 0,
		Constraints: [][]string{}, Fetch: []Artifact{}, BackoffSeconds: 1, BackoffFactor: 1.15,
		MaxLaunchDelaySeconds: 300, HealthChecks: []HealthCheck{}, ReadinessChecks: []ReadinessCheck{},
		Dependencies: []string{}, UpgradeStrategy: UpgradeStrategy{1, 1}, Labels: map[string]string{},
		Networks:        []Network{{Mode: "host"}},
		PortDefinitions: []PortDefinition{{Port: 0, Protocol: "tcp", Name: "default"}},
		KillSelection:   "YOUNGEST_FIRST",
	}
	if !reflect.DeepEqual(*a, want) {
		t.Fatalf("defaults:\n got %+v\nwant %+v", *a, want)
	}
}

func TestDefaultsTable(t *testing.T) {
	tests := []struct {
		name, body string
		check      func(*App) any
		want       any
	}{
		{"upgrade strategy partial", `{"id":"a","cmd":"x","upgradeStrategy":{"minimumHealthCapacity":0.5}}`,
			func(a *App) any { return a.UpgradeStrategy }, UpgradeStrategy{0.5, 1}},
		{"ports become portDefinitions", `{"id":"a","cmd":"x","ports":[0,8080]}`,
			func(a *App) any { return a.PortDefinitions }, []PortDefinition{{Port: 0, Protocol: "tcp"}, {Port: 8080, Protocol: "tcp"}}},
		{"empty portDefinitions stay empty", `{"id":"a","cmd":"x","portDefinitions":[]}`,
			func(a *App) any { return len(a.PortDefinitions) }, 0},
		{"uris become fetch", `{"id":"a","cmd":"x","uris":["http://h/a.tgz","http://h/b.sh"]}`,
			func(a *App) any { return a.Fetch }, []Artifact{{URI: "http://h/a.tgz", Extract: true}, {URI: "http://h/b.sh"}}},
		{"fetch extract defaults true", `{"id":"a","cmd":"x","fetch":[{"uri":"http://h/b"}]}`,
			func(a *App) any { return a.Fetch[0].Extract }, true},
		{"legacy docker portMappings move", `{"id":"a","container":{"type":"DOCKER","docker":{"image":"i","network":"BRIDGE","portMappings":[{"containerPort":80}]}}}`,
			func(a *App) any {
				return []any{a.Networks[0].Mode, a.Container.PortMappings[0].ContainerPort, *a.Container.PortMappings[0].HostPort, a.Container.PortMappings[0].Protocol, len(a.PortDefinitions), a.Container.Docker.PortMappings == nil}
			}, []any{"container/bridge", 80, 0, "tcp", 0, true}},
		{"host network with portMappings gets no default portDefinitions", `{"id":"a","container":{"type":"DOCKER","docker":{"image":"i","portMappings":[{"containerPort":9001,"hostPort":0}]}},"networks":[{"mode":"host"}]}`,
			func(a *App) any { return []any{len(a.PortDefinitions), len(a.Container.PortMappings)} }, []any{0, 1}},
		{"container network gets no portDefinitions", `{"id":"a","container":{"docker":{"image":"i"}},"networks":[{"name":"dcos"}]}`,
			func(a *App) any { return []any{a.Container.Type, a.Networks[0].Mode, len(a.PortDefinitions)} }, []any{"DOCKER", "container", 0}},
		{"health check defaults", `{"id":"a","cmd":"x","healthChecks":[{}]}`,
			func(a *App) any { return a.HealthChecks[0] },
			HealthCheck{Protocol: "HTTP", Path: "/", PortIndex: intp(0), GracePeriodSeconds: 300, IntervalSeconds: 60, TimeoutSeconds: 20, MaxConsecutiveFailures: 3, DelaySeconds: 15}},
		{"readiness defaults", `{"id":"a","cmd":"x","portDefinitions":[{"name":"http"}],"readinessChecks":[{"portName":"http"}]}`,
			func(a *App) any { return a.ReadinessChecks[0] },
			ReadinessCheck{Name: "readinessCheck", Protocol: "HTTP", Path: "/", PortName: "http", IntervalSeconds: 30, TimeoutSeconds: 10, HTTPStatusCodesForReady: []int{200}}},
		{"unreachable disabled", `{"id":"a","cmd":"x","unreachableStrategy":"disabled"}`,
			func(a *App) any { return a.UnreachableStrategy }, UnreachableStrategy{Disabled: true}},
		{"unreachable enabled", `{"id":"a","cmd":"x","unreachableStrategy":{"inactiveAfterSeconds":60,"expungeAfterSeconds":120}}`,
			func(a *App) any { return a.UnreachableStrategy }, UnreachableStrategy{InactiveAfterSeconds: 60, ExpungeAfterSeconds: 120}},
		{"dependencies resolve against the app id", `{"id":"/g/a","cmd":"x","dependencies":["../db","/other/x"]}`,
			func(a *App) any { return a.Dependencies }, []string{"/g/db", "/other/x"}},
		{"unknown fields ignored", `{"id":"a","cmd":"x","tasksRunning":3,"deployments":[]}`,
			func(a *App) any { return a.ID }, "/a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustParse(t, tt.body)
			if got := tt.check(a); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func intp(i int) *int { return &i }

func TestCanonicalID(t *testing.T) {
	tests := []struct{ id, base, want string }{
		{"app", "/", "/app"},
		{"/app", "/group", "/app"},
		{"app", "/group", "/group/app"},
		{"./app", "/group", "/group/app"},
		{"../app", "/a/b", "/a/app"},
		{"../../../app", "/a", "/app"},
		{"/a//b/", "/", "/a/b"},
		{"", "/", "/"},
	}
	for _, tt := range tests {
		t.Run(tt.id+"@"+tt.base, func(t *testing.T) {
			if got := CanonicalID(tt.id, tt.base); got != tt.want {
				t.Fatalf("CanonicalID(%q, %q) = %q, want %q", tt.id, tt.base, got, tt.want)
			}
		})
	}
}

func TestIDErrors(t *testing.T) {
	tests := []struct {
		id   string
		want []string
	}{
		{"/prod/web-1", nil},
		{"a.b.c", nil},
		{"../x", nil},
		{"/Web", []string{MsgIDPattern}},
		{"/a_b", []string{MsgIDPattern}},
		{"/-a", []string{MsgIDPattern}},
		{"/a-", []string{MsgIDPattern}},
		{"/g/tasks", []string{MsgIDReserved}},
		{"/g/restart", []string{MsgIDReserved}},
		{"/", []string{MsgIDEmpty}},
		{"/versions/ok", nil},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			if got := IDErrors(tt.id); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("IDErrors(%q) = %q, want %q", tt.id, got, tt.want)
			}
		})
	}
}

func TestValidationMessages(t *testing.T) {
	tests := []struct {
		name, body string
		want       []Detail
	}{
		{"missing cmd", `{"id":"a"}`, []Detail{{"/", []string{"AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'."}}}},
		{"cmd and args", `{"id":"a","cmd":"x","args":["y"]}`, []Detail{{"/", []string{"AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'."}}}},
		{"all problems at once", `{"id":"A","cmd":"x","cpus":-1,"mem":-2,"instances":-1,"backoffFactor":0.5}`, []Detail{
			{"/backoffFactor", []string{"got 0.5, expected 1.0 or more"}},
			{"/cpus", []string{"got -1.0, expected 0.0 or more"}},
			{"/id", []string{MsgIDPattern}},
			{"/instances", []string{"got -1, expected 0 or more"}},
			{"/mem", []string{"got -2.0, expected 0.0 or more"}},
		}},
		{"missing id", `{"cmd":"x"}`, []Detail{{"/id", []string{"error.path.missing"}}}},
		{"upgrade strategy range", `{"id":"a","cmd":"x","upgradeStrategy":{"minimumHealthCapacity":1.5,"maximumOverCapacity":-0.1}}`, []Detail{
			{"/upgradeStrategy/maximumOverCapacity", []string{"got -0.1, expected between 0.0 and 1.0"}},
			{"/upgradeStrategy/minimumHealthCapacity", []string{"got 1.5, expected between 0.0 and 1.0"}},
		}},
		{"autoscale labels", `{"id":"a","cmd":"x","labels":{"AGORA_AUTOSCALE_MIN_INSTANCES":"2","AGORA_AUTOSCALE_MAX_INSTANCES":"lots"}}`, []Detail{
			{"/labels", []string{
				`AGORA_AUTOSCALE_MAX_INSTANCES: "lots" is not a non-negative integer`,
				"AGORA_AUTOSCALE_TARGET_CPU, AGORA_AUTOSCALE_TARGET_MEM or AGORA_AUTOSCALE_TARGET_RPS: one target is required",
			}},
		}},
		{"kill selection", `{"id":"a","cmd":"x","killSelection":"RANDOM"}`, []Detail{{"/killSelection", []string{"is not one of (YOUNGEST_FIRST,OLDEST_FIRST)"}}}},
		{"wrong type", `{"id":"a","cmd":"x","cpus":"lots"}`, []Detail{{"/cpus", []string{"error.expected.jsnumber"}}}},
		{"wrong nested type", `{"id":"a","cmd":"x","upgradeStrategy":{"minimumHealthCapacity":"x"}}`, []Detail{{"/upgradeStrategy/minimumHealthCapacity", []string{"error.expected.jsnumber"}}}},
		{"docker image", `{"id":"a","container":{"type":"DOCKER","docker":{"image":""}}}`, []Detail{
			{"/container/docker/image", []string{"must not be empty"}},
		}},
		{"two mesos health checks", `{"id":"a","cmd":"x","healthChecks":[{"protocol":"MESOS_TCP"},{"protocol":"HTTP"},{"protocol":"COMMAND","command":{"value":"true"}}]}`, []Detail{
			{"/", []string{"AppDefinition can contain at most one Mesos health check"}},
		}},
		{"health port index", `{"id":"a","cmd":"x","healthChecks":[{"portIndex":3}]}`, []Detail{
			{"/healthChecks(0)", []string{"Health check port indices must address an element of the ports array or container port mappings."}},
		}},
		{"unreachable order", `{"id":"a","cmd":"x","unreachableStrategy":{"inactiveAfterSeconds":10,"expungeAfterSeconds":5}}`, []Detail{
			{"/unreachableStrategy/inactiveAfterSeconds", []string{"inactiveAfterSeconds (10) must be less or equal to expungeAfterSeconds, which is 5"}},
		}},
		{"ports and portDefinitions", `{"id":"a","cmd":"x","ports":[1],"portDefinitions":[]}`, []Detail{{"/", []string{"You cannot specify both ports and port definitions"}}}},
		{"duplicate port names", `{"id":"a","cmd":"x","portDefinitions":[{"name":"h"},{"name":"h"}]}`, []Detail{{"/portDefinitions", []string{"Port names must be unique."}}}},
		{"constraint shape", `{"id":"a","cmd":"x","constraints":[["hostname"]]}`, []Detail{{"/constraints(0)", []string{"Each constraint must have either 2 or 3 fields"}}}},
		{"constraint operator", `{"id":"a","cmd":"x","constraints":[["hostname","UNIQUE"],["rack","GROUP_BY","x"],["z","NEAR"]]}`, []Detail{
			{"/constraints(1)", []string{"Value was specified but is not a number"}},
			{"/constraints(2)", []string{"Operator must be one of UNIQUE, CLUSTER, GROUP_BY, LIKE, MAX_PER, UNLIKE or IS"}},
		}},
		{"reserved id", `{"id":"/g/versions","cmd":"x"}`, []Detail{{"/id", []string{MsgIDReserved}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.body), "/")
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse: got %v, want a *ValidationError", err)
			}
			if ve.Message != "Object is not valid" || !reflect.DeepEqual(ve.Details, tt.want) {
				t.Fatalf("got %+v\nwant %+v", ve.Details, tt.want)
			}
		})
	}
}

func TestValidationErrorJSON(t *testing.T) {
	_, err := Parse([]byte(`{"id":"a","cmd":"x","cpus":-1}`), "/")
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got %v", err)
	}
	b, _ := json.Marshal(ve)
	want := `{"message":"Object is not valid","details":[{"path":"/cpus","errors":["got -1.0, expected 0.0 or more"]}]}`
	if string(b) != want {
		t.Fatalf("got %s\nwant %s", b, want)
	}
}

func TestMalformed(t *testing.T) {
	for _, body := range []string{`{"id":`, `[]`, `null`, `"x"`, ``, `{"id":"a"}}`} {
		t.Run(body, func(t *testing.T) {
			_, err := Parse([]byte(body), "/")
			var me *MalformedError
			if !errors.As(err, &me) {
				t.Fatalf("Parse(%q) = %v, want *MalformedError", body, err)
			}
		})
	}
}

func TestUpdate(t *testing.T) {
	base := mustParse(t, `{"id":"/g/a","cmd":"x","env":{"A":"1","B":"2"},"labels":{"l":"v"},"instances":2,"upgradeStrategy":{"minimumHealthCapacity":0.5}}`)
	base.Version = "2024-01-01T00:00:00.000Z"
	tests := []struct {
		name, body string
		check      func(*App) any
		want       any
	}{
		{"scale keeps the rest", `{"instances":5}`, func(a *App) any { return []any{a.Instances, a.Env, *a.Cmd, a.UpgradeStrategy} },
			[]any{5, map[string]string{"A": "1", "B": "2"}, "x", UpgradeStrategy{0.5, 1}}},
		{"env replaced whole", `{"env":{"C":"3"}}`, func(a *App) any { return a.Env }, map[string]string{"C": "3"}},
		{"id ignored", `{"id":"/other","cpus":2}`, func(a *App) any { return []any{a.ID, a.Cpus} }, []any{"/g/a", 2.0}},
		{"args replace cmd", `{"args":["sleep","1"]}`, func(a *App) any { return []any{a.Cmd == nil, a.Args} }, []any{true, []string{"sleep", "1"}}},
		{"version kept", `{"cpus":0.5}`, func(a *App) any { return a.Version }, "2024-01-01T00:00:00.000Z"},
		{"bridge drops default port definitions", `{"container":{"docker":{"image":"i"}},"networks":[{"mode":"container/bridge"}]}`,
			func(a *App) any { return len(a.PortDefinitions) }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Update(base, []byte(tt.body))
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			if got := tt.check(a); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
		})
	}
	t.Run("invalid update", func(t *testing.T) {
		_, err := Update(base, []byte(`{"cpus":-1}`))
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Details[0].Path != "/cpus" {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("malformed update", func(t *testing.T) {
		_, err := Update(base, []byte(`{"cpus":`))
		var me *MalformedError
		if !errors.As(err, &me) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestRollbackVersion(t *testing.T) {
	tests := []struct {
		body string
		want string
		ok   bool
	}{
		{`{"version":"2024-01-01T00:00:00.000Z"}`, "2024-01-01T00:00:00.000Z", true},
		{`{"id":"/a","version":"v"}`, "v", true},
		{`{"version":"v","cpus":1}`, "", false},
		{`{"cpus":1}`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			got, ok := RollbackVersion([]byte(tt.body))
			if got != tt.want || ok != tt.ok {
				t.Fatalf("got %q %v, want %q %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestIsUpgrade(t *testing.T) {
	a := mustParse(t, `{"id":"a","cmd":"x","instances":1}`)
	tests := []struct {
		name string
		body string
		want bool
	}{
		{"scale only", `{"instances":4}`, false},
		{"cmd", `{"cmd":"y"}`, true},
		{"env", `{"env":{"A":"1"}}`, true},
		{"same", `{}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Update(a, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			b.Version = "later"
			if got := IsUpgrade(a, b); got != tt.want {
				t.Fatalf("IsUpgrade = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRenderReadme(t *testing.T) {
	body := `{"id":"marathon-demo-application","cpus":1,"mem":128,"disk":0,"instances":1,
	  "container":{"type":"DOCKER","docker":{"image":"hello_world:latest","portMappings":[{"containerPort":9001,"hostPort":0}]}},
	  "networks":[{"mode":"host"}]}`
	a := mustParse(t, body)
	a.Version = FormatTime(time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC))
	b, err := Render(a)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{`"id":"/marathon-demo-application"`, `"portMappings":[{"containerPort":9001,"hostPort":0,"servicePort":0,"protocol":"tcp"}]`,
		`"version":"2024-05-06T07:08:09.123Z"`, `"unreachableStrategy":{"inactiveAfterSeconds":0,"expungeAfterSeconds":0}`,
		`"networks":[{"mode":"host"}]`, `"portDefinitions":[]`} {
		if !strings.Contains(s, want) {
			t.Errorf("render lacks %s:\n%s", want, s)
		}
	}
	again, err := Parse(b, "/")
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := Render(again)
	if string(b2) != s {
		t.Fatalf("round trip:\n%s\n%s", s, b2)
	}
}

func FuzzDecodeApp(f *testing.F) {
	for _, s := range []string{
		`{"id":"a","cmd":"x"}`,
		`{"id":"/g/a","args":["a"],"ports":[0,1],"uris":["http://x/a.tgz"],"env":{"A":"b"}}`,
		`{"id":"a","container":{"type":"DOCKER","docker":{"image":"i","network":"BRIDGE","portMappings":[{"containerPort":80}]}}}`,
		`{"id":"a","cmd":"x","healthChecks":[{"protocol":"TCP"}],"unreachableStrategy":"disabled","upgradeStrategy":{"minimumHealthCapacity":0}}`,
		`{"id":"../a","cmd":"x","readinessChecks":[{"portName":"default"}],"dependencies":["b"],"taskKillGracePeriodSeconds":3}`,
		`{"id":"a","cmd":"x","networks":[{"mode":"container","name":"n"}],"portDefinitions":[{"port":1,"name":"p"}]}`,
		`[]`, `{"id":`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Parse(data, "/g")
		if err != nil {
			var me *MalformedError
			var ve *ValidationError
			if !errors.As(err, &me) && !errors.As(err, &ve) {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			return
		}
		b, err := Render(a)
		if err != nil {
			t.Fatalf("render: %v", err)
		}
		again, err := Parse(b, "/")
		if err != nil {
			t.Fatalf("re-parse of %s: %v", b, err)
		}
		b2, err := Render(again)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != string(b2) {
			t.Fatalf("round trip differs:\n%s\n%s", b, b2)
		}
		if _, err := Update(a, data); err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("update with valid body: %v", err)
			}
		}
	})
}
