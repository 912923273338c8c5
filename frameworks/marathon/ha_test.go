package marathon

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

	"github.com/agoracluster/agora/frameworks/ha"
	"github.com/agoracluster/agora/frameworks/ha/hatest"
	"github.com/agoracluster/agora/frameworks/sdk/sdktest"
	"github.com/agoracluster/agora/internal/poll"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
	"github.com/agoracluster/agora/zookeeper/zktest"
)

// haInstance is one Marathon of several sharing a ZooKeeper.
type haInstance struct {
	addr string
	base string
}

func startHAInstance(t *testing.T, zkURL string, fm *sdktest.Master) *haInstance {
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
	cfg.TickInterval = 20 * time.Millisecond
	log := zaptest.NewLogger(t).Named(ln.Addr().String())
	m, err := New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	node := hatest.OpenNode(t, zkURL, ln.Addr().String(), log)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- m.RunHA(ctx, ln, node) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("RunHA: %v", err)
		}
	})
	return &haInstance{addr: ln.Addr().String(), base: "http://" + ln.Addr().String()}
}

// leaderIs waits until every instance names want as the leader.
func leaderIs(t *testing.T, want string, all ...*haInstance) {
	t.Helper()
	poll.Eventually(t, 20*time.Second, func() error {
		for _, in := range all {
			resp, body := hatest.Call(t, http.MethodGet, in.base+"/v2/leader", "")
			if resp.StatusCode != http.StatusOK || body != fmt.Sprintf(`{"leader":%q}`, want)+"\n" && body != fmt.Sprintf(`{"leader":%q}`, want) {
				return fmt.Errorf("%s: /v2/leader %d %s, want %s", in.addr, resp.StatusCode, body, want)
			}
		}
		return nil
	})
}

func TestHAFollowerProxiesAndAbdicationKeepsTheApps(t *testing.T) {
	srv := zktest.Start(t)
	fm := sdktest.NewMaster()
	t.Cleanup(fm.Close)
	a := startHAInstance(t, srv.URL("/marathon"), fm)
	leaderIs(t, a.addr, a)
	b := startHAInstance(t, srv.URL("/marathon"), fm)
	leaderIs(t, a.addr, a, b)
	sub, err := fm.Next(scheduler.Call_SUBSCRIBE, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if sub.GetSubscribe().GetFrameworkInfo().GetId() != nil {
		t.Fatalf("first subscription carries a framework id: %v", sub)
	}
	var frameworkID string
	poll.Eventually(t, 20*time.Second, func() error {
		_, body := hatest.Call(t, http.MethodGet, a.base+"/v2/info", "")
		var info struct{ FrameworkID string }
		if err := json.Unmarshal([]byte(body), &info); err != nil || info.FrameworkID == "" {
			return errors.New("not subscribed")
		}
		frameworkID = info.FrameworkID
		return nil
	})

	// The follower proxies a change to the leader.
	resp, body := hatest.Call(t, http.MethodPost, b.base+"/v2/apps", `{"id":"/web","cmd":"sleep 100","cpus":0.1,"mem":16,"instances":2}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /v2/apps on the follower: %d %s", resp.StatusCode, body)
	}
	if via := resp.Header.Get(ha.ViaHeader); via != "1.1 "+b.addr {
		t.Errorf("Via %q, want the follower", via)
	}
	if l := resp.Header.Get(ha.LeaderHeader); l != "http://"+a.addr {
		t.Errorf("%s %q, want the leader", ha.LeaderHeader, l)
	}
	if resp, body := hatest.Call(t, http.MethodGet, a.base+"/v2/apps/web", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET the app on the leader: %d %s", resp.StatusCode, body)
	}
	var info struct {
		FrameworkID string
		Elected     bool
		Leader      string
		ZK          map[string]any `json:"zookeeper_config"`
		Config      map[string]any `json:"marathon_config"`
	}
	_, body = hatest.Call(t, http.MethodGet, b.base+"/v2/info", "")
	if err := json.Unmarshal([]byte(body), &info); err != nil {
		t.Fatal(err)
	}
	if info.Elected || info.Leader != a.addr || info.FrameworkID != frameworkID || info.ZK["zk"] != srv.URL("/marathon") ||
		info.ZK["zk_session_timeout"] != float64(2000) || info.Config["ha"] != true {
		t.Fatalf("follower's /v2/info: %s", body)
	}
	if resp, body := hatest.Call(t, http.MethodGet, b.base+"/ping", ""); resp.StatusCode != http.StatusOK || body != "pong" {
		t.Fatalf("follower's /ping: %d %s", resp.StatusCode, body)
	}

	// The leader abdicates: the follower leads with the same framework id and apps.
	resp, body = hatest.Call(t, http.MethodDelete, b.base+"/v2/leader", "") // proxied to the leader
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Leadership abdicated") {
		t.Fatalf("DELETE /v2/leader: %d %s", resp.StatusCode, body)
	}
	leaderIs(t, b.addr, a, b)
	sub, err = fm.Next(scheduler.Call_SUBSCRIBE, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := sub.GetSubscribe().GetFrameworkInfo().GetId().GetValue(); got != frameworkID {
		t.Fatalf("new leader subscribes with framework id %q, want %q", got, frameworkID)
	}
	poll.Eventually(t, 20*time.Second, func() error {
		resp, body := hatest.Call(t, http.MethodGet, a.base+"/v2/apps/web", "") // proxied to b now
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"instances":2`) {
			return fmt.Errorf("GET /v2/apps/web via the old leader: %d %s", resp.StatusCode, body)
		}
		return nil
	})
	_, body = hatest.Call(t, http.MethodGet, a.base+"/v2/info", "")
	if err := json.Unmarshal([]byte(body), &info); err != nil || info.Elected || info.Leader != b.addr {
		t.Fatalf("old leader's /v2/info: %s", body)
	}
}
