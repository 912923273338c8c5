package resources_test

import (
	"testing"

	"google.golang.org/protobuf/proto"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
)

func dyn(role, principal string) resources.Reservation { return resources.Dynamic(role, principal) }

func volume(role, id, path string, size float64) resources.Resource {
	r := resources.ScalarResource("disk", "", size).PushReservation(dyn(role, "ops"))
	r.Volume = &resources.Volume{ID: id, ContainerPath: path}
	return r
}

func TestReservationArithmetic(t *testing.T) {
	cpus := resources.Of(resources.ScalarResource("cpus", "", 4))
	webDyn := cpus.PushReservation(dyn("web", "alice"))
	webStatic := resources.Of(resources.ScalarResource("cpus", "web", 4))
	webBob := cpus.PushReservation(dyn("web", "bob"))
	vol := resources.Of(volume("web", "v1", "data", 64))
	halfVol := resources.Of(volume("web", "v1", "data", 32))
	tests := []struct {
		name     string
		have     resources.Resources
		want     resources.Resources
		contains bool
	}{
		{"dynamic reservation is not unreserved", cpus, webDyn, false},
		{"unreserved is not a dynamic reservation", webDyn, cpus, false},
		{"dynamic is not static for the same role", webStatic, webDyn, false},
		{"principals keep reservations apart", webBob, webDyn, false},
		{"same reservation fits", webDyn, webDyn, true},
		{"a volume is not its disk", vol.WithoutVolumes(), vol, false},
		{"a volume fits whole", vol, vol, true},
		{"a volume does not fit in part", vol, halfVol, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.have.Contains(tt.want); got != tt.contains {
				t.Fatalf("(%s).Contains(%s) = %v, want %v", tt.have, tt.want, got, tt.contains)
			}
		})
	}
}

func TestPushPopReservation(t *testing.T) {
	base := resources.Of(resources.ScalarResource("cpus", "", 2), resources.ScalarResource("mem", "eng", 128))
	pushed := base.PushReservation(dyn("eng", "alice"))
	if want := "cpus(reservations: [(DYNAMIC,eng,alice)]):2;mem(reservations: [(STATIC,eng),(DYNAMIC,eng,alice)]):128"; pushed.String() != want {
		t.Fatalf("pushed = %q, want %q", pushed, want)
	}
	if got := pushed.PopReservation(); !got.Equal(base) {
		t.Fatalf("popped = %q, want %q", got, base)
	}
	if got := pushed.Reserved("eng"); !got.Equal(pushed) {
		t.Fatalf("Reserved(eng) = %q, want all of %q", got, pushed)
	}
	if got := pushed.Checkpointed(); !got.Equal(pushed) {
		t.Fatalf("Checkpointed = %q, want %q", got, pushed)
	}
	if got := base.Checkpointed(); !got.IsEmpty() {
		t.Fatalf("static Checkpointed = %q, want nothing", got)
	}
}

func TestVolumes(t *testing.T) {
	vol := volume("web", "v1", "data", 64)
	all := resources.Of(vol, resources.ScalarResource("disk", "", 100))
	if got := all.PersistentVolumes(); !got.Equal(resources.Of(vol)) {
		t.Fatalf("PersistentVolumes = %q", got)
	}
	if got, ok := all.VolumeByID("v1"); !ok || got.Volume.ContainerPath != "data" {
		t.Fatalf("VolumeByID(v1) = %v, %v", got, ok)
	}
	if _, ok := all.VolumeByID("v2"); ok {
		t.Fatal("VolumeByID(v2) found a volume")
	}
	if want := "disk:100;disk(reservations: [(DYNAMIC,web,ops)])[v1:data:RW]:64"; all.String() != want {
		t.Fatalf("String = %q, want %q", all, want)
	}
	if got, want := all.Minus(resources.Of(vol)), resources.Of(resources.ScalarResource("disk", "", 100)); !got.Equal(want) {
		t.Fatalf("Minus volume = %q, want %q", got, want)
	}
}

func TestReservationProtoRoundTrip(t *testing.T) {
	labelled := resources.ScalarResource("cpus", "", 1).PushReservation(resources.Dynamic("eng", "alice", resources.Label{Key: "k", Value: "v"}))
	refined := resources.ScalarResource("mem", "eng", 64).PushReservation(dyn("eng/web", "bob"))
	ro := volume("web", "v9", "logs", 10)
	ro.Volume.ReadOnly, ro.Volume.Principal = true, "ops"
	in := resources.Of(labelled, refined, ro, resources.ScalarResource("cpus", "web", 1))
	out, err := resources.FromProto(in.ToProto())
	if err != nil {
		t.Fatal(err)
	}
	if !out.Equal(in) {
		t.Fatalf("round trip = %q, want %q", out, in)
	}
}

func TestLegacyDynamicReservation(t *testing.T) {
	pb := scalarPB("cpus", 1)
	pb.Role = proto.String("web")
	pb.Reservation = &mesos.Resource_ReservationInfo{Principal: proto.String("alice")}
	got, err := resources.FromProto([]*mesos.Resource{pb})
	if err != nil {
		t.Fatal(err)
	}
	if want := resources.Of(resources.ScalarResource("cpus", "", 1)).PushReservation(dyn("web", "alice")); !got.Equal(want) {
		t.Fatalf("legacy = %q, want %q", got, want)
	}
}

func TestReservationProtoErrors(t *testing.T) {
	with := func(name string, edit func(*mesos.Resource)) *mesos.Resource {
		pb := scalarPB(name, 1)
		edit(pb)
		return pb
	}
	dynamic := func(role string) *mesos.Resource_ReservationInfo {
		return &mesos.Resource_ReservationInfo{Type: mesos.Resource_ReservationInfo_DYNAMIC.Enum(), Role: proto.String(role)}
	}
	static := func(role string) *mesos.Resource_ReservationInfo {
		return &mesos.Resource_ReservationInfo{Type: mesos.Resource_ReservationInfo_STATIC.Enum(), Role: proto.String(role)}
	}
	persistent := func(id, path string) *mesos.Resource_DiskInfo {
		return &mesos.Resource_DiskInfo{
			Persistence: &mesos.Resource_DiskInfo_Persistence{Id: proto.String(id)},
			Volume:      &mesos.Volume{ContainerPath: proto.String(path), Mode: mesos.Volume_RW.Enum()},
		}
	}
	reserved := func(pb *mesos.Resource) { pb.Reservations = []*mesos.Resource_ReservationInfo{dynamic("web")} }
	tests := []struct {
		name string
		in   *mesos.Resource
		want string
	}{
		{"static refinement", with("cpus", func(pb *mesos.Resource) {
			pb.Reservations = []*mesos.Resource_ReservationInfo{static("eng"), static("eng/web")}
		}), `resources: resource 0 ("cpus"): reservations: reservation 1: a refined reservation must be DYNAMIC`},
		{"refinement not nested", with("cpus", func(pb *mesos.Resource) {
			pb.Reservations = []*mesos.Resource_ReservationInfo{static("eng"), dynamic("ops")}
		}), `resources: resource 0 ("cpus"): reservations: reservation 1: role "ops" must be nested under the previous reservation's role "eng"`},
		{"reserve for star", with("cpus", func(pb *mesos.Resource) {
			pb.Reservations = []*mesos.Resource_ReservationInfo{dynamic("*")}
		}), `resources: resource 0 ("cpus"): reservations: reservation 0: cannot reserve for role "*"`},
		{"malformed reservation role", with("cpus", func(pb *mesos.Resource) {
			pb.Reservations = []*mesos.Resource_ReservationInfo{dynamic("a//b")}
		}), `resources: resource 0 ("cpus"): reservations: reservation 0: role "a//b" has an empty segment`},
		{"role differs from reservations", with("cpus", func(pb *mesos.Resource) {
			pb.Role = proto.String("ops")
			reserved(pb)
		}), `resources: resource 0 ("cpus"): role "ops" differs from the last reservation's role "web"`},
		{"legacy reservation on unreserved", with("cpus", func(pb *mesos.Resource) {
			pb.Reservation = &mesos.Resource_ReservationInfo{Principal: proto.String("p")}
		}), `resources: resource 0 ("cpus"): reservation: set on an unreserved resource`},
		{"disk info on cpus", with("cpus", func(pb *mesos.Resource) { reserved(pb); pb.Disk = persistent("v", "d") }),
			`resources: resource 0 ("cpus"): disk: DiskInfo is only valid on "disk" resources`},
		{"volume without persistence", with("disk", func(pb *mesos.Resource) {
			pb.Disk = &mesos.Resource_DiskInfo{Volume: persistent("v", "d").Volume}
		}), `resources: resource 0 ("disk"): disk.volume: only valid with disk.persistence`},
		{"persistence without volume", with("disk", func(pb *mesos.Resource) {
			pb.Disk = &mesos.Resource_DiskInfo{Persistence: persistent("v", "d").Persistence}
		}), `resources: resource 0 ("disk"): disk.volume: a persistent volume needs a volume`},
		{"empty persistence id", with("disk", func(pb *mesos.Resource) { pb.Disk = persistent("", "d") }),
			`resources: resource 0 ("disk"): disk.persistence.id: must not be empty`},
		{"persistence id with slash", with("disk", func(pb *mesos.Resource) { pb.Disk = persistent("a/b", "d") }),
			`resources: resource 0 ("disk"): disk.persistence.id: invalid character '/' in "a/b"`},
		{"empty container path", with("disk", func(pb *mesos.Resource) { pb.Disk = persistent("v", "") }),
			`resources: resource 0 ("disk"): disk.volume.container_path: must not be empty`},
		{"absolute container path", with("disk", func(pb *mesos.Resource) { pb.Disk = persistent("v", "/data") }),
			`resources: resource 0 ("disk"): disk.volume.container_path: "/data": absolute paths are not supported, give a path relative to the sandbox`},
		{"container path escaping", with("disk", func(pb *mesos.Resource) { pb.Disk = persistent("v", "a/../../x") }),
			`resources: resource 0 ("disk"): disk.volume.container_path: "a/../../x" must not contain a ".." segment`},
		{"disk source", with("disk", func(pb *mesos.Resource) {
			pb.Disk = &mesos.Resource_DiskInfo{Source: &mesos.Resource_DiskInfo_Source{Type: mesos.Resource_DiskInfo_Source_MOUNT.Enum()}}
		}), `resources: resource 0 ("disk"): disk.source: disk sources are not supported`},
		{"shared", with("disk", func(pb *mesos.Resource) { pb.Shared = &mesos.Resource_SharedInfo{} }),
			`resources: resource 0 ("disk"): shared resources are not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := resources.FromProto([]*mesos.Resource{tt.in})
			if err == nil || err.Error() != tt.want {
				t.Fatalf("err = %v, want %s", err, tt.want)
			}
		})
	}
}

func TestApplyCheckpointed(t *testing.T) {
	flags := resources.Of(resources.ScalarResource("cpus", "", 4), resources.ScalarResource("disk", "", 100), resources.ScalarResource("mem", "eng", 64))
	cpusDyn := resources.ScalarResource("cpus", "", 1).PushReservation(dyn("web", "alice"))
	refined := resources.ScalarResource("mem", "eng", 32).PushReservation(dyn("eng/web", "bob"))
	vol := volume("web", "v1", "data", 60)
	ckpt := resources.Of(cpusDyn, refined, vol)
	got, err := resources.ApplyCheckpointed(flags, ckpt)
	if err != nil {
		t.Fatal(err)
	}
	want := resources.Of(resources.ScalarResource("cpus", "", 3), resources.ScalarResource("disk", "", 40), resources.ScalarResource("mem", "eng", 32), cpusDyn, refined, vol)
	if !got.Equal(want) {
		t.Fatalf("applied = %q, want %q", got, want)
	}
	if back := got.Bases(); !back.Equal(flags) {
		t.Fatalf("Bases = %q, want the flags %q", back, flags)
	}
	if got.Checkpointed().Equal(ckpt) != true {
		t.Fatalf("Checkpointed = %q, want %q", got.Checkpointed(), ckpt)
	}

	tests := []struct {
		name  string
		total resources.Resources
		ckpt  resources.Resources
		want  string
	}{
		{"flags shrank", resources.Of(resources.ScalarResource("disk", "", 10)), resources.Of(vol),
			`resources: checkpointed disk(reservations: [(DYNAMIC,web,ops)])[v1:data:RW]:60 needs disk:60, which the agent's resources disk:10 do not hold`},
		{"not a checkpointed kind", flags, resources.Of(resources.ScalarResource("cpus", "web", 1)),
			`resources: cpus(web):1 is neither dynamically reserved nor a persistent volume`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := resources.ApplyCheckpointed(tt.total, tt.ckpt); err == nil || err.Error() != tt.want {
				t.Fatalf("err = %v, want %s", err, tt.want)
			}
		})
	}
}
