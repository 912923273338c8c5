package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/apicodec"
	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/internal/poll"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	masterpb "github.com/agoracluster/agora/proto/mesos/v1/master"
)

// appPlacement lists where an app's tasks run: agent id per running task.
func appPlacement(mc marathonClient, id string) (running map[string]int, total int, err error) {
	code, b := mc.do(http.MethodGet, "/v2/apps"+id, "")
	if code != http.StatusOK {
		return nil, 0, fmt.Errorf("GET app %s: %d %s", id, code, b)
	}
	var out struct {
		App struct {
			Tasks []struct {
				State   string `json:"state"`
				SlaveID string `json:"slaveId"`
			} `json:"tasks"`
		} `json:"app"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, 0, err
	}
	running = map[string]int{}
	for _, t := range out.App.Tasks {
		if t.State == "TASK_RUNNING" {
			running[t.SlaveID]++
		}
	}
	return running, len(out.App.Tasks), nil
}

// masterAgentIDs returns the ids of the master's agents, in registration order.
func masterAgentIDs(t *testing.T, c *cluster.Cluster) []string {
	t.Helper()
	var resp masterpb.Response
	if code, body := operatorCall(t, c.Master.Addr, apicodec.JSON, &masterpb.Call{Type: masterpb.Call_GET_AGENTS.Enum()}, &resp); code != http.StatusOK {
		t.Fatalf("GET_AGENTS: %d %s", code, body)
	}
	var ids []string
	for _, a := range resp.GetGetAgents().GetAgents() {
		ids = append(ids, a.GetAgentInfo().GetId().GetValue())
	}
	return ids
}

// TestDrainAgentMovesMarathonApp: an app's instance runs on agent A; DRAIN_AGENT on A kills
// it and Marathon replaces it on B; A gets no offers while drained (an instance that does
// not fit on B waits), and REACTIVATE_AGENT makes A offerable again.
func TestDrainAgentMovesMarathonApp(t *testing.T) {
	// Each agent fits two instances (cpus 0.4 of 1).
	c := cluster.New(t, cluster.Options{Agents: 1, AgentResources: "cpus:1;mem:512;disk:1000;ports:[31000-31100]"})
	_, mc := startMarathon(t, c)
	mc.must(http.MethodPost, "/v2/apps", `{"id":"/drain/sleep","cmd":"sleep 1000","cpus":0.4,"mem":16,"instances":1}`, http.StatusCreated, nil)
	mc.settled("/drain/sleep", 1, false, 30*time.Second)
	a := masterAgentIDs(t, c)[0]
	c.AddAgent("cpus:1;mem:512;disk:1000;ports:[31000-31100]")
	ids := masterAgentIDs(t, c)
	if len(ids) != 2 {
		t.Fatalf("agents = %v", ids)
	}
	b := ids[0]
	if b == a {
		b = ids[1]
	}
	if running, _, err := appPlacement(mc, "/drain/sleep"); err != nil || running[a] != 1 {
		t.Fatalf("before the drain: %v %v, want the instance on %s", running, err, a)
	}

	drain := &masterpb.Call{Type: masterpb.Call_DRAIN_AGENT.Enum(), DrainAgent: &masterpb.Call_DrainAgent{
		AgentId: &mesos.AgentID{Value: proto.String(a)}, MaxGracePeriod: &mesos.DurationInfo{Nanoseconds: proto.Int64(int64(2 * time.Second))}}}
	if code, body := operatorCall(t, c.Master.Addr, apicodec.JSON, drain, nil); code != http.StatusOK {
		t.Fatalf("DRAIN_AGENT: %d %s", code, body)
	}
	poll.Eventually(t, 60*time.Second, func() error {
		running, total, err := appPlacement(mc, "/drain/sleep")
		if err != nil {
			return err
		}
		if running[b] != 1 || total != 1 {
			return fmt.Errorf("tasks running by agent %v (%d listed), want one on %s", running, total, b)
		}
		return nil
	})
	agentState := func(id string) *masterpb.Response_GetAgents_Agent {
		var resp masterpb.Response
		operatorCall(t, c.Master.Addr, apicodec.JSON, &masterpb.Call{Type: masterpb.Call_GET_AGENTS.Enum()}, &resp)
		for _, ag := range resp.GetGetAgents().GetAgents() {
			if ag.GetAgentInfo().GetId().GetValue() == id {
				return ag
			}
		}
		t.Fatalf("agent %s not listed", id)
		return nil
	}
	poll.Eventually(t, 30*time.Second, func() error {
		if st := agentState(a).GetDrainInfo().GetState(); st != mesos.DrainState_DRAINED {
			return fmt.Errorf("drain state of %s = %v, want DRAINED", a, st)
		}
		return nil
	})

	// Three instances: two fit on B; the third waits, since A gets no offers.
	mc.must(http.MethodPut, "/v2/apps/drain/sleep", `{"instances":3}`, http.StatusOK, nil)
	poll.Eventually(t, 30*time.Second, func() error {
		running, _, err := appPlacement(mc, "/drain/sleep")
		if err != nil {
			return err
		}
		if running[b] != 2 {
			return fmt.Errorf("running by agent %v, want two on %s", running, b)
		}
		return nil
	})
	time.Sleep(3 * time.Second) // offer cycles in which A must stay out
	if running, _, _ := appPlacement(mc, "/drain/sleep"); running[a] != 0 {
		t.Fatalf("a task was launched on the drained agent: %v", running)
	}
	if ag := agentState(a); len(ag.GetOfferedResources()) != 0 || ag.GetActive() {
		t.Fatalf("drained agent: offered %v, active %v", ag.GetOfferedResources(), ag.GetActive())
	}

	reactivate := &masterpb.Call{Type: masterpb.Call_REACTIVATE_AGENT.Enum(), ReactivateAgent: &masterpb.Call_ReactivateAgent{
		AgentId: &mesos.AgentID{Value: proto.String(a)}}}
	if code, body := operatorCall(t, c.Master.Addr, apicodec.JSON, reactivate, nil); code != http.StatusOK {
		t.Fatalf("REACTIVATE_AGENT: %d %s", code, body)
	}
	poll.Eventually(t, 60*time.Second, func() error {
		running, _, err := appPlacement(mc, "/drain/sleep")
		if err != nil {
			return err
		}
		if running[a] != 1 || running[b] != 2 {
			return fmt.Errorf("running by agent %v, want the third instance on %s", running, a)
		}
		return nil
	})
}

// TestMaintenanceScheduleMovesMarathonApp: scheduling maintenance for agent A's machine
// makes Marathon (which gets an inverse offer and offers with the unavailability) move its
// instance to B and accept; /machine/down shuts A down, and after /machine/up A registers
// again.
func TestMaintenanceScheduleMovesMarathonApp(t *testing.T) {
	res := "cpus:1;mem:512;disk:1000;ports:[31000-31100]"
	c := cluster.New(t, cluster.Options{Agents: 0})
	agentA := c.AddAgent(res, "--hostname", "maint-a.test")
	_, mc := startMarathon(t, c)
	mc.must(http.MethodPost, "/v2/apps", `{"id":"/maint/sleep","cmd":"sleep 1000","cpus":0.4,"mem":16,"instances":1}`, http.StatusCreated, nil)
	mc.settled("/maint/sleep", 1, false, 30*time.Second)
	a := masterAgentIDs(t, c)[0]
	c.AddAgent(res, "--hostname", "maint-b.test")
	master := "http://" + c.Master.Addr
	post := func(path, body string) (int, string) {
		t.Helper()
		resp, err := http.Post(master+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	start := time.Now().Add(time.Hour).UnixNano()
	sched := fmt.Sprintf(`{"windows":[{"machine_ids":[{"hostname":"maint-a.test"}],"unavailability":{"start":{"nanoseconds":%d}}}]}`, start)
	if code, body := post("/maintenance/schedule", sched); code != http.StatusOK {
		t.Fatalf("POST /maintenance/schedule: %d %s", code, body)
	}
	poll.Eventually(t, 60*time.Second, func() error {
		running, total, err := appPlacement(mc, "/maint/sleep")
		if err != nil {
			return err
		}
		if running[a] != 0 || total != 1 || len(running) != 1 {
			return fmt.Errorf("tasks running by agent %v (%d listed), want one off %s", running, total, a)
		}
		return nil
	})
	poll.Eventually(t, 30*time.Second, func() error {
		var st struct {
			Draining []struct {
				ID       map[string]string `json:"id"`
				Statuses []struct {
					Status string `json:"status"`
				} `json:"statuses"`
			} `json:"draining_machines"`
		}
		if err := cluster.GetJSON(context.Background(), master+"/maintenance/status", &st); err != nil {
			return err
		}
		if len(st.Draining) != 1 || len(st.Draining[0].Statuses) != 1 || st.Draining[0].Statuses[0].Status != "ACCEPT" {
			return fmt.Errorf("maintenance status %+v, want Marathon's ACCEPT for maint-a.test", st)
		}
		return nil
	})

	if code, body := post("/machine/down", `[{"hostname":"maint-b.test"}]`); code != http.StatusBadRequest || !strings.Contains(body, "not part of a maintenance schedule") {
		t.Errorf("POST /machine/down of an unscheduled machine: %d %s", code, body)
	}
	if code, body := post("/machine/down", `[{"hostname":"maint-a.test"}]`); code != http.StatusOK {
		t.Fatalf("POST /machine/down: %d %s", code, body)
	}
	if !agentA.Wait(30 * time.Second) {
		t.Fatalf("agent A still runs after its machine went down")
	}
	if ids := masterAgentIDs(t, c); len(ids) != 1 || ids[0] == a {
		t.Fatalf("agents after down = %v", ids)
	}
	if code, body := post("/machine/up", `[{"hostname":"maint-a.test"}]`); code != http.StatusOK {
		t.Fatalf("POST /machine/up: %d %s", code, body)
	}
	agentA.Restart()
	poll.Eventually(t, 30*time.Second, func() error {
		if n, err := c.ActiveAgents(); err != nil || n != 2 {
			return fmt.Errorf("%d active agents (%v), want 2", n, err)
		}
		return nil
	})
}
