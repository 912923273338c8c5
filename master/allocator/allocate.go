package allocator

import (
	"time"

	"github.com/agoracluster/agora/resources"
)

// Allocate runs one allocation cycle at now and returns the offers it makes, in
// the order made. Offered resources count as allocated until Recover.
//
// Agents are visited in an order shuffled by the injected random source. On each
// active agent with available resources, roles are taken in DRF order (weighted
// dominant share, then name); in each role the frameworks in DRF order (dominant
// share within the role, then ID). The first framework that is active, not
// suppressed in the role and not filtering the resources gets everything on the
// agent that the role may use, if that is at least one MinAllocatable amount.
// Shares are updated after each offer, so the next agent sees the new order.
//
// Quota (a guaranteed stage before this fair-share stage, as in Mesos) will slot
// in before the fair-share loop.
func (a *Allocator) Allocate(now time.Time) []Offer {
	a.expireFilters(now)
	a.refresh()

	order := append(a.order[:0], a.agentList...)
	a.rnd.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })

	var offers []Offer
	for _, s := range order {
		if !s.active || s.available.IsEmpty() {
			continue
		}
		// The role order at the start of the agent, as Mesos sorts once per agent.
		roleOrder := append(a.roleOrder[:0], a.roleSorter.clients...)
		for _, rc := range roleOrder {
			if !s.hasUnreserved && !s.mayHaveFor(rc.name) {
				// Nothing left on this agent that this role may use.
				if len(s.reserved) == 0 {
					break
				}
				continue
			}
			if o, ok := a.allocateRole(s, rc.role, now); ok {
				offers = append(offers, o)
				if s.available.IsEmpty() {
					break
				}
			}
		}
		a.roleOrder = roleOrder[:0]
	}
	for i := range order {
		order[i] = nil
	}
	a.order = order[:0]
	return offers
}

// allocateRole offers what role may use on s to the first eligible framework.
func (a *Allocator) allocateRole(s *agent, r *role, now time.Time) (Offer, bool) {
	if m, ok := s.blocked[r]; ok && m.gen == s.gen && m.version == r.version && (m.forever || now.Before(m.until)) {
		return Offer{}, false
	}
	var offered resources.Resources
	computed := false
	memo := blockMemo{gen: s.gen, version: r.version, forever: true}
	for _, c := range r.frameworks.clients {
		fw := c.fw
		if !fw.active || c.suppressed || !mayOffer(s, fw) {
			continue
		}
		if !computed {
			computed = true
			offered = s.available
			if len(s.reserved) > 0 {
				offered = offered.AllocatableTo(r.name)
			}
			if offered.IsEmpty() || !a.allocatable(offered) {
				return Offer{}, false
			}
		}
		if len(s.filters) > 0 {
			if until, blocked := s.blockedUntil(fw, r.name, offered, now); blocked {
				if memo.forever || until.Before(memo.until) {
					memo.forever, memo.until = false, until
				}
				continue
			}
		}
		a.track(s, fw.id, r.name, offered)
		return Offer{FrameworkID: fw.id, AgentID: s.id, Role: r.name, Resources: offered}, true
	}
	// No framework of the role takes what s has: remember that until something
	// that could change it happens, so that a cluster whose frameworks filter
	// most agents is cheap to cycle over.
	if s.blocked == nil {
		s.blocked = map[*role]blockMemo{}
	}
	s.blocked[r] = memo
	return Offer{}, false
}

// blockMemo records that no framework of a role took an agent's resources. It
// holds while the agent's available resources (gen) and the role's frameworks
// (version: activation, suppression, membership, filter removal) are
// unchanged, until the earliest time at which a blocking filter set expires.
type blockMemo struct {
	gen, version uint64
	forever      bool // no filter involved
	until        time.Time
}

// allocatable reports whether r holds at least one MinAllocatable amount.
func (a *Allocator) allocatable(r resources.Resources) bool {
	if r.IsEmpty() {
		return false
	}
	if len(a.cfg.MinAllocatable) == 0 {
		return true
	}
	for _, q := range a.cfg.MinAllocatable {
		ok := true
		for name, v := range q {
			if milli(r.Scalar(name)) < milli(v) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}
