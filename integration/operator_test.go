package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/apicodec"
	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/internal/poll"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	agentpb "github.com/agoracluster/agora/proto/mesos/v1/agent"
	masterpb "github.com/agoracluster/agora/proto/mesos/v1/master"
	"github.com/agoracluster/agora/recordio"
)

// operatorCall posts a call to a master's or agent's /api/v1 in codec c and decodes the
// answer into out (when the status is 200); it returns the status and the body.
func operatorCall(t *testing.T, addr string, c apicodec.Codec, call, out proto.Message) (int, string) {
	t.Helper()
	body, err := c.Marshal(call)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1", bytes.NewReader(body))
	req.Header.Set("Content-Type", c.ContentType())
	req.Header.Set("Accept", c.ContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK && out != nil {
		if err := c.Unmarshal(b, out); err != nil {
			t.Fatalf("decode %T: %v: %s", out, err, b)
		}
	}
	return resp.StatusCode, string(b)
}

// TestOperatorAPIAgainstRealCluster: an operator subscribed to a real master sees a task
// that a framework launches on a real agent as TASK_ADDED, then TASK_UPDATED to
// TASK_RUNNING; the agent's operator API lists its container and reads its sandbox.
func TestOperatorAPIAgainstRealCluster(t *testing.T) {
	c := cluster.New(t, cluster.Options{Agents: 1})

	// Subscribe in JSON, as the web UI does.
	req, _ := http.NewRequest(http.MethodPost, "http://"+c.Master.Addr+"/api/v1", strings.NewReader(`{"type":"SUBSCRIBE"}`))
	req.Header.Set("Content-Type", apicodec.MediaJSON)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != apicodec.MediaJSON {
		t.Fatalf("SUBSCRIBE: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	events := make(chan *masterpb.Event, 64)
	go func() {
		defer close(events)
		r := recordio.NewReader(resp.Body, 0)
		for {
			rec, err := r.ReadRecord()
			if err != nil {
				return
			}
			ev := &masterpb.Event{}
			if err := apicodec.JSON.Unmarshal(rec, ev); err != nil {
				t.Errorf("decode event: %v: %s", err, rec)
				return
			}
			events <- ev
		}
	}()
	next := func(what string, match func(*masterpb.Event) bool) *masterpb.Event {
		t.Helper()
		deadline := time.After(60 * time.Second)
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					t.Fatalf("stream ended waiting for %s", what)
				}
				if match(ev) {
					return ev
				}
			case <-deadline:
				t.Fatalf("no %s within 60s", what)
			}
		}
	}
	sub := next("SUBSCRIBED", func(ev *masterpb.Event) bool { return true })
	if sub.GetType() != masterpb.Event_SUBSCRIBED || len(sub.GetSubscribed().GetGetState().GetGetAgents().GetAgents()) != 1 {
		t.Fatalf("first event %v, want SUBSCRIBED with the agent", sub)
	}

	f := c.StartFramework(cluster.FrameworkOptions{Name: "operator-test"})
	f.Launch(context.Background(), cluster.ShellTask("watched", "echo hello operator; sleep 60", "cpus:0.1;mem:32"))
	added := next("TASK_ADDED", func(ev *masterpb.Event) bool {
		return ev.GetType() == masterpb.Event_TASK_ADDED && ev.GetTaskAdded().GetTask().GetTaskId().GetValue() == "watched"
	})
	if added.GetTaskAdded().GetTask().GetState() != mesos.TaskState_TASK_STAGING {
		t.Errorf("TASK_ADDED %v, want the task staging", added)
	}
	next("TASK_UPDATED to TASK_RUNNING", func(ev *masterpb.Event) bool {
		return ev.GetType() == masterpb.Event_TASK_UPDATED && ev.GetTaskUpdated().GetStatus().GetTaskId().GetValue() == "watched" &&
			ev.GetTaskUpdated().GetState() == mesos.TaskState_TASK_RUNNING
	})

	// The master's GET_TASKS, in protobuf, has it running.
	tasks := &masterpb.Response{}
	if code, body := operatorCall(t, c.Master.Addr, apicodec.Protobuf, &masterpb.Call{Type: masterpb.Call_GET_TASKS.Enum()}, tasks); code != http.StatusOK {
		t.Fatalf("GET_TASKS: %d %s", code, body)
	}
	if ts := tasks.GetGetTasks().GetTasks(); len(ts) != 1 || ts[0].GetState() != mesos.TaskState_TASK_RUNNING {
		t.Errorf("GET_TASKS = %v", ts)
	}

	// The agent's operator API.
	agent := c.Agents[0].Addr
	containers := &agentpb.Response{}
	if code, body := operatorCall(t, agent, apicodec.JSON, &agentpb.Call{Type: agentpb.Call_GET_CONTAINERS.Enum()}, containers); code != http.StatusOK {
		t.Fatalf("GET_CONTAINERS: %d %s", code, body)
	}
	if cs := containers.GetGetContainers().GetContainers(); len(cs) != 1 || cs[0].GetExecutorId().GetValue() != "watched" {
		t.Errorf("GET_CONTAINERS = %v", cs)
	}
	state := &agentpb.Response{}
	if code, body := operatorCall(t, agent, apicodec.Protobuf, &agentpb.Call{Type: agentpb.Call_GET_STATE.Enum()}, state); code != http.StatusOK {
		t.Fatalf("agent GET_STATE: %d %s", code, body)
	}
	if lt := state.GetGetState().GetGetTasks().GetLaunchedTasks(); len(lt) != 1 || lt[0].GetTaskId().GetValue() != "watched" {
		t.Errorf("agent GET_STATE launched tasks = %v", lt)
	}

	stdout, err := findSandboxFile(c.Agents[0].WorkDir, "watched", "stdout")
	if err != nil {
		t.Fatal(err)
	}
	sandbox := filepath.Dir(stdout)
	list := &agentpb.Response{}
	if code, body := operatorCall(t, agent, apicodec.JSON, &agentpb.Call{Type: agentpb.Call_LIST_FILES.Enum(), ListFiles: &agentpb.Call_ListFiles{Path: proto.String(sandbox)}}, list); code != http.StatusOK {
		t.Fatalf("LIST_FILES: %d %s", code, body)
	}
	var names []string
	for _, fi := range list.GetListFiles().GetFileInfos() {
		names = append(names, filepath.Base(fi.GetPath()))
	}
	if !strings.Contains(strings.Join(names, ","), "stdout") {
		t.Errorf("LIST_FILES of the sandbox = %v, want stdout among them", names)
	}
	var read *agentpb.Response
	poll.Eventually(t, 30*time.Second, func() bool {
		read = &agentpb.Response{}
		code, _ := operatorCall(t, agent, apicodec.JSON, &agentpb.Call{Type: agentpb.Call_READ_FILE.Enum(), ReadFile: &agentpb.Call_ReadFile{Path: proto.String(stdout), Offset: proto.Uint64(0)}}, read)
		return code == http.StatusOK && strings.Contains(string(read.GetReadFile().GetData()), "hello operator")
	}, "READ_FILE shows the task's output")
	size := read.GetReadFile().GetSize()
	for _, bad := range []struct {
		call *agentpb.Call
		code int
		want string
	}{
		{&agentpb.Call{Type: agentpb.Call_READ_FILE.Enum(), ReadFile: &agentpb.Call_ReadFile{Path: proto.String(stdout), Offset: proto.Uint64(size + 100)}}, 400, "beyond the end"},
		{&agentpb.Call{Type: agentpb.Call_READ_FILE.Enum(), ReadFile: &agentpb.Call_ReadFile{Path: proto.String("/etc/passwd"), Offset: proto.Uint64(0)}}, 404, "/etc/passwd"},
		{&agentpb.Call{Type: agentpb.Call_LIST_FILES.Enum(), ListFiles: &agentpb.Call_ListFiles{Path: proto.String(sandbox + strings.Repeat("/..", 12) + "/etc")}}, 404, "no such file"},
		{&agentpb.Call{Type: agentpb.Call_LAUNCH_CONTAINER.Enum()}, 501, "LAUNCH_CONTAINER"},
	} {
		if code, body := operatorCall(t, agent, apicodec.JSON, bad.call, nil); code != bad.code || !strings.Contains(body, bad.want) {
			t.Errorf("%s: %d %q, want %d naming %q", bad.call.GetType(), code, body, bad.code, bad.want)
		}
	}

	// The legacy endpoints.
	var metrics map[string]float64
	if err := cluster.GetJSON(context.Background(), "http://"+agent+"/metrics/snapshot", &metrics); err != nil {
		t.Fatal(err)
	}
	if metrics["slave/tasks_running"] != 1 || metrics["slave/registered"] != 1 {
		t.Errorf("agent /metrics/snapshot = %v", metrics)
	}
	var legacyContainers []map[string]any
	if err := cluster.GetJSON(context.Background(), "http://"+agent+"/containers", &legacyContainers); err != nil {
		t.Fatal(err)
	}
	if len(legacyContainers) != 1 || legacyContainers[0]["executor_id"] != "watched" {
		t.Errorf("agent /containers = %v", legacyContainers)
	}
	if err := cluster.GetJSON(context.Background(), "http://"+c.Master.Addr+"/metrics/snapshot", &metrics); err != nil {
		t.Fatal(err)
	}
	if metrics["master/tasks_running"] != 1 || metrics["master/slaves_active"] != 1 {
		t.Errorf("master /metrics/snapshot = %v", metrics)
	}
	var summary map[string]json.RawMessage
	if err := cluster.GetJSON(context.Background(), "http://"+c.Master.Addr+"/state-summary", &summary); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(summary["frameworks"], []byte(`"TASK_RUNNING":1`)) {
		t.Errorf("/state-summary frameworks = %s", summary["frameworks"])
	}
}
