package dns

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/election"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/zookeeper/zktest"
)

// stateServer is a fake master whose /state names leader.
func stateServer(t *testing.T, leader string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"leader":"` + leader + `","slaves":[],"frameworks":[]}`))
	}))
	t.Cleanup(s.Close)
	return s
}

// contend enters the fake master at addr in the masters' election under /agora and waits
// until its znode exists.
func contend(t *testing.T, srv *zktest.Server, addr, id string) *election.Contender {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	info := &mesos.MasterInfo{Id: proto.String(id), Ip: proto.Uint32(16777343), Port: proto.Uint32(uint32(p)), Hostname: proto.String(host),
		Address: &mesos.Address{Hostname: proto.String(host), Ip: proto.String(host), Port: proto.Int32(int32(p))}}
	c, err := election.ContendMaster(zktest.Connect(t, srv.URL("/agora"), 4*time.Second), "/agora", info, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for st, changed := c.Status(); st.Node == ""; st, changed = c.Status() {
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("%s not in the election", id)
		}
	}
	return c
}

// TestPollerFollowsZooKeeperLeader: with a zk:// master the poller reads the elected
// master's state, and reads the next leader's at once when the leader withdraws (the
// refresh interval is an hour, so only the leader change can cause the second read).
func TestPollerFollowsZooKeeperLeader(t *testing.T) {
	zk := zktest.Start(t)
	m1 := stateServer(t, "master@10.0.0.1:5050")
	m2 := stateServer(t, "master@10.0.0.2:5050")
	c1 := contend(t, zk, m1.Listener.Addr().String(), "m1")
	contend(t, zk, m2.Listener.Addr().String(), "m2")

	cfg := DefaultConfig()
	cfg.Masters = []string{zk.URL("/agora")}
	cfg.Refresh = time.Hour
	p := NewPoller(cfg, zaptest.NewLogger(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var leaders []string
	err := p.Run(ctx, func(st *State) {
		if len(leaders) > 0 && leaders[len(leaders)-1] == st.Leader {
			return
		}
		leaders = append(leaders, st.Leader)
		switch len(leaders) {
		case 1:
			if err := c1.Withdraw(ctx); err != nil {
				t.Error(err)
			}
		case 2:
			cancel()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(leaders) != 2 || leaders[0] != "master@10.0.0.1:5050" || leaders[1] != "master@10.0.0.2:5050" {
		t.Errorf("leaders read: %v, want m1's then m2's", leaders)
	}
}
