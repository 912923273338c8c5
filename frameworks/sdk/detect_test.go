package sdk_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/election"
	"github.com/agoracluster/agora/frameworks/sdk"
	"github.com/agoracluster/agora/frameworks/sdk/sdktest"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
	"github.com/agoracluster/agora/zookeeper/zktest"
)

// elect makes the fake master m a contender in the masters' election under /agora, as a
// real master started with --zk does.
func elect(t *testing.T, srv *zktest.Server, m *sdktest.Master, id string) *election.Contender {
	t.Helper()
	host, port, err := net.SplitHostPort(m.Addr())
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	p := int32(n)
	info := &mesos.MasterInfo{
		Id: proto.String(id), Ip: proto.Uint32(16777343), Port: proto.Uint32(uint32(p)),
		Hostname: proto.String(host),
		Address:  &mesos.Address{Hostname: proto.String(host), Ip: proto.String(host), Port: proto.Int32(p)},
	}
	sess := zktest.Connect(t, srv.URL("/agora"), 4*time.Second)
	c, err := election.ContendMaster(sess, "/agora", info, zaptest.NewLogger(t).Named(id))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Withdraw(context.Background()) })
	deadline := time.Now().Add(wait)
	for st, changed := c.Status(); st.Node == ""; st, changed = c.Status() {
		select {
		case <-changed:
		case <-time.After(time.Until(deadline)):
			t.Fatalf("%s not in line", id)
		}
	}
	return c
}

// TestFollowLeaderThroughZooKeeper: with a zk:// master the scheduler subscribes to the
// elected master and, when the leader withdraws, re-subscribes to the next one with its
// framework id; the old master, still up, is left alone.
func TestFollowLeaderThroughZooKeeper(t *testing.T) {
	srv := zktest.Start(t)
	m1, m2 := newMaster(t), newMaster(t)
	m1.SetFrameworkID("fw-zk")
	h := newRecorder()
	run(t, testConfig(srv.URL("/agora")), h) // no master elected yet: the scheduler waits
	c1 := elect(t, srv, m1, "m1")
	elect(t, srv, m2, "m2")
	next(t, m1, scheduler.Call_SUBSCRIBE)
	recv(t, h.subscribed, "SUBSCRIBED from m1")

	if err := c1.Withdraw(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, h.disconnected, "Disconnected"); !errors.Is(err, sdk.ErrLeaderChanged) {
		t.Fatalf("Disconnected(%v), want ErrLeaderChanged", err)
	}
	again := next(t, m2, scheduler.Call_SUBSCRIBE)
	if again.GetFrameworkId().GetValue() != "fw-zk" {
		t.Fatalf("re-subscription to m2 = %v, want framework id fw-zk", again)
	}
	recv(t, h.subscribed, "SUBSCRIBED from m2")
	if n := m1.Subscriptions(); n != 1 {
		t.Fatalf("m1 got %d subscriptions, want 1", n)
	}
}

func TestZooKeeperUnreachableAtStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := testConfig("zk://" + addr + "/agora")
	cfg.ZooKeeper.ConnectTimeout = 300 * time.Millisecond
	_, done := run(t, cfg, newRecorder())
	err = recv(t, done, "Run's result")
	if err == nil || !strings.Contains(err.Error(), "no session within 300ms") || !strings.Contains(err.Error(), addr) {
		t.Fatalf("Run = %v, want the unreachable ensemble named", err)
	}
}

func TestZooKeeperMasterConfig(t *testing.T) {
	tests := []struct {
		masters []string
		want    string
	}{
		{[]string{"zk://h1:2181,h2:2181/agora"}, ""},
		{[]string{"zk://h1:2181/agora", "h2:5050"}, "masters[0]: a zk:// master must be the only one"},
		{[]string{"zk://h1:99999/agora"}, `masters[0]: zookeeper: bad zk:// URL "zk://h1:99999/agora": host 1 "h1:99999": bad port`},
		{[]string{"zk://h1:2181"}, "no path"},
	}
	for _, tt := range tests {
		err := testConfig(tt.masters...).Validate()
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("Validate(%q) = %v, want %q", tt.masters, err, tt.want)
		}
	}
}
