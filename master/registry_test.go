package master

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/store"
)

func TestStoreRegistryRoundTrip(t *testing.T) {
	st, err := store.OpenFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	reg := &storeRegistry{st: st, timeout: 5 * time.Second}
	deadline := time.Unix(1700000000, 123)
	agents := []*agentRecord{
		{Info: &mesos.AgentInfo{Hostname: proto.String("h"), Id: agentIDpb("M-S1")}, RegisteredTime: deadline},
		{Info: &mesos.AgentInfo{Hostname: proto.String("h"), Id: agentIDpb("odd id/é")}, UnreachableTime: deadline},
	}
	for _, a := range agents {
		if err := reg.putAgent(a); err != nil {
			t.Fatal(err)
		}
	}
	fw := &frameworkRecord{Info: &mesos.FrameworkInfo{User: proto.String("u"), Name: proto.String("n"), Id: frameworkIDpb("M-0001")}, FailoverDeadline: deadline}
	if err := reg.putFramework(fw); err != nil {
		t.Fatal(err)
	}
	gotAgents, gotFws, err := reg.load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(gotAgents) != 2 || len(gotFws) != 1 {
		t.Fatalf("loaded %d agents %d frameworks", len(gotAgents), len(gotFws))
	}
	if !gotFws[0].FailoverDeadline.Equal(deadline) || !proto.Equal(gotFws[0].Info, fw.Info) {
		t.Errorf("framework %v", gotFws[0])
	}
	for _, id := range []string{"M-S1", "odd id/é"} {
		if err := reg.deleteAgent(id); err != nil {
			t.Fatal(err)
		}
	}
	if err := reg.deleteFramework("M-0001"); err != nil {
		t.Fatal(err)
	}
	gotAgents, gotFws, err = reg.load(context.Background())
	if err != nil || len(gotAgents)+len(gotFws) != 0 {
		t.Errorf("after delete: %d %d %v", len(gotAgents), len(gotFws), err)
	}
}
