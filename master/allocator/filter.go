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
	agentID   string
	role      string
	resources resources.Resources
	expires   time.Time
	removed   bool // revived, or its framework or agent is gone
	index     int  // in filterHeap
}

// blocks reports whether f keeps offered (in role, at now) from its framework.
func (f *filter) blocks(role string, offered resources.Resources, now time.Time) bool {
	return !f.removed && f.role == role && now.Before(f.expires) && f.resources.Contains(offered)
}

// filterHeap orders filters by expiry so that expired ones are dropped, and the
// next expiry found, without scanning every filter.
type filterHeap []*filter

func (h filterHeap) Len() int { return len(h) }
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
func (a *Allocator) addFilter(fw *framework, agentID, role string, r resources.Resources, expires time.Time) {
	f := &filter{framework: fw, agentID: agentID, role: role, resources: r, expires: expires}
	if fw.filters == nil {
		fw.filters = map[string][]*filter{}
	}
	fw.filters[agentID] = append(fw.filters[agentID], f)
	heap.Push(&a.filters, f)
}

// dropFilter detaches f from its framework; the heap entry goes lazily.
func dropFilter(f *filter) {
	if f.removed {
		return
	}
	f.removed = true
	fs := f.framework.filters[f.agentID]
	for i, g := range fs {
		if g == f {
			fs = append(fs[:i], fs[i+1:]...)
			break
		}
	}
	if len(fs) == 0 {
		delete(f.framework.filters, f.agentID)
	} else {
		f.framework.filters[f.agentID] = fs
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

// filtered reports whether fw has a filter that blocks offered on agentID in role.
func (fw *framework) filtered(agentID, role string, offered resources.Resources, now time.Time) bool {
	for _, f := range fw.filters[agentID] {
		if f.blocks(role, offered, now) {
			return true
		}
	}
	return false
}
