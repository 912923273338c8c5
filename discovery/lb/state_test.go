package lb

import (
	"reflect"
	"testing"
)

func TestAppsApply(t *testing.T) {
	base := func() []App {
		return []App{
			{ID: "/web", PortDefinitions: ports(10000), Tasks: []Task{running("t1", "h", 31000), running("t2", "h", 31001)}},
			{ID: "/checked", PortDefinitions: ports(10001), HealthChecks: oneCheck, Tasks: []Task{withHealth(running("c1", "h", 31002), true)}},
		}
	}
	status := func(app, task, state string, ports ...int) Event {
		return Event{Type: "status_update_event", AppID: app, TaskID: task, TaskStatus: state, Host: "h", Ports: ports}
	}
	tests := []struct {
		name      string
		ev        Event
		want      Effect
		wantTasks map[string][]string // app → task ids after
	}{
		{"killing removes the task at once", status("/web", "t1", "TASK_KILLING"), Effect{Changed: true}, map[string][]string{"/web": {"t2"}, "/checked": {"c1"}}},
		{"killed removes the task", status("/web", "t2", "TASK_KILLED"), Effect{Changed: true}, map[string][]string{"/web": {"t1"}, "/checked": {"c1"}}},
		{"unreachable removes the task", status("/checked", "c1", "TASK_UNREACHABLE"), Effect{Changed: true}, map[string][]string{"/web": {"t1", "t2"}, "/checked": {}}},
		{"end of an unknown task changes nothing", status("/web", "zz", "TASK_FAILED"), Effect{}, map[string][]string{"/web": {"t1", "t2"}, "/checked": {"c1"}}},
		{"running task of an app without checks is added", status("/web", "t3", "TASK_RUNNING", 31005), Effect{Changed: true}, map[string][]string{"/web": {"t1", "t2", "t3"}, "/checked": {"c1"}}},
		{"running again with the same address changes nothing", status("/web", "t1", "TASK_RUNNING", 31000), Effect{}, map[string][]string{"/web": {"t1", "t2"}, "/checked": {"c1"}}},
		{"running task of an app with checks waits for a snapshot", status("/checked", "c2", "TASK_RUNNING", 31006), Effect{Refetch: true}, map[string][]string{"/web": {"t1", "t2"}, "/checked": {"c1"}}},
		{"running task of an unknown app asks for a snapshot", status("/new", "n1", "TASK_RUNNING", 31007), Effect{Refetch: true}, map[string][]string{"/web": {"t1", "t2"}, "/checked": {"c1"}}},
		{"staging changes nothing", status("/web", "t3", "TASK_STAGING"), Effect{}, map[string][]string{"/web": {"t1", "t2"}, "/checked": {"c1"}}},
		{"health change asks for a snapshot", Event{Type: "health_status_changed_event", AppID: "/checked"}, Effect{Refetch: true}, map[string][]string{"/web": {"t1", "t2"}, "/checked": {"c1"}}},
		{"app change asks for a snapshot", Event{Type: "api_post_event"}, Effect{Refetch: true}, map[string][]string{"/web": {"t1", "t2"}, "/checked": {"c1"}}},
		{"deployment asks for a snapshot", Event{Type: "deployment_success"}, Effect{Refetch: true}, map[string][]string{"/web": {"t1", "t2"}, "/checked": {"c1"}}},
		{"stream attached is ignored", Event{Type: "event_stream_attached"}, Effect{}, map[string][]string{"/web": {"t1", "t2"}, "/checked": {"c1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snapshot := base()
			s := NewApps(snapshot)
			if got := s.Apply(tt.ev); got != tt.want {
				t.Errorf("Apply = %+v, want %+v", got, tt.want)
			}
			got := map[string][]string{}
			for _, a := range s.List() {
				got[a.ID] = []string{}
				for _, tk := range a.Tasks {
					got[a.ID] = append(got[a.ID], tk.ID)
				}
			}
			if !reflect.DeepEqual(got, tt.wantTasks) {
				t.Errorf("tasks after = %v, want %v", got, tt.wantTasks)
			}
			if len(snapshot[0].Tasks) != 2 {
				t.Errorf("Apply changed the snapshot's task slice: %v", snapshot[0].Tasks)
			}
		})
	}
}

func TestDecodeEvent(t *testing.T) {
	ev, err := DecodeEvent("status_update_event", []byte(`{"slaveId":"s","taskId":"t","taskStatus":"TASK_RUNNING","appId":"/web","host":"h","ports":[31000],"eventType":"status_update_event"}`))
	want := Event{Type: "status_update_event", TaskID: "t", AppID: "/web", TaskStatus: "TASK_RUNNING", Host: "h", Ports: []int{31000}}
	if err != nil || !reflect.DeepEqual(ev, want) {
		t.Errorf("DecodeEvent = %+v, %v; want %+v", ev, err, want)
	}
	if _, err := DecodeEvent("x", []byte(`{`)); err == nil {
		t.Error("DecodeEvent of bad JSON: no error")
	}
	if _, err := DecodeApps([]byte(`{"app":{}}`)); err == nil {
		t.Error(`DecodeApps without "apps": no error`)
	}
}
