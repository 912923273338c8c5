// Package acl is Mesos's local authorizer: ACLs in Mesos's JSON format (--acls), checked
// in order, the first rule whose subjects and objects match deciding, and "permissive"
// deciding when none matches. It is a pure value; the master reloads it when the file
// changes.
package acl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Action is an ACL list of Mesos's ACLs message, by its JSON name.
type Action string

// The actions Agora checks, with the object each one's rules name.
const (
	RegisterFrameworks Action = "register_frameworks" // roles
	RunTasks           Action = "run_tasks"           // users
	TeardownFrameworks Action = "teardown_frameworks" // framework_principals
	ReserveResources   Action = "reserve_resources"   // roles
	UnreserveResources Action = "unreserve_resources" // reserver_principals
	CreateVolumes      Action = "create_volumes"      // roles
	DestroyVolumes     Action = "destroy_volumes"     // creator_principals
	GetQuotas          Action = "get_quotas"          // roles
	UpdateQuotas       Action = "update_quotas"       // roles
	ViewRoles          Action = "view_roles"          // roles
	UpdateWeights      Action = "update_weights"      // roles
	ViewFrameworks     Action = "view_frameworks"     // users
	ViewTasks          Action = "view_tasks"          // users
	ViewExecutors      Action = "view_executors"      // users
	AccessSandboxes    Action = "access_sandboxes"    // users
	ViewFlags          Action = "view_flags"          // flags
	GetEndpoints       Action = "get_endpoints"       // paths
	SetLogLevel        Action = "set_log_level"       // level
	// Maintenance (objects: machines by hostname, or ip when they have none) and
	// draining (objects: agent ids).
	GetMaintenanceSchedules    Action = "get_maintenance_schedules"    // machines
	UpdateMaintenanceSchedules Action = "update_maintenance_schedules" // machines
	StartMaintenances          Action = "start_maintenances"           // machines
	StopMaintenances           Action = "stop_maintenances"            // machines
	GetMaintenanceStatuses     Action = "get_maintenance_statuses"     // machines
	DrainAgents                Action = "drain_agents"                 // agents
	DeactivateAgents           Action = "deactivate_agents"            // agents
	ReactivateAgents           Action = "reactivate_agents"            // agents
	MarkAgentsGone             Action = "mark_agents_gone"             // agents
)

// objectKey names the object field of each action's rules, as Mesos's acls.proto does.
var objectKey = map[Action]string{
	RegisterFrameworks: "roles", RunTasks: "users", TeardownFrameworks: "framework_principals",
	ReserveResources: "roles", UnreserveResources: "reserver_principals", CreateVolumes: "roles",
	DestroyVolumes: "creator_principals", GetQuotas: "roles", UpdateQuotas: "roles",
	ViewRoles: "roles", UpdateWeights: "roles", ViewFrameworks: "users", ViewTasks: "users",
	ViewExecutors: "users", AccessSandboxes: "users", ViewFlags: "flags", GetEndpoints: "paths",
	SetLogLevel:             "level",
	GetMaintenanceSchedules: "machines", UpdateMaintenanceSchedules: "machines", StartMaintenances: "machines",
	StopMaintenances: "machines", GetMaintenanceStatuses: "machines", DrainAgents: "agents",
	DeactivateAgents: "agents", ReactivateAgents: "agents", MarkAgentsGone: "agents",
}

// Actions lists every action an ACL file may hold, sorted.
func Actions() []Action {
	out := make([]Action, 0, len(objectKey))
	for a := range objectKey {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

// Kind is an entity's kind: some listed values, any value, or none.
type Kind int

// The kinds of Mesos's ACL.Entity.
const (
	Some Kind = iota
	Any
	None
)

// Entity is a set of principals (a rule's subjects) or of objects.
type Entity struct {
	Kind   Kind
	Values []string
}

// Rule is one ACL: the subjects it is about, and the objects they may (or, with None, may
// not) act on.
type Rule struct {
	Subjects, Objects Entity
}

// ACLs are the rules of every action, in file order, and what applies when no rule
// matches. A nil *ACLs allows everything (no --acls).
type ACLs struct {
	Permissive bool
	Rules      map[Action][]Rule
}

// Parse reads Mesos's ACL JSON strictly: an unknown action, an unknown field in a rule, a
// rule without its subjects or objects, or an entity with both a type and values is an
// error naming it. Permissive defaults to true, as in Mesos.
func Parse(data []byte) (*ACLs, error) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("acls: not a JSON object: %w", err)
	}
	if dec.More() {
		return nil, errors.New("acls: data after the JSON object")
	}
	out := &ACLs{Permissive: true, Rules: map[Action][]Rule{}}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs []error
	for _, k := range keys {
		v := raw[k]
		if k == "permissive" {
			if err := json.Unmarshal(v, &out.Permissive); err != nil {
				errs = append(errs, fmt.Errorf("acls: permissive: want true or false"))
			}
			continue
		}
		action := Action(k)
		obj, ok := objectKey[action]
		if !ok {
			errs = append(errs, fmt.Errorf("acls: unknown action %q (known: %s)", k, joinActions()))
			continue
		}
		rules, err := parseRules(v, obj)
		if err == nil {
			err = checkObjects(action, rules)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("acls: %s%w", k, err))
			continue
		}
		out.Rules[action] = rules
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

func joinActions() string {
	var b strings.Builder
	for i, a := range Actions() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(a))
	}
	return b.String()
}

func parseRules(data json.RawMessage, objKey string) ([]Rule, error) {
	var raws []map[string]json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		return nil, errors.New(": want an array of rules")
	}
	rules := make([]Rule, 0, len(raws))
	for i, r := range raws {
		var rule Rule
		for _, field := range []struct {
			name string
			dst  *Entity
		}{{"principals", &rule.Subjects}, {objKey, &rule.Objects}} {
			v, ok := r[field.name]
			if !ok {
				return nil, fmt.Errorf("[%d]: %q is required", i, field.name)
			}
			e, err := parseEntity(v)
			if err != nil {
				return nil, fmt.Errorf("[%d].%s: %w", i, field.name, err)
			}
			*field.dst = e
			delete(r, field.name)
		}
		for k := range r {
			return nil, fmt.Errorf("[%d]: unknown field %q (a rule has \"principals\" and %q)", i, k, objKey)
		}
		rules = append(rules, rule)
	}
	return rules, nil
}

func parseEntity(data json.RawMessage) (Entity, error) {
	var raw struct {
		Type   *string  `json:"type"`
		Values []string `json:"values"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return Entity{}, fmt.Errorf("want {\"values\": [...]} or {\"type\": \"ANY\"|\"NONE\"}: %w", err)
	}
	switch {
	case raw.Type != nil && raw.Values != nil:
		return Entity{}, errors.New("has both a type and values")
	case raw.Type == nil:
		if len(raw.Values) == 0 {
			return Entity{}, errors.New("lists no values (use {\"type\": \"NONE\"} for none)")
		}
		return Entity{Kind: Some, Values: raw.Values}, nil
	}
	switch *raw.Type {
	case "ANY":
		return Entity{Kind: Any}, nil
	case "NONE":
		return Entity{Kind: None}, nil
	case "SOME":
		return Entity{}, errors.New("type SOME is given by listing values")
	}
	return Entity{}, fmt.Errorf("type %q is not ANY or NONE", *raw.Type)
}

// checkObjects refuses objects a rule of action can never match: view_flags and
// set_log_level are about no object in particular, so their rules take only ANY or NONE (as
// Mesos's local authorizer requires), and get_endpoints names only the endpoints it guards
// (written as Mesos writes them, /slave(1)/containers or /containers; they are kept in the
// form EndpointPath gives).
func checkObjects(action Action, rules []Rule) error {
	for i, r := range rules {
		switch action {
		case ViewFlags, SetLogLevel:
			if r.Objects.Kind == Some {
				return fmt.Errorf("[%d].%s: takes only {\"type\": \"ANY\"} or {\"type\": \"NONE\"}, not values", i, objectKey[action])
			}
		case GetEndpoints:
			for j, v := range r.Objects.Values {
				p, guarded := EndpointPath(v)
				if !guarded {
					return fmt.Errorf("[%d].paths: %q is not an endpoint get_endpoints guards (it guards %s)", i, v, strings.Join(GuardedEndpoints(), ", "))
				}
				r.Objects.Values[j] = p
			}
		}
	}
	return nil
}

// The endpoints get_endpoints guards: Mesos's (/logging/toggle, /metrics/snapshot and the
// agent's /containers and /monitor/statistics; Agora serves no /files/debug) and the same
// figures in Prometheus's form (/metrics).
var guardedEndpoints = []string{"/containers", "/logging/toggle", "/metrics", "/metrics/snapshot", "/monitor/statistics"}

// GuardedEndpoints lists the paths get_endpoints guards, sorted.
func GuardedEndpoints() []string { return slices.Clone(guardedEndpoints) }

// EndpointPath is the form of a request path that get_endpoints rules name: without the
// master's /master and the agent's /slave(N) prefixes and without .json, so that
// /slave(1)/monitor/statistics.json is /monitor/statistics. guarded reports whether
// get_endpoints guards it.
func EndpointPath(path string) (canonical string, guarded bool) {
	p := strings.TrimSuffix(path, ".json")
	if rest, ok := strings.CutPrefix(p, "/master/"); ok {
		p = "/" + rest
	} else if rest, ok := strings.CutPrefix(p, "/slave("); ok {
		if i := strings.Index(rest, ")/"); i >= 0 {
			p = rest[i+1:]
		}
	}
	return p, slices.Contains(guardedEndpoints, p)
}

// Allowed reports whether principal may do action on object. An empty principal is an
// unauthenticated caller (Mesos's ANY subject) and an empty object is any object.
func (a *ACLs) Allowed(action Action, principal, object string) bool {
	if a == nil {
		return true
	}
	subject := request(principal)
	obj := request(object)
	for _, r := range a.Rules[action] {
		if matches(subject, r.Subjects) && matches(obj, r.Objects) {
			return allows(subject, r.Subjects) && allows(obj, r.Objects)
		}
	}
	return a.Permissive
}

func request(v string) Entity {
	if v == "" {
		return Entity{Kind: Any}
	}
	return Entity{Kind: Some, Values: []string{v}}
}

// matches is Mesos's match matrix: whether rule entity acl is about the request at all.
func matches(req, acl Entity) bool {
	switch req.Kind {
	case None:
		return acl.Kind == None
	case Any:
		return acl.Kind == Any || acl.Kind == None
	}
	if acl.Kind != Some {
		return true
	}
	return subset(req.Values, acl.Values)
}

// allows is Mesos's allow matrix: whether a matching rule entity grants the request.
func allows(req, acl Entity) bool {
	switch req.Kind {
	case None:
		return acl.Kind == None
	case Any:
		return acl.Kind == Any
	}
	switch acl.Kind {
	case Any:
		return true
	case None:
		return false
	}
	return subset(req.Values, acl.Values)
}

// subset reports whether every requested value is among the rule's. A rule value "a/%"
// stands for every role nested under a (Mesos's hierarchical role wildcard).
func subset(req, acl []string) bool {
	for _, v := range req {
		if !slices.ContainsFunc(acl, func(a string) bool {
			if prefix, ok := strings.CutSuffix(a, "/%"); ok {
				return strings.HasPrefix(v, prefix+"/")
			}
			return a == v
		}) {
			return false
		}
	}
	return true
}

// Root is the user whose tasks run_tasks holds to a stricter rule (MayRunTasksAs).
const Root = "root"

// MayRunTasksAs is run_tasks for a task of principal that runs as user. Other users follow
// Allowed; root needs a rule that is explicit about it: the first matching rule that
// refuses refuses, and the first that allows must name root among its users, or allow any
// user to principals it names. Neither permissive nor a rule for any principal and any
// user lets a task run as root. A nil *ACLs (no --acls) allows every user, root included.
func (a *ACLs) MayRunTasksAs(principal, user string) bool {
	if a == nil {
		return true
	}
	if user != Root {
		return a.Allowed(RunTasks, principal, user)
	}
	subject, obj := request(principal), request(user)
	for _, r := range a.Rules[RunTasks] {
		if !matches(subject, r.Subjects) || !matches(obj, r.Objects) {
			continue
		}
		if !allows(subject, r.Subjects) || !allows(obj, r.Objects) {
			return false
		}
		if r.Objects.Kind == Some || r.Subjects.Kind == Some {
			return true
		}
		// An allowing rule for any principal and any user says nothing about root: look on.
	}
	return false
}
