package election_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/agoracluster/agora/election"
	"github.com/agoracluster/agora/internal/poll"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/zookeeper"
	"github.com/agoracluster/agora/zookeeper/zktest"
)

const path = "/agora"

type master struct {
	sess *zookeeper.Session
	c    *election.Contender
	info *mesos.MasterInfo
}

// contend starts a master contending through its own session to url.
func contend(t *testing.T, url string, sessionTimeout time.Duration, id string) *master {
	t.Helper()
	sess := zktest.Connect(t, url, sessionTimeout)
	info := masterInfo(id, "127.0.0.1", 5050)
	c, err := election.ContendMaster(sess, path, info, zaptest.NewLogger(t).Named(id))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Withdraw(context.Background()) })
	// Wait until its znode exists so that the line's order is the order
	// of the calls.
	poll.Eventually(t, 30*time.Second, func() bool { st, _ := c.Status(); return st.Node != "" }, id+" in line")
	return &master{sess: sess, c: c, info: info}
}

func leading(m *master) bool { st, _ := m.c.Status(); return st.Leading }

func detect(t *testing.T, url string) *election.MasterDetector {
	t.Helper()
	d, err := election.DetectMaster(zktest.Connect(t, url, 4*time.Second), path, zaptest.NewLogger(t).Named("detector"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

// waitLeader waits until the detector reports the master with id.
func waitLeader(t *testing.T, d *election.MasterDetector, id string) election.Observation[*mesos.MasterInfo] {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	obs, err := d.Wait(ctx, func(o election.Observation[*mesos.MasterInfo]) bool {
		return o.Err == nil && o.Leader.GetId() == id
	})
	if err != nil {
		t.Fatalf("detector: leader %s not seen: %v (last: node %q, err %v)", id, err, obs.Node, obs.Err)
	}
	return obs
}

// exactlyOne checks that exactly the master want leads.
func exactlyOne(t *testing.T, want *master, all ...*master) {
	t.Helper()
	poll.Eventually(t, 30*time.Second, func() bool { return leading(want) }, want.info.GetId()+" leading")
	for _, m := range all {
		if m != want && leading(m) {
			t.Fatalf("%s leads too", m.info.GetId())
		}
	}
}

func TestThreeContendersOneLeadsAndHandOver(t *testing.T) {
	srv := zktest.Start(t)
	d := detect(t, srv.URL(path))
	m1 := contend(t, srv.URL(path), 4*time.Second, "m1")
	m2 := contend(t, srv.URL(path), 4*time.Second, "m2")
	m3 := contend(t, srv.URL(path), 4*time.Second, "m3")
	exactlyOne(t, m1, m1, m2, m3)
	obs := waitLeader(t, d, "m1")
	if st, _ := m1.c.Status(); obs.Node != st.Node || !strings.HasPrefix(st.Node, path+"/json.info_") {
		t.Fatalf("detector node %q, leader node %q", obs.Node, st.Node)
	}

	// Withdraw (SIGTERM): the next in line takes over at once.
	if err := m1.c.Withdraw(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st, _ := m1.c.Status(); st.Leading || st.Node != "" {
		t.Fatalf("after Withdraw: %+v", st)
	}
	exactlyOne(t, m2, m1, m2, m3)
	waitLeader(t, d, "m2")

	// The leader's session ends (a crash): its znode goes with it.
	m2.sess.Close()
	exactlyOne(t, m3, m1, m2, m3)
	waitLeader(t, d, "m3")
	if st, _ := m2.c.Status(); st.Leading {
		t.Fatal("m2 leads after its session closed")
	}
}

func TestAbdicateMovesToTheBackOfTheLine(t *testing.T) {
	srv := zktest.Start(t)
	m1 := contend(t, srv.URL(path), 4*time.Second, "m1")
	m2 := contend(t, srv.URL(path), 4*time.Second, "m2")
	exactlyOne(t, m1, m1, m2)
	before, _ := m1.c.Status()
	m1.c.Abdicate()
	exactlyOne(t, m2, m1, m2)
	poll.Eventually(t, 30*time.Second, func() bool { st, _ := m1.c.Status(); return st.Node != "" && st.Node != before.Node }, "m1 back in line")
	if err := m2.c.Withdraw(context.Background()); err != nil {
		t.Fatal(err)
	}
	exactlyOne(t, m1, m1, m2)
	if st, _ := m1.c.Status(); st.Term != before.Term+1 {
		t.Fatalf("term %d, want %d", st.Term, before.Term+1)
	}
}

// TestPartitionedLeaderStepsDown cuts the leader off from ZooKeeper: it
// stops leading at once, the standby leads once the session expired, and
// the old leader comes back as a standby with a new znode.
func TestPartitionedLeaderStepsDown(t *testing.T) {
	srv := zktest.Start(t)
	proxy := zktest.NewProxy(t, srv.Addr())
	m1 := contend(t, proxy.URL(path), time.Second, "m1")
	m2 := contend(t, srv.URL(path), 4*time.Second, "m2")
	exactlyOne(t, m1, m1, m2)
	first, _ := m1.c.Status()

	proxy.Cut()
	poll.Eventually(t, 30*time.Second, func() bool { return !leading(m1) }, "m1 stepping down")
	exactlyOne(t, m2, m1, m2) // after m1's session expired
	proxy.Heal()
	poll.Eventually(t, 30*time.Second, func() bool {
		st, _ := m1.c.Status()
		return st.Node != "" && st.Node != first.Node
	}, "m1 in line with a new znode")
	exactlyOne(t, m2, m1, m2)
	if st, _ := m1.c.Status(); st.Term != first.Term {
		t.Fatalf("m1 term %d, want %d (never led again)", st.Term, first.Term)
	}
}

// TestLeaderSurvivesZooKeeperRestart: while ZooKeeper is down nobody
// leads; after a quick restart the session and its znode are still there
// and the same master leads again, in a new term.
func TestLeaderSurvivesZooKeeperRestart(t *testing.T) {
	srv := zktest.Start(t)
	m1 := contend(t, srv.URL(path), 10*time.Second, "m1")
	m2 := contend(t, srv.URL(path), 10*time.Second, "m2")
	d := detect(t, srv.URL(path))
	exactlyOne(t, m1, m1, m2)
	waitLeader(t, d, "m1")
	first, _ := m1.c.Status()
	srv.Stop()
	poll.Eventually(t, 30*time.Second, func() bool { return !leading(m1) }, "m1 stepping down while ZooKeeper is down")
	// Detectors keep the last leader meanwhile: agents stay with it.
	if obs, _ := d.Observe(); obs.Err != nil || obs.Leader.GetId() != "m1" {
		t.Fatalf("detector while ZooKeeper is down: %v, %v", obs.Leader.GetId(), obs.Err)
	}
	srv.Restart()
	exactlyOne(t, m1, m1, m2)
	waitLeader(t, d, "m1")
	st, _ := m1.c.Status()
	if st.Node != first.Node || st.Term != first.Term+1 {
		t.Fatalf("after restart node %q term %d, want %q term %d", st.Node, st.Term, first.Node, first.Term+1)
	}
}

func TestDetectorIgnoresForeignAndReportsCorruptZnodes(t *testing.T) {
	srv := zktest.Start(t)
	admin := zktest.Connect(t, srv.URL(path), 4*time.Second)
	d := detect(t, srv.URL(path))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := d.Wait(ctx, func(o election.Observation[*mesos.MasterInfo]) bool { return errors.Is(o.Err, election.ErrNoLeader) }); err != nil {
		t.Fatal(err)
	}
	if obs, err := election.LookupMaster(ctx, admin, path); err != nil || !errors.Is(obs.Err, election.ErrNoLeader) {
		t.Fatalf("LookupMaster without a path = %v, %v", obs.Err, err)
	}
	if err := admin.EnsurePath(ctx, path); err != nil {
		t.Fatal(err)
	}
	// Foreign znodes that are not contenders: ignored.
	for _, name := range []string{"log_replicas", "info_0000000000", "json.info_x", "zz"} {
		if _, err := admin.Conn().Create(path+"/"+name, []byte("foreign"), 0, admin.ACL()); err != nil {
			t.Fatal(err)
		}
	}
	m1 := contend(t, srv.URL(path), 4*time.Second, "m1")
	waitLeader(t, d, "m1")
	exactlyOne(t, m1, m1)
	if obs, err := election.LookupMaster(ctx, admin, path); err != nil || obs.Err != nil || obs.Leader.GetId() != "m1" {
		t.Fatalf("LookupMaster = %+v, %v", obs, err)
	}

	// A corrupt contender znode ahead of everyone: a clear error.
	bad := path + "/json.info_0000000000"
	if _, err := admin.Conn().Create(bad, []byte("{not json"), 0, admin.ACL()); err != nil {
		t.Fatal(err)
	}
	obs, err := d.Wait(ctx, func(o election.Observation[*mesos.MasterInfo]) bool { return o.Err != nil })
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(obs.Err, election.ErrBadLeaderData) || !strings.Contains(obs.Err.Error(), bad) {
		t.Fatalf("err = %v, want ErrBadLeaderData naming %s", obs.Err, bad)
	}
	if obs, err := election.LookupMaster(ctx, admin, path); err != nil || !errors.Is(obs.Err, election.ErrBadLeaderData) {
		t.Fatalf("LookupMaster behind the corrupt znode = %v, %v", obs.Err, err)
	}
	poll.Eventually(t, 30*time.Second, func() bool { return !leading(m1) }, "m1 not leading behind the corrupt znode")
	if err := admin.Conn().Delete(bad, -1); err != nil {
		t.Fatal(err)
	}
	waitLeader(t, d, "m1")
	exactlyOne(t, m1, m1)
}

// TestContendWithArbitraryPayload is the leader latch of a framework:
// its own prefix and payload, detected with its own decoder.
func TestContendWithArbitraryPayload(t *testing.T) {
	srv := zktest.Start(t)
	cfg := election.Config{Path: "/marathon/leader", Prefix: "latch-"}
	var cs []*election.Contender
	for i := range 2 {
		sess := zktest.Connect(t, srv.URL("/marathon"), 4*time.Second)
		c, err := election.Contend(sess, cfg, fmt.Appendf(nil, "host%d:8080", i), zaptest.NewLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Withdraw(context.Background()) })
		poll.Eventually(t, 30*time.Second, func() bool { st, _ := c.Status(); return st.Node != "" }, "in line")
		cs = append(cs, c)
	}
	d, err := election.NewDetector(zktest.Connect(t, srv.URL("/marathon"), 4*time.Second), cfg,
		func(b []byte) (string, error) { return string(b), nil }, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cs[0].WaitLeading(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Wait(ctx, func(o election.Observation[string]) bool { return o.Leader == "host0:8080" }); err != nil {
		t.Fatal(err)
	}
	if err := cs[0].Withdraw(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Wait(ctx, func(o election.Observation[string]) bool { return o.Leader == "host1:8080" }); err != nil {
		t.Fatal(err)
	}
	if _, err := cs[0].WaitLeading(ctx); !errors.Is(err, election.ErrStopped) {
		t.Fatalf("WaitLeading after Withdraw: %v", err)
	}
}

// TestPathDeletedUnderContenders: someone removes the election's znodes
// (an operator's cleanup); the contenders notice and contend anew.
func TestPathDeletedUnderContenders(t *testing.T) {
	srv := zktest.Start(t)
	admin := zktest.Connect(t, srv.URL(path), 4*time.Second)
	m1 := contend(t, srv.URL(path), 4*time.Second, "m1")
	exactlyOne(t, m1, m1)
	first, _ := m1.c.Status()
	if err := admin.Conn().Delete(first.Node, -1); err != nil {
		t.Fatal(err)
	}
	if err := admin.Conn().Delete(path, -1); err != nil {
		t.Fatal(err)
	}
	// The recreated path counts from 0 again, so the name may repeat: the
	// term tells the new candidacy from the old.
	poll.Eventually(t, 30*time.Second, func() bool {
		st, _ := m1.c.Status()
		return st.Leading && st.Term == first.Term+1
	}, "m1 leading in a new term")
	if ok, _, err := admin.Conn().Exists(path); err != nil || !ok {
		t.Fatalf("election path not recreated: %v, %v", ok, err)
	}
}

// TestLeaderLatch is the latch of two framework instances: the first
// leads, the detector names its address, and Abdicate (DELETE /v2/leader)
// hands over to the second.
func TestLeaderLatch(t *testing.T) {
	srv := zktest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var latches []*election.Contender
	for _, addr := range []string{"10.0.0.1:8080", "10.0.0.2:8080"} {
		sess := zktest.Connect(t, srv.URL("/marathon"), 4*time.Second)
		c, err := election.ContendLatch(sess, "/marathon", addr, zaptest.NewLogger(t).Named(addr))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Withdraw(context.Background()) })
		poll.Eventually(t, 30*time.Second, func() bool { st, _ := c.Status(); return st.Node != "" }, addr+" in line")
		latches = append(latches, c)
	}
	if st, _ := latches[0].Status(); !strings.HasPrefix(st.Node, "/marathon/leader/latch-") {
		t.Fatalf("node %q, want under /marathon/leader", st.Node)
	}
	d, err := election.DetectLatch(zktest.Connect(t, srv.URL("/marathon"), 4*time.Second), "/marathon", zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := latches[0].WaitLeading(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Wait(ctx, func(o election.Observation[string]) bool { return o.Leader == "10.0.0.1:8080" }); err != nil {
		t.Fatal(err)
	}
	latches[0].Abdicate()
	if _, err := latches[1].WaitLeading(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Wait(ctx, func(o election.Observation[string]) bool { return o.Leader == "10.0.0.2:8080" }); err != nil {
		t.Fatal(err)
	}
	if _, err := election.ContendLatch(zktest.Connect(t, srv.URL("/marathon"), 4*time.Second), "/marathon", "no-port", zaptest.NewLogger(t)); err == nil {
		t.Fatal("ContendLatch with a bad address: want an error")
	}
}

func TestDecodeAddress(t *testing.T) {
	for in, ok := range map[string]bool{"h:8080": true, "[::1]:1": true, "h": false, ":80": false, "h:0": false, "h:70000": false, "h:x": false} {
		if _, err := election.DecodeAddress([]byte(in)); (err == nil) != ok {
			t.Errorf("DecodeAddress(%q) = %v, want ok=%v", in, err, ok)
		}
	}
}
