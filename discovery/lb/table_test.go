package lb

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func running(id, host string, ports ...int) Task {
	return Task{ID: id, Host: host, Ports: ports, State: "TASK_RUNNING"}
}

func withHealth(t Task, alive ...bool) Task {
	for _, a := range alive {
		t.HealthCheckResults = append(t.HealthCheckResults, HealthResult{Alive: a})
	}
	return t
}

func ports(ps ...int) []PortDefinition {
	var out []PortDefinition
	for _, p := range ps {
		out = append(out, PortDefinition{Port: p})
	}
	return out
}

var oneCheck = []json.RawMessage{json.RawMessage(`{"protocol":"HTTP"}`)}

func TestBuild(t *testing.T) {
	tests := []struct {
		name      string
		apps      []App
		group     string
		want      Table
		wantWarns []string
	}{
		{
			name:  "service port to running tasks by task id",
			apps:  []App{{ID: "/web", PortDefinitions: ports(10000), Tasks: []Task{running("b", "h2", 31001), running("a", "h1", 31000)}}},
			group: "external",
			want:  Table{Services: []Service{{Port: 10000, AppID: "/web", Backends: []Backend{{"a", "h1:31000"}, {"b", "h2:31001"}}}}},
		},
		{
			name:  "second port index uses the tasks' second port",
			apps:  []App{{ID: "/web", PortDefinitions: ports(10000, 10001), Tasks: []Task{running("a", "h1", 31000, 31001)}}},
			group: "external",
			want: Table{Services: []Service{
				{Port: 10000, AppID: "/web", Backends: []Backend{{"a", "h1:31000"}}},
				{Port: 10001, AppID: "/web", PortIndex: 1, Backends: []Backend{{"a", "h1:31001"}}},
			}},
		},
		{
			name:  "container port mappings' service ports win over port definitions",
			apps:  []App{{ID: "/web", PortDefinitions: ports(10000), Container: &Container{PortMappings: []PortMapping{{ServicePort: 10005}}}, Tasks: []Task{running("a", "h1", 31000)}}},
			group: "external",
			want:  Table{Services: []Service{{Port: 10005, AppID: "/web", Backends: []Backend{{"a", "h1:31000"}}}}},
		},
		{
			name:  "tasks not running are left out",
			apps:  []App{{ID: "/web", PortDefinitions: ports(10000), Tasks: []Task{{ID: "k", Host: "h", Ports: []int{1}, State: "TASK_KILLING"}, {ID: "s", Host: "h", Ports: []int{2}, State: "TASK_STAGING"}}}},
			group: "external",
			want:  Table{Services: []Service{{Port: 10000, AppID: "/web"}}},
		},
		{
			name: "with health checks only tasks alive in every result",
			apps: []App{{ID: "/web", PortDefinitions: ports(10000), HealthChecks: oneCheck, Tasks: []Task{
				withHealth(running("alive", "h", 1), true, true),
				withHealth(running("half", "h", 2), true, false),
				running("none-yet", "h", 3),
			}}},
			group: "external",
			want:  Table{Services: []Service{{Port: 10000, AppID: "/web", Backends: []Backend{{"alive", "h:1"}}}}},
		},
		{
			name:  "task without the port index or a host is left out",
			apps:  []App{{ID: "/web", PortDefinitions: ports(10000, 10001), Tasks: []Task{running("a", "h", 1), running("b", "", 2, 3)}}},
			group: "external",
			want:  Table{Services: []Service{{Port: 10000, AppID: "/web", Backends: []Backend{{"a", "h:1"}}}, {Port: 10001, AppID: "/web", PortIndex: 1}}},
		},
		{
			name:  "service port 0 gets no frontend",
			apps:  []App{{ID: "/web", PortDefinitions: ports(0), Tasks: []Task{running("a", "h", 1)}}},
			group: "external",
			want:  Table{},
		},
		{
			name:      "service port out of range is ignored with a warning",
			apps:      []App{{ID: "/web", PortDefinitions: ports(70000, 10001)}},
			group:     "external",
			want:      Table{Services: []Service{{Port: 10001, AppID: "/web", PortIndex: 1}}},
			wantWarns: []string{"app /web: portDefinitions[0]: service port 70000 is not a port"},
		},
		{
			name:  "app without HAPROXY_GROUP is external",
			apps:  []App{{ID: "/web", PortDefinitions: ports(10000)}},
			group: "internal",
			want:  Table{},
		},
		{
			name: "HAPROXY_GROUP selects the LB, comma separated",
			apps: []App{
				{ID: "/a", Labels: map[string]string{"HAPROXY_GROUP": "internal, external"}, PortDefinitions: ports(10000)},
				{ID: "/b", Labels: map[string]string{"HAPROXY_GROUP": "internal"}, PortDefinitions: ports(10001)},
				{ID: "/c", Labels: map[string]string{"HAPROXY_GROUP": "external"}, PortDefinitions: ports(10002)},
			},
			group: "internal",
			want:  Table{Services: []Service{{Port: 10000, AppID: "/a"}, {Port: 10001, AppID: "/b"}}},
		},
		{
			name:  "HAPROXY_{n}_GROUP overrides the app's group for port n",
			apps:  []App{{ID: "/a", Labels: map[string]string{"HAPROXY_GROUP": "internal", "HAPROXY_1_GROUP": "external"}, PortDefinitions: ports(10000, 10001)}},
			group: "external",
			want:  Table{Services: []Service{{Port: 10001, AppID: "/a", PortIndex: 1}}},
		},
		{
			name: "group * serves every app",
			apps: []App{
				{ID: "/a", Labels: map[string]string{"HAPROXY_GROUP": "internal"}, PortDefinitions: ports(10000)},
				{ID: "/b", PortDefinitions: ports(10001)},
			},
			group: "*",
			want:  Table{Services: []Service{{Port: 10000, AppID: "/a"}, {Port: 10001, AppID: "/b"}}},
		},
		{
			name: "virtual hosts of port n, comma separated, lower-cased",
			apps: []App{{ID: "/web", Labels: map[string]string{"HAPROXY_0_VHOST": "Shop.example.com, www.example.com", "HAPROXY_1_VHOST": "admin.example.com"},
				PortDefinitions: ports(10000, 10001), Tasks: []Task{running("a", "h", 1, 2)}}},
			group: "external",
			want: Table{
				Services: []Service{{Port: 10000, AppID: "/web", Backends: []Backend{{"a", "h:1"}}}, {Port: 10001, AppID: "/web", PortIndex: 1, Backends: []Backend{{"a", "h:2"}}}},
				VHosts: []VHost{
					{Host: "admin.example.com", AppID: "/web", PortIndex: 1, Backends: []Backend{{"a", "h:2"}}},
					{Host: "shop.example.com", AppID: "/web", Backends: []Backend{{"a", "h:1"}}},
					{Host: "www.example.com", AppID: "/web", Backends: []Backend{{"a", "h:1"}}},
				},
			},
		},
		{
			name:  "virtual host of an app with service port 0",
			apps:  []App{{ID: "/web", Labels: map[string]string{"HAPROXY_0_VHOST": "web.local"}, PortDefinitions: ports(0), Tasks: []Task{running("a", "h", 1)}}},
			group: "external",
			want:  Table{VHosts: []VHost{{Host: "web.local", AppID: "/web", Backends: []Backend{{"a", "h:1"}}}}},
		},
		{
			name: "malformed labels are ignored with warnings",
			apps: []App{{ID: "/web", Labels: map[string]string{
				"HAPROXY_x_VHOST":  "a.example.com",
				"HAPROXY_-1_VHOST": "b.example.com",
				"HAPROXY_01_VHOST": "c.example.com",
				"HAPROXY_5_VHOST":  "d.example.com",
				"HAPROXY_0_VHOST":  "bad_host!, good.example.com, -dash.example.com",
				"HAPROXY_GROUPX":   "ignored",
				"OTHER":            "ignored",
			}, PortDefinitions: ports(10000)}},
			group: "external",
			want:  Table{Services: []Service{{Port: 10000, AppID: "/web"}}, VHosts: []VHost{{Host: "good.example.com", AppID: "/web"}}},
			wantWarns: []string{
				`app /web: HAPROXY_-1_VHOST: port index "-1" is not a non-negative number`,
				`app /web: HAPROXY_01_VHOST: port index "01" is not a non-negative number`,
				`app /web: HAPROXY_0_VHOST: virtual host "bad_host!": not a host name (character '_')`,
				`app /web: HAPROXY_0_VHOST: virtual host "-dash.example.com": not a host name (character '-')`,
				`app /web: HAPROXY_5_VHOST: port index 5 out of range: the app has 1 ports`,
				`app /web: HAPROXY_x_VHOST: port index "x" is not a non-negative number`,
			},
		},
		{
			name:      "empty virtual host label",
			apps:      []App{{ID: "/web", Labels: map[string]string{"HAPROXY_0_VHOST": " , "}, PortDefinitions: ports(10000)}},
			group:     "external",
			want:      Table{Services: []Service{{Port: 10000, AppID: "/web"}}},
			wantWarns: []string{"app /web: HAPROXY_0_VHOST: empty virtual host"},
		},
		{
			name: "first app by id keeps a contested service port and virtual host",
			apps: []App{
				{ID: "/b", Labels: map[string]string{"HAPROXY_0_VHOST": "x.local"}, PortDefinitions: ports(10000)},
				{ID: "/a", Labels: map[string]string{"HAPROXY_0_VHOST": "x.local"}, PortDefinitions: ports(10000)},
			},
			group: "external",
			want:  Table{Services: []Service{{Port: 10000, AppID: "/a"}}, VHosts: []VHost{{Host: "x.local", AppID: "/a"}}},
			wantWarns: []string{
				"app /b: portDefinitions[0]: service port 10000 is already served for app /a",
				"app /b: HAPROXY_0_VHOST: virtual host x.local is already served for app /a",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warns := Build(tt.apps, tt.group)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Build:\n got %+v\nwant %+v", got, tt.want)
			}
			var ws []string
			for _, w := range warns {
				ws = append(ws, w.String())
			}
			if strings.Join(ws, "\n") != strings.Join(tt.wantWarns, "\n") {
				t.Errorf("warnings:\n got %q\nwant %q", ws, tt.wantWarns)
			}
		})
	}
}
