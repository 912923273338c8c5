package allocator

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/agoracluster/agora/resources"
)

// Quota is a role's quota, with Mesos 1.9+ semantics. Guarantees are scalar
// amounts the role is guaranteed: until its consumption reaches them, the role
// is allocated before fair sharing begins, and enough unreserved resources are
// held back from other roles (headroom) to meet them. Limits are the most the
// role may consume: no offer takes it beyond them. A role consumes what is
// allocated (offered or used) to it and its descendants, plus the unallocated
// resources reserved for them. Amounts are in the resource's unit (cpus in
// cores, mem and disk in MB); a name without a limit is unlimited.
type Quota struct {
	Guarantees Quantities
	Limits     Quantities
}

// ErrInvalidQuota is returned by SetQuota for a quota that can never be valid.
var ErrInvalidQuota = errors.New("allocator: invalid quota")

// ErrQuotaExceedsCapacity is returned by SetQuota, without force, when the
// guarantees of all roles would exceed the cluster's total (Mesos's capacity
// check).
var ErrQuotaExceedsCapacity = errors.New("allocator: quota guarantees exceed the cluster's capacity")

// quota is a Quota in thousandths, with what the role consumes, kept current
// by track, untrack and setTotal (see countAllocation and countTotal).
type quota struct {
	guarantees, limits quantities
	consumed           quantities
}

func toQuantities(q Quantities) quantities {
	out := quantities{}
	for n, v := range q {
		out[n] = milli(v)
	}
	return out
}

// SetQuota sets (replacing) a role's quota; an empty Quota removes it. It
// refuses a quota on "*", an invalid role name, amounts that are not finite
// numbers ≥ 0, a guarantee above the limit for the same resource, a limit
// above an ancestor's limit or below a descendant's, children's guarantees
// that add up to more than their parent's (a role without quota guarantees
// nothing), and, unless force is set, top-level guarantees that would add up
// to more than the cluster's total. Each error names the role and the
// resource.
func (a *Allocator) SetQuota(role string, q Quota, force bool) error {
	if err := a.checkQuota(role, q, force); err != nil {
		return err
	}
	if len(q.Guarantees) == 0 && len(q.Limits) == 0 {
		delete(a.quotas, role)
		return nil
	}
	if len(a.quotas) == 0 {
		// allocQ is kept only while quotas exist.
		clear(a.allocQ)
		for _, ag := range a.agentList {
			a.allocQ.add(scalarQ(ag.allocated))
		}
	}
	a.quotas[role] = &quota{guarantees: toQuantities(q.Guarantees), limits: toQuantities(q.Limits), consumed: a.computeConsumed(role)}
	return nil
}

func (a *Allocator) checkQuota(role string, q Quota, force bool) error {
	if err := validRole(role); err != nil {
		return err
	}
	if role == unreservedRole {
		return fmt.Errorf("%w: role %q: quota cannot be set on the default role", ErrInvalidQuota, role)
	}
	var errs []error
	for _, part := range []struct {
		what string
		q    Quantities
	}{{"guarantee", q.Guarantees}, {"limit", q.Limits}} {
		for _, name := range slices.Sorted(maps.Keys(part.q)) {
			v := part.q[name]
			switch {
			case name == "" || strings.ContainsAny(name, " \t;:,()[]{}"):
				errs = append(errs, fmt.Errorf("%w: role %q: %s: invalid resource name %q", ErrInvalidQuota, role, part.what, name))
			case math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v >= 1e15:
				errs = append(errs, fmt.Errorf("%w: role %q: %s %s: must be a finite number >= 0, got %v", ErrInvalidQuota, role, part.what, name, v))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(q.Guarantees)) {
		if l, ok := q.Limits[name]; ok && milli(q.Guarantees[name]) > milli(l) {
			errs = append(errs, fmt.Errorf("%w: role %q: %s: guarantee %g is above the limit %g", ErrInvalidQuota, role, name, q.Guarantees[name], l))
		}
	}
	// Hierarchy (Mesos 1.9+): the guarantees of a role's children add up to
	// no more than its own (a role without quota guarantees nothing).
	guarantees := map[string]quantities{}
	for other, oq := range a.quotas {
		if other != role {
			guarantees[other] = oq.guarantees
		}
	}
	if len(q.Guarantees) > 0 {
		guarantees[role] = toQuantities(q.Guarantees)
	}
	children := map[string]quantities{}
	for r, g := range guarantees {
		if p := parentRole(r); p != "" {
			if children[p] == nil {
				children[p] = quantities{}
			}
			children[p].add(g)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(children)) {
		for _, name := range slices.Sorted(maps.Keys(children[p])) {
			if v := children[p][name]; v > guarantees[p][name] {
				errs = append(errs, fmt.Errorf("%w: role %q: %s: the guarantees of the children of %q would total %g, above its guarantee %g",
					ErrInvalidQuota, role, name, p, float64(v)/1000, float64(guarantees[p][name])/1000))
			}
		}
	}
	limits := toQuantities(q.Limits)
	for other, oq := range a.quotas {
		switch {
		case other != role && isSubrole(role, other): // other is an ancestor
			for _, name := range slices.Sorted(maps.Keys(limits)) {
				if l, ok := oq.limits[name]; ok && limits[name] > l {
					errs = append(errs, fmt.Errorf("%w: role %q: %s: limit %g is above the limit %g of its ancestor %q",
						ErrInvalidQuota, role, name, q.Limits[name], float64(l)/1000, other))
				}
			}
		case other != role && isSubrole(other, role): // other is a descendant
			for _, name := range slices.Sorted(maps.Keys(oq.limits)) {
				if l, ok := limits[name]; ok && oq.limits[name] > l {
					errs = append(errs, fmt.Errorf("%w: role %q: %s: limit %g is below the limit %g of its descendant %q",
						ErrInvalidQuota, role, name, q.Limits[name], float64(oq.limits[name])/1000, other))
				}
			}
		}
	}
	if err := errors.Join(errs...); err != nil || force {
		return err
	}
	// Capacity: the guarantees of the top-level quota roles, with this one,
	// must fit in the cluster's total.
	want := toQuantities(q.Guarantees)
	sum := quantities{}
	for other, oq := range a.quotas {
		if other != role {
			sum.add(oq.guarantees)
		}
	}
	sum.add(want)
	for other, oq := range a.quotas {
		if other != role && a.hasQuotaAncestor(other, role, want) {
			sum.sub(oq.guarantees) // counted in its ancestor's
		}
	}
	if a.hasQuotaAncestor(role, "", nil) {
		sum.sub(want)
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if sum[name] > a.total[name] {
			errs = append(errs, fmt.Errorf("%w: role %q: %s: guarantees would total %g, the cluster has %g (set force to override)",
				ErrQuotaExceedsCapacity, role, name, float64(sum[name])/1000, float64(a.total[name])/1000))
		}
	}
	return errors.Join(errs...)
}

// hasQuotaAncestor reports whether a strict ancestor of role has a quota with
// guarantees, counting extra (if not nil) as the guarantees of extraRole.
func (a *Allocator) hasQuotaAncestor(role, extraRole string, extra quantities) bool {
	for p := parentRole(role); p != ""; p = parentRole(p) {
		if p == extraRole && len(extra) > 0 {
			return true
		}
		if q := a.quotas[p]; q != nil && len(q.guarantees) > 0 && p != extraRole {
			return true
		}
	}
	return false
}

// Quotas returns a copy of the quotas set.
func (a *Allocator) Quotas() map[string]Quota {
	out := map[string]Quota{}
	for role, q := range a.quotas {
		out[role] = Quota{Guarantees: fromQuantities(q.guarantees), Limits: fromQuantities(q.limits)}
	}
	return out
}

// fromQuantities converts q to units, leaving out zeros.
func fromQuantities(q quantities) Quantities {
	var out Quantities
	for n, v := range q {
		if v == 0 {
			continue
		}
		if out == nil {
			out = Quantities{}
		}
		out[n] = float64(v) / 1000
	}
	return out
}

// consumed is what role and its descendants consume: their allocation plus
// the unallocated resources reserved for them. It is kept for quota roles and
// computed for others.
func (a *Allocator) consumed(role string) quantities {
	if q := a.quotas[role]; q != nil {
		return q.consumed
	}
	return a.computeConsumed(role)
}

// computeConsumed is consumed from the allocation counts.
func (a *Allocator) computeConsumed(role string) quantities {
	out := quantities{}
	if n := a.nodes[role]; n != nil {
		out.add(n.client.alloc)
	}
	for rr, total := range a.resvTotal {
		if isSubrole(rr, role) {
			out.add(total)
			out.sub(a.resvAlloc[rr])
		}
	}
	return out
}

// headroom recomputes the surplus: the unallocated unreserved resources beyond
// what the unmet guarantees of the quota roles need, for each resource name a
// guarantee still needs. Offers of unreserved resources may not take more.
func (a *Allocator) headroom() {
	required := quantities{}
	for role, q := range a.quotas {
		if len(q.guarantees) == 0 || a.hasQuotaAncestor(role, "", nil) {
			continue
		}
		c := a.consumed(role)
		for n, g := range q.guarantees {
			if g > c[n] {
				required[n] += g - c[n]
			}
		}
	}
	clear(a.surplus)
	for n, req := range required {
		free := a.total[n] - a.allocQ[n] - (a.resvTotalAll[n] - a.resvAllocAll[n])
		a.surplus[n] = max(free-req, 0)
	}
}

// unmetGuarantee fills need with what the guarantees of role and its
// ancestors still need (the smallest need per resource name along the chain)
// and reports whether anything is needed.
func (a *Allocator) unmetGuarantee(role string, need quantities) bool {
	clear(need)
	for r := role; r != ""; r = parentRole(r) {
		q := a.quotas[r]
		if q == nil || len(q.guarantees) == 0 {
			continue
		}
		for n, g := range q.guarantees {
			left := max(g-q.consumed[n], 0)
			if v, ok := need[n]; !ok || left < v {
				need[n] = left
			}
		}
	}
	for _, v := range need {
		if v > 0 {
			return true
		}
	}
	return false
}

// limitCaps returns base with what the limits of role and its ancestors
// leave taken in (see applyLimits): base itself when no limit applies,
// otherwise a scratch map valid until the next call.
func (a *Allocator) limitCaps(role string, base quantities) quantities {
	limited := false
	for r := role; r != "" && !limited; r = parentRole(r) {
		q := a.quotas[r]
		limited = q != nil && len(q.limits) > 0
	}
	if !limited {
		return base
	}
	clear(a.limitScratch)
	for n, v := range base {
		a.limitScratch[n] = v
	}
	a.applyLimits(role, a.limitScratch)
	return a.limitScratch
}

// applyLimits lowers caps, per resource name, to what the limits of role and
// its ancestors leave (the smallest wins).
func (a *Allocator) applyLimits(role string, caps quantities) {
	for r := role; r != ""; r = parentRole(r) {
		q := a.quotas[r]
		if q == nil {
			continue
		}
		for n, l := range q.limits {
			left := max(l-q.consumed[n], 0)
			if v, ok := caps[n]; !ok || left < v {
				caps[n] = left
			}
		}
	}
}

// capUnreserved returns r with every unreserved scalar named in caps cut to at
// most caps[name] (thousandths), and whether anything was cut.
func capUnreserved(r resources.Resources, caps quantities) (resources.Resources, bool) {
	if len(caps) == 0 {
		return r, false
	}
	changed := false
	var out []resources.Resource
	for x := range r.Each {
		if c, ok := caps[x.Name]; ok && x.Role == unreservedRole && x.Type == resources.ScalarType && int64(x.Scalar) > c {
			x.Scalar = resources.Scalar(c)
			changed = true
		}
		out = append(out, x)
	}
	if !changed {
		return r, false
	}
	return resources.Of(out...), true
}

// countAllocation keeps the counts that consumption and headroom come from
// as r is allocated (add) or freed: the cluster's allocated and allocated
// reserved scalars, and the consumption of quota roles. role is the role r is
// charged to, "" for resources of no known role (they count for no quota
// chain, but their reservations are no longer unallocated).
func (a *Allocator) countAllocation(role string, r resources.Resources, add bool) {
	for x := range r.Each {
		if x.Type != resources.ScalarType || x.Scalar <= 0 {
			continue
		}
		v := int64(x.Scalar)
		if !add {
			v = -v
		}
		if len(a.quotas) > 0 {
			a.allocQ[x.Name] += v
			a.quotaChain(role, x.Name, v)
		}
		if x.Role == unreservedRole {
			continue
		}
		m := a.resvAlloc[x.Role]
		if m == nil {
			m = quantities{}
			a.resvAlloc[x.Role] = m
		}
		m[x.Name] += v
		a.resvAllocAll[x.Name] += v
		a.quotaChain(x.Role, x.Name, -v) // no longer an unallocated reservation
	}
}

// countTotal adds (or removes) an agent's reservations to the cluster's and
// to the consumption of the quota roles they are for.
func (a *Allocator) countTotal(total resources.Resources, add bool) {
	for x := range total.Each {
		if x.Type != resources.ScalarType || x.Scalar <= 0 || x.Role == unreservedRole {
			continue
		}
		v := int64(x.Scalar)
		if !add {
			v = -v
		}
		m := a.resvTotal[x.Role]
		if m == nil {
			m = quantities{}
			a.resvTotal[x.Role] = m
		}
		if m[x.Name] += v; m[x.Name] == 0 {
			delete(m, x.Name)
			if len(m) == 0 {
				delete(a.resvTotal, x.Role)
			}
		}
		a.resvTotalAll[x.Name] += v
		a.quotaChain(x.Role, x.Name, v)
	}
}

// quotaChain adds v of a resource to the consumption of the quota roles among
// role and its ancestors.
func (a *Allocator) quotaChain(role, name string, v int64) {
	if len(a.quotas) == 0 {
		return
	}
	for n := role; n != ""; n = parentRole(n) {
		if q := a.quotas[n]; q != nil {
			q.consumed[name] += v
		}
	}
}
