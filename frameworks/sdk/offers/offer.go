package offers

import (
	"cmp"
	"reflect"
	"slices"

	"github.com/agoracluster/agora/frameworks/sdk"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
	"google.golang.org/protobuf/proto"
)

// PortsName is the name of the port-range resource.
const PortsName = "ports"

// Offer is one offer being carved into tasks. It is not safe for concurrent use.
type Offer struct {
	pb        *mesos.Offer
	total     resources.Resources
	remaining resources.Resources
	allocRole string // allocation_info.role of the offer ("" when the master set none)
	tasks     []*mesos.TaskInfo
	err       error
}

// New wraps o. An offer with malformed resources is treated as empty (Err reports why), so
// it never matches and ends up declined.
func New(o *mesos.Offer) *Offer {
	total, err := resources.FromProto(o.GetResources())
	off := &Offer{pb: o, total: total, remaining: total, err: err}
	off.allocRole = o.GetAllocationInfo().GetRole()
	if off.allocRole == "" {
		for _, r := range o.GetResources() {
			if role := r.GetAllocationInfo().GetRole(); role != "" {
				off.allocRole = role
				break
			}
		}
	}
	return off
}

// Proto returns the wrapped offer.
func (o *Offer) Proto() *mesos.Offer { return o.pb }

// ID returns the offer id.
func (o *Offer) ID() *mesos.OfferID { return o.pb.GetId() }

// AgentID returns the offering agent's id.
func (o *Offer) AgentID() *mesos.AgentID { return o.pb.GetAgentId() }

// Hostname returns the offering agent's hostname.
func (o *Offer) Hostname() string { return o.pb.GetHostname() }

// Err reports why the offer's resources could not be read (nil when they could).
func (o *Offer) Err() error { return o.err }

// Total returns everything the offer holds.
func (o *Offer) Total() resources.Resources { return o.total }

// Remaining returns what has not been taken yet.
func (o *Offer) Remaining() resources.Resources { return o.remaining }

// Used reports whether anything was taken from the offer or a task added to it.
func (o *Offer) Used() bool { return len(o.tasks) > 0 || !o.remaining.Equal(o.total) }

// Attribute returns the value of the agent's attribute name as text (scalars, ranges and
// sets in the Mesos text form) and whether the agent has it.
func (o *Offer) Attribute(name string) (string, bool) {
	for _, a := range o.pb.GetAttributes() {
		if a.GetName() == name {
			return resources.AttributeValue(a), true
		}
	}
	return "", false
}

// Attributes returns all of the agent's attributes as text (see Attribute), by name.
func (o *Offer) Attributes() map[string]string {
	out := make(map[string]string, len(o.pb.GetAttributes()))
	for _, a := range o.pb.GetAttributes() {
		out[a.GetName()] = resources.AttributeValue(a)
	}
	return out
}

// Match reports whether need fits in what remains of the offer.
func (o *Offer) Match(need resources.Resources) bool {
	_, ok := carve(o.remaining, need)
	return ok
}

// Take removes need from the offer and returns the resources actually taken (with the
// roles they came from). Nothing is taken when need does not fit.
func (o *Offer) Take(need resources.Resources) (resources.Resources, bool) {
	got, ok := carve(o.remaining, need)
	if !ok {
		return resources.Resources{}, false
	}
	o.remaining = o.remaining.Minus(got)
	return got, true
}

// TakePorts takes the n lowest free ports and returns them and the port resources to put
// into the task. Nothing is taken when fewer than n ports are free.
func (o *Offer) TakePorts(n int) ([]uint64, resources.Resources, bool) {
	ports, res, ok := pickPorts(o.remaining, n)
	if !ok {
		return nil, resources.Resources{}, false
	}
	o.remaining = o.remaining.Minus(res)
	return ports, res, true
}

// TakeSpecificPorts takes exactly ports (for host-port mappings that must not change).
func (o *Offer) TakeSpecificPorts(ports ...uint64) (resources.Resources, bool) {
	return o.Take(portsNeed(ports))
}

// TakeTask takes need plus n ports in one step: either all of it or nothing.
func (o *Offer) TakeTask(need resources.Resources, n int) (resources.Resources, []uint64, bool) {
	got, ok := carve(o.remaining, need)
	if !ok {
		return resources.Resources{}, nil, false
	}
	ports, pres, ok := pickPorts(o.remaining.Minus(got), n)
	if !ok {
		return resources.Resources{}, nil, false
	}
	got = got.Plus(pres)
	o.remaining = o.remaining.Minus(got)
	return got, ports, true
}

// ResourcesProto converts taken resources for a TaskInfo of this offer: with the offer's
// allocation role when the master set one (MULTI_ROLE frameworks), as Mesos requires.
func (o *Offer) ResourcesProto(res resources.Resources) []*mesos.Resource {
	if o.allocRole != "" {
		return res.ToProtoAllocated(o.allocRole)
	}
	return res.ToProto()
}

// Assign sets t's agent id to the offer's agent and its resources' allocation role to the
// offer's, and returns t.
func (o *Offer) Assign(t *mesos.TaskInfo) *mesos.TaskInfo {
	t.AgentId = proto.Clone(o.pb.GetAgentId()).(*mesos.AgentID)
	if o.allocRole != "" {
		for _, r := range t.Resources {
			if r.AllocationInfo == nil {
				r.AllocationInfo = &mesos.Resource_AllocationInfo{Role: proto.String(o.allocRole)}
			}
		}
	}
	return t
}

// AddTask assigns t to the offer (see Assign) and keeps it for Tasks.
func (o *Offer) AddTask(t *mesos.TaskInfo) {
	o.tasks = append(o.tasks, o.Assign(t))
}

// Tasks returns the tasks added with AddTask, to launch on the offer.
func (o *Offer) Tasks() []*mesos.TaskInfo { return o.tasks }

// CommandTask is sdk.CommandTask placed on this offer (see Assign).
func (o *Offer) CommandTask(name, id, cmd string, res resources.Resources) *mesos.TaskInfo {
	return o.Assign(sdk.CommandTask(name, id, cmd, res))
}

// Match reports whether need fits in offer o.
func Match(o *mesos.Offer, need resources.Resources) bool {
	return New(o).Match(need)
}

// carve finds need in have: entries of need with a role must be matched by the same role;
// unreserved entries may be served by any role of have, reserved roles first (in order),
// then unreserved. It returns what it would take from have.
func carve(have, need resources.Resources) (resources.Resources, bool) {
	// Entries that name a role go first, so that flexible (unreserved) entries do not use
	// up the reservations that they need.
	entries := need.All()
	slices.SortStableFunc(entries, func(a, b resources.Resource) int {
		return cmp.Compare(boolInt(a.Role == resources.Unreserved), boolInt(b.Role == resources.Unreserved))
	})
	var taken []resources.Resource
	avail := have
	for _, n := range entries {
		got, ok := takeEntry(candidates(avail, n), n)
		if !ok {
			return resources.Resources{}, false
		}
		avail = avail.Minus(resources.Of(got...))
		taken = append(taken, got...)
	}
	return resources.Of(taken...), true
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// candidates returns the entries of have that may serve n, in the order to use them. A
// persistent volume serves only a need for that very volume (by id), and a need for a
// volume is served by nothing else, so plain disk is never carved out of a volume.
func candidates(have resources.Resources, n resources.Resource) []resources.Resource {
	cands := have.Filter(func(r resources.Resource) bool {
		if r.Name != n.Name || r.Type != n.Type {
			return false
		}
		if (r.Volume == nil) != (n.Volume == nil) || (n.Volume != nil && r.Volume.ID != n.Volume.ID) {
			return false
		}
		if n.Reservations != nil && !reflect.DeepEqual(r.Reservations, n.Reservations) {
			return false // a need for an exact reservation stack takes only that stack
		}
		return n.Role == resources.Unreserved || r.Role == n.Role
	}).All()
	slices.SortStableFunc(cands, func(a, b resources.Resource) int {
		au, bu := a.Role == resources.Unreserved, b.Role == resources.Unreserved
		switch {
		case au == bu:
			return cmp.Compare(a.Role, b.Role)
		case au:
			return 1
		}
		return -1
	})
	return cands
}

// takeEntry serves n from cands and returns the pieces taken: each piece is a copy of the
// offered entry (keeping its reservation stack and volume, which the master checks) with
// only the quantity changed. A persistent volume is indivisible: it is taken whole or not.
func takeEntry(cands []resources.Resource, n resources.Resource) ([]resources.Resource, bool) {
	var out []resources.Resource
	switch n.Type {
	case resources.ScalarType:
		left := n.Scalar
		for _, c := range cands {
			if left == 0 {
				break
			}
			q := min(left, c.Scalar)
			if c.Volume != nil && q != c.Scalar {
				continue
			}
			if q > 0 {
				piece := c
				piece.Scalar = q
				out = append(out, piece)
				left -= q
			}
		}
		return out, left == 0
	case resources.RangesType:
		left := n.Ranges
		for _, c := range cands {
			if left.IsEmpty() {
				break
			}
			part := left.Minus(left.Minus(c.Ranges))
			if !part.IsEmpty() {
				piece := c
				piece.Ranges = part
				out = append(out, piece)
				left = left.Minus(part)
			}
		}
		return out, left.IsEmpty()
	case resources.SetType:
		left := n.Set
		for _, c := range cands {
			var part, rest []string
			for _, it := range left {
				if slices.Contains(c.Set, it) {
					part = append(part, it)
				} else {
					rest = append(rest, it)
				}
			}
			if len(part) > 0 {
				piece := c
				piece.Set = part
				out = append(out, piece)
			}
			left = rest
		}
		return out, len(left) == 0
	}
	return nil, false
}

// pickPorts chooses the n lowest free ports of have, reserved ports first.
func pickPorts(have resources.Resources, n int) ([]uint64, resources.Resources, bool) {
	if n <= 0 {
		return nil, resources.Resources{}, n == 0
	}
	var ports []uint64
	var taken []resources.Resource
	for _, c := range candidates(have, resources.Resource{Name: PortsName, Role: resources.Unreserved, Type: resources.RangesType}) {
		var mine []resources.Range
		for v := range c.Ranges.Values {
			if len(ports) == n {
				break
			}
			if slices.Contains(ports, v) { // the same port under two roles: use it once
				continue
			}
			ports = append(ports, v)
			mine = append(mine, resources.Range{Begin: v, End: v})
		}
		if len(mine) > 0 {
			piece := c // keeps the reservation stack
			piece.Ranges = resources.NewRanges(mine...)
			taken = append(taken, piece)
		}
		if len(ports) == n {
			return ports, resources.Of(taken...), true
		}
	}
	return nil, resources.Resources{}, false
}

func portsNeed(ports []uint64) resources.Resources {
	rs := make([]resources.Range, len(ports))
	for i, p := range ports {
		rs[i] = resources.Range{Begin: p, End: p}
	}
	return resources.Of(resources.RangesResource(PortsName, "", resources.NewRanges(rs...)))
}
