package allocator

import (
	"slices"
	"testing"

	"github.com/agoracluster/agora/resources"
)

// A RESERVE applied to an offered allocation converts it in place: the agent's
// total and the framework's allocation change together, and once recovered the
// dynamic reservation is offered only to its role.
func TestUpdateAllocationReserve(t *testing.T) {
	a := newTestAllocator()
	a.AddAgent("a1", Agent{Total: resources.MustParse("cpus:4;mem:1024")})
	a.AddFramework("web", Framework{Roles: []string{"web"}, Active: true})
	offers := a.Allocate(at(0))
	if len(offers) != 1 {
		t.Fatalf("offers = %v", offerStrings(offers))
	}
	consumed := resources.MustParse("cpus:1;mem:256")
	produced := consumed.PushReservation(resources.Dynamic("web", "ops"))
	a.UpdateAllocation("web", "a1", "web", consumed, produced)
	s := a.agents["a1"]
	wantTotal := resources.MustParse("cpus:3;mem:768").Plus(produced)
	if !s.total.Equal(wantTotal) || !s.allocated.Equal(wantTotal) {
		t.Fatalf("total %q allocated %q, want both %q", s.total, s.allocated, wantTotal)
	}
	a.Recover("web", "a1", wantTotal, 0, at(0))
	a.DeactivateFramework("web")
	a.AddFramework("ops", Framework{Roles: []string{"ops"}, Active: true})
	if got, want := offerStrings(a.Allocate(at(1))), []string{"ops a1 ops cpus:3;mem:768"}; !slices.Equal(got, want) {
		t.Fatalf("offers to ops = %v, want %v", got, want)
	}
	a.ActivateFramework("web")
	got := offerStrings(a.Allocate(at(2)))
	if want := []string{"web a1 web " + produced.String()}; !slices.Equal(got, want) {
		t.Fatalf("offers to web = %v, want %v", got, want)
	}
}

// An operator's operation changes the free part of an agent's total.
func TestUpdateAgentResources(t *testing.T) {
	a := newTestAllocator()
	a.AddAgent("a1", Agent{Total: resources.MustParse("cpus:2;disk:100")})
	reserved := resources.MustParse("disk:100").PushReservation(resources.Dynamic("db", "ops"))
	a.UpdateAgentResources("a1", resources.MustParse("disk:100"), reserved)
	a.AddFramework("web", Framework{Roles: []string{"web"}, Active: true})
	if got, want := offerStrings(a.Allocate(at(0))), []string{"web a1 web cpus:2"}; !slices.Equal(got, want) {
		t.Fatalf("offers = %v, want %v", got, want)
	}
}
