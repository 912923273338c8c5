package allocator

import (
	"container/heap"
	"time"

	"github.com/agoracluster/agora/resources"
)

// filter is a refuse filter (Mesos RefusedOfferFilter): until expires, the
// framework is not offered, in role, resources on the agent that the filtered
// resources contain.
type filter struct {
	framework *framework
	agent     *agent
	role      string
	roleRef   *role
	resources resources.Resources
	expires   time.Time
	removed   bool // revived, or its framework or agent is gone
	index     int  // in filterHeap

	// The outcome of the last Contains check, valid while the agent's
	// available resources are unchanged (agent.gen), which keeps a cycle in
	// which most frameworks filter most agents cheap.
	checkedGen uint64
	contains   bool
}

// blocks reports whether f keeps offered from its framework at now. When
// offered is everything role may use of the agent's available resources
// (cacheable), the answer is kept until those change.
func (f *filter) blocks(role string, offered resources.Resources, cacheable bool, now time.Time) bool {
	if f.removed || f.role != role || !now.Before(f.expires) {
		return false
	}
	if !cacheable {
		return f.resources.Contains(offered)
	}
	if f.checkedGen != f.agent.gen {
		f.checkedGen = f.agent.gen
		f.contains = f.resources.Contains(offered)
	}
	return f.contains
}

// filterHeap orders filters by expiry so that expired ones are dropped, and the
// next expiry found, without scanning every filter.
type filterHeap []*filter

func (h filterHeap) Len() int           { return len(h) }
func (h filterHeap) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }
func (h filterHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *filterHeap) Push(x any) {
	f := x.(*filter)
	f.index = len(*h)
	*h = append(*h, f)
}
func (h *filterHeap) Pop() any {
	old := *h
	f := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	f.index = -1
	return f
}

// addFilter installs a refuse filter.
func (a *Allocator) addFilter(fw *framework, s *agent, role string, r resources.Resources, expires time.Time) {
	f := &filter{framework: fw, agent: s, role: role, roleRef: a.roles[role], resources: r, expires: expires}
	if fw.filters == nil {
		fw.filters = map[string][]*filter{}
	}
	fw.filters[s.id] = append(fw.filters[s.id], f)
	if s.filters == nil {
		s.filters = map[*framework][]*filter{}
	}
	s.filters[fw] = append(s.filters[fw], f)
	heap.Push(&a.filters, f)
}

// without returns fs without f.
func without(fs []*filter, f *filter) []*filter {
	for i, g := range fs {
		if g == f {
			return append(fs[:i], fs[i+1:]...)
		}
	}
	return fs
}

// dropFilter detaches f from its framework; the heap entry goes lazily.
func dropFilter(f *filter) {
	if f.removed {
		return
	}
	f.removed = true
	if f.roleRef != nil {
		f.roleRef.version++ // offers the filter blocked may go through now
	}
	fw, s := f.framework, f.agent
	if fs := without(fw.filters[s.id], f); len(fs) == 0 {
		delete(fw.filters, s.id)
	} else {
		fw.filters[s.id] = fs
	}
	if fs := without(s.filters[fw], f); len(fs) == 0 {
		delete(s.filters, fw)
	} else {
		s.filters[fw] = fs
	}
}

// expireFilters drops the filters that have expired at now, and removed ones
// at the top of the heap.
func (a *Allocator) expireFilters(now time.Time) {
	for len(a.filters) > 0 {
		f := a.filters[0]
		if !f.removed && now.Before(f.expires) {
			return
		}
		heap.Pop(&a.filters)
		dropFilter(f)
	}
}

// NextFilterExpiry returns the earliest time at which an installed refuse filter
// expires, so that the caller can run an allocation cycle then. ok is false when
// no filter is installed.
func (a *Allocator) NextFilterExpiry() (t time.Time, ok bool) {
	for len(a.filters) > 0 {
		f := a.filters[0]
		if !f.removed {
			return f.expires, true
		}
		heap.Pop(&a.filters)
	}
	return time.Time{}, false
}

// blockedUntil reports whether fw has filters that block offered on s in role,
// and until when the last of them holds.
func (s *agent) blockedUntil(fw *framework, role string, offered resources.Resources, cacheable bool, now time.Time) (until time.Time, blocked bool) {
	for _, f := range s.filters[fw] {
		if f.blocks(role, offered, cacheable, now) {
			blocked = true
			if f.expires.After(until) {
				until = f.expires
			}
		}
	}
	return until, blocked
}
