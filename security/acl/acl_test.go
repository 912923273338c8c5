package acl

import (
	"strings"
	"testing"
)

func mustParse(t *testing.T, s string) *ACLs {
	t.Helper()
	a, err := Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// The examples of Mesos's authorization documentation.
func TestAllowedFollowsMesosRules(t *testing.T) {
	acls := mustParse(t, `{
		"permissive": false,
		"register_frameworks": [
			{"principals": {"values": ["foo"]}, "roles": {"values": ["analytics", "dev/%"]}},
			{"principals": {"values": ["bar"]}, "roles": {"type": "NONE"}},
			{"principals": {"type": "ANY"}, "roles": {"values": ["public"]}}
		],
		"run_tasks": [
			{"principals": {"type": "ANY"}, "users": {"values": ["nobody"]}},
			{"principals": {"values": ["ops"]}, "users": {"type": "ANY"}}
		],
		"teardown_frameworks": [
			{"principals": {"values": ["admin"]}, "framework_principals": {"type": "ANY"}}
		]
	}`)
	tests := []struct {
		action            Action
		principal, object string
		want              bool
	}{
		{RegisterFrameworks, "foo", "analytics", true},
		{RegisterFrameworks, "foo", "dev/team1", true},  // nested under dev/%
		{RegisterFrameworks, "foo", "dev", false},       // the wildcard is for nested roles only
		{RegisterFrameworks, "foo", "marketing", false}, // no rule matches: permissive false
		{RegisterFrameworks, "bar", "analytics", false}, // NONE: bar may register with no role
		{RegisterFrameworks, "bar", "public", false},    // the NONE rule matches first
		{RegisterFrameworks, "baz", "public", true},     // the ANY rule
		{RegisterFrameworks, "", "public", true},        // ANY subjects include unauthenticated callers
		{RegisterFrameworks, "", "analytics", false},    // which no rule of listed principals grants
		{RunTasks, "anyone", "nobody", true},            // ANY principal as nobody
		{RunTasks, "anyone", "root", false},             // no rule: deny
		{RunTasks, "ops", "root", true},                 // second rule
		{TeardownFrameworks, "admin", "someone", true},  // any framework principal
		{TeardownFrameworks, "admin", "", true},         // any framework
		{TeardownFrameworks, "eve", "someone", false},   // no rule
		{UpdateWeights, "admin", "analytics", false},    // no rules for the action: permissive false
	}
	for _, tt := range tests {
		if got := acls.Allowed(tt.action, tt.principal, tt.object); got != tt.want {
			t.Errorf("Allowed(%s, %q, %q) = %v, want %v", tt.action, tt.principal, tt.object, got, tt.want)
		}
	}
}

func TestPermissiveDefaultsTrueAndNilAllowsAll(t *testing.T) {
	acls := mustParse(t, `{"run_tasks": [{"principals": {"values": ["a"]}, "users": {"type": "NONE"}}]}`)
	if !acls.Allowed(RunTasks, "b", "root") {
		t.Error("permissive by default: a request no rule matches is allowed")
	}
	if acls.Allowed(RunTasks, "a", "root") {
		t.Error("a may run as no user")
	}
	var none *ACLs
	if !none.Allowed(TeardownFrameworks, "", "") {
		t.Error("no ACLs allow everything")
	}
}

func TestParseRejectsBadInput(t *testing.T) {
	tests := []struct{ in, want string }{
		{`[]`, "not a JSON object"},
		{`{"run_task": []}`, `unknown action "run_task"`},
		{`{"run_tasks": {}}`, "want an array of rules"},
		{`{"run_tasks": [{"principals": {"type": "ANY"}}]}`, `"users" is required`},
		{`{"run_tasks": [{"principals": {"type": "ANY"}, "roles": {"type": "ANY"}, "users": {"type": "ANY"}}]}`, `unknown field "roles"`},
		{`{"run_tasks": [{"principals": {"type": "ALL"}, "users": {"type": "ANY"}}]}`, `type "ALL" is not ANY or NONE`},
		{`{"run_tasks": [{"principals": {"type": "ANY", "values": ["a"]}, "users": {"type": "ANY"}}]}`, "both a type and values"},
		{`{"run_tasks": [{"principals": {"values": []}, "users": {"type": "ANY"}}]}`, "lists no values"},
		{`{"run_tasks": [{"principals": {"value": ["a"]}, "users": {"type": "ANY"}}]}`, "unknown field"},
		{`{"permissive": "no"}`, "permissive: want true or false"},
		{`{} {}`, "data after the JSON object"},
		{`{"view_flags": [{"principals": {"type": "ANY"}, "flags": {"values": ["x"]}}]}`, `view_flags[0].flags: takes only`},
		{`{"set_log_level": [{"principals": {"type": "ANY"}, "level": {"values": ["1"]}}]}`, `set_log_level[0].level: takes only`},
		{`{"get_endpoints": [{"principals": {"type": "ANY"}, "paths": {"values": ["/state"]}}]}`, `"/state" is not an endpoint get_endpoints guards`},
		{`{"get_endpoints": [{"principals": {"type": "ANY"}, "paths": {"values": ["/files/debug"]}}]}`, `"/files/debug" is not an endpoint`},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%s) = %v, want an error containing %q", tt.in, err, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"permissive": false, "run_tasks": [{"principals": {"values": ["a"]}, "users": {"type": "ANY"}}]}`))
	f.Add([]byte(`{"register_frameworks": [{"principals": {"type": "NONE"}, "roles": {"values": ["x/%"]}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		acls, err := Parse(data)
		if err != nil {
			return
		}
		for _, a := range Actions() {
			acls.Allowed(a, "p", "o")
			acls.Allowed(a, "", "")
		}
		acls.MayRunTasksAs("p", Root)
	})
}

// get_endpoints rules name paths as Mesos writes them; a request's path is matched in the
// same form.
func TestGetEndpointsMatchesPathsInEveryForm(t *testing.T) {
	acls := mustParse(t, `{"permissive": false, "get_endpoints": [
		{"principals": {"values": ["foo"]}, "paths": {"values": ["/slave(1)/monitor/statistics", "/logging/toggle"]}},
		{"principals": {"values": ["ops"]}, "paths": {"type": "ANY"}}]}`)
	tests := []struct {
		principal, path string
		want            bool
	}{
		{"foo", "/monitor/statistics", true},
		{"foo", "/slave(1)/monitor/statistics.json", true},
		{"foo", "/logging/toggle", true},
		{"foo", "/metrics/snapshot", false},
		{"foo", "/master/metrics/snapshot", false},
		{"ops", "/master/metrics/snapshot.json", true},
		{"eve", "/logging/toggle", false},
	}
	for _, tt := range tests {
		p, guarded := EndpointPath(tt.path)
		if !guarded {
			t.Errorf("EndpointPath(%q) = %q, not guarded", tt.path, p)
		}
		if got := acls.Allowed(GetEndpoints, tt.principal, p); got != tt.want {
			t.Errorf("get_endpoints %s %s = %v, want %v", tt.principal, tt.path, got, tt.want)
		}
	}
	for _, p := range []string{"/state", "/files/read", "/metrics/snapshots", "/slave(1)"} {
		if c, guarded := EndpointPath(p); guarded {
			t.Errorf("EndpointPath(%q) = %q, guarded", p, c)
		}
	}
}

// A task runs as root only under a run_tasks rule that is explicit about root.
func TestMayRunTasksAsRootNeedsAnExplicitRule(t *testing.T) {
	tests := []struct {
		name, acls, principal string
		want                  bool
	}{
		{"permissive, no rule", `{}`, "fw", false},
		{"permissive, rules for others", `{"run_tasks": [{"principals": {"values": ["x"]}, "users": {"values": ["alice"]}}]}`, "fw", false},
		{"any principal, any user", `{"run_tasks": [{"principals": {"type": "ANY"}, "users": {"type": "ANY"}}]}`, "fw", false},
		{"any principal, root named", `{"run_tasks": [{"principals": {"type": "ANY"}, "users": {"values": ["root"]}}]}`, "fw", true},
		{"anonymous, root named", `{"run_tasks": [{"principals": {"type": "ANY"}, "users": {"values": ["root"]}}]}`, "", true},
		{"named principal, any user", `{"run_tasks": [{"principals": {"values": ["fw"]}, "users": {"type": "ANY"}}]}`, "fw", true},
		{"another principal, any user", `{"run_tasks": [{"principals": {"values": ["fw"]}, "users": {"type": "ANY"}}]}`, "eve", false},
		{"a generic rule, then an explicit one", `{"run_tasks": [{"principals": {"type": "ANY"}, "users": {"type": "ANY"}},
			{"principals": {"values": ["fw"]}, "users": {"values": ["root"]}}]}`, "fw", true},
		{"a refusing rule first", `{"run_tasks": [{"principals": {"values": ["fw"]}, "users": {"type": "NONE"}},
			{"principals": {"values": ["fw"]}, "users": {"values": ["root"]}}]}`, "fw", false},
		{"root refused for everyone", `{"run_tasks": [{"principals": {"type": "NONE"}, "users": {"values": ["root"]}}]}`, "fw", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustParse(t, tt.acls).MayRunTasksAs(tt.principal, Root); got != tt.want {
				t.Errorf("MayRunTasksAs(%q, root) = %v, want %v", tt.principal, got, tt.want)
			}
		})
	}
	// Other users follow Allowed: permissive lets them run.
	if !mustParse(t, `{}`).MayRunTasksAs("fw", "nobody") {
		t.Error("permissive ACLs refuse nobody")
	}
	var none *ACLs
	if !none.MayRunTasksAs("fw", Root) {
		t.Error("without ACLs a task may run as root")
	}
}
