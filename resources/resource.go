package resources

import (
	"cmp"
	"slices"
	"strings"
)

// Unreserved is the role of resources that are not reserved for any role.
const Unreserved = "*"

// Type is the kind of value a resource holds.
type Type uint8

// The resource value types, in the order Mesos's Value.Type declares them.
const (
	ScalarType Type = iota
	RangesType
	SetType
)

func (t Type) String() string {
	switch t {
	case ScalarType:
		return "SCALAR"
	case RangesType:
		return "RANGES"
	case SetType:
		return "SET"
	}
	return "UNKNOWN"
}

// Resource is one named quantity reserved for one role ("*" = unreserved).
// Exactly one of Scalar, Ranges and Set is meaningful, as Type says. Ranges,
// Set, Reservations and Volume are shared with the Resources value they came
// from: do not modify them in place.
//
// Role is the innermost reservation's role. Reservations holds the full
// reservation stack when Role alone does not describe it (dynamic
// reservations, refinements, principals, labels); it is nil for unreserved
// resources and for a plain static reservation. Volume is set on a disk
// resource that is a persistent volume. Resources that differ in Role,
// Reservations or Volume are distinct entries and never substitute for one
// another, as in Mesos.
type Resource struct {
	Name         string
	Role         string
	Type         Type
	Scalar       Scalar
	Ranges       Ranges   // normalized
	Set          []string // sorted, without duplicates
	Reservations []Reservation
	Volume       *Volume
}

// ScalarResource returns a scalar resource; role "" means unreserved.
func ScalarResource(name, role string, value float64) Resource {
	return Resource{Name: name, Role: roleOrDefault(role), Type: ScalarType, Scalar: ScalarFromFloat(value)}
}

// RangesResource returns a ranges resource; role "" means unreserved.
func RangesResource(name, role string, rs Ranges) Resource {
	return Resource{Name: name, Role: roleOrDefault(role), Type: RangesType, Ranges: NewRanges(rs...)}
}

// SetResource returns a set resource; role "" means unreserved.
func SetResource(name, role string, items ...string) Resource {
	return Resource{Name: name, Role: roleOrDefault(role), Type: SetType, Set: normalizeSet(slices.Clone(items))}
}

func roleOrDefault(role string) string {
	if role == "" {
		return Unreserved
	}
	return role
}

// IsEmpty reports whether r holds nothing (zero scalar, no ranges, no items).
func (r Resource) IsEmpty() bool {
	switch r.Type {
	case ScalarType:
		return r.Scalar <= 0
	case RangesType:
		return len(r.Ranges) == 0
	case SetType:
		return len(r.Set) == 0
	}
	return true
}

// IsReserved reports whether r is reserved for a role.
func (r Resource) IsReserved() bool { return r.Role != Unreserved }

// String renders r in the text form: "cpus:4", "ports(web):[1-2]".
func (r Resource) String() string { return string(r.appendText(nil)) }

func (r Resource) appendText(b []byte) []byte {
	b = append(b, r.Name...)
	b = r.appendDetail(b)
	b = append(b, ':')
	switch r.Type {
	case ScalarType:
		b = r.Scalar.appendText(b)
	case RangesType:
		b = r.Ranges.appendText(b)
	case SetType:
		b = append(b, '{')
		for i, it := range r.Set {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, it...)
		}
		b = append(b, '}')
	}
	return b
}

// compareKey orders resources by name, then role, then type, then the
// reservation stack and the volume (both usually absent).
func compareKey(a, b *Resource) int {
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	if c := strings.Compare(a.Role, b.Role); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Type, b.Type); c != 0 {
		return c
	}
	if a.Reservations == nil && b.Reservations == nil && a.Volume == nil && b.Volume == nil {
		return 0
	}
	if c := compareStacks(a.Reservations, b.Reservations); c != 0 {
		return c
	}
	return compareVolumes(a.Volume, b.Volume)
}

// add returns a+b for two resources with the same key.
func add(a, b Resource) Resource {
	switch a.Type {
	case ScalarType:
		a.Scalar = addScalar(a.Scalar, b.Scalar)
	case RangesType:
		a.Ranges = a.Ranges.Plus(b.Ranges)
	case SetType:
		a.Set = setUnion(a.Set, b.Set)
	}
	return a
}

// sub returns a-b (clamped) for two resources with the same key.
func sub(a, b Resource) Resource {
	switch a.Type {
	case ScalarType:
		a.Scalar = max(a.Scalar-b.Scalar, 0)
	case RangesType:
		a.Ranges = a.Ranges.Minus(b.Ranges)
	case SetType:
		a.Set = setDifference(a.Set, b.Set)
	}
	return a
}

// fits reports whether b fits in a, for two resources with the same key. A
// persistent volume is indivisible: only the whole volume fits.
func fits(a, b *Resource) bool {
	if a.Volume != nil {
		return equalResource(a, b)
	}
	switch a.Type {
	case ScalarType:
		return b.Scalar <= a.Scalar
	case RangesType:
		return a.Ranges.Contains(b.Ranges)
	case SetType:
		return setContains(a.Set, b.Set)
	}
	return false
}

func equalResource(a, b *Resource) bool {
	if compareKey(a, b) != 0 {
		return false
	}
	switch a.Type {
	case ScalarType:
		return a.Scalar == b.Scalar
	case RangesType:
		return slices.Equal(a.Ranges, b.Ranges)
	case SetType:
		return slices.Equal(a.Set, b.Set)
	}
	return false
}

func normalizeSet(items []string) []string {
	if len(items) == 0 {
		return nil
	}
	slices.Sort(items)
	return slices.Compact(items)
}

func setUnion(a, b []string) []string {
	switch {
	case len(b) == 0:
		return a
	case len(a) == 0:
		return b
	}
	out := make([]string, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch c := strings.Compare(a[i], b[j]); {
		case c < 0:
			out = append(out, a[i])
			i++
		case c > 0:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

func setDifference(a, b []string) []string {
	if len(a) == 0 || len(b) == 0 {
		return a
	}
	var out []string
	j := 0
	for _, it := range a {
		for j < len(b) && b[j] < it {
			j++
		}
		if j < len(b) && b[j] == it {
			continue
		}
		out = append(out, it)
	}
	return out
}

func setContains(a, b []string) bool {
	i := 0
	for _, it := range b {
		for i < len(a) && a[i] < it {
			i++
		}
		if i >= len(a) || a[i] != it {
			return false
		}
	}
	return true
}
