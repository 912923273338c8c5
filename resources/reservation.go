package resources

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// ReservationType says how a reservation was made, as Mesos's
// Resource.ReservationInfo.Type: statically by the agent's flags, or
// dynamically by a framework or an operator (RESERVE).
type ReservationType uint8

// The reservation types.
const (
	StaticReservation ReservationType = iota + 1
	DynamicReservation
)

func (t ReservationType) String() string {
	switch t {
	case StaticReservation:
		return "STATIC"
	case DynamicReservation:
		return "DYNAMIC"
	}
	return "UNKNOWN"
}

// Label is one key/value pair of a reservation's labels.
type Label struct {
	Key, Value string
}

// Reservation is one entry of a resource's reservation stack (Mesos's
// "reservation refinement"): the role it is reserved for, how, by whom, and
// the labels it was reserved with. Resources that differ in any of these are
// distinct: they neither add up nor substitute for one another.
type Reservation struct {
	Type      ReservationType
	Role      string
	Principal string
	Labels    []Label
}

// Dynamic returns a dynamic reservation for role made by principal.
func Dynamic(role, principal string, labels ...Label) Reservation {
	return Reservation{Type: DynamicReservation, Role: role, Principal: principal, Labels: labels}
}

// Volume is what makes a disk resource a persistent volume: its id (unique on
// the agent), the principal that created it, and where and how tasks see it.
type Volume struct {
	ID            string
	Principal     string
	ContainerPath string
	ReadOnly      bool
}

// Stack returns r's reservation stack, outermost first: nil for unreserved
// resources, a single STATIC reservation for a role given by Role alone.
func (r Resource) Stack() []Reservation {
	if len(r.Reservations) > 0 {
		return r.Reservations
	}
	if r.Role == Unreserved || r.Role == "" {
		return nil
	}
	return []Reservation{{Type: StaticReservation, Role: r.Role}}
}

// IsDynamicallyReserved reports whether r's innermost reservation is dynamic.
func (r Resource) IsDynamicallyReserved() bool {
	return len(r.Reservations) > 0 && r.Reservations[len(r.Reservations)-1].Type == DynamicReservation
}

// IsPersistentVolume reports whether r is a persistent volume.
func (r Resource) IsPersistentVolume() bool { return r.Volume != nil }

// PushReservation returns r with res added as its innermost reservation;
// r's role becomes res.Role.
func (r Resource) PushReservation(res Reservation) Resource {
	stack := append(slices.Clone(r.Stack()), res)
	r.Role = res.Role
	r.Reservations = normalizeStack(stack, res.Role)
	return r
}

// PopReservation returns r without its innermost reservation; the role
// becomes the next one out, or unreserved.
func (r Resource) PopReservation() Resource {
	stack := r.Stack()
	if len(stack) == 0 {
		return r
	}
	stack = stack[:len(stack)-1]
	r.Role = Unreserved
	if len(stack) > 0 {
		r.Role = stack[len(stack)-1].Role
	}
	r.Reservations = normalizeStack(slices.Clone(stack), r.Role)
	return r
}

// normalizeStack returns nil for stacks that Role alone describes (none, or a
// single plain STATIC reservation for role), so equal resources compare equal.
func normalizeStack(stack []Reservation, role string) []Reservation {
	switch {
	case len(stack) == 0:
		return nil
	case len(stack) == 1 && stack[0].Type == StaticReservation && stack[0].Role == role &&
		stack[0].Principal == "" && len(stack[0].Labels) == 0:
		return nil
	}
	for i := range stack {
		if len(stack[i].Labels) == 0 {
			stack[i].Labels = nil
		}
	}
	return stack
}

// validateStack checks a reservation stack as Mesos does: only the first
// reservation may be STATIC, no reservation is for "*", and each refinement
// reserves for a role nested under the previous one.
func validateStack(stack []Reservation) error {
	for i, res := range stack {
		if err := validateRole(res.Role); err != nil {
			return fmt.Errorf("reservation %d: %w", i, err)
		}
		switch {
		case res.Type != StaticReservation && res.Type != DynamicReservation:
			return fmt.Errorf("reservation %d: type must be STATIC or DYNAMIC", i)
		case res.Role == Unreserved:
			return fmt.Errorf("reservation %d: cannot reserve for role \"*\"", i)
		case i > 0 && res.Type == StaticReservation:
			return fmt.Errorf("reservation %d: a refined reservation must be DYNAMIC", i)
		case i > 0 && !isStrictDescendant(res.Role, stack[i-1].Role):
			return fmt.Errorf("reservation %d: role %q must be nested under the previous reservation's role %q", i, res.Role, stack[i-1].Role)
		}
	}
	return nil
}

func isStrictDescendant(role, ancestor string) bool {
	return len(role) > len(ancestor) && role[len(ancestor)] == '/' && strings.HasPrefix(role, ancestor)
}

func compareStacks(a, b []Reservation) int {
	return slices.CompareFunc(a, b, func(x, y Reservation) int {
		if c := cmp.Compare(x.Type, y.Type); c != 0 {
			return c
		}
		if c := strings.Compare(x.Role, y.Role); c != 0 {
			return c
		}
		if c := strings.Compare(x.Principal, y.Principal); c != 0 {
			return c
		}
		return slices.CompareFunc(x.Labels, y.Labels, func(p, q Label) int {
			if c := strings.Compare(p.Key, q.Key); c != 0 {
				return c
			}
			return strings.Compare(p.Value, q.Value)
		})
	})
}

func compareVolumes(a, b *Volume) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	if c := strings.Compare(a.ID, b.ID); c != 0 {
		return c
	}
	if c := strings.Compare(a.Principal, b.Principal); c != 0 {
		return c
	}
	if c := strings.Compare(a.ContainerPath, b.ContainerPath); c != 0 {
		return c
	}
	switch {
	case a.ReadOnly == b.ReadOnly:
		return 0
	case a.ReadOnly:
		return 1
	}
	return -1
}

// appendDetail renders the reservation stack and volume in Mesos's form:
// "(reservations: [(DYNAMIC,web,alice)])" and "[id:path:RW]".
func (r Resource) appendDetail(b []byte) []byte {
	if len(r.Reservations) > 0 {
		b = append(b, "(reservations: ["...)
		for i, res := range r.Reservations {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '(')
			b = append(b, res.Type.String()...)
			b = append(b, ',')
			b = append(b, res.Role...)
			if res.Principal != "" {
				b = append(b, ',')
				b = append(b, res.Principal...)
			}
			if len(res.Labels) > 0 {
				b = append(b, ",{"...)
				for j, l := range res.Labels {
					if j > 0 {
						b = append(b, ',')
					}
					b = append(b, l.Key...)
					b = append(b, ':')
					b = append(b, l.Value...)
				}
				b = append(b, '}')
			}
			b = append(b, ')')
		}
		b = append(b, "])"...)
	} else if r.Role != Unreserved {
		b = append(b, '(')
		b = append(b, r.Role...)
		b = append(b, ')')
	}
	if v := r.Volume; v != nil {
		b = append(b, '[')
		b = append(b, v.ID...)
		b = append(b, ':')
		b = append(b, v.ContainerPath...)
		if v.ReadOnly {
			b = append(b, ":RO"...)
		} else {
			b = append(b, ":RW"...)
		}
		b = append(b, ']')
	}
	return b
}

// PushReservation returns a with res pushed onto every entry's stack (what a
// RESERVE of a makes of them).
func (a Resources) PushReservation(res Reservation) Resources {
	out := make([]Resource, len(a.rs))
	for i, r := range a.rs {
		out[i] = r.PushReservation(res)
	}
	return fromUnsorted(out)
}

// PopReservation returns a with every entry's innermost reservation removed
// (what an UNRESERVE of a gives back).
func (a Resources) PopReservation() Resources {
	out := make([]Resource, len(a.rs))
	for i, r := range a.rs {
		out[i] = r.PopReservation()
	}
	return fromUnsorted(out)
}

// WithoutVolumes returns a with persistent volumes turned back into the plain
// (reserved) disk they were created from.
func (a Resources) WithoutVolumes() Resources {
	out := make([]Resource, len(a.rs))
	for i, r := range a.rs {
		r.Volume = nil
		out[i] = r
	}
	return fromUnsorted(out)
}

// PersistentVolumes returns the persistent volumes in a.
func (a Resources) PersistentVolumes() Resources {
	return a.Filter(Resource.IsPersistentVolume)
}

// Checkpointed returns what an agent must remember across restarts beyond its
// flags: dynamically reserved resources and persistent volumes.
func (a Resources) Checkpointed() Resources {
	return a.Filter(func(r Resource) bool { return r.IsDynamicallyReserved() || r.IsPersistentVolume() })
}

// VolumeByID returns the persistent volume with the given id, if a holds it.
func (a Resources) VolumeByID(id string) (Resource, bool) {
	for _, r := range a.rs {
		if r.Volume != nil && r.Volume.ID == id {
			return r, true
		}
	}
	return Resource{}, false
}

// Base returns what r was converted from by offer operations: without its
// dynamic reservations (static ones stay) and, for a persistent volume, as
// plain disk. Base of an agent's total is what its flags give it.
func (r Resource) Base() Resource {
	var static []Reservation
	for _, res := range r.Stack() {
		if res.Type == StaticReservation {
			static = append(static, res)
		}
	}
	r.Role = Unreserved
	if n := len(static); n > 0 {
		r.Role = static[n-1].Role
	}
	r.Reservations = normalizeStack(slices.Clone(static), r.Role)
	r.Volume = nil
	return r
}

// Bases returns the Base of every entry of a.
func (a Resources) Bases() Resources {
	out := make([]Resource, len(a.rs))
	for i, r := range a.rs {
		out[i] = r.Base()
	}
	return fromUnsorted(out)
}

// ApplyCheckpointed returns total (an agent's resources from its flags) with
// the checkpointed resources (dynamic reservations, persistent volumes) in
// place of what they were made from, as a Mesos agent does when it starts.
// It fails, naming the resource, when total cannot hold a checkpointed
// resource's base (the flags changed) or a resource is not one to checkpoint.
func ApplyCheckpointed(total, checkpointed Resources) (Resources, error) {
	for _, r := range checkpointed.rs {
		if !r.IsDynamicallyReserved() && !r.IsPersistentVolume() {
			return Resources{}, fmt.Errorf("resources: %s is neither dynamically reserved nor a persistent volume", r)
		}
		base := Of(r.Base())
		if !total.Contains(base) {
			return Resources{}, fmt.Errorf("resources: checkpointed %s needs %s, which the agent's resources %s do not hold", r, base, total)
		}
		total = total.Minus(base).Plus(Of(r))
	}
	return total, nil
}
