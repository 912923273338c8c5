package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/internal/poll"
)

// startHAFramework runs `agora <kind> --zk zkURL` (marathon or batch) as one of several
// instances, with a 2s ZooKeeper session so that a killed leader's lead ends soon.
func startHAFramework(t *testing.T, c *cluster.Cluster, kind, zkURL string, n int) (*cluster.Process, marathonClient) {
	t.Helper()
	return startHAFrameworkWith(t, c, kind, zkURL, n, nil)
}

// startHAFrameworkWith is startHAFramework with extra flags; with --tls_cert_file among
// them the instance serves HTTPS, and its client is the cluster's (c.HTTP).
func startHAFrameworkWith(t *testing.T, c *cluster.Cluster, kind, zkURL string, n int, extra []string) (*cluster.Process, marathonClient) {
	t.Helper()
	port := strconv.Itoa(cluster.FreePort(t))
	dir := filepath.Join(t.TempDir(), kind)
	addr := "127.0.0.1:" + port
	args := append([]string{kind, "--master", c.MasterFlag(),
		"--http_port", port, "--http_address", "127.0.0.1", "--hostname", "127.0.0.1", "--work_dir", dir,
		"--zk", zkURL, "--zk_session_timeout", "2000"}, extra...)
	p := cluster.Start(t, fmt.Sprintf("%s-%d", kind, n), addr, dir, args...)
	mc := marathonClient{t: t, base: "http://" + addr}
	if slices.Contains(extra, "--tls_cert_file") {
		mc.base, mc.http = "https://"+addr, c.HTTP
	}
	waitPing(t, mc)
	return p, mc
}

// leaderOf waits until every client names the same leader at path (/v2/leader or
// /v1/leader), other than not, and returns its address.
func leaderOf(t *testing.T, path, not string, clients ...marathonClient) string {
	t.Helper()
	var leader string
	poll.Eventually(t, 30*time.Second, func() error {
		leader = ""
		for _, mc := range clients {
			code, b := mc.do(http.MethodGet, path, "")
			var l struct{ Leader string }
			if code != http.StatusOK || json.Unmarshal(b, &l) != nil || l.Leader == "" {
				return fmt.Errorf("%s%s: %d %s", mc.base, path, code, b)
			}
			if l.Leader == not {
				return fmt.Errorf("%s still names %s as the leader", mc.base, not)
			}
			if leader != "" && l.Leader != leader {
				return fmt.Errorf("instances disagree on the leader: %s and %s", leader, l.Leader)
			}
			leader = l.Leader
		}
		return nil
	})
	return leader
}

// pickLeader splits two instances into the leader and the standby.
func pickLeader(t *testing.T, leader string, ps []*cluster.Process, mcs []marathonClient) (*cluster.Process, marathonClient, marathonClient) {
	t.Helper()
	for i, p := range ps {
		if p.Addr == leader {
			return p, mcs[i], mcs[1-i]
		}
	}
	t.Fatalf("leader %s is none of the instances", leader)
	return nil, marathonClient{}, marathonClient{}
}

// TestMarathonHAFailover runs two `agora marathon --zk` instances: an app created through the
// standby (proxied to the leader) keeps its tasks when the leader is SIGKILLed: the standby
// leads with the same framework id, the same task ids run (none relaunched), and a scale-up
// then completes. The killed instance, restarted, takes over again when the leader is
// stopped with SIGTERM.
func TestMarathonHAFailover(t *testing.T) {
	zk := cluster.StartZooKeeper(t)
	c := cluster.New(t, cluster.Options{Agents: 1})
	p1, m1 := startHAFramework(t, c, "marathon", zk.URL("/marathon"), 1)
	p2, m2 := startHAFramework(t, c, "marathon", zk.URL("/marathon"), 2)
	leader := leaderOf(t, "/v2/leader", "", m1, m2)
	lp, lc, sc := pickLeader(t, leader, []*cluster.Process{p1, p2}, []marathonClient{m1, m2})

	sc.must(http.MethodPost, "/v2/apps", `{"id":"/web","cmd":"sleep 1000","cpus":0.1,"mem":16,"instances":2}`, http.StatusCreated, nil)
	before := taskIDs(lc.settled("/web", 2, false, time.Minute))
	var info struct {
		FrameworkID string `json:"frameworkId"`
		Elected     bool
	}
	sc.must(http.MethodGet, "/v2/info", "", http.StatusOK, &info)
	if info.Elected {
		t.Fatal("the standby reports elected")
	}
	lc.must(http.MethodGet, "/v2/info", "", http.StatusOK, &info)
	if !info.Elected || info.FrameworkID == "" {
		t.Fatalf("leader's info %+v", info)
	}

	lp.Kill()
	if got := leaderOf(t, "/v2/leader", leader, sc); "http://"+got != sc.base {
		t.Fatalf("%s leads, want the standby %s", got, sc.base)
	}
	after := taskIDs(sc.settled("/web", 2, false, time.Minute))
	if !slices.Equal(before, after) {
		t.Fatalf("tasks %v after the failover, want the same %v (none relaunched)", after, before)
	}
	var now struct {
		FrameworkID string `json:"frameworkId"`
	}
	sc.must(http.MethodGet, "/v2/info", "", http.StatusOK, &now)
	if now.FrameworkID != info.FrameworkID {
		t.Fatalf("framework id %q after the failover, want %q", now.FrameworkID, info.FrameworkID)
	}

	sc.must(http.MethodPut, "/v2/apps/web", `{"instances":3}`, http.StatusOK, nil)
	scaled := taskIDs(sc.settled("/web", 3, false, time.Minute))
	for _, id := range before {
		if !slices.Contains(scaled, id) {
			t.Fatalf("task %s gone after the scale-up: %v", id, scaled)
		}
	}

	// The killed instance comes back as the standby; the leader stopped with SIGTERM
	// withdraws from the latch and the other leads again, with the same tasks.
	lp.Restart()
	waitPing(t, lc)
	leaderOf(t, "/v2/leader", "", lc, sc)
	var sp *cluster.Process
	for _, p := range []*cluster.Process{p1, p2} {
		if "http://"+p.Addr == sc.base {
			sp = p
		}
	}
	sp.Stop()
	if got := leaderOf(t, "/v2/leader", "", lc); "http://"+got != lc.base {
		t.Fatalf("%s leads after the SIGTERM, want the restarted %s", got, lc.base)
	}
	if again := taskIDs(lc.settled("/web", 3, false, time.Minute)); !slices.Equal(again, scaled) {
		t.Fatalf("tasks %v after the second failover, want the same %v", again, scaled)
	}
}

// TestBatchHAFailover runs two `agora batch --zk` instances: a job created through the
// standby survives the leader's SIGKILL, and a run of it started on the new leader succeeds.
func TestBatchHAFailover(t *testing.T) {
	zk := cluster.StartZooKeeper(t)
	c := cluster.New(t, cluster.Options{Agents: 1})
	p1, b1 := startHAFramework(t, c, "batch", zk.URL("/batch"), 1)
	p2, b2 := startHAFramework(t, c, "batch", zk.URL("/batch"), 2)
	leader := leaderOf(t, "/v1/leader", "", b1, b2)
	lp, lc, sc := pickLeader(t, leader, []*cluster.Process{p1, p2}, []marathonClient{b1, b2})

	sc.must(http.MethodPost, "/v1/jobs", `{"id":"hello","run":{"cmd":"echo hello","cpus":0.1,"mem":32}}`, http.StatusCreated, nil)
	lc.must(http.MethodGet, "/v1/jobs/hello", "", http.StatusOK, nil)

	lp.Kill()
	if got := leaderOf(t, "/v1/leader", leader, sc); "http://"+got != sc.base {
		t.Fatalf("%s leads, want the standby %s", got, sc.base)
	}
	poll.Eventually(t, 30*time.Second, func() error {
		if code, b := sc.do(http.MethodGet, "/v1/jobs/hello", ""); code != http.StatusOK {
			return fmt.Errorf("GET the job on the new leader: %d %s", code, b)
		}
		return nil
	})
	id := startRun(sc, "hello")
	if r := waitRunDone(t, sc, "hello", id, time.Minute); r.Status != "SUCCESS" {
		t.Fatalf("run %+v after the failover, want SUCCESS", r)
	}
}
