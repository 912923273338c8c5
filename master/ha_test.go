package master

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/apicodec"
	"github.com/agoracluster/agora/internal/poll"
	"github.com/agoracluster/agora/master/ledger"
	"github.com/agoracluster/agora/master/mastertest"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/recordio"
	"github.com/agoracluster/agora/resources"
	"github.com/agoracluster/agora/zookeeper"
	"github.com/agoracluster/agora/zookeeper/zktest"
)

// haMaster is a master in ZooKeeper serving on 127.0.0.1:0.
type haMaster struct {
	m      *Master
	sess   *zookeeper.Session
	url    string
	cancel context.CancelFunc
	done   chan error
}

func startHAMaster(t *testing.T, zkURL string) *haMaster {
	t.Helper()
	sess := zktest.Connect(t, zkURL, 2*time.Second)
	cfg := DefaultConfig()
	cfg.WorkDir = t.TempDir()
	cfg.Hostname = "localhost"
	m, err := NewHA(cfg, HA{Session: sess, Path: "/agora"}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	hm := &haMaster{m: m, sess: sess, url: "http://" + ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { hm.done <- m.Run(ctx, ln) }()
	t.Cleanup(func() { hm.stop(t) })
	return hm
}

// stop cancels Run (withdrawing from the election) and waits for it.
func (hm *haMaster) stop(t *testing.T) {
	t.Helper()
	if hm.cancel == nil {
		return
	}
	hm.cancel()
	hm.cancel = nil
	if err := <-hm.done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

// noRedirects is a client that shows 307s instead of following them.
func noRedirects() *http.Client {
	return &http.Client{
		Transport:     &http.Transport{},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func stateOf(t *testing.T, c *http.Client, url string) map[string]any {
	t.Helper()
	resp, err := c.Get(url + "/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// subscribeAgent subscribes an agent (id "" for a new one) and returns its id
// and the open stream.
func subscribeAgent(t *testing.T, c *http.Client, url, id string) (string, io.ReadCloser) {
	t.Helper()
	info := &mesos.AgentInfo{Hostname: proto.String("a"), Resources: resources.MustParse("cpus:1;mem:64").ToProto()}
	if id != "" {
		info.Id = mastertest.AgentID(id)
	}
	body := mustMarshal(t, apicodec.JSON, &agorapb.AgentCall{Type: agorapb.AgentCall_SUBSCRIBE.Enum(), Subscribe: &agorapb.AgentCall_Subscribe{AgentInfo: info}})
	req, _ := http.NewRequest(http.MethodPost, url+"/api/v1/agent", bytes.NewReader(body))
	req.Header.Set("Content-Type", apicodec.MediaJSON)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("subscribe: %s: %s", resp.Status, b)
	}
	rec, err := recordio.NewReader(resp.Body, 0).ReadRecord()
	if err != nil {
		t.Fatal(err)
	}
	ev := &agorapb.AgentEvent{}
	if err := apicodec.JSON.Unmarshal(rec, ev); err != nil {
		t.Fatal(err)
	}
	return ev.GetSubscribed().GetAgentId().GetValue(), resp.Body
}

func agentState(t *testing.T, m *Master, id string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var state string
	if err := m.Do(ctx, func(l *ledger.Ledger) {
		for _, a := range l.Snapshot().Agents {
			if a.Info.GetId().GetValue() == id {
				state = a.State
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	return state
}

// TestHAStandbyAndFailover: the first master leads, the second is a standby that
// answers with 307 to the leader; when the leader withdraws, its streams close and
// the standby leads with the registry the first wrote.
func TestHAStandbyAndFailover(t *testing.T) {
	zk := zktest.Start(t)
	c := noRedirects()
	defer c.CloseIdleConnections()

	m1 := startHAMaster(t, zk.URL("/agora"))
	poll.Eventually(t, 30*time.Second, m1.m.Leading, "first master leads")
	m2 := startHAMaster(t, zk.URL("/agora"))
	poll.Eventually(t, 30*time.Second, func() bool {
		_, _, err := m2.m.standbyLeader()
		return err == nil
	}, "standby sees the leader")
	if m2.m.Leading() {
		t.Fatal("second master leads too")
	}
	leaderAddr := strings.TrimPrefix(m1.url, "http://")

	// The standby redirects API calls and /redirect to the leader.
	for _, path := range []string{"/api/v1/scheduler", "/master/api/v1/scheduler", "/api/v1/agent", "/api/v1", "/master/api/v1", "/redirect", "/master/redirect", "/tasks", "/master/metrics/snapshot"} {
		resp, err := c.Post(m2.url+path, apicodec.MediaJSON, strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := "//" + leaderAddr + path
		if strings.HasSuffix(path, "redirect") {
			want = "//" + leaderAddr + "/"
		}
		if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != want {
			t.Errorf("standby %s: %s Location %q, want 307 to %s", path, resp.Status, resp.Header.Get("Location"), want)
		}
	}
	resp, err := c.Get(m2.url + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("standby /health: %s", resp.Status)
	}
	m1Info := m1.m.info
	if doc := stateOf(t, c, m2.url); doc["elected"] != false || doc["leader"] != m1Info.GetPid() || doc["leader_info"] == nil {
		t.Errorf("standby /state: elected %v leader %v, want false and %s", doc["elected"], doc["leader"], m1Info.GetPid())
	}
	if doc := stateOf(t, c, m1.url); doc["elected"] != true || doc["leader"] != m1Info.GetPid() {
		t.Errorf("leader /state: elected %v leader %v", doc["elected"], doc["leader"])
	}

	// An operator sets a weight and a quota on the leader; they are kept in
	// ZooKeeper for the next leader.
	for _, body := range []string{
		`{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"eng","weight":2}]}}`,
		`{"type":"UPDATE_QUOTA","update_quota":{"force":true,"quota_configs":[{"role":"eng","limits":{"cpus":{"value":3}}}]}}`,
	} {
		resp, err := c.Post(m1.url+"/api/v1", apicodec.MediaJSON, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s", body, resp.Status)
		}
	}

	// An agent registers with the leader; the leader withdraws.
	id, stream := subscribeAgent(t, c, m1.url, "")
	defer stream.Close()
	m1.stop(t)
	if _, err := io.Copy(io.Discard, stream); err != nil && !strings.Contains(err.Error(), "closed") {
		t.Logf("agent stream ended: %v", err)
	}
	poll.Eventually(t, 30*time.Second, m2.m.Leading, "standby leads")
	if st := agentState(t, m2.m, id); st != "recovered" {
		t.Fatalf("agent %s on the new leader: %q, want recovered from the registry", id, st)
	}
	again, stream2 := subscribeAgent(t, c, m2.url, id)
	defer stream2.Close()
	if again != id {
		t.Errorf("re-registered as %s, want %s", again, id)
	}
	if st := agentState(t, m2.m, id); st != "active" {
		t.Errorf("agent after re-registering: %q, want active", st)
	}
	var weights map[string]float64
	var limit float64
	if err := m2.m.Do(context.Background(), func(l *ledger.Ledger) {
		weights = l.Weights()
		limit = l.Quotas()["eng"].Limits["cpus"]
	}); err != nil {
		t.Fatal(err)
	}
	if weights["eng"] != 2 || limit != 3 {
		t.Errorf("after failover: weights %v, eng's cpus limit %v; want eng=2 and 3", weights, limit)
	}
}

// TestHALeaderStepsDownWhenItsZnodeGoes: a leader whose election znode vanishes
// (as after its session expired) stops leading at once, closes its streams and
// contends anew behind the standby, which leads.
func TestHALeaderStepsDownWhenItsZnodeGoes(t *testing.T) {
	zk := zktest.Start(t)
	c := noRedirects()
	defer c.CloseIdleConnections()
	m1 := startHAMaster(t, zk.URL("/agora"))
	poll.Eventually(t, 30*time.Second, m1.m.Leading, "first master leads")
	m2 := startHAMaster(t, zk.URL("/agora"))
	_, stream := subscribeAgent(t, c, m1.url, "")
	defer stream.Close()

	other := zktest.Connect(t, zk.URL("/agora"), 2*time.Second)
	children, _, err := other.Conn().Children("/agora")
	if err != nil {
		t.Fatal(err)
	}
	var first string
	for _, ch := range children {
		if strings.HasPrefix(ch, "json.info_") && (first == "" || ch < first) {
			first = ch
		}
	}
	if err := other.Conn().Delete("/agora/"+first, -1); err != nil {
		t.Fatal(err)
	}
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		_, _ = io.Copy(io.Discard, stream)
	}()
	select {
	case <-ended:
	case <-time.After(30 * time.Second):
		t.Fatal("the deposed leader's agent stream stays open")
	}
	poll.Eventually(t, 30*time.Second, m2.m.Leading, "standby leads")
	poll.Eventually(t, 30*time.Second, func() bool { return !m1.m.Leading() }, "deposed master is a standby")
	resp, err := c.Post(m1.url+"/api/v1/scheduler", apicodec.MediaJSON, strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := "//" + strings.TrimPrefix(m2.url, "http://") + "/api/v1/scheduler"; resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != want {
		t.Errorf("deposed master: %s Location %q, want 307 to %s", resp.Status, resp.Header.Get("Location"), want)
	}
}
