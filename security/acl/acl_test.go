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
	})
}
