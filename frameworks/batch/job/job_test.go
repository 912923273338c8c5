package job

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/agoracluster/agora/frameworks/marathon/constraints"
)

func TestDecodeSpecDefaults(t *testing.T) {
	s, err := DecodeSpec([]byte(`{"id":"prod.backup","run":{"cmd":"true"}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Spec{ID: "prod.backup", Run: RunSpec{
		Cmd: "true", CPUs: 1, Mem: 128, Disk: 0, MaxLaunchDelay: 3600,
		Restart: Restart{Policy: RestartNever}, Parallelism: 1, Completions: 1,
	}}
	if !reflect.DeepEqual(*s, want) {
		t.Fatalf("got %+v, want %+v", *s, want)
	}
}

func TestDecodeSpecFull(t *testing.T) {
	body := `{
	  "id": "prod.reports.daily-1",
	  "description": "daily report",
	  "labels": {"team": "data"},
	  "dependencies": ["prod.extract", "prod.load"],
	  "run": {
	    "args": ["/bin/report", "--daily"],
	    "cpus": 0.5, "mem": 64, "disk": 10, "gpus": 1,
	    "env": {"MODE": "daily"},
	    "user": "nobody",
	    "artifacts": [{"uri": "https://example.com/r.tgz", "extract": true, "cache": true},
	                  {"uri": "/opt/tools/report", "executable": true}],
	    "docker": {"image": "busybox:1", "forcePullImage": true, "privileged": false,
	               "parameters": [{"key": "label", "value": "a=b"}]},
	    "placement": {"constraints": [{"attribute": "rack", "operator": "EQ", "value": "r1"},
	                                  {"attribute": "hostname", "operator": "LIKE", "value": "node-[0-9]+"}]},
	    "maxLaunchDelay": 60,
	    "taskKillGracePeriodSeconds": 5,
	    "restart": {"policy": "ON_FAILURE", "activeDeadlineSeconds": 120},
	    "parallelism": 4, "completions": 10
	  }
	}`
	s, err := DecodeSpec([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := Spec{
		ID: "prod.reports.daily-1", Description: "daily report", Labels: map[string]string{"team": "data"},
		Dependencies: []string{"prod.extract", "prod.load"},
		Run: RunSpec{
			Args: []string{"/bin/report", "--daily"}, CPUs: 0.5, Mem: 64, Disk: 10, GPUs: 1,
			Env: map[string]string{"MODE": "daily"}, User: "nobody",
			Artifacts: []Artifact{{URI: "https://example.com/r.tgz", Extract: true, Cache: true}, {URI: "/opt/tools/report", Executable: true}},
			Docker:    &Docker{Image: "busybox:1", ForcePullImage: true, Parameters: []Parameter{{Key: "label", Value: "a=b"}}},
			Placement: &Placement{Constraints: []Constraint{
				{Attribute: "rack", Operator: "EQ", Value: "r1"},
				{Attribute: "hostname", Operator: "LIKE", Value: "node-[0-9]+"},
			}},
			MaxLaunchDelay: 60, TaskKillGracePeriodSeconds: 5,
			Restart:     Restart{Policy: RestartOnFailure, ActiveDeadlineSeconds: 120},
			Parallelism: 4, Completions: 10,
		},
	}
	if !reflect.DeepEqual(*s, want) {
		t.Fatalf("got %+v, want %+v", *s, want)
	}
	assertRoundTrip(t, s)
}

func TestDecodeSpecNullKeepsDefault(t *testing.T) {
	s, err := DecodeSpec([]byte(`{"id":"a","labels":null,"run":{"cmd":"x","cpus":null,"restart":{"policy":null}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Run.CPUs != DefaultCPUs || s.Run.Restart.Policy != RestartNever || s.Labels != nil {
		t.Fatalf("got %+v", s)
	}
}

func TestDecodeSpecEmptyCollectionsAreNil(t *testing.T) {
	s, err := DecodeSpec([]byte(`{"id":"a","labels":{},"dependencies":[],"run":{"cmd":"x","env":{},"artifacts":[],"args":[],
		"docker":{"image":"i","parameters":[]},"placement":{"constraints":[]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Labels != nil || s.Dependencies != nil || s.Run.Env != nil || s.Run.Artifacts != nil || s.Run.Args != nil ||
		s.Run.Docker.Parameters != nil || s.Run.Placement.Constraints != nil {
		t.Fatalf("got %+v", s)
	}
	assertRoundTrip(t, s)
}

// base is a valid spec; each row of TestDecodeSpecInvalid replaces part of it.
const base = `{"id":"a.b","run":{"cmd":"true"}}`

func TestDecodeSpecInvalid(t *testing.T) {
	tests := []struct {
		name string
		body string
		want map[string]string // path -> substring of one of its errors
	}{
		{"unknown top-level field", `{"id":"a","run":{"cmd":"x"},"schedules":[]}`, map[string]string{"/schedules": "unknown field"}},
		{"unknown nested field", `{"id":"a","run":{"cmd":"x","restart":{"policy":"NEVER","backoff":1}}}`, map[string]string{"/run/restart/backoff": "unknown field"}},
		{"field name in another case", `{"id":"a","run":{"cmd":"x","CPUS":2}}`, map[string]string{"/run/CPUS": "unknown field"}},
		{"unknown field in array element", `{"id":"a","run":{"cmd":"x","artifacts":[{"uri":"/a","md5":"x"}]}}`, map[string]string{"/run/artifacts(0)/md5": "unknown field"}},
		{"wrong type", `{"id":"a","run":{"cmd":"x","cpus":"2"}}`, map[string]string{"/run/cpus": "expected a number"}},
		{"fractional integer", `{"id":"a","run":{"cmd":"x","gpus":1.5}}`, map[string]string{"/run/gpus": "not an integer"}},
		{"huge integer", `{"id":"a","run":{"cmd":"x","gpus":1e30}}`, map[string]string{"/run/gpus": "not an integer"}},
		{"huge number", `{"id":"a","run":{"cmd":"x","cpus":1e400}}`, map[string]string{"/run/cpus": "out of range"}},
		{"run not an object", `{"id":"a","run":"x"}`, map[string]string{"/run": "expected a JSON object"}},
		{"null array element", `{"id":"a","run":{"cmd":"x"},"dependencies":[null]}`, map[string]string{"/dependencies(0)": "must not be null"}},
		{"null map value", `{"id":"a","run":{"cmd":"x","env":{"A":null}}}`, map[string]string{"/run/env/A": "must not be null"}},
		{"label value not a string", `{"id":"a","run":{"cmd":"x"},"labels":{"a/b":1}}`, map[string]string{"/labels/a~1b": "expected a string"}},
		{"top level array", `[1]`, map[string]string{"/": "expected a JSON object"}},
		{"top level null", `null`, map[string]string{"/": "expected a JSON object"}},
		{"missing id", `{"run":{"cmd":"x"}}`, map[string]string{"/id": "must not be empty"}},
		{"upper-case id", `{"id":"Prod","run":{"cmd":"x"}}`, map[string]string{"/id": "dotted lowercase"}},
		{"id with leading dash", `{"id":"-a","run":{"cmd":"x"}}`, map[string]string{"/id": "dotted lowercase"}},
		{"id with empty segment", `{"id":"a..b","run":{"cmd":"x"}}`, map[string]string{"/id": "dotted lowercase"}},
		{"id with slash", `{"id":"/a","run":{"cmd":"x"}}`, map[string]string{"/id": "dotted lowercase"}},
		{"id too long", `{"id":"` + strings.Repeat("a", 256) + `","run":{"cmd":"x"}}`, map[string]string{"/id": "at most 255"}},
		{"nothing to run", `{"id":"a","run":{}}`, map[string]string{"/run": "one of cmd, args or docker.image"}},
		{"empty cmd", `{"id":"a","run":{"cmd":""}}`, map[string]string{"/run": "one of cmd, args or docker.image"}},
		{"cmd and args", `{"id":"a","run":{"cmd":"x","args":["y"]}}`, map[string]string{"/run": "mutually exclusive"}},
		{"zero cpus", `{"id":"a","run":{"cmd":"x","cpus":0}}`, map[string]string{"/run/cpus": "got 0.0, expected more than 0.0"}},
		{"negative cpus", `{"id":"a","run":{"cmd":"x","cpus":-1}}`, map[string]string{"/run/cpus": "got -1.0"}},
		{"zero mem", `{"id":"a","run":{"cmd":"x","mem":0}}`, map[string]string{"/run/mem": "more than 0.0"}},
		{"negative disk", `{"id":"a","run":{"cmd":"x","disk":-0.5}}`, map[string]string{"/run/disk": "got -0.5, expected 0.0 or more"}},
		{"negative gpus", `{"id":"a","run":{"cmd":"x","gpus":-1}}`, map[string]string{"/run/gpus": "expected 0 or more"}},
		{"empty env name", `{"id":"a","run":{"cmd":"x","env":{"":"v"}}}`, map[string]string{"/run/env": "must not be empty"}},
		{"env name with =", `{"id":"a","run":{"cmd":"x","env":{"A=B":"v"}}}`, map[string]string{"/run/env/A=B": "'='"}},
		{"env value with NUL", `{"id":"a","run":{"cmd":"x","env":{"A":"\u0000"}}}`, map[string]string{"/run/env/A": "NUL"}},
		{"user with space", `{"id":"a","run":{"cmd":"x","user":"a b"}}`, map[string]string{"/run/user": "whitespace"}},
		{"empty artifact uri", `{"id":"a","run":{"cmd":"x","artifacts":[{"uri":""}]}}`, map[string]string{"/run/artifacts(0)/uri": "must not be empty"}},
		{"relative artifact uri", `{"id":"a","run":{"cmd":"x","artifacts":[{"uri":"/ok"},{"uri":"rel/path"}]}}`, map[string]string{"/run/artifacts(1)/uri": "absolute"}},
		{"artifact uri with space", `{"id":"a","run":{"cmd":"x","artifacts":[{"uri":"http://h/a b"}]}}`, map[string]string{"/run/artifacts(0)/uri": "whitespace"}},
		{"opaque artifact uri", `{"id":"a","run":{"cmd":"x","artifacts":[{"uri":"http:foo"}]}}`, map[string]string{"/run/artifacts(0)/uri": "host or a path"}},
		{"bad artifact uri", `{"id":"a","run":{"cmd":"x","artifacts":[{"uri":"http://[::1"}]}}`, map[string]string{"/run/artifacts(0)/uri": "not a URI"}},
		{"empty docker image", `{"id":"a","run":{"docker":{"image":""}}}`, map[string]string{"/run/docker/image": "must not be empty"}},
		{"docker image with space", `{"id":"a","run":{"docker":{"image":"a b"}}}`, map[string]string{"/run/docker/image": "whitespace"}},
		{"empty docker parameter key", `{"id":"a","run":{"docker":{"image":"i","parameters":[{"key":"","value":"v"}]}}}`, map[string]string{"/run/docker/parameters(0)/key": "must not be empty"}},
		{"constraint without attribute", `{"id":"a","run":{"cmd":"x","placement":{"constraints":[{"attribute":"","operator":"EQ","value":"v"}]}}}`, map[string]string{"/run/placement/constraints(0)": "attribute"}},
		{"unknown constraint operator", `{"id":"a","run":{"cmd":"x","placement":{"constraints":[{"attribute":"r","operator":"NEQ","value":"v"}]}}}`, map[string]string{"/run/placement/constraints(0)": "is not one of (EQ, LIKE"}},
		{"lower-case constraint operator", `{"id":"a","run":{"cmd":"x","placement":{"constraints":[{"attribute":"r","operator":"eq","value":"v"}]}}}`, map[string]string{"/run/placement/constraints(0)": "is not one of"}},
		{"EQ without value", `{"id":"a","run":{"cmd":"x","placement":{"constraints":[{"attribute":"r","operator":"EQ"}]}}}`, map[string]string{"/run/placement/constraints(0)": constraints.MsgMissingValue}},
		{"LIKE with bad regexp", `{"id":"a","run":{"cmd":"x","placement":{"constraints":[{"attribute":"r","operator":"LIKE","value":"("}]}}}`, map[string]string{"/run/placement/constraints(0)": "not a valid regular expression"}},
		{"MAX_PER not a number", `{"id":"a","run":{"cmd":"x","placement":{"constraints":[{"attribute":"r","operator":"MAX_PER","value":"x"}]}}}`, map[string]string{"/run/placement/constraints(0)": constraints.MsgMaxPerNumber}},
		{"UNIQUE with value", `{"id":"a","run":{"cmd":"x","placement":{"constraints":[{"attribute":"r","operator":"UNIQUE","value":"x"}]}}}`, map[string]string{"/run/placement/constraints(0)": constraints.MsgValueNotUsed}},
		{"zero maxLaunchDelay", `{"id":"a","run":{"cmd":"x","maxLaunchDelay":0}}`, map[string]string{"/run/maxLaunchDelay": "expected between 1 and"}},
		{"negative grace period", `{"id":"a","run":{"cmd":"x","taskKillGracePeriodSeconds":-1}}`, map[string]string{"/run/taskKillGracePeriodSeconds": "expected between 0 and"}},
		{"unknown restart policy", `{"id":"a","run":{"cmd":"x","restart":{"policy":"ALWAYS"}}}`, map[string]string{"/run/restart/policy": `got "ALWAYS", expected one of (NEVER, ON_FAILURE)`}},
		{"empty restart policy", `{"id":"a","run":{"cmd":"x","restart":{"policy":""}}}`, map[string]string{"/run/restart/policy": "expected one of"}},
		{"negative active deadline", `{"id":"a","run":{"cmd":"x","restart":{"activeDeadlineSeconds":-5}}}`, map[string]string{"/run/restart/activeDeadlineSeconds": "got -5"}},
		{"active deadline beyond a Duration", `{"id":"a","run":{"cmd":"x","restart":{"activeDeadlineSeconds":9223372036854775807}}}`, map[string]string{"/run/restart/activeDeadlineSeconds": "expected between 0 and 2147483647"}},
		{"zero parallelism", `{"id":"a","run":{"cmd":"x","parallelism":0}}`, map[string]string{"/run/parallelism": "expected between 1 and"}},
		{"zero completions", `{"id":"a","run":{"cmd":"x","completions":0}}`, map[string]string{"/run/completions": "expected between 1 and"}},
		{"too many completions", `{"id":"a","run":{"cmd":"x","completions":100001,"parallelism":1}}`, map[string]string{"/run/completions": "expected between 1 and 100000"}},
		{"parallelism above completions", `{"id":"a","run":{"cmd":"x","parallelism":5,"completions":3}}`, map[string]string{"/run/parallelism": "at most completions (3)"}},
		{"parallelism above default completions", `{"id":"a","run":{"cmd":"x","parallelism":2}}`, map[string]string{"/run/parallelism": "at most completions (1)"}},
		{"invalid dependency", `{"id":"a","run":{"cmd":"x"},"dependencies":["B"]}`, map[string]string{"/dependencies(0)": "dotted lowercase"}},
		{"self dependency", `{"id":"a","run":{"cmd":"x"},"dependencies":["b","a"]}`, map[string]string{"/dependencies(1)": "itself"}},
		{"duplicate dependency", `{"id":"a","run":{"cmd":"x"},"dependencies":["b","b"]}`, map[string]string{"/dependencies(1)": "duplicates /dependencies(0)"}},
		{"empty label key", `{"id":"a","run":{"cmd":"x"},"labels":{"":"v"}}`, map[string]string{"/labels": "must not be empty"}},
		{"every problem at once", `{"id":"A","bogus":true,"run":{"cpus":-1,"mem":"x","restart":{"policy":"X"},"completions":0}}`, map[string]string{
			"/id": "dotted lowercase", "/bogus": "unknown field", "/run": "one of cmd", "/run/cpus": "got -1.0",
			"/run/mem": "expected a number", "/run/restart/policy": "expected one of", "/run/completions": "expected between 1",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := DecodeSpec([]byte(tt.body))
			assertInvalid(t, s, err, tt.want)
		})
	}
}

func TestDecodeSpecValidEdges(t *testing.T) {
	tests := []struct{ name, body string }{
		{"docker only", `{"id":"a","run":{"docker":{"image":"busybox"}}}`},
		{"docker with args", `{"id":"a","run":{"args":["echo","hi"],"docker":{"image":"busybox"}}}`},
		{"single-character segments", `{"id":"a.0.b-c","run":{"cmd":"x"}}`},
		{"disk zero, grace zero, deadline zero", `{"id":"a","run":{"cmd":"x","disk":0,"taskKillGracePeriodSeconds":0,"restart":{"activeDeadlineSeconds":0}}}`},
		{"parallelism equals completions", `{"id":"a","run":{"cmd":"x","parallelism":3,"completions":3}}`},
		{"parallelism below completions", `{"id":"a","run":{"cmd":"x","parallelism":2,"completions":7}}`},
		{"file artifact", `{"id":"a","run":{"cmd":"x","artifacts":[{"uri":"file:///tmp/a"},{"uri":"hdfs://nn/a"}]}}`},
		{"every constraint operator", `{"id":"a","run":{"cmd":"x","placement":{"constraints":[
			{"attribute":"r","operator":"EQ","value":"1"},{"attribute":"r","operator":"LIKE","value":"1|2"},
			{"attribute":"r","operator":"UNLIKE","value":"3"},{"attribute":"r","operator":"IS","value":"1"},
			{"attribute":"r","operator":"CLUSTER","value":"1"},{"attribute":"r","operator":"GROUP_BY","value":"2"},
			{"attribute":"r","operator":"GROUP_BY"},{"attribute":"hostname","operator":"UNIQUE"},
			{"attribute":"r","operator":"MAX_PER","value":"2"}]}}}`},
		{"dependency on a parent", `{"id":"a.child","run":{"cmd":"x"},"dependencies":["a.parent"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := DecodeSpec([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			assertRoundTrip(t, s)
		})
	}
}

func TestDecodeMalformed(t *testing.T) {
	for _, body := range []string{``, `{`, `{"id":}`, `{"id":"a"} {}`, `{"id":"a"}x`, `nul`} {
		t.Run(body, func(t *testing.T) {
			if _, err := DecodeSpec([]byte(body)); !errors.Is(err, ErrMalformed) {
				t.Errorf("DecodeSpec: got %v, want ErrMalformed", err)
			}
			if _, err := DecodeSchedule([]byte(body)); !errors.Is(err, ErrMalformed) {
				t.Errorf("DecodeSchedule: got %v, want ErrMalformed", err)
			}
		})
	}
}

func TestInvalidErrorRendering(t *testing.T) {
	_, err := DecodeSpec([]byte(`{"id":"a","run":{"cmd":"x","cpus":-1,"mem":0}}`))
	var inv *InvalidError
	if !errors.As(err, &inv) {
		t.Fatalf("got %v", err)
	}
	b, err := json.Marshal(inv)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"message":"Object is not valid","details":[{"path":"/run/cpus","errors":["got -1.0, expected more than 0.0"]},{"path":"/run/mem","errors":["got 0.0, expected more than 0.0"]}]}`
	if string(b) != want {
		t.Errorf("JSON:\n got %s\nwant %s", b, want)
	}
	if got, want := inv.Error(), "job: invalid: /run/cpus: got -1.0, expected more than 0.0; /run/mem: got 0.0, expected more than 0.0"; got != want {
		t.Errorf("Error():\n got %s\nwant %s", got, want)
	}
}

func TestValidateID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"a", true}, {"0", true}, {"a-b", true}, {"a.b.c", true}, {"prod.backup-db", true}, {"a1.2b", true},
		{strings.Repeat("a", 255), true},
		{"", false}, {"A", false}, {"a_b", false}, {"-a", false}, {"a-", false}, {"a.", false}, {".a", false},
		{"a..b", false}, {"a.-b", false}, {"a/b", false}, {"a b", false}, {"é", false}, {strings.Repeat("a", 256), false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			if err := ValidateID(tt.id); (err == nil) != tt.ok {
				t.Errorf("ValidateID(%q) = %v, want ok=%v", tt.id, err, tt.ok)
			}
		})
	}
}

func TestConstraintParse(t *testing.T) {
	c, err := Constraint{Attribute: "rack", Operator: "EQ", Value: "r1"}.Parse()
	if err != nil {
		t.Fatal(err)
	}
	if c.Operator != constraints.Cluster || c.Field != "rack" || c.Value != "r1" {
		t.Fatalf("got %+v", c)
	}
	if ok, _ := c.Feasible(constraints.Agent{Attributes: map[string]string{"rack": "r1"}}, nil); !ok {
		t.Error("EQ r1 does not match rack=r1")
	}
	if ok, _ := c.Feasible(constraints.Agent{Attributes: map[string]string{"rack": "r2"}}, nil); ok {
		t.Error("EQ r1 matches rack=r2")
	}
}

func assertInvalid(t *testing.T, s any, err error, want map[string]string) {
	t.Helper()
	var inv *InvalidError
	if !errors.As(err, &inv) {
		t.Fatalf("got (%+v, %v), want *InvalidError", s, err)
	}
	got := map[string][]string{}
	for _, d := range inv.Details {
		got[d.Path] = d.Errors
	}
	for path, sub := range want {
		found := false
		for _, msg := range got[path] {
			found = found || strings.Contains(msg, sub)
		}
		if !found {
			t.Errorf("%s: got %q, want an error containing %q (all: %v)", path, got[path], sub, inv.Details)
		}
	}
	for path := range got {
		if _, ok := want[path]; !ok {
			t.Errorf("unexpected error at %s: %v", path, got[path])
		}
	}
}

func assertRoundTrip[T any](t *testing.T, v *T) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var again any
	switch any(v).(type) {
	case *Spec:
		again, err = DecodeSpec(b)
	case *Schedule:
		again, err = DecodeSchedule(b)
	}
	if err != nil {
		t.Fatalf("decode of encoded %s: %v", b, err)
	}
	if !reflect.DeepEqual(again, any(v)) {
		t.Fatalf("round trip through %s:\n got %+v\nwant %+v", b, again, v)
	}
}
