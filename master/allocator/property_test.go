package allocator

import (
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/agoracluster/agora/resources"
	"pgregory.net/rapid"
)

// The property tests drive the allocator with random event sequences and check
// every decision against a naive model that only keeps lists.

var (
	propAgentIDs     = []string{"a0", "a1", "a2", "a3", "a4"}
	propFrameworkIDs = []string{"f0", "f1", "f2", "f3"}
	propRoles        = []string{"r0", "r1", "r2", "r0/a", "r0/a/b", "r1/c"}
	propTotals       = []resources.Resources{
		resources.MustParse("cpus:4;mem:4096;ports:[31000-31010]"),
		resources.MustParse("cpus:2;mem:1024;cpus(r0):1;mem(r0):512"),
		resources.MustParse("cpus(r1):2;mem(r1):2048;disk:100"),
		resources.MustParse("cpus:0.005;mem:16"),
		resources.MustParse("cpus:1;mem:512;disk(r2):50;ports(r0):[80-90]"),
	}
)

type modelKey struct{ fw, agent, role string }

type modelFilter struct {
	fw, agent, role string
	res             resources.Resources
	expires         time.Time
}

type modelAgent struct {
	total  resources.Resources
	active bool
}

type modelFramework struct {
	roles      []string
	active     bool
	suppressed map[string]bool
}

// model is the naive reference: what is allocated to whom, and the filters.
type model struct {
	agents     map[string]*modelAgent
	frameworks map[string]*modelFramework
	alloc      map[modelKey]resources.Resources
	filters    []modelFilter
	now        time.Time
}

func (m *model) allocatedOn(agent string) resources.Resources {
	var sum resources.Resources
	for k, r := range m.alloc {
		if k.agent == agent {
			sum = sum.Plus(r)
		}
	}
	return sum
}

func (m *model) filtered(fw, agent, role string, offered resources.Resources, now time.Time) bool {
	for _, f := range m.filters {
		if f.fw == fw && f.agent == agent && f.role == role && now.Before(f.expires) && f.res.Contains(offered) {
			return true
		}
	}
	return false
}

func (m *model) dropFilters(keep func(modelFilter) bool) {
	m.filters = slices.DeleteFunc(m.filters, func(f modelFilter) bool { return !keep(f) })
}

func TestPropertyAllocatorMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := New(DefaultConfig(), rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "seed"), 0)))
		m := &model{
			agents:     map[string]*modelAgent{},
			frameworks: map[string]*modelFramework{},
			alloc:      map[modelKey]resources.Resources{},
			now:        epoch,
		}
		t.Repeat(map[string]func(*rapid.T){
			"addAgent": func(t *rapid.T) {
				id := rapid.SampledFrom(propAgentIDs).Draw(t, "agent")
				total := rapid.SampledFrom(propTotals).Draw(t, "total")
				a.AddAgent(id, Agent{Total: total})
				m.removeAgent(id)
				m.agents[id] = &modelAgent{total: total, active: true}
			},
			"addAgentWithOrphan": func(t *rapid.T) {
				// Resources used by a framework the allocator does not know:
				// allocated, never offered, freed by Recover.
				id := rapid.SampledFrom(propAgentIDs).Draw(t, "agent")
				total := propTotals[0]
				used := resources.MustParse("cpus:1;mem:1024;ports:[31000-31005]")
				a.AddAgent(id, Agent{Total: total, Used: map[string]resources.Resources{"ghost": used}})
				m.removeAgent(id)
				m.agents[id] = &modelAgent{total: total, active: true}
				m.alloc[modelKey{"ghost", id, ""}] = used
			},
			"growAgent": func(t *rapid.T) {
				id := rapid.SampledFrom(propAgentIDs).Draw(t, "agent")
				if ag := m.agents[id]; ag != nil {
					ag.total = ag.total.Plus(resources.MustParse("cpus:1;mem:256;cpus(r1):1"))
					a.UpdateAgentTotal(id, ag.total)
				}
			},
			"removeAgent": func(t *rapid.T) {
				id := rapid.SampledFrom(propAgentIDs).Draw(t, "agent")
				a.RemoveAgent(id)
				m.removeAgent(id)
			},
			"toggleAgent": func(t *rapid.T) {
				id := rapid.SampledFrom(propAgentIDs).Draw(t, "agent")
				if ag := m.agents[id]; ag != nil {
					if ag.active = !ag.active; ag.active {
						a.ActivateAgent(id)
					} else {
						a.DeactivateAgent(id)
					}
				}
			},
			"addFramework": func(t *rapid.T) {
				id := rapid.SampledFrom(propFrameworkIDs).Draw(t, "framework")
				roles := rapid.SliceOfNDistinct(rapid.SampledFrom(propRoles), 1, 3, rapid.ID).Draw(t, "roles")
				active := rapid.Bool().Draw(t, "active")
				a.AddFramework(id, Framework{Roles: roles, Active: active})
				m.removeFramework(id)
				m.frameworks[id] = &modelFramework{roles: roles, active: active, suppressed: map[string]bool{}}
			},
			"updateFramework": func(t *rapid.T) {
				id := rapid.SampledFrom(propFrameworkIDs).Draw(t, "framework")
				roles := rapid.SliceOfNDistinct(rapid.SampledFrom(propRoles), 1, 3, rapid.ID).Draw(t, "roles")
				a.UpdateFramework(id, roles)
				fw := m.frameworks[id]
				if fw == nil {
					return
				}
				for _, old := range fw.roles {
					if slices.Contains(roles, old) {
						continue
					}
					delete(fw.suppressed, old)
					m.dropFilters(func(f modelFilter) bool { return f.fw != id || f.role != old })
					for k, held := range m.alloc {
						if k.fw != id || k.role != old {
							continue
						}
						delete(m.alloc, k)
						rest := held
						for _, role := range roles {
							if p := held.Reserved(role); !p.IsEmpty() {
								nk := modelKey{id, k.agent, role}
								m.alloc[nk] = m.alloc[nk].Plus(p)
								rest = rest.Minus(p)
							}
						}
						if !rest.IsEmpty() {
							nk := modelKey{id, k.agent, roles[0]}
							m.alloc[nk] = m.alloc[nk].Plus(rest)
						}
					}
				}
				fw.roles = roles
			},
			"removeFramework": func(t *rapid.T) {
				id := rapid.SampledFrom(propFrameworkIDs).Draw(t, "framework")
				a.RemoveFramework(id)
				m.removeFramework(id)
				snap := a.Snapshot()
				for _, ag := range snap.Agents {
					if _, ok := ag.ByFramework[id]; ok {
						t.Fatalf("removed framework %s still holds %s on %s", id, ag.ByFramework[id], ag.ID)
					}
				}
			},
			"toggleFramework": func(t *rapid.T) {
				id := rapid.SampledFrom(propFrameworkIDs).Draw(t, "framework")
				if fw := m.frameworks[id]; fw != nil {
					if fw.active = !fw.active; fw.active {
						a.ActivateFramework(id)
					} else {
						a.DeactivateFramework(id)
					}
				}
			},
			"suppress": func(t *rapid.T) {
				id := rapid.SampledFrom(propFrameworkIDs).Draw(t, "framework")
				roles := rapid.SliceOfNDistinct(rapid.SampledFrom(propRoles), 0, 2, rapid.ID).Draw(t, "roles")
				if len(roles) == 0 {
					roles = nil
				}
				a.Suppress(id, roles)
				if fw := m.frameworks[id]; fw != nil {
					for _, r := range orAll(roles, fw.roles) {
						if slices.Contains(fw.roles, r) {
							fw.suppressed[r] = true
						}
					}
				}
			},
			"revive": func(t *rapid.T) {
				id := rapid.SampledFrom(propFrameworkIDs).Draw(t, "framework")
				roles := rapid.SliceOfNDistinct(rapid.SampledFrom(propRoles), 0, 2, rapid.ID).Draw(t, "roles")
				if len(roles) == 0 {
					roles = nil
				}
				a.Revive(id, roles)
				if fw := m.frameworks[id]; fw != nil {
					all := orAll(roles, fw.roles)
					for _, r := range all {
						delete(fw.suppressed, r)
					}
					m.dropFilters(func(f modelFilter) bool { return f.fw != id || !slices.Contains(all, f.role) })
				}
			},
			"setWeightParent": func(t *rapid.T) {
				// A weight on a role that only exists as a parent in the tree.
				if err := a.SetWeight("r0/a", rapid.Float64Range(0.1, 10).Draw(t, "weight")); err != nil {
					t.Fatal(err)
				}
			},
			"setWeight": func(t *rapid.T) {
				role := rapid.SampledFrom(propRoles).Draw(t, "role")
				if err := a.SetWeight(role, rapid.Float64Range(0.1, 10).Draw(t, "weight")); err != nil {
					t.Fatal(err)
				}
			},
			"recover": func(t *rapid.T) {
				if len(m.alloc) == 0 {
					t.Skip("nothing allocated")
				}
				keys := make([]modelKey, 0, len(m.alloc))
				for k := range m.alloc {
					keys = append(keys, k)
				}
				slices.SortFunc(keys, func(x, y modelKey) int {
					return cmp.Compare(x.fw+"/"+x.agent+"/"+x.role, y.fw+"/"+y.agent+"/"+y.role)
				})
				k := rapid.SampledFrom(keys).Draw(t, "allocation")
				held := m.alloc[k]
				r := held
				if name := rapid.SampledFrom(append([]string{""}, held.Names()...)).Draw(t, "only"); name != "" {
					r = held.Filter(func(x resources.Resource) bool { return x.Name == name })
				}
				refuse := time.Duration(rapid.IntRange(0, 5).Draw(t, "refuse")) * time.Second
				if rapid.Bool().Draw(t, "with_role") {
					a.RecoverRole(k.fw, k.agent, k.role, r, refuse, m.now)
					m.recover(k, r, refuse)
					return
				}
				// Without a role the allocator takes from the framework's roles
				// on the agent in name order.
				a.Recover(k.fw, k.agent, r, refuse, m.now)
				var roles []string
				for key := range m.alloc {
					if key.fw == k.fw && key.agent == k.agent {
						roles = append(roles, key.role)
					}
				}
				slices.Sort(roles)
				remaining := r
				for _, role := range roles {
					key := modelKey{k.fw, k.agent, role}
					part := intersect(m.alloc[key], remaining)
					if part.IsEmpty() {
						continue
					}
					remaining = remaining.Minus(part)
					m.recover(key, part, refuse)
				}
			},
			"allocate": func(t *rapid.T) {
				m.now = m.now.Add(time.Duration(rapid.IntRange(0, 3000).Draw(t, "advance_ms")) * time.Millisecond)
				offers := a.Allocate(m.now)
				m.checkOffers(t, a, offers)
			},
			"": func(t *rapid.T) {
				m.checkState(t, a)
			},
		})
	})
}

func orAll(roles, all []string) []string {
	if roles == nil {
		return all
	}
	return roles
}

// recover frees r of the allocation k and installs a filter for it.
func (m *model) recover(k modelKey, r resources.Resources, refuse time.Duration) {
	if rest := m.alloc[k].Minus(r); rest.IsEmpty() {
		delete(m.alloc, k)
	} else {
		m.alloc[k] = rest
	}
	if _, known := m.frameworks[k.fw]; known && refuse > 0 {
		m.filters = append(m.filters, modelFilter{k.fw, k.agent, k.role, r, m.now.Add(refuse)})
	}
}

func (m *model) removeAgent(id string) {
	for k := range m.alloc {
		if k.agent == id {
			delete(m.alloc, k)
		}
	}
	m.dropFilters(func(f modelFilter) bool { return f.agent != id })
	delete(m.agents, id)
}

func (m *model) removeFramework(id string) {
	for k := range m.alloc {
		if k.fw == id {
			delete(m.alloc, k)
		}
	}
	m.dropFilters(func(f modelFilter) bool { return f.fw != id })
	delete(m.frameworks, id)
}

// checkOffers checks one cycle's offers against the model and records them.
func (m *model) checkOffers(t *rapid.T, a *Allocator, offers []Offer) {
	free := map[string]resources.Resources{}
	for id, ag := range m.agents {
		free[id] = ag.total.Minus(m.allocatedOn(id))
	}
	for _, o := range offers {
		ag, fw := m.agents[o.AgentID], m.frameworks[o.FrameworkID]
		switch {
		case ag == nil || !ag.active:
			t.Fatalf("offer %+v: agent unknown or inactive", o)
		case fw == nil || !fw.active:
			t.Fatalf("offer %+v: framework unknown or inactive", o)
		case !slices.Contains(fw.roles, o.Role):
			t.Fatalf("offer %+v: framework is not in role %s", o, o.Role)
		case fw.suppressed[o.Role]:
			t.Fatalf("offer %+v: framework suppressed role %s", o, o.Role)
		case o.Resources.IsEmpty() || !a.allocatable(o.Resources):
			t.Fatalf("offer %+v: below the minimum", o)
		case !free[o.AgentID].Contains(o.Resources):
			t.Fatalf("offer %+v: more than is free (%s)", o, free[o.AgentID])
		case m.filtered(o.FrameworkID, o.AgentID, o.Role, o.Resources, m.now):
			t.Fatalf("offer %+v: blocked by a refuse filter", o)
		}
		for _, x := range o.Resources.All() {
			if !resources.IsAllocatableTo(x.Role, o.Role) {
				t.Fatalf("offer %+v: resource %s reserved for another role", o, x)
			}
		}
		free[o.AgentID] = free[o.AgentID].Minus(o.Resources)
		k := modelKey{o.FrameworkID, o.AgentID, o.Role}
		m.alloc[k] = m.alloc[k].Plus(o.Resources)
	}
	// Nothing offerable is left behind: no eligible, unfiltered framework could
	// have taken what remains on an active agent.
	for agentID, ag := range m.agents {
		if !ag.active {
			continue
		}
		for fwID, fw := range m.frameworks {
			if !fw.active {
				continue
			}
			for _, role := range fw.roles {
				left := free[agentID].AllocatableTo(role)
				if fw.suppressed[role] || left.IsEmpty() || !a.allocatable(left) ||
					m.filtered(fwID, agentID, role, left, m.now) {
					continue
				}
				t.Fatalf("after the cycle %s is left on %s for %s in role %s", left, agentID, fwID, role)
			}
		}
	}
}

// checkTree checks the role tree: every node's allocation is the sum of its
// kids', its kids are sorted, and it has a node exactly for every role with
// frameworks and each ancestor of one.
func checkTree(t *rapid.T, a *Allocator) {
	want := map[string]bool{}
	for name := range a.roles {
		for n := name; n != ""; n = parentRole(n) {
			want[n] = true
		}
	}
	if len(want) != len(a.nodes) {
		t.Fatalf("tree has nodes %v, want %v", slices.Sorted(maps.Keys(a.nodes)), slices.Sorted(maps.Keys(want)))
	}
	var walk func(n *node)
	walk = func(n *node) {
		sum := quantities{}
		for i, c := range n.kids.clients {
			if c.pos != i || (i > 0 && less(c, n.kids.clients[i-1])) {
				t.Fatalf("node %q: kids out of order at %d", n.name, i)
			}
			sum.add(c.alloc)
			if c.node != nil {
				if !want[c.node.name] || c.node.parent != n {
					t.Fatalf("node %q: unexpected child %q", n.name, c.node.name)
				}
				walk(c.node)
			}
		}
		if n != &a.root && !maps.Equal(sum, n.client.alloc) {
			t.Fatalf("node %q: allocation %v, kids sum to %v", n.name, n.client.alloc, sum)
		}
	}
	walk(&a.root)
}

// checkState compares the allocator's snapshot with the model.
func (m *model) checkState(t *rapid.T, a *Allocator) {
	checkTree(t, a)
	snap := a.Snapshot()
	if len(snap.Agents) != len(m.agents) {
		t.Fatalf("%d agents, model has %d", len(snap.Agents), len(m.agents))
	}
	for _, ag := range snap.Agents {
		want := m.allocatedOn(ag.ID)
		if !ag.Allocated.Equal(want) {
			t.Fatalf("agent %s: allocated %s, model %s", ag.ID, ag.Allocated, want)
		}
		if !ag.Total.Contains(ag.Allocated) {
			t.Fatalf("agent %s: allocated %s exceeds total %s", ag.ID, ag.Allocated, ag.Total)
		}
		if !ag.Available.Equal(ag.Total.Minus(ag.Allocated)) {
			t.Fatalf("agent %s: available %s != total − allocated", ag.ID, ag.Available)
		}
	}
	for _, fs := range snap.Frameworks {
		for role, r := range fs.AllocatedByRole {
			var want resources.Resources
			for k, x := range m.alloc {
				if k.fw == fs.ID && k.role == role {
					want = want.Plus(x)
				}
			}
			if !r.Equal(want) {
				t.Fatalf("framework %s role %s: allocated %s, model %s", fs.ID, role, r, want)
			}
		}
	}
}

// TestPropertyDRFEvenSplit: identical frameworks in one role on identical
// agents end up within one agent of each other after a cycle.
func TestPropertyDRFEvenSplit(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		nfw := rapid.IntRange(1, 6).Draw(t, "frameworks")
		nag := rapid.IntRange(1, 40).Draw(t, "agents")
		a := New(DefaultConfig(), rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "seed"), 0)))
		total := resources.MustParse("cpus:4;mem:8192")
		for i := range nag {
			a.AddAgent(fmt.Sprintf("a%02d", i), Agent{Total: total})
		}
		for i := range nfw {
			a.AddFramework(fmt.Sprintf("f%d", i), Framework{Roles: []string{"r"}, Active: true})
		}
		count := map[string]int{}
		for _, o := range a.Allocate(epoch) {
			count[o.FrameworkID]++
		}
		lo, hi := nag, 0
		for i := range nfw {
			c := count[fmt.Sprintf("f%d", i)]
			lo, hi = min(lo, c), max(hi, c)
		}
		if hi-lo > 1 {
			t.Fatalf("uneven split %v", count)
		}
	})
}
