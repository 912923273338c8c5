package allocator

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/agoracluster/agora/resources"
	"pgregory.net/rapid"
)

// The quota property test drives an allocator with quotas (guarantees and
// limits, set with and without force), weights, suppression and declines,
// and checks every cycle against a naive model that keeps only the agents'
// totals and the outstanding offers: offers never take more than is free (so
// no resource is in two outstanding offers), never take a role past a limit,
// unmet guarantees are met whenever free resources allow, and headroom that
// was there before a cycle is there after it.

var (
	quotaPropTotals = []resources.Resources{
		resources.MustParse("cpus:4;mem:4096;ports:[31000-31010]"),
		resources.MustParse("cpus:2;mem:1024;cpus(q1):1;mem(q1):512"),
		resources.MustParse("cpus(q2):2;mem(q2):2048;disk:100"),
		resources.MustParse("cpus:1;mem:512;cpus(n1):1"),
		resources.MustParse("cpus:0.5;mem:256"),
	}
	quotaPropFrameworks = map[string][]string{
		"f1": {"q1"},
		"f2": {"q2/x"},
		"f3": {"n1"},
		"f4": {"n1", "n2"},
		"f5": {"n2", "q1"},
		"f6": {"q2/y/z"},
	}
	quotaPropQuotaRoles = []string{"q1", "q2"}
)

type quotaModel struct {
	agents     map[string]resources.Resources
	active     map[string]bool
	suppressed map[string]map[string]bool // framework → role
	quotas     map[string]Quota
	offers     []Offer
}

// sum adds up the scalars of r that keep says, in thousandths.
func sumScalars(r resources.Resources, keep func(resources.Resource) bool) quantities {
	q := quantities{}
	for x := range r.Each {
		if x.Type == resources.ScalarType && keep(x) {
			q[x.Name] += int64(x.Scalar)
		}
	}
	return q
}

// consumed: offers in role's subtree, plus reservations for the subtree that
// no offer holds.
func (m *quotaModel) consumed(role string) quantities {
	out := quantities{}
	inSubtree := func(x resources.Resource) bool { return x.Role != unreservedRole && isSubrole(x.Role, role) }
	for _, r := range m.agents {
		out.add(sumScalars(r, inSubtree))
	}
	for _, o := range m.offers {
		if isSubrole(o.Role, role) {
			out.add(sumScalars(o.Resources, func(resources.Resource) bool { return true }))
		}
		out.sub(sumScalars(o.Resources, inSubtree))
	}
	return out
}

func (m *quotaModel) free(agent string) resources.Resources {
	f := m.agents[agent]
	for _, o := range m.offers {
		if o.AgentID == agent {
			f = f.Minus(o.Resources)
		}
	}
	return f
}

// required is what the unmet guarantees of top-level quota roles need, and
// freeUnreserved the unreserved resources no offer holds.
func (m *quotaModel) headroom() (required, freeUnreserved quantities) {
	required, freeUnreserved = quantities{}, quantities{}
	for role, q := range m.quotas {
		c := m.consumed(role)
		for n, g := range q.Guarantees {
			if left := milli(g) - c[n]; left > 0 {
				required[n] += left
			}
		}
	}
	for id := range m.agents {
		freeUnreserved.add(sumScalars(m.free(id), func(x resources.Resource) bool { return x.Role == unreservedRole }))
	}
	return required, freeUnreserved
}

func TestPropertyQuota(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := DefaultConfig()
		cfg.MinAllocatable = nil
		a := New(cfg, rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "seed"), 0)))
		m := &quotaModel{agents: map[string]resources.Resources{}, active: map[string]bool{},
			suppressed: map[string]map[string]bool{}, quotas: map[string]Quota{}}
		nagents := rapid.IntRange(1, 6).Draw(t, "agents")
		for i := range nagents {
			id := fmt.Sprintf("a%d", i)
			total := rapid.SampledFrom(quotaPropTotals).Draw(t, "total")
			a.AddAgent(id, Agent{Total: total})
			m.agents[id], m.active[id] = total, true
		}
		for _, id := range slices.Sorted(maps.Keys(quotaPropFrameworks)) {
			a.AddFramework(id, Framework{Roles: quotaPropFrameworks[id], Active: true})
			m.suppressed[id] = map[string]bool{}
		}
		t.Repeat(map[string]func(*rapid.T){
			"setQuota": func(t *rapid.T) {
				role := rapid.SampledFrom(quotaPropQuotaRoles).Draw(t, "role")
				var q Quota
				if rapid.Bool().Draw(t, "guarantee") {
					q.Guarantees = Quantities{"cpus": float64(rapid.IntRange(0, 80).Draw(t, "g_cpus")) / 10}
					if rapid.Bool().Draw(t, "g_mem") {
						q.Guarantees["mem"] = float64(rapid.IntRange(0, 8192).Draw(t, "g_mem_mb"))
					}
				}
				if rapid.Bool().Draw(t, "limit") {
					q.Limits = Quantities{"cpus": float64(rapid.IntRange(0, 80).Draw(t, "l_cpus")) / 10}
					if rapid.Bool().Draw(t, "l_mem") {
						q.Limits["mem"] = float64(rapid.IntRange(0, 8192).Draw(t, "l_mem_mb"))
					}
				}
				force := rapid.Bool().Draw(t, "force")
				err := a.SetQuota(role, q, force)
				badLimit := false
				for n, g := range q.Guarantees {
					if l, ok := q.Limits[n]; ok && milli(g) > milli(l) {
						badLimit = true
					}
				}
				switch {
				case badLimit:
					if !errors.Is(err, ErrInvalidQuota) {
						t.Fatalf("SetQuota(%s, %+v) = %v, want ErrInvalidQuota", role, q, err)
					}
				case errors.Is(err, ErrQuotaExceedsCapacity):
					if force {
						t.Fatalf("forced SetQuota(%s, %+v) = %v", role, q, err)
					}
					// Really above the total: the naive sum says so.
					sum := quantities{}
					for r, oq := range m.quotas {
						if r != role {
							sum.add(toQuantities(oq.Guarantees))
						}
					}
					sum.add(toQuantities(q.Guarantees))
					total := quantities{}
					for _, r := range m.agents {
						total.add(sumScalars(r, func(resources.Resource) bool { return true }))
					}
					over := false
					for n, v := range sum {
						over = over || v > total[n]
					}
					if !over {
						t.Fatalf("SetQuota(%s, %+v): capacity error %v but guarantees %v fit in %v", role, q, err, sum, total)
					}
				case err != nil:
					t.Fatalf("SetQuota(%s, %+v, %v) = %v", role, q, force, err)
				default:
					if len(q.Guarantees) == 0 && len(q.Limits) == 0 {
						delete(m.quotas, role)
					} else {
						m.quotas[role] = q
					}
				}
			},
			"setWeight": func(t *rapid.T) {
				role := rapid.SampledFrom([]string{"q1", "q2", "q2/x", "n1", "n2"}).Draw(t, "role")
				if err := a.SetWeight(role, rapid.Float64Range(0.1, 10).Draw(t, "weight")); err != nil {
					t.Fatal(err)
				}
			},
			"suppress": func(t *rapid.T) {
				id := rapid.SampledFrom(slices.Sorted(maps.Keys(quotaPropFrameworks))).Draw(t, "framework")
				role := rapid.SampledFrom(quotaPropFrameworks[id]).Draw(t, "role")
				if m.suppressed[id][role] = !m.suppressed[id][role]; m.suppressed[id][role] {
					a.Suppress(id, []string{role})
				} else {
					a.Revive(id, []string{role})
				}
			},
			"toggleAgent": func(t *rapid.T) {
				id := rapid.SampledFrom(slices.Sorted(maps.Keys(m.agents))).Draw(t, "agent")
				if m.active[id] = !m.active[id]; m.active[id] {
					a.ActivateAgent(id)
				} else {
					a.DeactivateAgent(id)
				}
			},
			"growAgent": func(t *rapid.T) {
				id := rapid.SampledFrom(slices.Sorted(maps.Keys(m.agents))).Draw(t, "agent")
				m.agents[id] = m.agents[id].Plus(resources.MustParse("cpus:1;mem:256;cpus(q2/x):1;mem(q1):128"))
				a.UpdateAgentTotal(id, m.agents[id])
			},
			"readdFramework": func(t *rapid.T) {
				id := rapid.SampledFrom(slices.Sorted(maps.Keys(quotaPropFrameworks))).Draw(t, "framework")
				a.RemoveFramework(id)
				a.AddFramework(id, Framework{Roles: quotaPropFrameworks[id], Active: true})
				m.suppressed[id] = map[string]bool{}
				m.offers = slices.DeleteFunc(m.offers, func(o Offer) bool { return o.FrameworkID == id })
			},
			"decline": func(t *rapid.T) {
				if len(m.offers) == 0 {
					t.Skip("no offers")
				}
				i := rapid.IntRange(0, len(m.offers)-1).Draw(t, "offer")
				o := m.offers[i]
				a.RecoverRole(o.FrameworkID, o.AgentID, o.Role, o.Resources, 0, epoch)
				m.offers = slices.Delete(m.offers, i, i+1)
			},
			"allocate": func(t *rapid.T) {
				reqBefore, freeBefore := m.headroom()
				for _, o := range a.Allocate(epoch) {
					m.checkOffer(t, o)
					m.offers = append(m.offers, o)
				}
				m.checkGuarantees(t, a)
				checkConsumed(t, a)
				req, free := m.headroom()
				for n, r := range req {
					if freeBefore[n] >= reqBefore[n] && free[n] < r {
						t.Fatalf("headroom for %s lost: %d free for %d required (before: %d for %d)", n, free[n], r, freeBefore[n], reqBefore[n])
					}
				}
			},
		})
	})
}

// checkConsumed: the consumption kept for each quota role is the one
// computed from the allocation counts.
func checkConsumed(t *rapid.T, a *Allocator) {
	for role, q := range a.quotas {
		if got, want := fromQuantities(q.consumed), fromQuantities(a.computeConsumed(role)); !maps.Equal(got, want) {
			t.Fatalf("role %s: consumption kept %v, computed %v", role, got, want)
		}
	}
}

// checkOffer checks one offer against the model before it is recorded.
func (m *quotaModel) checkOffer(t *rapid.T, o Offer) {
	roles := quotaPropFrameworks[o.FrameworkID]
	switch {
	case !m.active[o.AgentID]:
		t.Fatalf("offer %+v: inactive agent", o)
	case !slices.Contains(roles, o.Role):
		t.Fatalf("offer %+v: framework not in role", o)
	case m.suppressed[o.FrameworkID][o.Role]:
		t.Fatalf("offer %+v: suppressed role", o)
	case o.Resources.IsEmpty():
		t.Fatalf("offer %+v: empty", o)
	case !m.free(o.AgentID).Contains(o.Resources):
		t.Fatalf("offer %+v: more than is free (%s): a resource in two offers", o, m.free(o.AgentID))
	}
	for x := range o.Resources.Each {
		if !resources.IsAllocatableTo(x.Role, o.Role) {
			t.Fatalf("offer %+v: %s reserved for another role", o, x)
		}
	}
	// Limits: after the offer, no role on the chain consumes beyond a limit in
	// a resource the offer takes unreserved.
	unreserved := sumScalars(o.Resources, func(x resources.Resource) bool { return x.Role == unreservedRole })
	before := map[string]quantities{}
	for role := range m.quotas {
		before[role] = m.consumed(role)
	}
	m.offers = append(m.offers, o)
	for role, q := range m.quotas {
		if !isSubrole(o.Role, role) {
			continue
		}
		after := m.consumed(role)
		for n, l := range q.Limits {
			if unreserved[n] > 0 && after[n] > milli(l) {
				t.Fatalf("offer %+v takes role %s to %s %d, beyond its limit %v (before: %d)", o, role, n, after[n], l, before[role][n])
			}
		}
	}
	m.offers = m.offers[:len(m.offers)-1]
}

// checkGuarantees: after a cycle, a quota role whose subtree has a framework
// that takes offers is either at its guarantee or nothing it could use is
// left free on an active agent.
func (m *quotaModel) checkGuarantees(t *rapid.T, a *Allocator) {
	for role, q := range m.quotas {
		eligible := false
		for id, roles := range quotaPropFrameworks {
			for _, r := range roles {
				eligible = eligible || (isSubrole(r, role) && !m.suppressed[id][r])
			}
		}
		if !eligible {
			continue
		}
		c := m.consumed(role)
		if got := a.consumed(role); !maps.Equal(fromQuantities(got), fromQuantities(c)) {
			t.Fatalf("role %s: consumed %v, model %v", role, got, c)
		}
		for n, g := range q.Guarantees {
			if c[n] >= milli(g) {
				continue
			}
			for id := range m.agents {
				if m.active[id] && m.free(id).Unreserved().Scalar(n) > 0 {
					t.Fatalf("role %s: %s consumed %d below its guarantee %v, yet agent %s has %s free",
						role, n, c[n], g, id, m.free(id))
				}
			}
		}
	}
}

// TestPropertyWeightedShares: roles with weights on identical agents end up
// with weighted shares within one agent of each other, top-down in the tree.
func TestPropertyWeightedShares(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		nag := rapid.IntRange(10, 200).Draw(t, "agents")
		a := New(DefaultConfig(), rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "seed"), 0)))
		for i := range nag {
			a.AddAgent(fmt.Sprintf("a%03d", i), Agent{Total: resources.MustParse("cpus:1;mem:1024")})
		}
		roles := rapid.SliceOfNDistinct(rapid.SampledFrom([]string{"r1", "r2", "r3", "r4", "p/a", "p/b"}), 2, 6, rapid.ID).Draw(t, "roles")
		weights := map[string]float64{}
		for _, r := range append(slices.Clone(roles), "p") {
			weights[r] = float64(rapid.IntRange(1, 40).Draw(t, "weight_"+r)) / 10
			if err := a.SetWeight(r, weights[r]); err != nil {
				t.Fatal(err)
			}
		}
		for _, r := range roles {
			a.AddFramework("f-"+r, Framework{Roles: []string{r}, Active: true})
		}
		got := map[string]float64{}
		for _, o := range a.Allocate(epoch) {
			// A share counts the role and, for "p", its children.
			got[o.Role]++
			if parentRole(o.Role) != "" {
				got[parentRole(o.Role)]++
			}
		}
		// Siblings: weighted shares within one agent (divided by the smaller
		// weight) of each other.
		check := func(x, y string) {
			if x == y {
				return
			}
			sx, sy := got[x]/weights[x], got[y]/weights[y]
			if d := sx - sy; d > 1/min(weights[x], weights[y])+1e-9 || -d > 1/min(weights[x], weights[y])+1e-9 {
				t.Fatalf("roles %s (%v agents, weight %v) and %s (%v agents, weight %v) out of balance; all: %v",
					x, got[x], weights[x], y, got[y], weights[y], got)
			}
		}
		var top, kids []string
		for _, r := range roles {
			if parentRole(r) == "p" {
				kids = append(kids, r)
				if !slices.Contains(top, "p") {
					top = append(top, "p")
				}
			} else {
				top = append(top, r)
			}
		}
		for _, x := range top {
			for _, y := range top {
				check(x, y)
			}
		}
		for _, x := range kids {
			for _, y := range kids {
				check(x, y)
			}
		}
	})
}
