package client

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

func TestResolveMasterFromZooKeeper(t *testing.T) {
	srv := zktest.Start(t)
	url := srv.URL("/agora")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := ResolveMaster(ctx, url, zaptest.NewLogger(t)); err == nil {
		t.Fatal("ResolveMaster with no master elected = nil error, want one")
	}
	sess := zktest.Connect(t, url, 4*time.Second)
	info := &mesos.MasterInfo{Id: proto.String("m1"), Ip: proto.Uint32(16777343), Port: proto.Uint32(5055),
		Address: &mesos.Address{Ip: proto.String("127.0.0.1"), Port: proto.Int32(5055)}}
	c, err := election.ContendMaster(sess, "/agora", info, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Withdraw(context.Background()) })
	if _, err := c.WaitLeading(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := ResolveMaster(ctx, url, zaptest.NewLogger(t))
	if err != nil || got != "127.0.0.1:5055" {
		t.Fatalf("ResolveMaster = %q, %v; want 127.0.0.1:5055", got, err)
	}
}
