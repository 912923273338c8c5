package marathon

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/frameworks/sdk/sdktest"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
	"github.com/agoracluster/agora/resources"
)

const twoContainerPod = `{
  "id": "/shop/web",
  "labels": {"team": "a"},
  "scaling": {"kind": "fixed", "instances": 2},
  "volumes": [{"name": "shared"}],
  "scheduling": {"placement": {"constraints": [{"fieldName": "hostname", "operator": "UNIQUE"}]}},
  "containers": [
    {"name": "server", "resources": {"cpus": 0.5, "mem": 64},
     "exec": {"command": {"shell": "sleep 600"}},
     "volumeMounts": [{"name": "shared", "mountPath": "www"}],
     "healthCheck": {"exec": {"command": {"shell": "true"}}}},
    {"name": "sidecar", "exec": {"command": {"shell": "sleep 600"}},
     "volumeMounts": [{"name": "shared", "mountPath": "data"}]}
  ]
}`

type podInstanceJSON struct {
	ID         string `json:"id"`
	Status     string `json:"status"`
	AgentID    string `json:"agentId"`
	Containers []struct {
		Name, Status, ContainerID string
	} `json:"containers"`
}

type podStatusJSON struct {
	ID        string            `json:"id"`
	Status    string            `json:"status"`
	Instances []podInstanceJSON `json:"instances"`
	Spec      struct {
		Version string `json:"version"`
	} `json:"spec"`
}

// launchGroups offers one agent's resources and returns the LAUNCH_GROUPs accepted.
func (h *harness) launchGroups(offerID, agentID string) []*mesos.Offer_Operation_LaunchGroup {
	h.t.Helper()
	if err := h.master.SendOffers(h.master.NewOffer(offerID, agentID, "cpus:4;mem:4096;disk:1000;ports:[31000-31009]")); err != nil {
		h.t.Fatal(err)
	}
	c, err := h.master.Next(scheduler.Call_ACCEPT, 10*time.Second)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []*mesos.Offer_Operation_LaunchGroup
	for _, op := range c.GetAccept().GetOperations() {
		if op.GetType() != mesos.Offer_Operation_LAUNCH_GROUP {
			h.t.Fatalf("operation %v, want LAUNCH_GROUP only", op.GetType())
		}
		out = append(out, op.GetLaunchGroup())
	}
	return out
}

func (h *harness) podStatus(id string) podStatusJSON {
	h.t.Helper()
	resp, body := h.do(http.MethodGet, "/v2/pods"+id+"::status", "")
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("status = %d %s", resp.StatusCode, body)
	}
	var ps podStatusJSON
	if err := json.Unmarshal([]byte(body), &ps); err != nil {
		h.t.Fatal(err)
	}
	return ps
}

// TestPodLifecycle drives Marathon's pod API over a fake master: a two-container pod is
// created, each instance launched as one task group (a DEFAULT executor, the containers'
// own resources carved from the offer, one instance per agent by its constraint), comes to
// STABLE once every container runs and the checked one is healthy, is listed and versioned,
// keeps apps' routes clear of it, has an instance killed (both of its tasks) and replaced,
// is scaled down by a PUT, and deleted.
func TestPodLifecycle(t *testing.T) {
	h := newHarness(t)
	resp, body := h.do(http.MethodPost, "/v2/pods", twoContainerPod)
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Marathon-Deployment-Id") == "" ||
		resp.Header.Get("Location") != "/v2/pods/shop/web" || !strings.Contains(body, `"server"`) {
		t.Fatalf("POST /v2/pods = %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if resp, body := h.do(http.MethodPost, "/v2/pods", twoContainerPod); resp.StatusCode != http.StatusConflict {
		t.Fatalf("second POST = %d %s, want 409", resp.StatusCode, body)
	}

	// One instance per agent (hostname UNIQUE): two offers, one group each.
	var groups []*mesos.Offer_Operation_LaunchGroup
	for i, agent := range []string{"agent-1", "agent-2"} {
		gs := h.launchGroups(fmt.Sprintf("o%d", i), agent)
		if len(gs) != 1 {
			t.Fatalf("offer of %s launched %d groups, want 1 (UNIQUE hostname)", agent, len(gs))
		}
		groups = append(groups, gs...)
	}
	g := groups[0]
	if g.GetExecutor().GetType() != mesos.ExecutorInfo_DEFAULT || len(g.GetTaskGroup().GetTasks()) != 2 {
		t.Fatalf("launch group = %v", g)
	}
	server := g.GetTaskGroup().GetTasks()[0]
	if got, _ := resources.FromProto(server.GetResources()); got.Scalar("cpus") != 0.5 || got.Scalar("mem") != 64 {
		t.Fatalf("server's resources = %v, want its own cpus 0.5, mem 64", got)
	}
	if got, _ := resources.FromProto(g.GetExecutor().GetResources()); got.Scalar("cpus") != 0.1 || got.Scalar("mem") != 32 {
		t.Fatalf("executor's resources = %v, want Marathon's 0.1 cpus, 32 MiB", got)
	}
	instance := strings.TrimSuffix(server.GetTaskId().GetValue(), ".server")
	if !strings.HasPrefix(instance, "shop_web.instance-") && !strings.HasPrefix(instance, "shop.web.instance-") {
		t.Fatalf("instance id %q, want Marathon's <pod>.instance-<uuid>", instance)
	}

	if ps := h.podStatus("/shop/web"); len(ps.Instances) != 2 || ps.Status != "DEGRADED" || ps.Instances[0].Status != "STAGING" {
		t.Fatalf("status before any update = %+v", ps)
	}
	// The running deployment names the pod as Marathon does.
	if _, body := h.do(http.MethodGet, "/v2/deployments", ""); !strings.Contains(body, `"affectedApps":[],"affectedPods":["/shop/web"]`) ||
		!strings.Contains(body, `{"action":"ScalePod","pod":"/shop/web"`) {
		t.Fatalf("deployments while the pod starts = %s", body)
	}
	for _, g := range groups {
		for _, task := range g.GetTaskGroup().GetTasks() {
			st := sdktest.NewStatus(task.GetTaskId().GetValue(), task.GetAgentId().GetValue(), mesos.TaskState_TASK_RUNNING, nil)
			if task.GetName() == "server" {
				st.Healthy = proto.Bool(true)
			}
			if err := h.master.SendUpdate(st); err != nil {
				t.Fatal(err)
			}
		}
	}
	h.eventually(func() error {
		if ps := h.podStatus("/shop/web"); ps.Status != "STABLE" {
			return fmt.Errorf("pod %s, want STABLE: %+v", ps.Status, ps)
		}
		_, body := h.do(http.MethodGet, "/v2/deployments", "")
		if body != "[]" {
			return fmt.Errorf("deployments = %s", body)
		}
		return nil
	})

	// Listed and versioned as a pod; the app routes do not see it.
	if _, body := h.do(http.MethodGet, "/v2/pods", ""); !strings.HasPrefix(body, `[{"id":"/shop/web"`) {
		t.Fatalf("GET /v2/pods = %s", body)
	}
	_, body = h.do(http.MethodGet, "/v2/pods/shop/web::versions", "")
	var versions []string
	if err := json.Unmarshal([]byte(body), &versions); err != nil || len(versions) != 1 {
		t.Fatalf("versions = %s", body)
	}
	if resp, body := h.do(http.MethodGet, "/v2/pods/shop/web::versions/"+versions[0], ""); resp.StatusCode != 200 || !strings.Contains(body, `"sidecar"`) {
		t.Fatalf("version = %d %s", resp.StatusCode, body)
	}
	if _, body := h.do(http.MethodGet, "/v2/apps", ""); body != `{"apps":[]}` {
		t.Fatalf("GET /v2/apps = %s, want no pods among the apps", body)
	}
	if resp, body := h.do(http.MethodDelete, "/v2/apps/shop/web", ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("DELETE /v2/apps/<pod> = %d %s, want 404", resp.StatusCode, body)
	}
	if resp, body := h.do(http.MethodPut, "/v2/apps/shop/web", `{"cmd":"sleep 1"}`); resp.StatusCode != http.StatusConflict {
		t.Fatalf("PUT /v2/apps/<pod> = %d %s, want 409", resp.StatusCode, body)
	}
	if _, body := h.do(http.MethodGet, "/v2/tasks", ""); body != `{"tasks":[]}` {
		t.Fatalf("GET /v2/tasks = %s, want no pod instances among the tasks", body)
	}

	// Killing an instance kills both of its tasks; when they end, it is replaced.
	resp, body = h.do(http.MethodDelete, "/v2/pods/shop/web::instances/"+instance, "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"status":"TERMINAL"`) {
		t.Fatalf("kill instance = %d %s", resp.StatusCode, body)
	}
	var killed []string
	for range 2 {
		c, err := h.master.Next(scheduler.Call_KILL, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		killed = append(killed, c.GetKill().GetTaskId().GetValue())
	}
	slices.Sort(killed)
	if want := []string{instance + ".server", instance + ".sidecar"}; !slices.Equal(killed, want) {
		t.Fatalf("kills = %v, want %v", killed, want)
	}
	for _, id := range killed {
		if err := h.master.SendUpdate(sdktest.NewStatus(id, "agent-1", mesos.TaskState_TASK_KILLED, nil)); err != nil {
			t.Fatal(err)
		}
	}
	h.eventually(func() error {
		ps := h.podStatus("/shop/web")
		if len(ps.Instances) != 1 {
			return fmt.Errorf("%d instances after the kill, want 1 left", len(ps.Instances))
		}
		_, body := h.do(http.MethodGet, "/v2/queue", "")
		if !strings.Contains(body, `"count":1`) || !strings.Contains(body, `"pod":{"id":"/shop/web"`) || strings.Contains(body, `"app"`) {
			return fmt.Errorf("queue = %s, want the instance to be replaced (a pod's entry)", body)
		}
		return nil
	})
	if resp, body := h.do(http.MethodDelete, "/v2/pods/shop/web::instances", `["nope.instance-1"]`); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("kill unknown instance = %d %s, want 404", resp.StatusCode, body)
	}

	// A PUT scales it to 0: a new version, the last instance killed.
	scaled := strings.Replace(twoContainerPod, `"instances": 2`, `"instances": 0`, 1)
	resp, body = h.do(http.MethodPut, "/v2/pods/shop/web?force=true", scaled)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Marathon-Deployment-Id") == "" {
		t.Fatalf("PUT = %d %s", resp.StatusCode, body)
	}
	if c, err := h.master.Next(scheduler.Call_KILL, 10*time.Second); err != nil {
		t.Fatal(err)
	} else if !strings.HasPrefix(c.GetKill().GetTaskId().GetValue(), groups[1].GetTaskGroup().GetTasks()[0].GetTaskId().GetValue()[:len(instance)]) {
		t.Fatalf("scale down killed %s", c.GetKill().GetTaskId().GetValue())
	}
	if resp, body := h.do(http.MethodDelete, "/v2/pods/shop/web?force=true", ""); resp.StatusCode != http.StatusAccepted || resp.Header.Get("Marathon-Deployment-Id") == "" {
		t.Fatalf("DELETE = %d %s", resp.StatusCode, body)
	}
	if resp, _ := h.do(http.MethodGet, "/v2/pods/shop/web", ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET after delete = %d, want 404", resp.StatusCode)
	}
}

// TestPodAPIErrors: what bad input to /v2/pods gets.
func TestPodAPIErrors(t *testing.T) {
	h := newHarness(t)
	if resp, _ := h.do(http.MethodPost, "/v2/apps", `{"id":"/taken","cmd":"sleep 1"}`); resp.StatusCode != http.StatusCreated {
		t.Fatal("create app")
	}
	tests := []struct {
		name, method, path, body string
		code                     int
		contains                 string
	}{
		{"malformed", http.MethodPost, "/v2/pods", `{"id":`, 400, `Invalid JSON`},
		{"no containers", http.MethodPost, "/v2/pods", `{"id":"/p","containers":[]}`, 422, `"path":"/containers"`},
		{"image not supported", http.MethodPost, "/v2/pods", `{"id":"/p","containers":[{"name":"c","image":{"kind":"DOCKER","id":"x"},"exec":{"command":{"shell":"true"}}}]}`, 422, `/containers/0/image`},
		{"bad constraint", http.MethodPost, "/v2/pods", `{"id":"/p","scheduling":{"placement":{"constraints":[{"fieldName":"hostname","operator":"NOPE"}]}},"containers":[{"name":"c","exec":{"command":{"shell":"true"}}}]}`, 422, `/scheduling/placement/constraints/0`},
		{"id of an app", http.MethodPost, "/v2/pods", `{"id":"/taken","containers":[{"name":"c","exec":{"command":{"shell":"true"}}}]}`, 409, `An app with id [/taken] already exists`},
		{"put other id", http.MethodPut, "/v2/pods/p", `{"id":"/q","containers":[{"name":"c","exec":{"command":{"shell":"true"}}}]}`, 422, `must be the pod id of the path`},
		{"unknown pod", http.MethodGet, "/v2/pods/nope", "", 404, `Pod '/nope' does not exist`},
		{"unknown status", http.MethodGet, "/v2/pods/nope::status", "", 404, `does not exist`},
		{"unknown versions", http.MethodGet, "/v2/pods/nope::versions", "", 404, `does not exist`},
		{"delete unknown", http.MethodDelete, "/v2/pods/nope", "", 404, `does not exist`},
		{"instances not an array", http.MethodDelete, "/v2/pods/nope::instances", `{"x":1}`, 400, `array of instance ids`},
		{"app is no pod", http.MethodGet, "/v2/pods/taken", "", 404, `Pod '/taken' does not exist`},
		{"all statuses", http.MethodGet, "/v2/pods/::status", "", 200, `[]`},
		{"capability", http.MethodHead, "/v2/pods", "", 200, ``},
		{"no such route", http.MethodGet, "/v2/podsX", "", 404, `Not Found`},
		{"bulk put", http.MethodPut, "/v2/pods", `[]`, 405, `Method Not Allowed`},
		{"app with a pod field", http.MethodPost, "/v2/apps", `{"id":"/x","cmd":"true","pod":{"id":"/x"}}`, 422, `pods are posted to /v2/pods`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := h.do(tc.method, tc.path, tc.body)
			if resp.StatusCode != tc.code || !strings.Contains(body, tc.contains) {
				t.Fatalf("%s %s = %d %s; want %d containing %s", tc.method, tc.path, resp.StatusCode, body, tc.code, tc.contains)
			}
		})
	}
}

// TestPodInstanceEndsWithAContainer: a container that finishes (exit 0) leaves its
// instance running, as Marathon's pods; one that fails ends the instance: its other
// container is killed and the instance replaced.
func TestPodInstanceEndsWithAContainer(t *testing.T) {
	h := newHarness(t)
	one := strings.Replace(twoContainerPod, `"instances": 2`, `"instances": 1`, 1)
	if resp, body := h.do(http.MethodPost, "/v2/pods", one); resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST = %d %s", resp.StatusCode, body)
	}
	g := h.launchGroups("o1", "agent-1")[0]
	server, sidecar := g.GetTaskGroup().GetTasks()[0].GetTaskId().GetValue(), g.GetTaskGroup().GetTasks()[1].GetTaskId().GetValue()
	running := sdktest.NewStatus(server, "agent-1", mesos.TaskState_TASK_RUNNING, nil)
	running.Healthy = proto.Bool(true)
	for _, st := range []*mesos.TaskStatus{
		running,
		sdktest.NewStatus(sidecar, "agent-1", mesos.TaskState_TASK_RUNNING, nil),
		sdktest.NewStatus(sidecar, "agent-1", mesos.TaskState_TASK_FINISHED, nil),
	} {
		if err := h.master.SendUpdate(st); err != nil {
			t.Fatal(err)
		}
	}
	h.eventually(func() error {
		ps := h.podStatus("/shop/web")
		if ps.Status != "STABLE" || len(ps.Instances) != 1 || ps.Instances[0].Containers[1].Status != "TASK_FINISHED" {
			return fmt.Errorf("status with a finished sidecar = %+v, want the instance STABLE", ps)
		}
		return nil
	})
	if err := h.master.SendUpdate(sdktest.NewStatus(server, "agent-1", mesos.TaskState_TASK_FAILED, nil)); err != nil {
		t.Fatal(err)
	}
	h.eventually(func() error {
		ps := h.podStatus("/shop/web")
		if len(ps.Instances) != 0 {
			return fmt.Errorf("instances after the server failed = %+v, want none", ps.Instances)
		}
		if _, body := h.do(http.MethodGet, "/v2/queue", ""); !strings.Contains(body, `"count":1`) {
			return fmt.Errorf("queue = %s, want the instance replaced", body)
		}
		return nil
	})
	// The replacement launches on the next offer once its launch delay is reset.
	if resp, body := h.do(http.MethodDelete, "/v2/queue/shop/web/delay", ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("reset delay = %d %s", resp.StatusCode, body)
	}
	if gs := h.launchGroups("o2", "agent-1"); len(gs) != 1 || gs[0].GetTaskGroup().GetTasks()[0].GetTaskId().GetValue() == server {
		t.Fatalf("replacement = %v", gs)
	}
}

// TestGroupsLeavePodsAlone: a group update lists the group's apps; the pods below the
// group are neither replaced nor removed by it, an app may not take a pod's id through it,
// and deleting the group deletes its pods too.
func TestGroupsLeavePodsAlone(t *testing.T) {
	h := newHarness(t)
	if resp, body := h.do(http.MethodPost, "/v2/pods", twoContainerPod); resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST pod = %d %s", resp.StatusCode, body)
	}
	if resp, body := h.do(http.MethodPut, "/v2/groups/shop?force=true", `{"apps":[{"id":"api","cmd":"sleep 100"}]}`); resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT group = %d %s", resp.StatusCode, body)
	}
	if resp, body := h.do(http.MethodGet, "/v2/pods/shop/web", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("pod after the group update = %d %s", resp.StatusCode, body)
	}
	if _, body := h.do(http.MethodGet, "/v2/groups/shop", ""); strings.Contains(body, `"/shop/web"`) {
		t.Fatalf("group lists the pod as an app: %s", body)
	}
	if resp, body := h.do(http.MethodPut, "/v2/groups/shop?force=true", `{"apps":[{"id":"web","cmd":"sleep 100"}]}`); resp.StatusCode != http.StatusConflict {
		t.Fatalf("group update taking the pod's id = %d %s, want 409", resp.StatusCode, body)
	}
	if resp, body := h.do(http.MethodDelete, "/v2/groups/shop?force=true", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE group = %d %s", resp.StatusCode, body)
	}
	if resp, _ := h.do(http.MethodGet, "/v2/pods/shop/web", ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("pod after the group's delete = %d, want 404", resp.StatusCode)
	}
}

// TestPodEndpointsTakeOfferedPorts: an instance's endpoints get host ports from the offer
// (any for hostPort 0, the one asked for otherwise); the ports go to the executor, every
// container learns them as ENDPOINT_<NAME>, and ::status shows each container's.
func TestPodEndpointsTakeOfferedPorts(t *testing.T) {
	h := newHarness(t)
	const withEndpoints = `{"id": "/api", "containers": [
	  {"name": "server", "exec": {"command": {"shell": "sleep 600"}}, "endpoints": [{"name": "http", "hostPort": 0}],
	   "healthCheck": {"http": {"endpoint": "http", "path": "/health"}}},
	  {"name": "admin", "exec": {"command": {"shell": "sleep 600"}}, "endpoints": [{"name": "admin", "hostPort": 31007}]}]}`
	if resp, body := h.do(http.MethodPost, "/v2/pods", withEndpoints); resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST = %d %s", resp.StatusCode, body)
	}
	g := h.launchGroups("o1", "agent-1")[0]
	ports, _ := resources.FromProto(g.GetExecutor().GetResources())
	rs := ports.Ranges("ports")
	if len(rs) != 2 {
		t.Fatalf("executor's ports = %v, want two single ports", rs)
	}
	var fixed, anyPort uint64
	for _, r := range rs {
		if r.Begin != r.End {
			t.Fatalf("executor's ports = %v, want single ports", rs)
		}
		if r.Begin == 31007 {
			fixed = r.Begin
		} else {
			anyPort = r.Begin
		}
	}
	if fixed != 31007 || anyPort < 31000 || anyPort > 31009 {
		t.Fatalf("executor's ports = %v, want 31007 and one more of the offer's", rs)
	}
	server := g.GetTaskGroup().GetTasks()[0]
	var endpointVar string
	for _, v := range server.GetCommand().GetEnvironment().GetVariables() {
		if v.GetName() == "ENDPOINT_HTTP" {
			endpointVar = v.GetValue()
		}
	}
	if endpointVar != fmt.Sprint(anyPort) || server.GetHealthCheck().GetHttp().GetPort() != uint32(anyPort) {
		t.Fatalf("server: ENDPOINT_HTTP=%q, check port %d; want %d", endpointVar, server.GetHealthCheck().GetHttp().GetPort(), anyPort)
	}
	_, body := h.do(http.MethodGet, "/v2/pods/api::status", "")
	for _, want := range []string{fmt.Sprintf(`"endpoints":[{"name":"http","allocatedHostPort":%d}]`, anyPort),
		`"endpoints":[{"name":"admin","allocatedHostPort":31007}]`} {
		if !strings.Contains(body, want) {
			t.Fatalf("::status lacks %s: %s", want, body)
		}
	}
}
