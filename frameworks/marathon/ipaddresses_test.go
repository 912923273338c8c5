package marathon

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/frameworks/sdk/sdktest"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

func withIPs(st *mesos.TaskStatus, ips ...*mesos.NetworkInfo_IPAddress) *mesos.TaskStatus {
	st.ContainerStatus = &mesos.ContainerStatus{NetworkInfos: []*mesos.NetworkInfo{{IpAddresses: ips}}}
	return st
}

// TestTaskIPAddresses: the addresses of a status show in /v2/tasks, /v2/apps/{id}/tasks and
// status_update_event, and survive an update that carries none.
func TestTaskIPAddresses(t *testing.T) {
	h := newHarness(t)
	events := h.subscribeEvents("status_update_event")
	if resp, body := h.do(http.MethodPost, "/v2/apps", `{"id":"/ip","cmd":"sleep 100","cpus":0.1,"mem":16}`); resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST = %d %s", resp.StatusCode, body)
	}
	id := h.launch("o1")[0].GetTaskId().GetValue()
	running := withIPs(sdktest.NewStatus(id, "agent-1", mesos.TaskState_TASK_RUNNING, nil),
		&mesos.NetworkInfo_IPAddress{IpAddress: proto.String("172.17.0.2"), Protocol: mesos.NetworkInfo_IPv4.Enum()})
	if err := h.master.SendUpdate(running); err != nil {
		t.Fatal(err)
	}
	const want = `"ipAddresses":[{"ipAddress":"172.17.0.2","protocol":"IPv4"}]`
	events.waitFor(t, want)
	again := sdktest.NewStatus(id, "agent-1", mesos.TaskState_TASK_RUNNING, nil)
	again.Healthy = proto.Bool(true)
	if err := h.master.SendUpdate(again); err != nil {
		t.Fatal(err)
	}
	h.eventually(func() error {
		for _, path := range []string{"/v2/tasks", "/v2/apps/ip/tasks", "/v2/apps/ip?embed=app.tasks"} {
			if _, body := h.do(http.MethodGet, path, ""); !strings.Contains(body, want) {
				return fmt.Errorf("%s: %s", path, body)
			}
		}
		return nil
	})
}
