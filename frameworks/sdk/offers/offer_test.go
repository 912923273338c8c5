package offers_test

import (
	"slices"
	"testing"

	"github.com/agoracluster/agora/frameworks/sdk/offers"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
	"google.golang.org/protobuf/proto"
	"pgregory.net/rapid"
)

func offer(id, res string) *mesos.Offer {
	return offerOf(id, resources.MustParse(res))
}

func offerOf(id string, r resources.Resources) *mesos.Offer {
	return &mesos.Offer{
		Id:          &mesos.OfferID{Value: proto.String(id)},
		FrameworkId: &mesos.FrameworkID{Value: proto.String("fw")},
		AgentId:     &mesos.AgentID{Value: proto.String("agent-" + id)},
		Hostname:    proto.String("host-" + id),
		Resources:   r.ToProto(),
	}
}

func TestTake(t *testing.T) {
	tests := []struct {
		name      string
		offer     string
		needs     []string // taken in order
		wantTaken []string // "" = expected failure
		remaining string
	}{
		{name: "fits", offer: "cpus:1;mem:128", needs: []string{"cpus:0.5;mem:64"},
			wantTaken: []string{"cpus:0.5;mem:64"}, remaining: "cpus:0.5;mem:64"},
		{name: "too big", offer: "cpus:1;mem:128", needs: []string{"cpus:2"},
			wantTaken: []string{""}, remaining: "cpus:1;mem:128"},
		{name: "missing resource", offer: "cpus:1", needs: []string{"cpus:0.1;gpus:1"},
			wantTaken: []string{""}, remaining: "cpus:1"},
		{name: "carve until empty", offer: "cpus:1;mem:100", needs: []string{"cpus:0.4;mem:30", "cpus:0.4;mem:30", "cpus:0.4;mem:30"},
			wantTaken: []string{"cpus:0.4;mem:30", "cpus:0.4;mem:30", ""}, remaining: "cpus:0.2;mem:40"},
		{name: "reserved first", offer: "cpus(web):1;cpus:2", needs: []string{"cpus:1.5"},
			wantTaken: []string{"cpus(web):1;cpus:0.5"}, remaining: "cpus:1.5"},
		{name: "role must match", offer: "cpus:2", needs: []string{"cpus(web):1"},
			wantTaken: []string{""}, remaining: "cpus:2"},
		{name: "named role before flexible", offer: "cpus(web):1;cpus:1", needs: []string{"cpus:1;cpus(web):1"},
			wantTaken: []string{"cpus:1;cpus(web):1"}, remaining: ""},
		{name: "specific ports", offer: "ports:[31000-31010]", needs: []string{"ports:[31005-31006]", "ports:[31006-31006]"},
			wantTaken: []string{"ports:[31005-31006]", ""}, remaining: "ports:[31000-31004,31007-31010]"},
		{name: "empty need", offer: "cpus:1", needs: []string{""},
			wantTaken: []string{""}, remaining: "cpus:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := offers.New(offer("o1", tt.offer))
			for i, n := range tt.needs {
				need := resources.MustParse(n)
				got, ok := o.Take(need)
				want := tt.wantTaken[i]
				if n == "" { // an empty need always fits and takes nothing
					if !ok || !got.IsEmpty() {
						t.Errorf("Take(empty) = %v, %v", got, ok)
					}
					continue
				}
				if ok != (want != "") {
					t.Fatalf("Take(%s) ok = %v, want %v", n, ok, want != "")
				}
				if ok && !got.Equal(resources.MustParse(want)) {
					t.Errorf("Take(%s) = %s, want %s", n, got, want)
				}
			}
			if rem := o.Remaining(); !rem.Equal(resources.MustParse(tt.remaining)) {
				t.Errorf("remaining = %s, want %s", rem, tt.remaining)
			}
		})
	}
}

func TestTakePorts(t *testing.T) {
	tests := []struct {
		name      string
		offer     string
		n         int
		want      []uint64
		ok        bool
		remaining string
	}{
		{name: "lowest first", offer: "ports:[31000-31001,31005-31010]", n: 3, want: []uint64{31000, 31001, 31005}, ok: true,
			remaining: "ports:[31006-31010]"},
		{name: "none", offer: "ports:[31000-31001]", n: 0, ok: true, remaining: "ports:[31000-31001]"},
		{name: "too many", offer: "ports:[31000-31001]", n: 3, remaining: "ports:[31000-31001]"},
		{name: "no ports", offer: "cpus:1", n: 1, remaining: "cpus:1"},
		{name: "reserved first", offer: "ports:[31000-31001];ports(web):[40000-40000]", n: 2, want: []uint64{40000, 31000}, ok: true,
			remaining: "ports:[31001-31001]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := offers.New(offer("o1", tt.offer))
			ports, res, ok := o.TakePorts(tt.n)
			if ok != tt.ok || !slices.Equal(ports, tt.want) {
				t.Fatalf("TakePorts(%d) = %v, %v; want %v, %v", tt.n, ports, ok, tt.want, tt.ok)
			}
			if ok && uint64(len(ports)) != res.Ports().Size() {
				t.Errorf("resources %s do not hold exactly %v", res, ports)
			}
			if rem := o.Remaining(); !rem.Equal(resources.MustParse(tt.remaining)) {
				t.Errorf("remaining = %s, want %s", rem, tt.remaining)
			}
		})
	}
}

func TestTakeTaskIsAtomic(t *testing.T) {
	o := offers.New(offer("o1", "cpus:1;mem:64;ports:[31000-31000]"))
	if _, _, ok := o.TakeTask(resources.MustParse("cpus:0.5"), 2); ok {
		t.Fatal("TakeTask with 2 ports from 1 succeeded")
	}
	if !o.Remaining().Equal(o.Total()) || o.Used() {
		t.Fatalf("failed TakeTask took %s", o.Total().Minus(o.Remaining()))
	}
	res, ports, ok := o.TakeTask(resources.MustParse("cpus:0.5;mem:32"), 1)
	if !ok || !slices.Equal(ports, []uint64{31000}) || !res.Equal(resources.MustParse("cpus:0.5;mem:32;ports:[31000-31000]")) {
		t.Fatalf("TakeTask = %s, %v, %v", res, ports, ok)
	}
}

func TestCommandTaskOnOffer(t *testing.T) {
	pb := offer("o1", "cpus:1;mem:64")
	pb.AllocationInfo = &mesos.Resource_AllocationInfo{Role: proto.String("web")}
	o := offers.New(pb)
	res, _ := o.Take(resources.MustParse("cpus:0.5"))
	task := o.CommandTask("n", "t1", "sleep 1", res)
	if task.GetAgentId().GetValue() != "agent-o1" || task.GetName() != "n" || task.GetTaskId().GetValue() != "t1" {
		t.Errorf("task = %v", task)
	}
	for _, r := range task.GetResources() {
		if r.GetAllocationInfo().GetRole() != "web" {
			t.Errorf("resource %v lacks allocation role web", r)
		}
	}
	if err := proto.CheckInitialized(task); err != nil {
		t.Errorf("task misses required fields: %v", err)
	}
}

func TestMatchAndAttributes(t *testing.T) {
	pb := offer("o1", "cpus:1;mem:64")
	attrs, err := resources.ParseAttributes("rack:r1;zone:a")
	if err != nil {
		t.Fatal(err)
	}
	pb.Attributes = attrs
	if !offers.Match(pb, resources.MustParse("cpus:1")) || offers.Match(pb, resources.MustParse("cpus:1.001")) {
		t.Error("Match disagrees with the offer")
	}
	o := offers.New(pb)
	if v, ok := o.Attribute("rack"); !ok || v != "r1" {
		t.Errorf("Attribute(rack) = %q, %v", v, ok)
	}
	if _, ok := o.Attribute("dc"); ok {
		t.Error("Attribute(dc) found")
	}
	if got := o.Attributes(); len(got) != 2 || got["rack"] != "r1" || got["zone"] != "a" {
		t.Errorf("Attributes() = %v, want rack:r1 zone:a", got)
	}
}

func TestMalformedOfferNeverMatches(t *testing.T) {
	pb := offer("o1", "cpus:1")
	pb.Resources[0].Scalar.Value = proto.Float64(-1)
	o := offers.New(pb)
	if o.Err() == nil || o.Match(resources.MustParse("cpus:0.1")) {
		t.Errorf("malformed offer: Err = %v, matched", o.Err())
	}
}

func TestPool(t *testing.T) {
	p := offers.NewPool([]*mesos.Offer{offer("a", "cpus:1"), offer("b", "cpus:2"), offer("c", "cpus:1")})
	var placed []string
	for range 3 {
		o, _, ok := p.Take(resources.MustParse("cpus:1"))
		if !ok {
			t.Fatal("Take failed")
		}
		placed = append(placed, o.ID().GetValue())
	}
	if want := []string{"a", "b", "b"}; !slices.Equal(placed, want) {
		t.Errorf("placed on %v, want %v", placed, want)
	}
	if _, _, ok := p.Take(resources.MustParse("cpus:1.5")); ok {
		t.Error("Take(cpus:1.5) succeeded")
	}
	unused := p.Unused()
	if len(unused) != 1 || unused[0].GetValue() != "c" || len(p.Used()) != 2 {
		t.Errorf("unused = %v, used = %d", unused, len(p.Used()))
	}
	if o, _, ports, ok := p.TakeTask(resources.MustParse("cpus:0.5"), 1); ok {
		t.Errorf("TakeTask without ports placed on %s with %v", o.ID().GetValue(), ports)
	}
}

// genResources draws offer resources: cpus and mem (some reserved for "web") and ports.
func genResources(t *rapid.T, label string) resources.Resources {
	var rs []resources.Resource
	for i, role := range []string{"", "web"} {
		if rapid.Bool().Draw(t, label+"-has-"+role) {
			rs = append(rs,
				resources.ScalarResource("cpus", role, float64(rapid.IntRange(0, 80).Draw(t, label+"-cpus"))/10),
				resources.ScalarResource("mem", role, float64(rapid.IntRange(0, 4096).Draw(t, label+"-mem"))))
		}
		var ranges []resources.Range
		for range rapid.IntRange(0, 3).Draw(t, label+"-nranges") {
			base := uint64(31000 + 1000*i) // an agent's port belongs to one role
			b := rapid.Uint64Range(base, base+100).Draw(t, label+"-begin")
			ranges = append(ranges, resources.Range{Begin: b, End: b + rapid.Uint64Range(0, 10).Draw(t, label+"-len")})
		}
		rs = append(rs, resources.RangesResource("ports", role, resources.NewRanges(ranges...)))
	}
	return resources.Of(rs...)
}

func TestCarvingProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		total := genResources(t, "offer")
		o := offers.New(offerOf("o", total))
		sum := resources.Resources{}
		seen := map[uint64]bool{}
		for range rapid.IntRange(1, 12).Draw(t, "steps") {
			before := o.Remaining()
			var got resources.Resources
			var ports []uint64
			var ok bool
			switch rapid.IntRange(0, 2).Draw(t, "op") {
			case 0:
				got, ok = o.Take(genResources(t, "need"))
			case 1:
				ports, got, ok = o.TakePorts(rapid.IntRange(0, 15).Draw(t, "nports"))
			case 2:
				got, ports, ok = o.TakeTask(genResources(t, "need").Filter(func(r resources.Resource) bool { return r.Name != "ports" }),
					rapid.IntRange(0, 5).Draw(t, "nports"))
			}
			if !ok {
				if !o.Remaining().Equal(before) {
					t.Fatalf("failed take changed remaining %s -> %s", before, o.Remaining())
				}
				continue
			}
			if !before.Contains(got) {
				t.Fatalf("took %s, more than the remaining %s", got, before)
			}
			if !o.Remaining().Equal(before.Minus(got)) {
				t.Fatalf("remaining %s != %s - %s", o.Remaining(), before, got)
			}
			for _, p := range ports {
				if seen[p] || !total.Ports().ContainsValue(p) || !got.Ports().ContainsValue(p) {
					t.Fatalf("port %d reused, outside the offer %s, or missing from %s", p, total.Ports(), got)
				}
				seen[p] = true
			}
			sum = sum.Plus(got)
		}
		if !sum.Plus(o.Remaining()).Equal(total) {
			t.Fatalf("taken %s + remaining %s != offer %s", sum, o.Remaining(), total)
		}
	})
}

// reservedOffer holds 2 cpus dynamically reserved for "web" by "ops", 100 of plain disk,
// a 500 persistent volume "data" on disk reserved the same way, and reserved ports.
func reservedOffer() resources.Resources {
	dyn := resources.Dynamic("web", "ops")
	vol := resources.ScalarResource("disk", "", 500).PushReservation(dyn)
	vol.Volume = &resources.Volume{ID: "data", ContainerPath: "data"}
	return resources.Of(
		resources.ScalarResource("cpus", "", 2).PushReservation(dyn),
		resources.ScalarResource("disk", "", 100),
		vol,
		resources.RangesResource(offers.PortsName, "", resources.NewRanges(resources.Range{Begin: 31000, End: 31009})).PushReservation(dyn),
	)
}

func TestTakeKeepsReservationStackAndVolumes(t *testing.T) {
	o := offers.New(offerOf("r", reservedOffer()))
	got, ports, ok := o.TakeTask(resources.MustParse("cpus:1;disk:50"), 2)
	if !ok {
		t.Fatalf("TakeTask failed on %v", o.Total())
	}
	if !slices.Equal(ports, []uint64{31000, 31001}) {
		t.Errorf("ports = %v, want [31000 31001]", ports)
	}
	for _, r := range got.All() {
		switch r.Name {
		case "cpus", offers.PortsName:
			if !r.IsDynamicallyReserved() || r.Stack()[0].Principal != "ops" {
				t.Errorf("%s lost its reservation stack: %v", r.Name, r)
			}
		case "disk":
			if r.IsPersistentVolume() || r.IsReserved() {
				t.Errorf("plain disk came from %v", r)
			}
		}
	}
	// The master sees the task's resources exactly as offered: the offer contains them.
	if !o.Total().Contains(got) {
		t.Errorf("taken %v is not part of the offer %v", got, o.Total())
	}
	// 50 of plain disk are left; the volume never serves plain disk.
	if _, ok := o.Take(resources.MustParse("disk:60")); ok {
		t.Errorf("plain disk carved out of the persistent volume: remaining %v", o.Remaining())
	}
}

func TestTakePersistentVolumeOnlyWhenAsked(t *testing.T) {
	total := reservedOffer()
	vol, _ := total.VolumeByID("data")
	o := offers.New(offerOf("v", total))
	part := vol
	part.Scalar = resources.ScalarFromFloat(100)
	if _, ok := o.Take(resources.Of(part)); ok {
		t.Errorf("a part of the persistent volume was taken")
	}
	got, ok := o.Take(resources.Of(vol))
	if !ok {
		t.Fatalf("the whole volume could not be taken from %v", o.Remaining())
	}
	if g, ok := got.VolumeByID("data"); !ok || !g.IsDynamicallyReserved() {
		t.Errorf("taken volume = %v, want the offered one", got)
	}
}
