package allocator

import (
	"errors"
	"maps"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/agoracluster/agora/resources"
)

// Agent describes an agent when it is added.
type Agent struct {
	Hostname   string
	Attributes map[string]string
	// Total is everything the agent offers to the cluster, reserved and not.
	Total resources.Resources
	// Used are the resources that tasks and executors already use, by framework
	// ID (for instance after a master failover). They count as allocated.
	Used map[string]resources.Resources
}

// Framework describes a framework when it is added.
type Framework struct {
	// Roles the framework subscribes to (MULTI_ROLE). Empty means "*".
	Roles []string
	// Used are the resources the framework already uses, by agent ID. Resources
	// that the agent reported in Agent.Used win; otherwise they are allocated
	// as far as the agent has them available.
	Used map[string]resources.Resources
	// Active frameworks receive offers.
	Active bool
	// SuppressedRoles are roles for which the framework wants no offers.
	SuppressedRoles []string
	// GPUResources is the GPU_RESOURCES capability: only such frameworks are offered
	// agents with GPUs (gpu.go).
	GPUResources bool
}

// Offer is one allocation decision: Resources on AgentID go to FrameworkID in Role.
type Offer struct {
	FrameworkID string
	AgentID     string
	Role        string
	Resources   resources.Resources
}

// ErrInvalidWeight is returned by SetWeight for a weight that is not a finite
// number greater than zero.
var ErrInvalidWeight = errors.New("allocator: weight must be a finite number > 0")

// ErrInvalidRole is returned for a role name that breaks the Mesos rules.
var ErrInvalidRole = errors.New("allocator: invalid role")

// Allocator is the hierarchical DRF allocator. The zero value is not usable;
// call New. Methods that name an unknown agent or framework do nothing.
type Allocator struct {
	cfg Config
	rnd *rand.Rand

	agents    map[string]*agent
	agentList []*agent // deterministic order before the shuffle

	frameworks map[string]*framework
	roles      map[string]*role
	root       node             // the role tree
	nodes      map[string]*node // role name → node, every role in the tree
	weights    map[string]float64

	total quantities // cluster total of every scalar, all agents
	stale bool       // total changed since the shares were computed

	// Quota (quota.go): the quotas by role, and the counts that consumption and
	// headroom come from, all scalars in thousandths.
	quotas       map[string]*quota
	allocQ       quantities            // allocated on all agents, kept while quotas exist
	resvTotal    map[string]quantities // reservation role → reserved on all agents
	resvAlloc    map[string]quantities // reservation role → of that, allocated
	resvTotalAll quantities
	resvAllocAll quantities
	surplus      quantities // see headroom
	needScratch  quantities // scratch maps of the quota stage
	capScratch   quantities
	limitScratch quantities
	exhausted    map[*role]bool // see allocateRole; cleared each cycle

	filters filterHeap

	// scratch space reused by Allocate.
	order     []*agent
	roleOrder []*client
}

type agent struct {
	id         string
	hostname   string
	attributes map[string]string
	active     bool
	pos        int // in Allocator.agentList

	total     resources.Resources
	totalQ    quantities
	allocated resources.Resources
	available resources.Resources // total − allocated, kept current
	// hasUnreserved: available holds unreserved resources.
	hasUnreserved bool
	hasGPUs       bool     // total holds gpus (gpu.go)
	reserved      []string // roles with reservations in total
	gen           uint64   // changes whenever available changes
	filters       map[*framework][]*filter
	blocked       map[*role]blockMemo // see allocateRole

	// allocs: framework ID → role → resources. Role "" holds resources of a
	// framework that the allocator does not know yet (reported in Agent.Used).
	allocs map[string]map[string]resources.Resources
}

type framework struct {
	id      string
	roles   []string
	active  bool
	members map[string]*client // role → this framework in the role's sorter
	agents  map[string]bool    // agents where it holds resources
	filters map[string][]*filter
	gpus    bool // GPU_RESOURCES capability
}

type role struct {
	name       string
	version    uint64 // changes whenever a framework may have become eligible
	client     client // the role's own allocation, in node.kids
	node       *node
	frameworks sorter
}

// New returns an empty allocator. rnd shuffles the order in which agents are
// visited; nil means a fixed seed.
func New(cfg Config, rnd *rand.Rand) *Allocator {
	if rnd == nil {
		rnd = rand.New(rand.NewPCG(1, 2))
	}
	a := &Allocator{
		cfg:        cfg,
		rnd:        rnd,
		agents:     map[string]*agent{},
		frameworks: map[string]*framework{},
		roles:      map[string]*role{},
		nodes:      map[string]*node{},
		weights:    map[string]float64{},
		total:      quantities{},

		quotas:       map[string]*quota{},
		allocQ:       quantities{},
		resvTotal:    map[string]quantities{},
		resvAlloc:    map[string]quantities{},
		resvTotalAll: quantities{},
		resvAllocAll: quantities{},
		surplus:      quantities{},
		needScratch:  quantities{},
		capScratch:   quantities{},
		limitScratch: quantities{},
		exhausted:    map[*role]bool{},
	}
	for role, w := range cfg.Weights {
		a.weights[role] = w // checked by cfg.Validate
	}
	return a
}

// AddAgent adds (or replaces) an agent. It starts active.
func (a *Allocator) AddAgent(id string, ag Agent) {
	if _, ok := a.agents[id]; ok {
		a.RemoveAgent(id)
	}
	s := &agent{
		id:         id,
		hostname:   ag.Hostname,
		attributes: ag.Attributes,
		active:     true,
		pos:        len(a.agentList),
		allocs:     map[string]map[string]resources.Resources{},
	}
	a.agents[id] = s
	a.agentList = append(a.agentList, s)
	a.setTotal(s, ag.Total)
	for _, fwID := range slices.Sorted(maps.Keys(ag.Used)) {
		r := ag.Used[fwID]
		if fw := a.frameworks[fwID]; fw != nil {
			for _, p := range attribute(fw.roles, r) {
				a.track(s, fwID, p.role, p.res)
			}
		} else {
			a.track(s, fwID, "", r)
		}
	}
}

// UpdateAgentTotal changes an agent's total resources (its allocations stay).
func (a *Allocator) UpdateAgentTotal(id string, total resources.Resources) {
	if s := a.agents[id]; s != nil {
		a.setTotal(s, total)
	}
}

func (a *Allocator) setTotal(s *agent, total resources.Resources) {
	a.total.sub(s.totalQ)
	a.countTotal(s.total, false)
	a.countTotal(total, true)
	s.total = total
	s.totalQ = scalarQ(total)
	a.total.add(s.totalQ)
	a.stale = true
	s.reserved = reservedRoles(total)
	s.hasGPUs = hasGPUs(total)
	a.refreshAvailable(s)
}

// mayHaveFor reports whether s has reservations that role may use (its own or
// an ancestor's in the role hierarchy).
func (s *agent) mayHaveFor(role string) bool {
	for _, r := range s.reserved {
		if resources.IsAllocatableTo(r, role) {
			return true
		}
	}
	return false
}

func (a *Allocator) refreshAvailable(s *agent) {
	s.available = s.total.Minus(s.allocated)
	s.gen++
	s.hasUnreserved = !s.available.Unreserved().IsEmpty()
}

// RemoveAgent removes an agent with everything allocated on it and every filter
// for it.
func (a *Allocator) RemoveAgent(id string) {
	s := a.agents[id]
	if s == nil {
		return
	}
	for _, fwID := range slices.Sorted(maps.Keys(s.allocs)) {
		m := s.allocs[fwID]
		for _, role := range slices.Sorted(maps.Keys(m)) {
			a.untrack(s, fwID, role, m[role])
		}
	}
	for _, fs := range s.filters {
		for _, f := range append([]*filter(nil), fs...) {
			dropFilter(f)
		}
	}
	a.total.sub(s.totalQ)
	a.countTotal(s.total, false)
	a.stale = true
	last := a.agentList[len(a.agentList)-1]
	a.agentList[s.pos] = last
	last.pos = s.pos
	a.agentList[len(a.agentList)-1] = nil
	a.agentList = a.agentList[:len(a.agentList)-1]
	delete(a.agents, id)
}

// ActivateAgent lets an agent's resources be offered again.
func (a *Allocator) ActivateAgent(id string) {
	if s := a.agents[id]; s != nil {
		s.active = true
	}
}

// DeactivateAgent stops offering an agent's resources (for instance while it
// is disconnected). Its allocations and its share of the cluster stay.
func (a *Allocator) DeactivateAgent(id string) {
	if s := a.agents[id]; s != nil {
		s.active = false
	}
}

// AddFramework adds (or replaces) a framework.
func (a *Allocator) AddFramework(id string, f Framework) {
	if _, ok := a.frameworks[id]; ok {
		a.RemoveFramework(id)
	}
	roles := uniqueRoles(f.Roles)
	fw := &framework{
		id:      id,
		roles:   roles,
		active:  f.Active,
		members: map[string]*client{},
		agents:  map[string]bool{},
		gpus:    f.GPUResources,
	}
	a.frameworks[id] = fw
	for _, name := range roles {
		r := a.role(name)
		c := &client{name: id, weight: 1, alloc: quantities{}, fw: fw}
		fw.members[name] = c
		r.frameworks.add(c)
		r.version++
	}
	a.suppress(fw, f.SuppressedRoles)
	// Resources the agents reported for this framework before it was known.
	for _, s := range a.agentList {
		if r, ok := s.allocs[id][""]; ok {
			a.untrack(s, id, "", r)
			for _, p := range attribute(roles, r) {
				a.track(s, id, p.role, p.res)
			}
		}
	}
	for _, agentID := range slices.Sorted(maps.Keys(f.Used)) {
		s := a.agents[agentID]
		if s == nil || s.allocs[id] != nil {
			continue
		}
		r := intersect(s.available, f.Used[agentID])
		for _, p := range attribute(roles, r) {
			a.track(s, id, p.role, p.res)
		}
	}
}

// UpdateFramework changes the roles a framework subscribes to (Mesos
// UPDATE_FRAMEWORK). Resources it holds in a role it leaves are moved to its
// remaining roles as AddFramework's Used would be; its filters and
// suppression in that role are dropped.
func (a *Allocator) UpdateFramework(id string, roles []string) {
	fw := a.frameworks[id]
	if fw == nil {
		return
	}
	roles = uniqueRoles(roles)
	old := fw.roles
	fw.roles = roles
	for _, name := range roles {
		if fw.members[name] == nil {
			r := a.role(name)
			c := &client{name: id, weight: 1, alloc: quantities{}, fw: fw}
			fw.members[name] = c
			r.frameworks.add(c)
			r.version++
		}
	}
	for _, name := range old {
		if slices.Contains(roles, name) {
			continue
		}
		for _, agentID := range slices.Sorted(maps.Keys(fw.agents)) {
			s := a.agents[agentID]
			if held, ok := s.allocs[id][name]; ok {
				a.untrack(s, id, name, held)
				for _, p := range attribute(roles, held) {
					a.track(s, id, p.role, p.res)
				}
			}
		}
		for _, agentID := range slices.Sorted(maps.Keys(fw.filters)) {
			for _, f := range append([]*filter(nil), fw.filters[agentID]...) {
				if f.role == name {
					dropFilter(f)
				}
			}
		}
		r := a.roles[name]
		r.frameworks.remove(fw.members[name])
		delete(fw.members, name)
		if len(r.frameworks.clients) == 0 {
			a.removeRole(r)
		}
	}
}

// role returns the named role, creating it.
func (a *Allocator) role(name string) *role {
	r := a.roles[name]
	if r == nil {
		r = &role{name: name, node: a.nodeFor(name)}
		r.client = client{name: name, weight: a.weight(name), alloc: quantities{}, role: r}
		a.roles[name] = r
		r.node.role = r
		r.node.kids.add(&r.client)
	}
	return r
}

// removeRole drops a role that no framework subscribes to any more, and the
// nodes of the tree that it alone kept.
func (a *Allocator) removeRole(r *role) {
	r.node.kids.remove(&r.client)
	r.node.role = nil
	delete(a.roles, r.name)
	a.prune(r.node)
}

func (a *Allocator) weight(role string) float64 {
	if w, ok := a.weights[role]; ok {
		return w
	}
	return 1
}

// RemoveFramework removes a framework, frees everything allocated to it and
// drops its filters.
func (a *Allocator) RemoveFramework(id string) {
	fw := a.frameworks[id]
	if fw == nil {
		return
	}
	for _, agentID := range slices.Sorted(maps.Keys(fw.agents)) {
		s := a.agents[agentID]
		m := s.allocs[id]
		for _, role := range slices.Sorted(maps.Keys(m)) {
			a.untrack(s, id, role, m[role])
		}
	}
	for _, agentID := range slices.Sorted(maps.Keys(fw.filters)) {
		for _, f := range append([]*filter(nil), fw.filters[agentID]...) {
			dropFilter(f)
		}
	}
	for _, name := range fw.roles {
		r := a.roles[name]
		r.frameworks.remove(fw.members[name])
		if len(r.frameworks.clients) == 0 {
			a.removeRole(r)
		}
	}
	delete(a.frameworks, id)
}

// ActivateFramework lets a framework receive offers again.
func (a *Allocator) ActivateFramework(id string) {
	if fw := a.frameworks[id]; fw != nil {
		fw.active = true
		for _, name := range fw.roles {
			a.roles[name].version++
		}
	}
}

// DeactivateFramework stops offers to a framework (for instance while its
// scheduler is disconnected). Its allocations and filters stay.
func (a *Allocator) DeactivateFramework(id string) {
	if fw := a.frameworks[id]; fw != nil {
		fw.active = false
	}
}

// Suppress stops offers to a framework in the given roles (nil: all its roles)
// until Revive.
func (a *Allocator) Suppress(frameworkID string, roles []string) {
	if fw := a.frameworks[frameworkID]; fw != nil {
		if roles == nil {
			roles = fw.roles
		}
		a.suppress(fw, roles)
	}
}

func (a *Allocator) suppress(fw *framework, roles []string) {
	for _, r := range roles {
		if c := fw.members[r]; c != nil {
			c.suppressed = true
		}
	}
}

// Revive resumes offers to a framework in the given roles (nil: all its roles)
// and clears its refuse filters for them.
func (a *Allocator) Revive(frameworkID string, roles []string) {
	fw := a.frameworks[frameworkID]
	if fw == nil {
		return
	}
	if roles == nil {
		roles = fw.roles
	}
	clear := map[string]bool{}
	for _, r := range roles {
		if c := fw.members[r]; c != nil {
			c.suppressed = false
			a.roles[r].version++
		}
		clear[r] = true
	}
	for _, agentID := range slices.Sorted(maps.Keys(fw.filters)) {
		for _, f := range append([]*filter(nil), fw.filters[agentID]...) {
			if clear[f.role] {
				dropFilter(f)
			}
		}
	}
}

// Recover returns resources that a framework held on an agent (a declined or
// rescinded offer, or resources of finished tasks). Resources that are not
// allocated to the framework there are ignored. refuse > 0 installs a refuse
// filter: until now+refuse the framework is not offered, in the roles the
// resources were allocated to, resources on the agent that the recovered
// resources contain.
func (a *Allocator) Recover(frameworkID, agentID string, r resources.Resources, refuse time.Duration, now time.Time) {
	s := a.agents[agentID]
	if s == nil {
		return
	}
	remaining := r
	for _, role := range slices.Sorted(maps.Keys(s.allocs[frameworkID])) {
		if remaining.IsEmpty() {
			break
		}
		part := a.untrack(s, frameworkID, role, remaining)
		if part.IsEmpty() {
			continue
		}
		remaining = remaining.Minus(part)
		if fw := a.frameworks[frameworkID]; fw != nil && refuse > 0 && role != "" {
			a.addFilter(fw, s, role, part, now.Add(refuse))
		}
	}
}

// RecoverRole is Recover for resources that were allocated to the framework in
// one known role (as an Offer's Role says); the filter, if any, is for that role.
func (a *Allocator) RecoverRole(frameworkID, agentID, role string, r resources.Resources, refuse time.Duration, now time.Time) {
	s := a.agents[agentID]
	if s == nil {
		return
	}
	a.untrack(s, frameworkID, role, r)
	fw := a.frameworks[frameworkID]
	if fw != nil && refuse > 0 && fw.members[role] != nil && !r.IsEmpty() {
		a.addFilter(fw, s, role, r, now.Add(refuse))
	}
}

// SetWeight sets a role's weight (default 1): a role with weight 2 is entitled
// to twice the dominant share of a role with weight 1.
func (a *Allocator) SetWeight(role string, w float64) error {
	if err := validWeight(role, w); err != nil {
		return err
	}
	a.weights[role] = w
	if r := a.roles[role]; r != nil {
		r.client.weight = w
		r.node.kids.update(&r.client, a.total)
	}
	if n := a.nodes[role]; n != nil {
		n.client.weight = w
		n.parent.kids.update(&n.client, a.total)
	}
	return nil
}

// Weights returns a copy of the weights set (by Config.Weights or SetWeight).
func (a *Allocator) Weights() map[string]float64 {
	out := make(map[string]float64, len(a.weights))
	for role, w := range a.weights {
		out[role] = w
	}
	return out
}

// track records r as allocated on s to framework fwID in role.
func (a *Allocator) track(s *agent, fwID, role string, r resources.Resources) {
	if r.IsEmpty() {
		return
	}
	m := s.allocs[fwID]
	if m == nil {
		m = map[string]resources.Resources{}
		s.allocs[fwID] = m
	}
	m[role] = m[role].Plus(r)
	s.allocated = s.allocated.Plus(r)
	a.refreshAvailable(s)
	fw := a.frameworks[fwID]
	if fw != nil && role != "" && fw.members[role] != nil {
		fw.agents[s.id] = true
		a.charge(fw, role, scalarQ(r), true)
		a.countAllocation(role, r, true)
	} else {
		if fw != nil && role != "" {
			fw.agents[s.id] = true
		}
		a.countAllocation("", r, true)
	}
}

// untrack frees the part of r that is allocated on s to fwID in role and
// returns that part.
func (a *Allocator) untrack(s *agent, fwID, role string, r resources.Resources) resources.Resources {
	m := s.allocs[fwID]
	held, ok := m[role]
	if !ok {
		return resources.Resources{}
	}
	part := intersect(held, r)
	if part.IsEmpty() {
		return resources.Resources{}
	}
	if rest := held.Minus(part); rest.IsEmpty() {
		delete(m, role)
	} else {
		m[role] = rest
	}
	fw := a.frameworks[fwID]
	if len(m) == 0 {
		delete(s.allocs, fwID)
		if fw != nil {
			delete(fw.agents, s.id)
		}
	}
	s.allocated = s.allocated.Minus(part)
	a.refreshAvailable(s)
	if fw != nil && role != "" && fw.members[role] != nil {
		a.charge(fw, role, scalarQ(part), false)
		a.countAllocation(role, part, false)
	} else {
		a.countAllocation("", part, false)
	}
	return part
}

// charge adds (or removes) q to the framework's share in role and to the role's.
func (a *Allocator) charge(fw *framework, role string, q quantities, add bool) {
	c := fw.members[role]
	r := a.roles[role]
	if c == nil || r == nil {
		return
	}
	if add {
		c.alloc.add(q)
		r.client.alloc.add(q)
	} else {
		c.alloc.sub(q)
		r.client.alloc.sub(q)
	}
	r.frameworks.update(c, a.total)
	if r.node.children > 0 {
		// The role's own frameworks compete with its children; alone in
		// its node, its share is not needed (nodeFor computes it when a
		// child arrives).
		r.node.kids.update(&r.client, a.total)
	}
	a.chargeTree(r.node, q, add)
}

// refresh recomputes every share after the cluster total changed.
func (a *Allocator) refresh() {
	if !a.stale {
		return
	}
	a.stale = false
	a.resortTree(&a.root)
}

// portion is the part of some resources allocated in one role.
type portion struct {
	role string
	res  resources.Resources
}

// attribute splits used resources of a framework over its roles: resources
// reserved for one of its roles go to that role, the rest to its first role.
func attribute(roles []string, r resources.Resources) []portion {
	var out []portion
	rest := r
	for _, role := range roles {
		if role == unreservedRole {
			continue
		}
		if p := r.Reserved(role); !p.IsEmpty() {
			out = append(out, portion{role, p})
			rest = rest.Minus(p)
		}
	}
	if !rest.IsEmpty() {
		out = append(out, portion{roles[0], rest})
	}
	return out
}

func uniqueRoles(roles []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range roles {
		if r == "" {
			r = unreservedRole
		}
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		out = []string{unreservedRole}
	}
	return out
}

// UpdateAllocation applies an offer operation (RESERVE, UNRESERVE, CREATE,
// DESTROY) to resources allocated on an agent to a framework in role: consumed
// leaves the agent's total and the allocation, produced takes its place in
// both, so a LAUNCH in the same ACCEPT can use it and what the framework does
// not use is recovered as usual. consumed must be allocated there.
func (a *Allocator) UpdateAllocation(frameworkID, agentID, role string, consumed, produced resources.Resources) {
	s := a.agents[agentID]
	if s == nil {
		return
	}
	a.untrack(s, frameworkID, role, consumed)
	a.setTotal(s, s.total.Minus(consumed).Plus(produced))
	a.track(s, frameworkID, role, produced)
}

// UpdateAgentResources applies an operator's operation to an agent's free
// resources: consumed leaves its total, produced joins it. consumed must not be
// allocated (the caller rescinds offers first).
func (a *Allocator) UpdateAgentResources(agentID string, consumed, produced resources.Resources) {
	if s := a.agents[agentID]; s != nil {
		a.setTotal(s, s.total.Minus(consumed).Plus(produced))
	}
}
