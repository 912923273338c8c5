package integration

import (
	"bufio"
	"encoding/json"
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
	"github.com/agoracluster/agora/internal/hosttest"
	"github.com/agoracluster/agora/internal/poll"
)

// TestMarathonAutoscale: an app whose tasks burn their cpus while a file exists scales up
// to its maximum under the load, measured from the agent's cgroup statistics, and back down
// to its minimum once the load stops; every decision shows on /v2/autoscale and as an
// autoscale_event. A pod with the same labels scales the same way, measured from its
// instances' default executors.
func TestMarathonAutoscale(t *testing.T) {
	hosttest.RequireCgroups(t)
	c := cgroupsCluster(t)
	_, mc := startMarathon(t, c, "--autoscale_interval", "300ms")

	req, _ := http.NewRequest(http.MethodGet, mc.base+"/v2/events?event_type=autoscale_event", nil)
	req.Header.Set("Accept", "text/event-stream")
	stream, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	if stream.StatusCode != http.StatusOK {
		t.Fatalf("GET /v2/events: %s", stream.Status)
	}
	sawEvent := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stream.Body)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "autoscale_event") {
				close(sawEvent)
				return
			}
		}
	}()

	burn := filepath.Join(t.TempDir(), "burn")
	if err := os.WriteFile(burn, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	app := map[string]any{
		"id":   "/burner",
		"cmd":  fmt.Sprintf("while [ -e %s ]; do :; done; exec sleep 100000", burn),
		"cpus": 0.1, "mem": 32, "instances": 1,
		"labels": map[string]string{
			"AGORA_AUTOSCALE_MIN_INSTANCES": "1",
			"AGORA_AUTOSCALE_MAX_INSTANCES": "3",
			"AGORA_AUTOSCALE_TARGET_CPU":    "0.5",
			"AGORA_AUTOSCALE_COOLDOWN_UP":   "1s",
			"AGORA_AUTOSCALE_COOLDOWN_DOWN": "1s",
		},
	}
	body, _ := json.Marshal(app)
	mc.must(http.MethodPost, "/v2/apps", string(body), http.StatusCreated, nil)
	pod := map[string]any{
		"id":     "/podburner",
		"labels": app["labels"],
		"containers": []map[string]any{{
			"name": "burn", "resources": map[string]any{"cpus": 0.1, "mem": 32},
			"exec": map[string]any{"command": map[string]any{"shell": app["cmd"]}},
		}},
	}
	body, _ = json.Marshal(pod)
	mc.must(http.MethodPost, "/v2/pods", string(body), http.StatusCreated, nil)

	waitInstances := func(n int) {
		t.Helper()
		poll.Eventually(t, 60*time.Second, func() error {
			a, err := mc.app("/burner")
			if err != nil {
				return err
			}
			if a.Instances != n || a.TasksRunning != n {
				return fmt.Errorf("instances %d, running %d; want %d", a.Instances, a.TasksRunning, n)
			}
			return nil
		}, "app /burner at %d instances", n)
	}
	// A scaled pod keeps its instances' spec references: wait on the count, not the versions.
	waitPodInstances := func(n int) {
		t.Helper()
		poll.Eventually(t, 60*time.Second, func() error {
			var ps struct {
				Status string `json:"status"`
				Spec   struct {
					Scaling struct{ Instances int } `json:"scaling"`
				} `json:"spec"`
				Instances []struct{ Status string } `json:"instances"`
			}
			mc.must(http.MethodGet, "/v2/pods/podburner::status", "", http.StatusOK, &ps)
			if ps.Spec.Scaling.Instances != n || len(ps.Instances) != n || ps.Status != "STABLE" {
				return fmt.Errorf("pod %s, scaling.instances %d, %d instances; want STABLE at %d", ps.Status, ps.Spec.Scaling.Instances, len(ps.Instances), n)
			}
			return nil
		}, "pod /podburner at %d instances", n)
	}
	waitInstances(3)
	waitPodInstances(3)

	if err := os.Remove(burn); err != nil {
		t.Fatal(err)
	}
	waitInstances(1)
	waitPodInstances(1)

	var status struct {
		Enabled bool `json:"enabled"`
		Apps    []struct {
			AppID     string `json:"appId"`
			Decisions []struct {
				From, To int
				Reason   string
			} `json:"decisions"`
		} `json:"apps"`
	}
	mc.must(http.MethodGet, "/v2/autoscale?appId=burner", "", http.StatusOK, &status)
	if !status.Enabled || len(status.Apps) != 1 {
		t.Fatalf("/v2/autoscale = %+v", status)
	}
	ds := status.Apps[0].Decisions
	if len(ds) < 2 || ds[0].From != 1 || ds[0].To <= 1 || ds[len(ds)-1].To != 1 {
		t.Fatalf("decisions = %+v, want up from 1, then down to 1", ds)
	}
	if !strings.Contains(ds[0].Reason, "cpu utilisation") {
		t.Errorf("first decision's reason = %q", ds[0].Reason)
	}

	status.Apps = nil
	mc.must(http.MethodGet, "/v2/autoscale?appId=podburner", "", http.StatusOK, &status)
	if len(status.Apps) != 1 || len(status.Apps[0].Decisions) < 2 || status.Apps[0].Decisions[0].From != 1 {
		t.Fatalf("/v2/autoscale for the pod = %+v, want its decisions up from 1 and back", status)
	}

	// The stream carried the decisions as autoscale_event.
	select {
	case <-sawEvent:
	case <-time.After(10 * time.Second):
		t.Error("no autoscale_event on /v2/events")
	}

	// Invalid autoscaling labels are refused with the label named.
	code, b := mc.do(http.MethodPost, "/v2/apps", `{"id":"/bad","cmd":"sleep 1","labels":{"AGORA_AUTOSCALE_MIN_INSTANCES":"x"}}`)
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(b), "AGORA_AUTOSCALE_MIN_INSTANCES") {
		t.Errorf("POST with bad labels = %d %s, want 422 naming the label", code, b)
	}
}

// TestMarathonAutoscaleOnRequests: an app with AGORA_AUTOSCALE_TARGET_RPS behind `agora lb`
// scales up while requests flow through its service port faster than its target per
// instance, as the balancer counted them (--autoscale_lb_url), and back down once they stop.
func TestMarathonAutoscaleOnRequests(t *testing.T) {
	py := python3(t)
	c := cluster.New(t, cluster.Options{Agents: 1, AgentArgs: []string{"--hostname", "127.0.0.1"}})
	adminPort := strconv.Itoa(cluster.FreePort(t))
	admin := "http://127.0.0.1:" + adminPort
	_, mc := startMarathon(t, c, "--autoscale_interval", "300ms", "--autoscale_lb_url", admin)
	cluster.Start(t, "lb", "127.0.0.1:"+adminPort, filepath.Join(t.TempDir(), "lb"), "lb",
		"--marathon", mc.base, "--ip", "127.0.0.1", "--group", "external", "--admin_port", adminPort)

	servicePort := cluster.FreePort(t)
	mc.must(http.MethodPost, "/v2/apps", `{"id":"/busy","cmd":"echo ok > index.html && exec `+py+` -m http.server $PORT0 --bind 127.0.0.1",
		"cpus":0.1,"mem":32,"instances":1,"portDefinitions":[{"port":`+strconv.Itoa(servicePort)+`}],
		"labels":{"HAPROXY_GROUP":"external","AGORA_AUTOSCALE_MIN_INSTANCES":"1","AGORA_AUTOSCALE_MAX_INSTANCES":"3",
			"AGORA_AUTOSCALE_TARGET_RPS":"5","AGORA_AUTOSCALE_COOLDOWN_UP":"1s","AGORA_AUTOSCALE_COOLDOWN_DOWN":"1s"}}`, http.StatusCreated, nil)
	instances := func(n int) {
		t.Helper()
		poll.Eventually(t, 60*time.Second, func() error {
			a, err := mc.app("/busy")
			if err != nil {
				return err
			}
			if a.Instances != n || a.TasksRunning != n {
				return fmt.Errorf("instances %d, running %d; want %d", a.Instances, a.TasksRunning, n)
			}
			return nil
		}, "app /busy at %d instances", n)
	}
	instances(1)

	// Each GET on a fresh connection: the balancer counts a service port's connections.
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	stop := make(chan struct{})
	loaded := make(chan struct{})
	go func() {
		defer close(loaded)
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			if resp, err := hc.Get("http://127.0.0.1:" + strconv.Itoa(servicePort) + "/index.html"); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	}()
	instances(3)
	close(stop)
	<-loaded
	instances(1)

	var status struct {
		Apps []struct {
			Decisions []struct {
				From, To int
				Reason   string
			} `json:"decisions"`
		} `json:"apps"`
	}
	mc.must(http.MethodGet, "/v2/autoscale?appId=busy", "", http.StatusOK, &status)
	if len(status.Apps) != 1 || len(status.Apps[0].Decisions) < 2 || !strings.Contains(status.Apps[0].Decisions[0].Reason, "request rate") {
		t.Fatalf("/v2/autoscale = %+v, want decisions by the request rate", status)
	}
}
