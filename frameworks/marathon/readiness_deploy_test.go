package marathon

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/frameworks/sdk/sdktest"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
)

// readyServer stands in for the tasks of an app: it answers /ready with 503 until ready.
type readyServer struct {
	srv   *httptest.Server
	ready atomic.Bool
	port  uint64
}

func newReadyServer(t *testing.T) *readyServer {
	rs := &readyServer{}
	rs.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ready" || !rs.ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("warming up"))
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(rs.srv.Close)
	_, port, _ := net.SplitHostPort(rs.srv.Listener.Addr().String())
	rs.port, _ = strconv.ParseUint(port, 10, 64)
	return rs
}

// launchOn offers the server's port on 127.0.0.1 and returns the tasks launched.
func (h *harness) launchOn(offerID string, port uint64) []*mesos.TaskInfo {
	h.t.Helper()
	o := h.master.NewOffer(offerID, "agent-1", fmt.Sprintf("cpus:4;mem:4096;ports:[%d-%d]", port, port))
	o.Hostname = proto.String("127.0.0.1")
	if err := h.master.SendOffers(o); err != nil {
		h.t.Fatal(err)
	}
	c, err := h.master.Next(scheduler.Call_ACCEPT, 10*time.Second)
	if err != nil {
		h.t.Fatal(err)
	}
	return c.GetAccept().GetOperations()[0].GetLaunch().GetTaskInfos()
}

func (h *harness) running(tasks ...*mesos.TaskInfo) {
	h.t.Helper()
	for _, ti := range tasks {
		if err := h.master.SendUpdate(sdktest.NewStatus(ti.GetTaskId().GetValue(), "agent-1", mesos.TaskState_TASK_RUNNING, nil)); err != nil {
			h.t.Fatal(err)
		}
	}
}

// deploymentsContain polls /v2/deployments until it contains every string of want.
func (h *harness) deploymentsContain(want ...string) {
	h.t.Helper()
	h.eventually(func() error {
		_, body := h.do(http.MethodGet, "/v2/deployments", "")
		for _, w := range want {
			if !strings.Contains(body, w) {
				return fmt.Errorf("deployments lack %s: %s", w, body)
			}
		}
		return nil
	})
}

func (h *harness) noDeployments() {
	h.t.Helper()
	h.eventually(func() error {
		if _, body := h.do(http.MethodGet, "/v2/deployments", ""); body != "[]" {
			return fmt.Errorf("deployments: %s", body)
		}
		return nil
	})
}

// TestReadinessGatesDeployments: a new task counts for its deployment only once its
// readiness check passes, both when the app starts and in a rolling restart, where the old
// task is killed only after the new one is ready.
func TestReadinessGatesDeployments(t *testing.T) {
	h := newHarness(t)
	rs := newReadyServer(t)
	const def = `{"id":"/web","cmd":"serve","cpus":0.1,"mem":16,"portDefinitions":[{"port":0,"name":"http"}],` +
		`"readinessChecks":[{"name":"warm","portName":"http","path":"/ready","intervalSeconds":1,"timeoutSeconds":0,"preserveLastResponse":true}]}`
	if resp, body := h.do(http.MethodPost, "/v2/apps", def); resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST = %d %s", resp.StatusCode, body)
	}
	first := h.launchOn("o1", rs.port)
	id1 := first[0].GetTaskId().GetValue()
	h.running(first...)
	notReady := `{"name":"warm","taskId":"` + id1 + `","ready":false,"lastResponse":{"status":503,"contentType":"text/plain; charset=utf-8","body":"warming up"}}`
	h.deploymentsContain(`"readinessCheckResults":[` + notReady + `]`)
	h.eventually(func() error {
		if _, body := h.do(http.MethodGet, "/v2/apps/web?embed=app.readiness", ""); !strings.Contains(body, `"readinessCheckResults":[`+notReady+`]`) {
			return fmt.Errorf("app: %s", body)
		}
		return nil
	})
	rs.ready.Store(true)
	h.noDeployments()
	if _, body := h.do(http.MethodGet, "/v2/apps/web", ""); !strings.Contains(body, `"readinessCheckResults":[]`) {
		t.Errorf("results after the deployment: %s", body)
	}

	// Rolling restart: the old task stays until the new one is ready.
	rs.ready.Store(false)
	if resp, body := h.do(http.MethodPost, "/v2/apps/web/restart", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("restart = %d %s", resp.StatusCode, body)
	}
	second := h.launchOn("o2", rs.port)
	id2 := second[0].GetTaskId().GetValue()
	h.running(second...)
	h.deploymentsContain(`"taskId":"`+id2+`","ready":false`, `"action":"RestartApplication"`)
	if _, body := h.do(http.MethodGet, "/v2/deployments", ""); strings.Contains(body, id1) {
		t.Errorf("the first deployment's result shows in the restart: %s", body)
	}
	for _, c := range h.master.Calls() {
		if c.GetType() == scheduler.Call_KILL {
			t.Fatalf("killed %s before the new task was ready", c.GetKill().GetTaskId().GetValue())
		}
	}
	rs.ready.Store(true)
	kill, err := h.master.Next(scheduler.Call_KILL, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := kill.GetKill().GetTaskId().GetValue(); got != id1 {
		t.Errorf("killed %s, want the old task %s", got, id1)
	}
	if err := h.master.SendUpdate(sdktest.NewStatus(id1, "agent-1", mesos.TaskState_TASK_KILLED, nil)); err != nil {
		t.Fatal(err)
	}
	h.noDeployments()
}
