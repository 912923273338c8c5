package allocator

import (
	"time"

	"github.com/agoracluster/agora/resources"
)

// Allocate runs one allocation cycle at now and returns the offers it makes, in
// the order made. Offered resources count as allocated until Recover.
//
// Agents are visited in an order shuffled by the injected random source, in
// two stages as in Mesos 1.9+. When quotas are set, the first stage offers the
// roles whose quota guarantees (their own or an ancestor's) are unmet what
// they may use of each agent, unreserved resources cut to what the guarantees
// still need. The second stage is fair sharing: on each active agent with
// available resources, roles are taken in hierarchical DRF order (weighted
// dominant share of the subtree, top-down), and in each role the frameworks in
// DRF order (dominant share within the role, then ID). In both stages the
// first framework that is active, not suppressed in the role and not
// filtering the resources gets what is offered, if that is at least one
// MinAllocatable amount. Offers never take a role past a quota limit (its own
// or an ancestor's), and in the second stage never take unreserved resources
// that the unmet guarantees need (headroom). Shares are updated after each
// offer, so the next agent sees the new order.
func (a *Allocator) Allocate(now time.Time) []Offer {
	a.expireFilters(now)
	a.refresh()

	order := append(a.order[:0], a.agentList...)
	a.rnd.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })

	var offers []Offer
	if len(a.quotas) > 0 {
		clear(a.exhausted)
		a.headroom()
		offers = a.allocateGuarantees(order, now, offers)
	}
	for _, s := range order {
		if !s.active || s.available.IsEmpty() {
			continue
		}
		// The role order at the start of the agent, as Mesos sorts once per agent.
		roleOrder := a.roleOrderOf(a.roleOrder[:0], &a.root)
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

// allocateGuarantees is the quota stage: roles with unmet guarantees are
// offered, agent by agent, what their guarantees still need.
func (a *Allocator) allocateGuarantees(order []*agent, now time.Time, offers []Offer) []Offer {
	// The quota roles with guarantees that have frameworks below them: the
	// stage ends when all of them are met.
	var guaranteed []*quota
	for name, q := range a.quotas {
		if len(q.guarantees) > 0 && a.nodes[name] != nil {
			guaranteed = append(guaranteed, q)
		}
	}
	if len(guaranteed) == 0 {
		return offers
	}
	unmet := func() bool {
		for _, q := range guaranteed {
			for n, g := range q.guarantees {
				if q.consumed[n] < g {
					return true
				}
			}
		}
		return false
	}
	for _, s := range order {
		if !unmet() {
			break
		}
		if !s.active || s.available.IsEmpty() {
			continue
		}
		roleOrder := a.roleOrderOf(a.roleOrder[:0], &a.root)
		for _, rc := range roleOrder {
			if s.available.IsEmpty() {
				break
			}
			need := a.needScratch
			if !a.unmetGuarantee(rc.name, need) {
				continue
			}
			offered := s.available
			if len(s.reserved) > 0 {
				offered = offered.AllocatableTo(rc.name)
			}
			caps := a.capScratch
			clear(caps)
			for n, v := range a.surplus {
				caps[n] = v
			}
			for n, v := range need {
				caps[n] = v
			}
			a.applyLimits(rc.name, caps)
			offered, _ = capUnreserved(offered, caps)
			if !servesGuarantee(offered, need) || !a.allocatable(offered) {
				continue
			}
			if fw := a.pick(s, rc.role, offered, false, now, nil); fw != nil {
				a.track(s, fw.id, rc.name, offered)
				offers = append(offers, Offer{FrameworkID: fw.id, AgentID: s.id, Role: rc.name, Resources: offered})
				a.headroom()
			}
		}
		a.roleOrder = roleOrder[:0]
	}
	return offers
}

// servesGuarantee reports whether r holds reserved resources or some of a
// resource that the guarantee still needs.
func servesGuarantee(r resources.Resources, need quantities) bool {
	for x := range r.Each {
		if x.Role != unreservedRole || need[x.Name] > 0 {
			return true
		}
	}
	return false
}

// allocateRole offers what role may use on s to the first eligible framework
// (the fair-share stage).
func (a *Allocator) allocateRole(s *agent, r *role, now time.Time) (Offer, bool) {
	if m, ok := s.blocked[r]; ok && m.gen == s.gen && m.version == r.version && (m.forever || now.Before(m.until)) {
		// A memo made for the uncut offer holds for a cut one too: a filter
		// that contains the whole contains a part.
		return Offer{}, false
	}
	var caps quantities
	if len(a.quotas) > 0 {
		// Once limits or headroom leave a role less unreserved than any
		// MinAllocatable amount, they do for the rest of the cycle (offers only
		// add to consumption and take from headroom): only reservations are
		// worth a look then.
		if !a.exhausted[r] {
			caps = a.limitCaps(r.name, a.surplus)
			a.exhausted[r] = a.belowMinimum(caps)
		}
		if a.exhausted[r] && !s.mayHaveFor(r.name) {
			return Offer{}, false
		}
		if caps == nil {
			caps = a.limitCaps(r.name, a.surplus)
		}
	}
	offered := s.available
	if len(s.reserved) > 0 {
		offered = offered.AllocatableTo(r.name)
	}
	offered, cut := capUnreserved(offered, caps)
	if offered.IsEmpty() || !a.allocatable(offered) {
		return Offer{}, false
	}
	memo := blockMemo{gen: s.gen, version: r.version, forever: true}
	fw := a.pick(s, r, offered, !cut, now, &memo)
	if fw == nil {
		// No framework of the role takes what s has: remember that until
		// something that could change it happens, so that a cluster whose
		// frameworks filter most agents is cheap to cycle over. Not for a cut
		// offer: the whole may be taken when the cut is lifted.
		if !cut {
			if s.blocked == nil {
				s.blocked = map[*role]blockMemo{}
			}
			s.blocked[r] = memo
		}
		return Offer{}, false
	}
	a.track(s, fw.id, r.name, offered)
	if len(a.quotas) > 0 {
		a.headroom()
	}
	return Offer{FrameworkID: fw.id, AgentID: s.id, Role: r.name, Resources: offered}, true
}

// pick returns the first framework of r, in DRF order, that is active, not
// suppressed in r and not filtering offered on s; nil if none. cacheable says
// that offered is everything r may use of s's available resources, so filter
// checks may be cached by the agent's generation. memo, if not nil, learns
// until when filters block.
func (a *Allocator) pick(s *agent, r *role, offered resources.Resources, cacheable bool, now time.Time, memo *blockMemo) *framework {
	for _, c := range r.frameworks.clients {
		fw := c.fw
		if !fw.active || c.suppressed || !mayOffer(s, fw) {
			continue
		}
		if len(s.filters) > 0 {
			if until, blocked := s.blockedUntil(fw, r.name, offered, cacheable, now); blocked {
				if memo != nil && (memo.forever || until.Before(memo.until)) {
					memo.forever, memo.until = false, until
				}
				continue
			}
		}
		return fw
	}
	return nil
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

// belowMinimum reports whether caps leave less than every MinAllocatable
// alternative needs.
func (a *Allocator) belowMinimum(caps quantities) bool {
	if len(a.cfg.MinAllocatable) == 0 || len(caps) == 0 {
		return false
	}
	for _, q := range a.cfg.MinAllocatable {
		ok := true
		for name, v := range q {
			if c, capped := caps[name]; capped && c < milli(v) {
				ok = false
				break
			}
		}
		if ok {
			return false
		}
	}
	return true
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
