package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/agoracluster/agora/frameworks/ha/hatest"
	"github.com/agoracluster/agora/frameworks/sdk/sdktest"
	"github.com/agoracluster/agora/internal/poll"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
	"github.com/agoracluster/agora/zookeeper/zktest"
)

// startHA runs one batch instance of several sharing zkURL and returns its address.
func startHA(t *testing.T, zkURL string, fm *sdktest.Master) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Masters = []string{fm.Addr()}
	cfg.WorkDir = t.TempDir()
	cfg.Hostname = "127.0.0.1"
	cfg.HTTPPort = ln.Addr().(*net.TCPAddr).Port
	cfg.TickInterval = 10 * time.Millisecond
	cfg.FindSandboxes = false
	log := zaptest.NewLogger(t).Named(ln.Addr().String())
	node := hatest.OpenNode(t, zkURL, ln.Addr().String(), log)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- RunHA(ctx, cfg, log, ln, node) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("RunHA: %v", err)
		}
	})
	return ln.Addr().String()
}

// haCall sends a request and returns the status code and the body.
func haCall(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	resp, b := hatest.Call(t, method, url, body)
	return resp.StatusCode, b
}

func haLeaderIs(t *testing.T, want string, all ...string) {
	t.Helper()
	poll.Eventually(t, 20*time.Second, func() error {
		for _, in := range all {
			code, body := haCall(t, http.MethodGet, "http://"+in+"/v1/leader", "")
			var got struct{ Leader string }
			if err := json.Unmarshal([]byte(body), &got); code != http.StatusOK || err != nil || got.Leader != want {
				return fmt.Errorf("%s: /v1/leader %d %s, want %s", in, code, body, want)
			}
		}
		return nil
	})
}

func TestHAFollowerProxiesAndAbdicationKeepsTheJobs(t *testing.T) {
	srv := zktest.Start(t)
	fm := sdktest.NewMaster()
	t.Cleanup(fm.Close)
	a := startHA(t, srv.URL("/batch"), fm)
	haLeaderIs(t, a, a)
	b := startHA(t, srv.URL("/batch"), fm)
	haLeaderIs(t, a, a, b)
	if _, err := fm.Next(scheduler.Call_SUBSCRIBE, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	var frameworkID string
	poll.Eventually(t, 20*time.Second, func() error {
		_, body := haCall(t, http.MethodGet, "http://"+a+"/v1/info", "")
		var info struct{ FrameworkID string }
		if err := json.Unmarshal([]byte(body), &info); err != nil || info.FrameworkID == "" {
			return errors.New("not subscribed")
		}
		frameworkID = info.FrameworkID
		return nil
	})

	if code, body := haCall(t, http.MethodPost, "http://"+b+"/v1/jobs", `{"id":"prod.backup","run":{"cmd":"echo hi","cpus":0.5,"mem":32}}`); code != http.StatusCreated {
		t.Fatalf("POST /v1/jobs on the follower: %d %s", code, body)
	}
	if code, body := haCall(t, http.MethodGet, "http://"+a+"/v1/jobs/prod.backup", ""); code != http.StatusOK {
		t.Fatalf("GET the job on the leader: %d %s", code, body)
	}
	if code, body := haCall(t, http.MethodGet, "http://"+b+"/ping", ""); code != http.StatusOK || body != "pong" {
		t.Fatalf("follower's /ping: %d %s", code, body)
	}

	if code, body := haCall(t, http.MethodDelete, "http://"+b+"/v1/leader", ""); code != http.StatusOK || !strings.Contains(body, "Leadership abdicated") {
		t.Fatalf("DELETE /v1/leader: %d %s", code, body)
	}
	haLeaderIs(t, b, a, b)
	sub, err := fm.Next(scheduler.Call_SUBSCRIBE, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := sub.GetSubscribe().GetFrameworkInfo().GetId().GetValue(); got != frameworkID {
		t.Fatalf("new leader subscribes with framework id %q, want %q", got, frameworkID)
	}
	var started struct{ ID string }
	poll.Eventually(t, 20*time.Second, func() error {
		code, body := haCall(t, http.MethodPost, "http://"+a+"/v1/jobs/prod.backup/runs", "") // proxied to b
		if code != http.StatusCreated {
			return fmt.Errorf("start a run via the old leader: %d %s", code, body)
		}
		return json.Unmarshal([]byte(body), &started)
	})
	if code, body := haCall(t, http.MethodGet, "http://"+b+"/v1/jobs/prod.backup/runs/"+started.ID, ""); code != http.StatusOK {
		t.Fatalf("GET the run on the new leader: %d %s", code, body)
	}
}
