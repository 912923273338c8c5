package matching

import (
	"reflect"
	"strconv"
	"testing"

	"github.com/agoracluster/agora/frameworks/marathon/constraints"
	"github.com/agoracluster/agora/frameworks/sdk/offers"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
	"google.golang.org/protobuf/proto"
)

func testOffer(id, host, res, attrs string) *offers.Offer {
	r, err := resources.Parse(res, "*")
	if err != nil {
		panic(err)
	}
	o := &mesos.Offer{
		Id:          &mesos.OfferID{Value: proto.String(id)},
		FrameworkId: &mesos.FrameworkID{Value: proto.String("f")},
		AgentId:     &mesos.AgentID{Value: proto.String("agent-" + id)},
		Hostname:    proto.String(host),
		Resources:   r.ToProto(),
	}
	if attrs != "" {
		as, err := resources.ParseAttributes(attrs)
		if err != nil {
			panic(err)
		}
		o.Attributes = as
	}
	return offers.New(o)
}

func mustConstraints(raw ...[]string) []constraints.Constraint {
	cs, err := constraints.ParseAll(raw)
	if err != nil {
		panic(err)
	}
	return cs
}

// placed summarizes a match: "offer:ports" per placement, and the first request's reasons.
type matchSummary struct {
	Placed  []string
	Reasons map[string]int
}

func summarizeMatch(res MatchResult) matchSummary {
	s := matchSummary{Reasons: res.Declined[0]}
	for _, p := range res.Placements {
		entry := p.Offer.ID().GetValue()
		for _, port := range p.Ports {
			entry += ":" + itoa(port)
		}
		s.Placed = append(s.Placed, entry)
	}
	return s
}

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }

func TestMatch(t *testing.T) {
	small := "cpus:1;mem:128;disk:100;ports:[31000-31001]"
	tests := []struct {
		name   string
		offers func() []*offers.Offer
		req    LaunchRequest
		want   matchSummary
	}{
		{
			name:   "fits with dynamic port",
			offers: func() []*offers.Offer { return []*offers.Offer{testOffer("o1", "h1", small, "")} },
			req:    LaunchRequest{Count: 1, Cpus: 0.5, Mem: 64, HostPorts: []int{0}},
			want:   matchSummary{Placed: []string{"o1:31000"}},
		},
		{
			name:   "two tasks share an offer, distinct ports",
			offers: func() []*offers.Offer { return []*offers.Offer{testOffer("o1", "h1", small, "")} },
			req:    LaunchRequest{Count: 2, Cpus: 0.5, Mem: 64, HostPorts: []int{0}},
			want:   matchSummary{Placed: []string{"o1:31000", "o1:31001"}},
		},
		{
			name:   "not enough cpus",
			offers: func() []*offers.Offer { return []*offers.Offer{testOffer("o1", "h1", small, "")} },
			req:    LaunchRequest{Count: 1, Cpus: 2, Mem: 64},
			want:   matchSummary{Reasons: map[string]int{ReasonInsufficientCpus: 1}},
		},
		{
			name:   "not enough memory",
			offers: func() []*offers.Offer { return []*offers.Offer{testOffer("o1", "h1", small, "")} },
			req:    LaunchRequest{Count: 1, Cpus: 1, Mem: 256},
			want:   matchSummary{Reasons: map[string]int{ReasonInsufficientMemory: 1}},
		},
		{
			name:   "not enough disk",
			offers: func() []*offers.Offer { return []*offers.Offer{testOffer("o1", "h1", small, "")} },
			req:    LaunchRequest{Count: 1, Cpus: 1, Disk: 200},
			want:   matchSummary{Reasons: map[string]int{ReasonInsufficientDisk: 1}},
		},
		{
			name:   "not enough ports",
			offers: func() []*offers.Offer { return []*offers.Offer{testOffer("o1", "h1", small, "")} },
			req:    LaunchRequest{Count: 1, Cpus: 0.1, HostPorts: []int{0, 0, 0}},
			want:   matchSummary{Reasons: map[string]int{ReasonInsufficientPorts: 1}},
		},
		{
			name:   "required port present",
			offers: func() []*offers.Offer { return []*offers.Offer{testOffer("o1", "h1", small, "")} },
			req:    LaunchRequest{Count: 1, Cpus: 0.1, HostPorts: []int{31001, 0}},
			want:   matchSummary{Placed: []string{"o1:31001:31000"}},
		},
		{
			name:   "required port missing",
			offers: func() []*offers.Offer { return []*offers.Offer{testOffer("o1", "h1", small, "")} },
			req:    LaunchRequest{Count: 1, Cpus: 0.1, HostPorts: []int{8080}},
			want:   matchSummary{Reasons: map[string]int{ReasonInsufficientPorts: 1}},
		},
		{
			name: "unique hostname spreads",
			offers: func() []*offers.Offer {
				return []*offers.Offer{testOffer("o1", "h1", small, ""), testOffer("o2", "h2", small, "")}
			},
			req:  LaunchRequest{Count: 3, Cpus: 0.1, Constraints: mustConstraints([]string{"hostname", "UNIQUE"})},
			want: matchSummary{Placed: []string{"o1", "o2"}},
		},
		{
			name: "unique with an existing placement",
			offers: func() []*offers.Offer {
				return []*offers.Offer{testOffer("o1", "h1", small, ""), testOffer("o2", "h2", small, "")}
			},
			req: LaunchRequest{Count: 1, Cpus: 0.1, Constraints: mustConstraints([]string{"hostname", "UNIQUE"}),
				Placed: []constraints.Placement{{Hostname: "h1"}}},
			want: matchSummary{Placed: []string{"o2"}, Reasons: map[string]int{ReasonUnfulfilledConstraint: 1}},
		},
		{
			name: "attribute constraint",
			offers: func() []*offers.Offer {
				return []*offers.Offer{testOffer("o1", "h1", small, "rack:r1"), testOffer("o2", "h2", small, "rack:r2")}
			},
			req:  LaunchRequest{Count: 1, Cpus: 0.1, Constraints: mustConstraints([]string{"rack", "CLUSTER", "r2"})},
			want: matchSummary{Placed: []string{"o2"}, Reasons: map[string]int{ReasonUnfulfilledConstraint: 1}},
		},
		{
			name:   "accepted roles exclude unreserved",
			offers: func() []*offers.Offer { return []*offers.Offer{testOffer("o1", "h1", small, "")} },
			req:    LaunchRequest{Count: 1, Cpus: 0.1, AcceptedRoles: []string{"web"}},
			want:   matchSummary{Reasons: map[string]int{ReasonUnfulfilledRole: 1}},
		},
		{
			name: "accepted roles use the reservation",
			offers: func() []*offers.Offer {
				return []*offers.Offer{testOffer("o1", "h1", "cpus(web):1;mem(web):64;cpus:4;mem:1024", "")}
			},
			req:  LaunchRequest{Count: 1, Cpus: 0.5, Mem: 32, AcceptedRoles: []string{"web"}},
			want: matchSummary{Placed: []string{"o1"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := summarizeMatch(Match(tc.offers(), []LaunchRequest{tc.req}))
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Match = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestMatchTakesFromReservedRole(t *testing.T) {
	o := testOffer("o1", "h1", "cpus(web):1;cpus:4;mem:1024", "")
	res := Match([]*offers.Offer{o}, []LaunchRequest{{Count: 1, Cpus: 0.5, Mem: 32, AcceptedRoles: []string{"web", "*"}}})
	if len(res.Placements) != 1 {
		t.Fatalf("no placement: %+v", res)
	}
	if got := res.Placements[0].Resources.String(); got != "cpus(web):0.5;mem:32" {
		t.Errorf("resources = %s", got)
	}
}

func TestMatchKeepsReservationStackAndSkipsVolumes(t *testing.T) {
	dyn := resources.Dynamic("web", "ops")
	vol := resources.ScalarResource("disk", "", 500).PushReservation(dyn)
	vol.Volume = &resources.Volume{ID: "data", ContainerPath: "data"}
	total := resources.Of(
		resources.ScalarResource("cpus", "", 1).PushReservation(dyn),
		resources.ScalarResource("mem", "", 256).PushReservation(dyn),
		resources.ScalarResource("disk", "", 100),
		vol,
		resources.RangesResource(offers.PortsName, "", resources.NewRanges(resources.Range{Begin: 31000, End: 31001})).PushReservation(dyn),
	)
	o := offers.New(&mesos.Offer{
		Id:        &mesos.OfferID{Value: proto.String("o1")},
		AgentId:   &mesos.AgentID{Value: proto.String("a1")},
		Hostname:  proto.String("h1"),
		Resources: total.ToProto(),
	})
	res := Match([]*offers.Offer{o}, []LaunchRequest{{Count: 1, Cpus: 0.5, Mem: 64, Disk: 50, HostPorts: []int{0, 31001}}})
	if len(res.Placements) != 1 {
		t.Fatalf("no placement: %+v", res)
	}
	got := res.Placements[0].Resources
	if !total.Contains(got) {
		t.Errorf("taken %v is not part of the offer %v (the master would reject the task)", got, total)
	}
	for _, r := range got.All() {
		if r.Name != "disk" && !r.IsDynamicallyReserved() {
			t.Errorf("%s lost its reservation stack: %v", r.Name, r)
		}
		if r.IsPersistentVolume() {
			t.Errorf("plain disk taken from the persistent volume: %v", r)
		}
	}
	// Only 50 of plain disk are left; the volume must not serve the next task's disk.
	res = Match([]*offers.Offer{o}, []LaunchRequest{{Count: 1, Disk: 60}})
	if len(res.Placements) != 0 {
		t.Errorf("disk carved out of the persistent volume: %v", res.Placements[0].Resources)
	}
}
