package integration

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/internal/poll"
)

// webWithSidecar is a two-container pod: a server writes its page into the volume the two
// share; the sidecar waits for the page, copies what it read, and is healthy only while its
// copy matches the server's page, so a STABLE instance proves the volume shared.
const webWithSidecar = `{
  "id": "/shop/web",
  "scaling": {"instances": %d},
  "volumes": [{"name": "shared"}],
  "containers": [
    {"name": "server", "resources": {"cpus": 0.1, "mem": 32},
     "exec": {"command": {"shell": "echo %s > www/index.html; exec sleep 600"}},
     "volumeMounts": [{"name": "shared", "mountPath": "www"}],
     "healthCheck": {"exec": {"command": {"shell": "test -s www/index.html"}}, "intervalSeconds": 1, "gracePeriodSeconds": 0, "delaySeconds": 0}},
    {"name": "sidecar", "resources": {"cpus": 0.1, "mem": 32},
     "exec": {"command": {"shell": "until [ -s content/index.html ]; do sleep 0.1; done; cp content/index.html seen; exec sleep 600"}},
     "volumeMounts": [{"name": "shared", "mountPath": "content"}],
     "healthCheck": {"exec": {"command": {"shell": "cmp -s seen content/index.html"}}, "intervalSeconds": 1, "gracePeriodSeconds": 5, "delaySeconds": 0}}
  ]
}`

type mPodStatus struct {
	Status    string `json:"status"`
	Instances []struct {
		ID            string `json:"id"`
		Status        string `json:"status"`
		SpecReference string `json:"specReference"`
	} `json:"instances"`
	Spec struct {
		Version string `json:"version"`
	} `json:"spec"`
}

// stablePod waits until the pod has n instances, all STABLE and of its current version.
func stablePod(mc marathonClient, id string, n int, timeout time.Duration) mPodStatus {
	mc.t.Helper()
	var ps mPodStatus
	poll.Eventually(mc.t, timeout, func() error {
		ps = mPodStatus{}
		mc.must(http.MethodGet, "/v2/pods"+id+"::status", "", http.StatusOK, &ps)
		if ps.Status != "STABLE" || len(ps.Instances) != n {
			return fmt.Errorf("pod %s with %d instances, want STABLE with %d: %+v", ps.Status, len(ps.Instances), n, ps)
		}
		for _, in := range ps.Instances {
			if in.Status != "STABLE" || !strings.HasSuffix(in.SpecReference, ps.Spec.Version) {
				return fmt.Errorf("instance %s %s of %s, want STABLE of %s", in.ID, in.Status, in.SpecReference, ps.Spec.Version)
			}
		}
		return nil
	})
	return ps
}

// TestMarathonPodLifecycle runs a two-container pod through `agora marathon` on a real
// master and agent (the default executor): it comes up STABLE (both containers healthy,
// the sidecar reading the server's page from their shared volume), a killed instance is
// replaced, a changed definition rolls over to new instances, and the delete stops them.
func TestMarathonPodLifecycle(t *testing.T) {
	c := cluster.New(t, cluster.Options{Agents: 1})
	_, mc := startMarathon(t, c)
	mc.must(http.MethodPost, "/v2/pods", fmt.Sprintf(webWithSidecar, 1, "first-page"), http.StatusCreated, nil)
	first := stablePod(mc, "/shop/web", 1, 60*time.Second)

	// A killed instance is replaced by a new one.
	mc.must(http.MethodDelete, "/v2/pods/shop/web::instances/"+first.Instances[0].ID, "", http.StatusOK, nil)
	poll.Eventually(t, 60*time.Second, func() error {
		ps := stablePod(mc, "/shop/web", 1, 60*time.Second)
		if ps.Instances[0].ID == first.Instances[0].ID {
			return fmt.Errorf("instance %s not replaced yet", ps.Instances[0].ID)
		}
		return nil
	})

	// A new definition (another page, two instances) rolls over.
	mc.must(http.MethodPut, "/v2/pods/shop/web", fmt.Sprintf(webWithSidecar, 2, "second-page"), http.StatusOK, nil)
	noDeployments(mc, 90*time.Second)
	second := stablePod(mc, "/shop/web", 2, 60*time.Second)
	if second.Spec.Version == first.Spec.Version {
		t.Fatalf("version unchanged by the PUT: %s", second.Spec.Version)
	}
	var versions []string
	mc.must(http.MethodGet, "/v2/pods/shop/web::versions", "", http.StatusOK, &versions)
	if len(versions) != 2 {
		t.Fatalf("versions = %v, want 2", versions)
	}

	// The master runs what ::status says: one executor per instance, two tasks each.
	var state struct {
		Frameworks []struct {
			Name  string `json:"name"`
			Tasks []struct {
				ID    string `json:"id"`
				State string `json:"state"`
			} `json:"tasks"`
		} `json:"frameworks"`
	}
	poll.Eventually(t, 30*time.Second, func() error {
		if err := cluster.GetJSON(context.Background(), c.MasterURL()+"/state", &state); err != nil {
			return err
		}
		running := 0
		for _, f := range state.Frameworks {
			for _, tk := range f.Tasks {
				if tk.State == "TASK_RUNNING" && strings.Contains(tk.ID, ".instance-") {
					running++
				}
			}
		}
		if running != 4 {
			return fmt.Errorf("%d pod tasks running at the master, want 4", running)
		}
		return nil
	})

	mc.must(http.MethodDelete, "/v2/pods/shop/web", "", http.StatusAccepted, nil)
	noDeployments(mc, 60*time.Second)
	if code, body := mc.do(http.MethodGet, "/v2/pods/shop/web", ""); code != http.StatusNotFound {
		t.Fatalf("GET after delete = %d %s", code, body)
	}
}

func noDeployments(mc marathonClient, timeout time.Duration) {
	mc.t.Helper()
	poll.Eventually(mc.t, timeout, func() error {
		if code, b := mc.do(http.MethodGet, "/v2/deployments", ""); code != http.StatusOK || string(b) != "[]" {
			return fmt.Errorf("deployments: %d %s", code, b)
		}
		return nil
	})
}

// TestMarathonPodEndpointsAndHostVolume: a pod's server listens on the host port Marathon
// took for its endpoint (ENDPOINT_WEB) and is healthy by the default executor's HTTP check
// of that port; its sidecar writes what it learnt into a host volume, where the test reads
// it. ::status reports the port, and the test's own GET reaches the server there.
func TestMarathonPodEndpointsAndHostVolume(t *testing.T) {
	c := cluster.New(t, cluster.Options{Agents: 1})
	_, mc := startMarathon(t, c)
	hostDir := t.TempDir()
	pod := fmt.Sprintf(`{
  "id": "/api",
  "environment": {"GREETING": "hello-from-pod"},
  "volumes": [{"name": "out", "host": %q}],
  "containers": [
    {"name": "server", "resources": {"cpus": 0.1, "mem": 64},
     "exec": {"command": {"shell": "mkdir -p www && echo $GREETING > www/index.html && exec python3 -m http.server $ENDPOINT_WEB --bind 127.0.0.1 --directory www"}},
     "endpoints": [{"name": "web", "hostPort": 0}],
     "healthCheck": {"http": {"endpoint": "web", "path": "/index.html"}, "intervalSeconds": 1, "gracePeriodSeconds": 30, "delaySeconds": 0}},
    {"name": "sidecar", "resources": {"cpus": 0.1, "mem": 32},
     "exec": {"command": {"shell": "echo $ENDPOINT_WEB > out/port.tmp && mv out/port.tmp out/port; exec sleep 600"}},
     "volumeMounts": [{"name": "out", "mountPath": "out"}]}
  ]
}`, hostDir)
	mc.must(http.MethodPost, "/v2/pods", pod, http.StatusCreated, nil)
	stablePod(mc, "/api", 1, 60*time.Second)

	var status struct {
		Instances []struct {
			Containers []struct {
				Name      string `json:"name"`
				Endpoints []struct {
					Name              string `json:"name"`
					AllocatedHostPort int    `json:"allocatedHostPort"`
				} `json:"endpoints"`
			} `json:"containers"`
		} `json:"instances"`
	}
	mc.must(http.MethodGet, "/v2/pods/api::status", "", http.StatusOK, &status)
	port := 0
	for _, ct := range status.Instances[0].Containers {
		if ct.Name == "server" && len(ct.Endpoints) == 1 && ct.Endpoints[0].Name == "web" {
			port = ct.Endpoints[0].AllocatedHostPort
		}
	}
	if port == 0 {
		t.Fatalf("::status shows no port for the server's endpoint: %+v", status)
	}
	poll.Eventually(t, 20*time.Second, func() error {
		b, err := os.ReadFile(filepath.Join(hostDir, "port"))
		if err != nil {
			return err
		}
		if got := strings.TrimSpace(string(b)); got != strconv.Itoa(port) {
			return fmt.Errorf("the sidecar learnt ENDPOINT_WEB=%s; ::status says %d", got, port)
		}
		return nil
	})
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/index.html", port))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.TrimSpace(string(page)) != "hello-from-pod" {
		t.Fatalf("GET the server's endpoint = %q, want the pod's GREETING", page)
	}
	mc.must(http.MethodDelete, "/v2/pods/api", "", http.StatusAccepted, nil)
	noDeployments(mc, 60*time.Second)
}
