package registry

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	maintpb "github.com/agoracluster/agora/proto/mesos/v1/maintenance"
	quotapb "github.com/agoracluster/agora/proto/mesos/v1/quota"
	"github.com/agoracluster/agora/store"
)

func TestRegistryRoundTrip(t *testing.T) {
	st, err := store.OpenFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	reg := New(st, 5*time.Second)
	ctx := context.Background()
	deadline := time.Unix(1700000000, 123)
	agents := []*AgentRecord{
		{Info: &mesos.AgentInfo{Hostname: proto.String("h"), Id: &mesos.AgentID{Value: proto.String("M-S1")}}, RegisteredTime: deadline},
		{Info: &mesos.AgentInfo{Hostname: proto.String("h"), Id: &mesos.AgentID{Value: proto.String("odd id/é")}}, UnreachableTime: deadline},
	}
	fw := &FrameworkRecord{Info: &mesos.FrameworkInfo{User: proto.String("u"), Name: proto.String("n"), Id: &mesos.FrameworkID{Value: proto.String("M-0001")}}, FailoverDeadline: deadline}
	if err := reg.Apply(ctx, Batch{Agents: agents, Frameworks: []*FrameworkRecord{fw}}); err != nil {
		t.Fatal(err)
	}
	gotAgents, gotFws, err := reg.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(gotAgents) != 2 || len(gotFws) != 1 {
		t.Fatalf("loaded %d agents %d frameworks", len(gotAgents), len(gotFws))
	}
	if !gotFws[0].FailoverDeadline.Equal(deadline) || !proto.Equal(gotFws[0].Info, fw.Info) {
		t.Errorf("framework %v", gotFws[0])
	}
	if err := reg.Apply(ctx, Batch{DeletedAgents: []string{"M-S1", "odd id/é"}, DeletedFrameworks: []string{"M-0001", "never-written"}}); err != nil {
		t.Fatal(err)
	}
	gotAgents, gotFws, err = reg.Load(ctx)
	if err != nil || len(gotAgents)+len(gotFws) != 0 {
		t.Errorf("after delete: %d %d %v", len(gotAgents), len(gotFws), err)
	}
}

func TestBatchEmpty(t *testing.T) {
	tests := []struct {
		name string
		b    Batch
		want bool
	}{
		{"zero", Batch{}, true},
		{"one deletion", Batch{DeletedAgents: []string{"a"}}, false},
		{"one record", Batch{Frameworks: []*FrameworkRecord{{}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.b.Empty(); got != tt.want {
				t.Errorf("Empty() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRegistryRolesRoundTrip(t *testing.T) {
	st, err := store.OpenFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	reg := New(st, 5*time.Second)
	ctx := context.Background()
	b := Batch{
		Weights: []*mesos.WeightInfo{{Role: proto.String("eng"), Weight: proto.Float64(2.5)}, {Role: proto.String("a/b"), Weight: proto.Float64(1)}},
		Quotas: []*quotapb.QuotaConfig{
			{Role: proto.String("eng"), Limits: map[string]*mesos.Value_Scalar{"cpus": {Value: proto.Float64(4)}}},
			{Role: proto.String("ops"), Guarantees: map[string]*mesos.Value_Scalar{"mem": {Value: proto.Float64(512)}}},
		},
	}
	if b.Empty() {
		t.Fatal("a batch of weights and quotas is empty")
	}
	if err := reg.Apply(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := reg.Apply(ctx, Batch{DeletedQuotas: []string{"ops", "never-set"}}); err != nil {
		t.Fatal(err)
	}
	weights, quotas, err := reg.LoadRoles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, w := range weights {
		got[w.GetRole()] = w.GetWeight()
	}
	if len(got) != 2 || got["eng"] != 2.5 || got["a/b"] != 1 {
		t.Errorf("weights %v", got)
	}
	if len(quotas) != 1 || !proto.Equal(quotas[0], b.Quotas[0]) {
		t.Errorf("quotas %v, want eng's only", quotas)
	}
}

// An agent's dynamic reservations and persistent volumes (in AgentInfo.resources)
// come back from the store as they were written.
func TestRegistryKeepsReservationsAndVolumes(t *testing.T) {
	st, err := store.OpenFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	reg := New(st, 5*time.Second)
	ctx := context.Background()
	scalar := func(v float64) *mesos.Value_Scalar { return &mesos.Value_Scalar{Value: proto.Float64(v)} }
	dynamic := []*mesos.Resource_ReservationInfo{{
		Type: mesos.Resource_ReservationInfo_DYNAMIC.Enum(), Role: proto.String("web"), Principal: proto.String("ops"),
		Labels: &mesos.Labels{Labels: []*mesos.Label{{Key: proto.String("k"), Value: proto.String("v")}}},
	}}
	info := &mesos.AgentInfo{Hostname: proto.String("h"), Id: &mesos.AgentID{Value: proto.String("M-S1")}, Resources: []*mesos.Resource{
		{Name: proto.String("cpus"), Type: mesos.Value_SCALAR.Enum(), Scalar: scalar(1), Reservations: dynamic},
		{Name: proto.String("disk"), Type: mesos.Value_SCALAR.Enum(), Scalar: scalar(64), Reservations: dynamic, Disk: &mesos.Resource_DiskInfo{
			Persistence: &mesos.Resource_DiskInfo_Persistence{Id: proto.String("v1"), Principal: proto.String("ops")},
			Volume:      &mesos.Volume{ContainerPath: proto.String("data"), Mode: mesos.Volume_RW.Enum()},
		}},
	}}
	if err := reg.Apply(ctx, Batch{Agents: []*AgentRecord{{Info: info}}}); err != nil {
		t.Fatal(err)
	}
	got, _, err := reg.Load(ctx)
	if err != nil || len(got) != 1 {
		t.Fatalf("load: %v, %d agents", err, len(got))
	}
	if !proto.Equal(got[0].Info, info) {
		t.Fatalf("agent info = %v, want %v", got[0].Info, info)
	}
}

func TestMaintenanceAndDrainRoundTrip(t *testing.T) {
	st, err := store.OpenFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	reg := New(st, 5*time.Second)
	ctx := context.Background()
	empty, err := reg.LoadMaintenance(ctx)
	if err != nil || len(empty.Schedule.GetWindows()) != 0 || len(empty.Machines) != 0 {
		t.Fatalf("LoadMaintenance of an empty registry = %v, %v", empty, err)
	}
	id := &mesos.MachineID{Hostname: proto.String("h1"), Ip: proto.String("10.0.0.1")}
	u := &mesos.Unavailability{Start: &mesos.TimeInfo{Nanoseconds: proto.Int64(1700000000000000000)}}
	rec := &MaintenanceRecord{
		Schedule: &maintpb.Schedule{Windows: []*maintpb.Window{{MachineIds: []*mesos.MachineID{id}, Unavailability: u}}},
		Machines: []*mesos.MachineInfo{{Id: id, Mode: mesos.MachineInfo_DOWN.Enum(), Unavailability: u}},
	}
	drain := &mesos.DrainInfo{State: mesos.DrainState_DRAINED.Enum(), Config: &mesos.DrainConfig{MaxGracePeriod: &mesos.DurationInfo{Nanoseconds: proto.Int64(5)}}}
	start := time.Unix(1700000000, 0)
	agent := &AgentRecord{Info: &mesos.AgentInfo{Hostname: proto.String("h1"), Id: &mesos.AgentID{Value: proto.String("M-S1")}},
		Deactivated: true, Drain: drain, DrainStart: start}
	b := Batch{Maintenance: rec, Agents: []*AgentRecord{agent}, GoneAgents: []string{"M-S9", "odd id/é"}}
	if b.Empty() {
		t.Fatalf("a batch with maintenance is empty")
	}
	if err := reg.Apply(ctx, b); err != nil {
		t.Fatal(err)
	}
	got, err := reg.LoadMaintenance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got.Schedule, rec.Schedule) || len(got.Machines) != 1 || !proto.Equal(got.Machines[0], rec.Machines[0]) {
		t.Errorf("maintenance = %v, want %v", got, rec)
	}
	gone, err := reg.LoadGoneAgents(ctx)
	if err != nil || len(gone) != 2 || !slices.Contains(gone, "M-S9") || !slices.Contains(gone, "odd id/é") {
		t.Errorf("gone agents = %v, %v", gone, err)
	}
	agents, _, err := reg.Load(ctx)
	if err != nil || len(agents) != 1 {
		t.Fatalf("Load = %v, %v", agents, err)
	}
	if a := agents[0]; !a.Deactivated || !proto.Equal(a.Drain, drain) || !a.DrainStart.Equal(start) {
		t.Errorf("agent = %+v, want deactivated and drained since %v", a, start)
	}
}
