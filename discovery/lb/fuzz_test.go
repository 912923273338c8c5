package lb

import (
	"testing"
)

// FuzzBuild: whatever Marathon's /v2/apps answers, decoding and building never panic, and
// the table never serves a port or a virtual host twice, nor a port out of range.
func FuzzBuild(f *testing.F) {
	f.Add([]byte(`{"apps":[{"id":"/web","labels":{"HAPROXY_0_VHOST":"a.example.com,b","HAPROXY_GROUP":"external"},
		"portDefinitions":[{"port":10000}],"tasks":[{"id":"t1","host":"h","ports":[31000],"state":"TASK_RUNNING"}]}]}`))
	f.Add([]byte(`{"apps":[{"id":"/a","labels":{"HAPROXY_x_VHOST":"","HAPROXY_99999999999999999999_VHOST":"x"},"container":{"portMappings":[{"servicePort":-1}]},
		"healthChecks":[{}],"tasks":[{"id":"t","ports":[],"state":"TASK_RUNNING","healthCheckResults":[{"alive":true}]}]},{"id":"/a","portDefinitions":[{"port":70000}]}]}`))
	f.Add([]byte(`{"apps":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		apps, err := DecodeApps(body)
		if err != nil {
			return
		}
		for _, group := range []string{"external", AllGroups} {
			tb, _ := Build(apps, group)
			ports := map[int]bool{}
			for _, s := range tb.Services {
				if ports[s.Port] || s.Port <= 0 || s.Port > 65535 {
					t.Fatalf("service port %d served twice or not positive: %+v", s.Port, tb.Services)
				}
				ports[s.Port] = true
			}
			hosts := map[string]bool{}
			for _, v := range tb.VHosts {
				if hosts[v.Host] || checkHostName(v.Host) != nil {
					t.Fatalf("virtual host %q served twice or not a host name", v.Host)
				}
				hosts[v.Host] = true
			}
		}
		s := NewApps(apps)
		for _, ev := range []Event{{Type: "status_update_event", AppID: "/web", TaskID: "t1", TaskStatus: "TASK_KILLED"}, {Type: "status_update_event", AppID: "/a", TaskID: "n", TaskStatus: "TASK_RUNNING"}} {
			s.Apply(ev)
		}
	})
}
