package matching

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/constraints"
	"github.com/agoracluster/agora/frameworks/marathon/taskinfo"
	"github.com/agoracluster/agora/frameworks/sdk/offers"
	"github.com/agoracluster/agora/resources"
)

// Decline reasons, with the names Marathon's processedOffersSummary uses.
const (
	ReasonUnfulfilledRole       = "UnfulfilledRole"
	ReasonUnfulfilledConstraint = "UnfulfilledConstraint"
	ReasonInsufficientCpus      = "InsufficientCpus"
	ReasonInsufficientMemory    = "InsufficientMemory"
	ReasonInsufficientDisk      = "InsufficientDisk"
	ReasonInsufficientGpus      = "InsufficientGpus"
	ReasonInsufficientPorts     = "InsufficientPorts"
)

// ReasonOrder is the order Marathon lists reasons in (the order its matcher checks them).
var ReasonOrder = []string{
	ReasonUnfulfilledRole, ReasonUnfulfilledConstraint, ReasonInsufficientCpus,
	ReasonInsufficientMemory, ReasonInsufficientDisk, ReasonInsufficientGpus, ReasonInsufficientPorts,
}

// LaunchRequest asks for Count tasks of one app version.
type LaunchRequest struct {
	AppID string
	Count int
	Cpus  float64
	Mem   float64
	Disk  float64
	Gpus  float64
	// HostPorts has one entry per host port the task needs: 0 = any port of the offer,
	// anything else = exactly that port.
	HostPorts []int
	// Constraints are checked against the offer's agent and Placed.
	Constraints []constraints.Constraint
	// AcceptedRoles lists the roles whose resources may be used; empty = any role.
	AcceptedRoles []string
	// Placed lists where the app's tasks run now.
	Placed []constraints.Placement
}

// Placement is one task placed on an offer.
type Placement struct {
	Request   int // index into the requests
	Offer     *offers.Offer
	Resources resources.Resources // with the roles they were taken from
	Ports     []uint64            // host ports, in the order of HostPorts
}

// MatchResult is the outcome of one matching round.
type MatchResult struct {
	Placements []Placement
	// Declined counts, per request index, the offers that could not take a task of the
	// request, by reason; Detail keeps the last human-readable reason per request.
	Declined map[int]map[string]int
	Detail   map[int]string
	// Processed counts, per request index, the offers considered.
	Processed map[int]int
}

// AgentOf describes an offer's agent for constraint checks.
func AgentOf(o *offers.Offer) constraints.Agent {
	a := constraints.Agent{Hostname: o.Hostname(), Attributes: map[string]string{}}
	for _, attr := range o.Proto().GetAttributes() {
		if v, ok := o.Attribute(attr.GetName()); ok {
			a.Attributes[attr.GetName()] = v
		}
	}
	return a
}

// Match places the requests on the offers, first fit, in request order. It is pure: the
// offers are carved in memory only.
func Match(pool []*offers.Offer, reqs []LaunchRequest) MatchResult {
	res := MatchResult{Declined: map[int]map[string]int{}, Detail: map[int]string{}, Processed: map[int]int{}}
	agents := make([]constraints.Agent, len(pool))
	for i, o := range pool {
		agents[i] = AgentOf(o)
	}
	for ri, r := range reqs {
		placed := slices.Clone(r.Placed)
		for n := 0; n < r.Count; n++ {
			found := false
			for oi, o := range pool {
				if n == 0 {
					res.Processed[ri]++
				}
				got, ports, reason, detail := fit(o, agents[oi], r, placed)
				if reason != "" {
					if n == 0 {
						if res.Declined[ri] == nil {
							res.Declined[ri] = map[string]int{}
						}
						res.Declined[ri][reason]++
						res.Detail[ri] = detail
					}
					continue
				}
				if _, ok := o.Take(got); !ok {
					continue
				}
				res.Placements = append(res.Placements, Placement{Request: ri, Offer: o, Resources: got, Ports: ports})
				placed = append(placed, agents[oi])
				found = true
				break
			}
			if !found {
				break
			}
		}
	}
	return res
}

// fit checks one offer for one task of r and returns the resources to take (with explicit
// roles), the host ports, or the reason it does not fit.
func fit(o *offers.Offer, agent constraints.Agent, r LaunchRequest, placed []constraints.Placement) (resources.Resources, []uint64, string, string) {
	avail := o.Remaining()
	if len(r.AcceptedRoles) > 0 {
		avail = avail.Filter(func(x resources.Resource) bool { return slices.Contains(r.AcceptedRoles, x.Role) })
		if avail.IsEmpty() {
			return resources.Resources{}, nil, ReasonUnfulfilledRole, "offer has no resources of the accepted roles"
		}
	}
	if ok, why := constraints.FeasibleAll(r.Constraints, agent, placed); !ok {
		return resources.Resources{}, nil, ReasonUnfulfilledConstraint, why
	}
	var taken []resources.Resource
	for _, s := range []struct {
		name, reason string
		need         float64
	}{
		{"cpus", ReasonInsufficientCpus, r.Cpus},
		{"mem", ReasonInsufficientMemory, r.Mem},
		{"disk", ReasonInsufficientDisk, r.Disk},
		{"gpus", ReasonInsufficientGpus, r.Gpus},
	} {
		if s.need <= 0 {
			continue
		}
		got, ok := takeScalar(avail, s.name, s.need)
		if !ok {
			return resources.Resources{}, nil, s.reason, "not enough " + s.name
		}
		taken = append(taken, got...)
	}
	ports, pres, ok := takePorts(avail, r.HostPorts)
	if !ok {
		return resources.Resources{}, nil, ReasonInsufficientPorts, "not enough ports"
	}
	taken = append(taken, pres...)
	return resources.Of(taken...), ports, "", ""
}

// byRole sorts reserved entries first (by role), unreserved last.
func byRole(rs []resources.Resource) {
	slices.SortStableFunc(rs, func(a, b resources.Resource) int {
		ua, ub := a.Role == resources.Unreserved, b.Role == resources.Unreserved
		if ua != ub {
			if ub {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.Role, b.Role)
	})
}

// takeScalar takes need of name from avail, reserved entries first. Each piece is a copy of
// the offered entry (its reservation stack included, which the master checks) with only the
// quantity changed; persistent volumes are never taken (an app without local volumes must
// not carve its disk out of one).
func takeScalar(avail resources.Resources, name string, need float64) ([]resources.Resource, bool) {
	cands := avail.Filter(func(x resources.Resource) bool {
		return x.Name == name && x.Type == resources.ScalarType && !x.IsPersistentVolume()
	}).All()
	byRole(cands)
	left := resources.ScalarFromFloat(need)
	var out []resources.Resource
	for _, c := range cands {
		if left <= 0 {
			break
		}
		q := min(left, c.Scalar)
		if q > 0 {
			piece := c
			piece.Scalar = q
			out = append(out, piece)
			left -= q
		}
	}
	return out, left <= 0
}

// takePorts takes one port per entry of want: the port itself when non-zero, else the
// lowest free port. The port pieces are copies of the offered entries (reservation stacks
// kept) holding only the ports taken.
func takePorts(avail resources.Resources, want []int) ([]uint64, []resources.Resource, bool) {
	if len(want) == 0 {
		return nil, nil, true
	}
	cands := avail.Filter(func(x resources.Resource) bool { return x.Name == offers.PortsName && x.Type == resources.RangesType }).All()
	byRole(cands)
	used := map[uint64]bool{}
	from := map[uint64]int{} // port -> index of the candidate it came from
	out := make([]uint64, len(want))
	// Fixed ports first, so that dynamic ones do not take them.
	for i, p := range want {
		if p == 0 {
			continue
		}
		v := uint64(p)
		found := false
		for ci, c := range cands {
			if c.Ranges.ContainsValue(v) && !used[v] {
				used[v], from[v], found = true, ci, true
				break
			}
		}
		if !found {
			return nil, nil, false
		}
		out[i] = v
	}
	for i, p := range want {
		if p != 0 {
			continue
		}
		found := false
		for ci, c := range cands {
			for v := range c.Ranges.Values {
				if !used[v] {
					used[v], from[v], found = true, ci, true
					out[i] = v
					break
				}
			}
			if found {
				break
			}
		}
		if !found {
			return nil, nil, false
		}
	}
	rangesOf := make([][]resources.Range, len(cands))
	for _, v := range out {
		rangesOf[from[v]] = append(rangesOf[from[v]], resources.Range{Begin: v, End: v})
	}
	var rs []resources.Resource
	for ci, rr := range rangesOf {
		if len(rr) == 0 {
			continue
		}
		piece := cands[ci]
		piece.Ranges = resources.NewRanges(rr...)
		rs = append(rs, piece)
	}
	return out, rs, true
}

// ForApp describes count tasks of a for Match; placed lists where the app's tasks run now.
func ForApp(a *app.App, count int, placed []constraints.Placement) (LaunchRequest, error) {
	cs, err := constraints.ParseAll(a.Constraints)
	if err != nil {
		return LaunchRequest{}, err
	}
	return LaunchRequest{
		AppID: a.ID, Count: count, Cpus: a.Cpus, Mem: a.Mem, Disk: a.Disk, Gpus: float64(a.Gpus),
		HostPorts: taskinfo.HostPorts(a), Constraints: cs, AcceptedRoles: a.AcceptedResourceRoles, Placed: placed,
	}, nil
}

// DeclinedTotal is the number of offers declined over all reasons.
func DeclinedTotal(declined map[string]int) int {
	n := 0
	for _, v := range declined {
		n += v
	}
	return n
}

// ReasonsFor lists the reasons with offers declined, in ReasonOrder.
func ReasonsFor(declined map[string]int) []string {
	out := []string{}
	for _, r := range ReasonOrder {
		if declined[r] > 0 {
			out = append(out, r)
		}
	}
	return out
}

// DescribeReasons renders per-reason counts for logs.
func DescribeReasons(declined map[string]int) string {
	var parts []string
	for _, r := range ReasonOrder {
		if n := declined[r]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", r, n))
		}
	}
	return strings.Join(parts, " ")
}
