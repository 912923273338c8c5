package allocator

import (
	"maps"
	"slices"
	"sort"

	"github.com/agoracluster/agora/resources"
)

// Snapshot is a copy of the allocator's state for /state and metrics.
type Snapshot struct {
	// Total is the sum of all agents' totals (active or not).
	Total      resources.Resources
	Roles      []RoleState      // by name
	Frameworks []FrameworkState // by ID
	Agents     []AgentState     // by ID
}

// RoleState is one role: a role exists while frameworks subscribe to it or
// to one of its descendants, or a weight or quota is set for it.
type RoleState struct {
	Name   string
	Weight float64
	// Allocated is what is allocated in exactly this role (not its descendants).
	Allocated  resources.Resources
	Share      float64  // weighted dominant share of the role and its descendants
	Frameworks []string // subscribed framework IDs, sorted
	// Quota is the role's quota, nil if none; Consumed is what the role and
	// its descendants consume against it (allocated plus unallocated
	// reservations).
	Quota    *Quota
	Consumed Quantities
}

// FrameworkState is one framework.
type FrameworkState struct {
	ID              string
	Roles           []string
	Allocated       resources.Resources            // offered and used, all roles
	AllocatedByRole map[string]resources.Resources // role → allocated
	Shares          map[string]float64             // role → dominant share within the role
	Active          bool
	Suppressed      []string // sorted
	Filters         int      // refuse filters installed
}

// AgentState is one agent.
type AgentState struct {
	ID        string
	Hostname  string
	Active    bool
	Total     resources.Resources
	Allocated resources.Resources
	Available resources.Resources
	// ByFramework: framework ID → allocated there (including frameworks the
	// allocator does not know yet).
	ByFramework map[string]resources.Resources
}

// Snapshot returns a copy of the current state.
func (a *Allocator) Snapshot() Snapshot {
	a.refresh()
	var snap Snapshot
	roleAlloc := map[string]resources.Resources{}
	fwAlloc := map[string]map[string]resources.Resources{}
	for _, id := range slices.Sorted(maps.Keys(a.agents)) {
		s := a.agents[id]
		snap.Total = snap.Total.Plus(s.total)
		st := AgentState{
			ID: id, Hostname: s.hostname, Active: s.active,
			Total: s.total, Allocated: s.allocated, Available: s.available,
			ByFramework: map[string]resources.Resources{},
		}
		for _, fwID := range slices.Sorted(maps.Keys(s.allocs)) {
			for _, role := range slices.Sorted(maps.Keys(s.allocs[fwID])) {
				r := s.allocs[fwID][role]
				st.ByFramework[fwID] = st.ByFramework[fwID].Plus(r)
				if role == "" {
					continue
				}
				roleAlloc[role] = roleAlloc[role].Plus(r)
				if fwAlloc[fwID] == nil {
					fwAlloc[fwID] = map[string]resources.Resources{}
				}
				fwAlloc[fwID][role] = fwAlloc[fwID][role].Plus(r)
			}
		}
		snap.Agents = append(snap.Agents, st)
	}
	names := map[string]bool{}
	for n := range a.roles {
		names[n] = true
	}
	for n := range a.weights {
		names[n] = true
	}
	for n := range a.nodes {
		names[n] = true
	}
	for n := range a.quotas {
		names[n] = true
	}
	for _, n := range slices.Sorted(maps.Keys(names)) {
		rs := RoleState{Name: n, Weight: a.weight(n), Allocated: roleAlloc[n]}
		if q := a.quotas[n]; q != nil {
			rs.Quota = &Quota{Guarantees: fromQuantities(q.guarantees), Limits: fromQuantities(q.limits)}
			rs.Consumed = fromQuantities(a.consumed(n))
		}
		if node := a.nodes[n]; node != nil {
			rs.Share = node.client.share
		}
		if r := a.roles[n]; r != nil {
			for _, c := range r.frameworks.clients {
				rs.Frameworks = append(rs.Frameworks, c.name)
			}
			sort.Strings(rs.Frameworks)
		}
		snap.Roles = append(snap.Roles, rs)
	}
	for _, id := range slices.Sorted(maps.Keys(a.frameworks)) {
		fw := a.frameworks[id]
		fs := FrameworkState{
			ID: id, Roles: append([]string(nil), fw.roles...), Active: fw.active,
			AllocatedByRole: map[string]resources.Resources{}, Shares: map[string]float64{},
		}
		for _, role := range fw.roles {
			if r, ok := fwAlloc[id][role]; ok {
				fs.AllocatedByRole[role] = r
				fs.Allocated = fs.Allocated.Plus(r)
			}
			fs.Shares[role] = fw.members[role].share
			if fw.members[role].suppressed {
				fs.Suppressed = append(fs.Suppressed, role)
			}
		}
		sort.Strings(fs.Suppressed)
		for _, fl := range fw.filters {
			fs.Filters += len(fl)
		}
		snap.Frameworks = append(snap.Frameworks, fs)
	}
	return snap
}
