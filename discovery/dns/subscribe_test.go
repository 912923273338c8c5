package dns

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/proto"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	masterpb "github.com/agoracluster/agora/proto/mesos/v1/master"
	"github.com/agoracluster/agora/resources"
)

func task(id, fw, state string) *mesos.Task {
	return &mesos.Task{
		Name: proto.String(id), TaskId: &mesos.TaskID{Value: proto.String(id)},
		FrameworkId: &mesos.FrameworkID{Value: proto.String(fw)}, AgentId: &mesos.AgentID{Value: proto.String("a1")},
		State:     mesos.TaskState(mesos.TaskState_value[state]).Enum(),
		Resources: resources.MustParse("cpus:1;ports:[31000-31001]").ToProto(),
	}
}

func updated(fw, id string, state mesos.TaskState) *masterpb.Event {
	return &masterpb.Event{Type: masterpb.Event_TASK_UPDATED.Enum(), TaskUpdated: &masterpb.Event_TaskUpdated{
		FrameworkId: &mesos.FrameworkID{Value: proto.String(fw)},
		Status:      &mesos.TaskStatus{TaskId: &mesos.TaskID{Value: proto.String(id)}, State: state.Enum(), Timestamp: proto.Float64(1)},
		State:       state.Enum(),
	}}
}

// TestLiveStateFollowsEvents: the state the records come from follows the operator events.
func TestLiveStateFollowsEvents(t *testing.T) {
	st := &State{Leader: "master@10.0.0.1:5050"}
	l := newLiveState(st)
	fwInfo := &mesos.FrameworkInfo{User: proto.String("u"), Name: proto.String("marathon"), Id: &mesos.FrameworkID{Value: proto.String("f1")}}
	steps := []struct {
		name    string
		ev      *masterpb.Event
		changed bool
		check   func() bool
	}{
		{"subscribed", &masterpb.Event{Type: masterpb.Event_SUBSCRIBED.Enum(), Subscribed: &masterpb.Event_Subscribed{GetState: &masterpb.Response_GetState{
			GetAgents:     &masterpb.Response_GetAgents{Agents: []*masterpb.Response_GetAgents_Agent{{AgentInfo: &mesos.AgentInfo{Hostname: proto.String("10.0.1.1"), Id: &mesos.AgentID{Value: proto.String("a1")}}}}},
			GetFrameworks: &masterpb.Response_GetFrameworks{Frameworks: []*masterpb.Response_GetFrameworks_Framework{{FrameworkInfo: fwInfo}}},
			GetTasks:      &masterpb.Response_GetTasks{Tasks: []*mesos.Task{task("old", "f1", "TASK_RUNNING")}, CompletedTasks: []*mesos.Task{task("done", "f1", "TASK_FINISHED")}},
		}}}, true, func() bool {
			return st.Leader == "master@10.0.0.1:5050" && len(st.Slaves) == 1 && len(st.Frameworks) == 1 &&
				len(st.Frameworks[0].Tasks) == 1 && st.Frameworks[0].Tasks[0].Resources["ports"] == "[31000-31001]"
		}},
		{"task added", &masterpb.Event{Type: masterpb.Event_TASK_ADDED.Enum(), TaskAdded: &masterpb.Event_TaskAdded{Task: task("web", "f1", "TASK_STAGING")}}, false,
			func() bool { return len(st.Frameworks[0].Tasks) == 2 }},
		{"task running", updated("f1", "web", mesos.TaskState_TASK_RUNNING), true,
			func() bool { t := st.Frameworks[0].Tasks[1]; return t.State == "TASK_RUNNING" && len(t.Statuses) == 1 }},
		{"task killed", updated("f1", "old", mesos.TaskState_TASK_KILLED), true,
			func() bool { return len(st.Frameworks[0].Tasks) == 1 && st.Frameworks[0].Tasks[0].ID == "web" }},
		{"unknown framework's update", updated("nope", "web", mesos.TaskState_TASK_KILLED), false,
			func() bool { return len(st.Frameworks[0].Tasks) == 1 }},
		{"agent removed", &masterpb.Event{Type: masterpb.Event_AGENT_REMOVED.Enum(), AgentRemoved: &masterpb.Event_AgentRemoved{AgentId: &mesos.AgentID{Value: proto.String("a1")}}}, true,
			func() bool { return len(st.Slaves) == 0 }},
		{"framework removed", &masterpb.Event{Type: masterpb.Event_FRAMEWORK_REMOVED.Enum(), FrameworkRemoved: &masterpb.Event_FrameworkRemoved{FrameworkInfo: fwInfo}}, true,
			func() bool { return len(st.Frameworks) == 0 }},
		{"heartbeat", &masterpb.Event{Type: masterpb.Event_HEARTBEAT.Enum()}, false, func() bool { return true }},
	}
	for _, s := range steps {
		if got := l.apply(s.ev); got != s.changed || !s.check() {
			t.Fatalf("%s: changed %v (want %v), state %+v", s.name, got, s.changed, st)
		}
	}
}

// TestSubscriberPollsAMasterWithoutOperatorAPI: a master that answers SUBSCRIBE with 404 is
// read every Refresh, as the Poller does.
func TestSubscriberPollsAMasterWithoutOperatorAPI(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	master := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/state" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(data)
	}))
	defer master.Close()
	cfg := DefaultConfig()
	cfg.Masters = []string{strings.TrimPrefix(master.URL, "http://")}
	cfg.Refresh = 10 * time.Millisecond
	s := NewSubscriber(cfg, zaptest.NewLogger(t))
	s.LookupHost = func(context.Context, string) ([]string, error) { return []string{"10.9.9.9"}, nil }
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	updates := 0
	if err := s.Run(ctx, func(*State) {
		if updates++; updates == 3 {
			cancel()
		}
	}); err != nil {
		t.Fatal(err)
	}
	if updates != 3 {
		t.Errorf("%d updates before the deadline, want 3", updates)
	}
}
