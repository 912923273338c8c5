package registration

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/election"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/zookeeper/zktest"
)

func masterInfo(id string, port int32) *mesos.MasterInfo {
	return &mesos.MasterInfo{Id: proto.String(id), Ip: proto.Uint32(0), Port: proto.Uint32(uint32(port)),
		Hostname: proto.String("localhost"), Address: &mesos.Address{Ip: proto.String("127.0.0.1"), Port: proto.Int32(port)}}
}

// TestLeaderDetector: Detect names the elected master's agent API, and
// WaitChange returns once another master is elected.
func TestLeaderDetector(t *testing.T) {
	zk := zktest.Start(t)
	log := zaptest.NewLogger(t)
	s1 := zktest.Connect(t, zk.URL("/agora"), 2*time.Second)
	s2 := zktest.Connect(t, zk.URL("/agora"), 2*time.Second)
	agent := zktest.Connect(t, zk.URL("/agora"), 2*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	c1, err := election.ContendMaster(s1, "/agora", masterInfo("m1", 5050), log)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c1.Withdraw(context.Background()) }()
	if _, err := c1.WaitLeading(ctx); err != nil {
		t.Fatal(err)
	}
	c2, err := election.ContendMaster(s2, "/agora", masterInfo("m2", 5051), log)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c2.Withdraw(context.Background()) }()

	det, err := election.DetectMaster(agent, "/agora", log)
	if err != nil {
		t.Fatal(err)
	}
	defer det.Close()
	l := NewLeader(det)
	u, err := l.Detect(ctx, nil)
	if err != nil || u.String() != "http://127.0.0.1:5050/api/v1/agent" {
		t.Fatalf("Detect = %v, %v; want the first master's agent API", u, err)
	}

	changed := make(chan error, 1)
	go func() { changed <- l.WaitChange(ctx, u) }()
	if err := c1.Withdraw(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-changed; err != nil {
		t.Fatalf("WaitChange: %v", err)
	}
	if u, err = l.Detect(ctx, u); err != nil || u.String() != "http://127.0.0.1:5051/api/v1/agent" {
		t.Fatalf("Detect after failover = %v, %v; want the second master's agent API", u, err)
	}
	// WaitChange for the current leader waits.
	short, cancelShort := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancelShort()
	if err := l.WaitChange(short, u); err == nil {
		t.Error("WaitChange returned for the master that still leads")
	}
}
