package resources

import (
	"slices"
	"strings"
)

// Resources is a normalized collection of resources: entries sorted by
// (name, role, type), one entry per key, no empty entries. The zero value
// is empty. Resources is immutable; share it freely.
type Resources struct {
	rs []Resource
}

// Of returns the sum of rs: entries with the same (name, role, type) are
// added up, empty ones are dropped, a Role of "" means unreserved.
func Of(rs ...Resource) Resources {
	out := make([]Resource, 0, len(rs))
	for _, r := range rs {
		r.Role = roleOrDefault(r.Role)
		if n := len(r.Reservations); n > 0 {
			r.Role = r.Reservations[n-1].Role
		}
		r.Reservations = normalizeStack(slices.Clone(r.Reservations), r.Role)
		switch r.Type {
		case RangesType:
			r.Ranges = NewRanges(r.Ranges...)
		case SetType:
			r.Set = normalizeSet(slices.Clone(r.Set))
		}
		if !r.IsEmpty() {
			out = append(out, r)
		}
	}
	return fromUnsorted(out)
}

// fromUnsorted sorts rs by key and adds up duplicates; rs must hold
// normalized, non-empty entries and is reused.
func fromUnsorted(rs []Resource) Resources {
	if len(rs) == 0 {
		return Resources{}
	}
	slices.SortStableFunc(rs, func(a, b Resource) int { return compareKey(&a, &b) })
	out := rs[:1]
	for _, r := range rs[1:] {
		last := &out[len(out)-1]
		if compareKey(last, &r) == 0 {
			*last = add(*last, r)
			continue
		}
		out = append(out, r)
	}
	return Resources{rs: out}
}

// All returns a copy of the entries, sorted by (name, role, type).
func (a Resources) All() []Resource { return slices.Clone(a.rs) }

// Each yields the entries in order without copying the slice; use it as
// `for r := range rs.Each`.
func (a Resources) Each(yield func(Resource) bool) {
	for _, r := range a.rs {
		if !yield(r) {
			return
		}
	}
}

// MarshalText renders a as String does, so Resources can be a JSON string.
func (a Resources) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText parses text with Parse and unreserved default role.
func (a *Resources) UnmarshalText(text []byte) error {
	r, err := Parse(string(text), "")
	if err != nil {
		return err
	}
	*a = r
	return nil
}

// Len returns the number of entries.
func (a Resources) Len() int { return len(a.rs) }

// IsEmpty reports whether a holds nothing.
func (a Resources) IsEmpty() bool { return len(a.rs) == 0 }

// Equal reports whether a and b hold exactly the same quantities.
func (a Resources) Equal(b Resources) bool {
	if len(a.rs) != len(b.rs) {
		return false
	}
	for i := range a.rs {
		if !equalResource(&a.rs[i], &b.rs[i]) {
			return false
		}
	}
	return true
}

// String renders a in the text form that Parse reads, entries sorted by
// name then role: "cpus:4;mem:8192;ports:[31000-32000];cpus(web):2" comes
// out as "cpus:4;cpus(web):2;mem:8192;ports:[31000-32000]". Empty
// resources render as "".
func (a Resources) String() string {
	var b []byte
	for i := range a.rs {
		if i > 0 {
			b = append(b, ';')
		}
		b = a.rs[i].appendText(b)
	}
	return string(b)
}

// Plus returns a+b: scalars add up, ranges and sets are united.
func (a Resources) Plus(b Resources) Resources {
	switch {
	case len(b.rs) == 0:
		return a
	case len(a.rs) == 0:
		return b
	}
	out := make([]Resource, 0, len(a.rs)+len(b.rs))
	i, j := 0, 0
	for i < len(a.rs) && j < len(b.rs) {
		switch c := compareKey(&a.rs[i], &b.rs[j]); {
		case c < 0:
			out = append(out, a.rs[i])
			i++
		case c > 0:
			out = append(out, b.rs[j])
			j++
		default:
			out = append(out, add(a.rs[i], b.rs[j]))
			i++
			j++
		}
	}
	out = append(out, a.rs[i:]...)
	out = append(out, b.rs[j:]...)
	return Resources{rs: out}
}

// Minus returns a-b, clamped: a scalar never goes below zero, ranges and
// sets lose the values of b, and entries that become empty are removed.
// Quantities of b that a does not have are ignored.
func (a Resources) Minus(b Resources) Resources {
	if len(a.rs) == 0 || len(b.rs) == 0 {
		return a
	}
	out := make([]Resource, 0, len(a.rs))
	j := 0
	for i := range a.rs {
		for j < len(b.rs) && compareKey(&b.rs[j], &a.rs[i]) < 0 {
			j++
		}
		r := a.rs[i]
		if j < len(b.rs) && compareKey(&b.rs[j], &r) == 0 {
			r = sub(r, b.rs[j])
			if r.IsEmpty() {
				continue
			}
		}
		out = append(out, r)
	}
	return Resources{rs: out}
}

// Contains reports whether b fits in a: for every (name, role, type) of b,
// a holds at least as much (scalars) or a superset (ranges, sets).
// Reservations matter: cpus(web):1 does not fit in cpus:1.
func (a Resources) Contains(b Resources) bool {
	i := 0
	for j := range b.rs {
		for i < len(a.rs) && compareKey(&a.rs[i], &b.rs[j]) < 0 {
			i++
		}
		if i >= len(a.rs) || compareKey(&a.rs[i], &b.rs[j]) != 0 || !fits(&a.rs[i], &b.rs[j]) {
			return false
		}
	}
	return true
}

// Scalar returns the total of the scalar resource name across all roles,
// or 0 if there is none.
func (a Resources) Scalar(name string) float64 {
	var sum Scalar
	for i := range a.rs {
		if r := &a.rs[i]; r.Name == name && r.Type == ScalarType {
			sum = addScalar(sum, r.Scalar)
		}
	}
	return sum.Float64()
}

// Ranges returns the union of the ranges resource name across all roles.
func (a Resources) Ranges(name string) Ranges {
	var out Ranges
	for i := range a.rs {
		if r := &a.rs[i]; r.Name == name && r.Type == RangesType {
			out = out.Plus(r.Ranges)
		}
	}
	return out
}

// Set returns the union of the set resource name across all roles.
func (a Resources) Set(name string) []string {
	var out []string
	for i := range a.rs {
		if r := &a.rs[i]; r.Name == name && r.Type == SetType {
			out = setUnion(out, r.Set)
		}
	}
	return slices.Clone(out)
}

// Ports returns the union of the "ports" ranges across all roles.
func (a Resources) Ports() Ranges { return a.Ranges("ports") }

// Names returns the distinct resource names in a, sorted.
func (a Resources) Names() []string {
	var out []string
	for i := range a.rs {
		if n := len(out); n == 0 || out[n-1] != a.rs[i].Name {
			out = append(out, a.rs[i].Name)
		}
	}
	return out
}

// Filter returns the entries for which keep returns true.
func (a Resources) Filter(keep func(Resource) bool) Resources {
	var out []Resource
	for _, r := range a.rs {
		if keep(r) {
			out = append(out, r)
		}
	}
	return Resources{rs: out}
}

// Reserved returns the resources reserved for role; role "" means the
// resources reserved for any role.
func (a Resources) Reserved(role string) Resources {
	return a.Filter(func(r Resource) bool {
		return r.Role != Unreserved && (role == "" || r.Role == role)
	})
}

// Unreserved returns the resources that are not reserved for any role.
func (a Resources) Unreserved() Resources {
	return a.Filter(func(r Resource) bool { return r.Role == Unreserved })
}

// AllocatableTo returns the resources that may be allocated to role: the
// unreserved ones, those reserved for role, and those reserved for an
// ancestor of role in the role hierarchy ("eng" for "eng/web"), as Mesos
// allows.
func (a Resources) AllocatableTo(role string) Resources {
	return a.Filter(func(r Resource) bool { return IsAllocatableTo(r.Role, role) })
}

// IsAllocatableTo reports whether resources reserved for reservation
// (Unreserved = "*") may be allocated to role.
func IsAllocatableTo(reservation, role string) bool {
	return reservation == Unreserved || reservation == role ||
		(len(role) > len(reservation) && role[len(reservation)] == '/' && strings.HasPrefix(role, reservation))
}

// WithRole returns a with every entry moved to role ("" or "*" means
// unreserved) as a plain static reservation, adding up entries that meet.
func (a Resources) WithRole(role string) Resources {
	role = roleOrDefault(role)
	out := make([]Resource, len(a.rs))
	for i, r := range a.rs {
		r.Role = role
		r.Reservations = nil
		out[i] = r
	}
	return fromUnsorted(out)
}
