package resources_test

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/agoracluster/agora/resources"
)

// rangesGen draws normalized-or-not ranges over the small domain [0, 64).
func rangesGen() *rapid.Generator[resources.Ranges] {
	return rapid.Custom(func(t *rapid.T) resources.Ranges {
		n := rapid.IntRange(0, 5).Draw(t, "n")
		rs := make([]resources.Range, n)
		for i := range rs {
			b := rapid.Uint64Range(0, 63).Draw(t, "begin")
			e := rapid.Uint64Range(b, min(b+12, 63)).Draw(t, "end")
			rs[i] = resources.Range{Begin: b, End: e}
		}
		return resources.NewRanges(rs...)
	})
}

// resourcesGen draws resources over a few names and roles.
func resourcesGen() *rapid.Generator[resources.Resources] {
	return rapid.Custom(func(t *rapid.T) resources.Resources {
		roles := []string{"*", "web", "eng/web"}
		n := rapid.IntRange(0, 8).Draw(t, "entries")
		var rs []resources.Resource
		for range n {
			role := rapid.SampledFrom(roles).Draw(t, "role")
			switch rapid.IntRange(0, 4).Draw(t, "kind") {
			case 0:
				rs = append(rs, resources.Resource{Name: "cpus", Role: role, Scalar: resources.Scalar(rapid.Int64Range(0, 64_000).Draw(t, "cpus"))})
			case 1:
				rs = append(rs, resources.Resource{Name: "mem", Role: role, Scalar: resources.Scalar(rapid.Int64Range(0, 1<<30).Draw(t, "mem"))})
			case 2:
				rs = append(rs, resources.Resource{Name: "gpus", Role: role, Scalar: resources.Scalar(rapid.Int64Range(0, 8_000).Draw(t, "gpus"))})
			case 3:
				rs = append(rs, resources.Resource{Name: "ports", Role: role, Type: resources.RangesType, Ranges: rangesGen().Draw(t, "ports")})
			case 4:
				items := rapid.SliceOfN(rapid.SampledFrom([]string{"a", "b", "c", "d"}), 0, 4).Draw(t, "disks")
				rs = append(rs, resources.Resource{Name: "disks", Role: role, Type: resources.SetType, Set: items})
			}
		}
		return resources.Of(rs...)
	})
}

func nonScalar(r resources.Resource) bool { return r.Type != resources.ScalarType }

func TestPropertyArithmetic(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := resourcesGen().Draw(t, "a")
		b0 := resourcesGen().Draw(t, "b")
		// Ranges and sets unite rather than add, so a+b-b == a needs b's
		// ranges and sets disjoint from a's.
		b := b0.Minus(a.Filter(nonScalar))

		if got := a.Plus(b).Minus(b); !got.Equal(a) {
			t.Fatalf("(a+b)-b = %v, want a = %v (b = %v)", got, a, b)
		}
		sum := a.Plus(b0)
		if !sum.Equal(b0.Plus(a)) {
			t.Fatalf("a+b != b+a")
		}
		if !sum.Contains(a) || !sum.Contains(b0) {
			t.Fatalf("a+b = %v does not contain a = %v and b = %v", sum, a, b0)
		}
		diff := a.Minus(b0)
		if !a.Contains(diff) {
			t.Fatalf("a-b = %v not contained in a = %v", diff, a)
		}
		for _, r := range diff.All() {
			if r.IsEmpty() || r.Scalar < 0 {
				t.Fatalf("a-b has empty or negative entry %v", r)
			}
		}
		if b0.Contains(a) != a.Minus(b0).IsEmpty() {
			t.Fatalf("b.Contains(a) = %v but a-b = %v", b0.Contains(a), a.Minus(b0))
		}
		if !a.Contains(a) || !a.Minus(a).IsEmpty() {
			t.Fatalf("self containment broken for %v", a)
		}
		c := resourcesGen().Draw(t, "c")
		if !a.Plus(b0).Plus(c).Equal(a.Plus(b0.Plus(c))) {
			t.Fatalf("Plus not associative")
		}
		if parsed, err := resources.Parse(a.String(), ""); err != nil || !parsed.Equal(a) {
			t.Fatalf("Parse(String(%v)) = %v, %v", a, parsed, err)
		}
		if !a.Unreserved().Plus(a.Reserved("")).Equal(a) {
			t.Fatalf("Unreserved + Reserved != a")
		}
	})
}

// TestPropertyRanges checks Ranges against a naive set of integers.
func TestPropertyRanges(t *testing.T) {
	toSet := func(rs resources.Ranges) map[uint64]bool {
		m := make(map[uint64]bool)
		for v := range rs.Values {
			m[v] = true
		}
		return m
	}
	fromSet := func(m map[uint64]bool) resources.Ranges {
		var rs []resources.Range
		for v := range m {
			rs = append(rs, resources.Range{Begin: v, End: v})
		}
		return resources.NewRanges(rs...)
	}
	rapid.Check(t, func(t *rapid.T) {
		a := rangesGen().Draw(t, "a")
		b := rangesGen().Draw(t, "b")
		sa, sb := toSet(a), toSet(b)

		union := make(map[uint64]bool)
		diff := make(map[uint64]bool)
		subset := true
		for v := range sa {
			union[v] = true
			if !sb[v] {
				diff[v] = true
			}
		}
		for v := range sb {
			union[v] = true
			if !sa[v] {
				subset = false
			}
		}
		if got, want := a.Plus(b), fromSet(union); !got.Equal(want) {
			t.Fatalf("%v + %v = %v, want %v", a, b, got, want)
		}
		if got, want := a.Minus(b), fromSet(diff); !got.Equal(want) {
			t.Fatalf("%v - %v = %v, want %v", a, b, got, want)
		}
		if got := a.Contains(b); got != subset {
			t.Fatalf("%v.Contains(%v) = %v, want %v", a, b, got, subset)
		}
		if got := a.Size(); got != uint64(len(sa)) {
			t.Fatalf("%v.Size() = %d, want %d", a, got, len(sa))
		}
		for v := uint64(0); v < 64; v++ {
			if a.ContainsValue(v) != sa[v] {
				t.Fatalf("%v.ContainsValue(%d) wrong", a, v)
			}
		}
		if parsed, err := resources.ParseRanges(a.String()); err != nil || !parsed.Equal(a) {
			t.Fatalf("ParseRanges(%q) = %v, %v", a.String(), parsed, err)
		}
	})
}

func TestPropertyProtoRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := resourcesGen().Draw(t, "a")
		back, err := resources.FromProto(a.ToProtoAllocated("web"))
		if err != nil {
			t.Fatal(err)
		}
		if !back.Equal(a) {
			t.Fatalf("FromProto(ToProto(%v)) = %v", a, back)
		}
	})
}
