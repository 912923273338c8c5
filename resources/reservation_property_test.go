package resources_test

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/agoracluster/agora/resources"
)

// reservedGen draws resources where entries may carry dynamic reservations
// (by one of two principals, possibly refining a static one) and disk may be a
// persistent volume.
func reservedGen() *rapid.Generator[resources.Resources] {
	return rapid.Custom(func(t *rapid.T) resources.Resources {
		base := resourcesGen().Draw(t, "base")
		var out []resources.Resource
		for i, r := range base.All() {
			if r.Role == "eng/web" {
				r.Role = "*" // keep "eng/web" for refinements
			}
			switch rapid.IntRange(0, 3).Draw(t, "kind") {
			case 1:
				r.Role = "*"
				r = r.PushReservation(resources.Dynamic("web", rapid.SampledFrom([]string{"alice", "bob"}).Draw(t, "principal")))
			case 2:
				if r.Role == "*" {
					r.Role = "eng"
				}
				if r.Role == "eng" {
					r = r.PushReservation(resources.Dynamic("eng/web", "alice"))
				}
			}
			out = append(out, r)
			if i == 0 && rapid.Bool().Draw(t, "volume") {
				v := resources.ScalarResource("disk", "", float64(rapid.IntRange(1, 100).Draw(t, "size"))).PushReservation(resources.Dynamic("web", "alice"))
				v.Volume = &resources.Volume{ID: rapid.SampledFrom([]string{"v1", "v2"}).Draw(t, "id"), ContainerPath: "data"}
				out = append(out, v)
			}
		}
		return resources.Of(out...)
	})
}

func TestPropertyReservations(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := reservedGen().Draw(t, "a")
		b := reservedGen().Draw(t, "b").Minus(a)
		if got := a.Plus(b).Minus(b); !got.Equal(a) {
			t.Fatalf("a+b-b = %v, want %v", got, a)
		}
		if !a.Contains(a) || !a.Minus(a).IsEmpty() {
			t.Fatalf("a does not contain itself: %v", a)
		}
		back, err := resources.FromProto(a.ToProto())
		if err != nil || !back.Equal(a) {
			t.Fatalf("proto round trip of %v = %v, %v", a, back, err)
		}
		// An agent's total is its flags' resources with its checkpointed
		// resources applied (scalars: the generator may put one port or set
		// item under two reservations, which no agent has).
		scalars := a.Filter(func(r resources.Resource) bool { return r.Type == resources.ScalarType })
		applied, err := resources.ApplyCheckpointed(scalars.Bases(), scalars.Checkpointed())
		if err != nil || !applied.Equal(scalars) {
			t.Fatalf("ApplyCheckpointed(%v, %v) = %v, %v; want %v", scalars.Bases(), scalars.Checkpointed(), applied, err, scalars)
		}
		// RESERVE then UNRESERVE gives the unreserved resources back.
		plain := a.Bases().Unreserved()
		if got := plain.PushReservation(resources.Dynamic("ops", "carol")).PopReservation(); !got.Equal(plain) {
			t.Fatalf("push/pop of %v = %v", plain, got)
		}
		// Dynamic reservations never fit in what they were made from.
		if dyn := a.Checkpointed(); !dyn.IsEmpty() && a.Bases().Contains(dyn) {
			t.Fatalf("%v contains the converted %v", a.Bases(), dyn)
		}
	})
}
