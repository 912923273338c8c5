package allocator

import "sort"

// quantities are scalar amounts by name in thousandths (see milli).
type quantities map[string]int64

func (q quantities) add(o quantities) {
	for n, v := range o {
		q[n] += v
	}
}

func (q quantities) sub(o quantities) {
	for n, v := range o {
		if q[n] -= v; q[n] <= 0 {
			delete(q, n)
		}
	}
}

// client is one entry of a DRF sorter: a role subtree or a role's own
// frameworks in the role tree, or a framework's membership in one role in that
// role's framework sorter.
type client struct {
	name   string
	weight float64
	alloc  quantities
	share  float64 // dominant share of alloc in the cluster total, divided by weight
	pos    int     // index in sorter.clients

	role *role      // set for a role's own allocation, in its node's kids
	node *node      // set for a subtree's allocation, in its parent's kids
	fw   *framework // set in a role's framework sorter

	suppressed bool // the framework wants no offers in this role
}

// dominantShare returns max over resource names of alloc/total, divided by weight.
func dominantShare(alloc, total quantities, weight float64) float64 {
	var share float64
	for name, v := range alloc {
		t := total[name]
		if t <= 0 {
			continue
		}
		if s := float64(v) / float64(t); s > share {
			share = s
		}
	}
	return share / weight
}

// less orders clients by share, ties broken by name.
func less(a, b *client) bool {
	if a.share != b.share {
		return a.share < b.share
	}
	return a.name < b.name
}

// sorter keeps clients ordered by DRF share. A change of one client's share
// moves only that client (insertion step), so an allocation costs O(distance)
// rather than a full sort.
type sorter struct {
	clients []*client
}

func (s *sorter) add(c *client) {
	c.pos = len(s.clients)
	s.clients = append(s.clients, c)
	s.fix(c)
}

func (s *sorter) remove(c *client) {
	copy(s.clients[c.pos:], s.clients[c.pos+1:])
	s.clients[len(s.clients)-1] = nil
	s.clients = s.clients[:len(s.clients)-1]
	for i := c.pos; i < len(s.clients); i++ {
		s.clients[i].pos = i
	}
}

// fix moves c to its place after its share changed.
func (s *sorter) fix(c *client) {
	i := c.pos
	for i > 0 && less(c, s.clients[i-1]) {
		s.clients[i] = s.clients[i-1]
		s.clients[i].pos = i
		i--
	}
	for i < len(s.clients)-1 && less(s.clients[i+1], c) {
		s.clients[i] = s.clients[i+1]
		s.clients[i].pos = i
		i++
	}
	s.clients[i] = c
	c.pos = i
}

// update recomputes c's share against total and moves it into place.
func (s *sorter) update(c *client, total quantities) {
	c.share = dominantShare(c.alloc, total, c.weight)
	s.fix(c)
}

// resort recomputes every share (after the cluster total changed) and sorts.
func (s *sorter) resort(total quantities) {
	for _, c := range s.clients {
		c.share = dominantShare(c.alloc, total, c.weight)
	}
	sort.Slice(s.clients, func(i, j int) bool { return less(s.clients[i], s.clients[j]) })
	for i, c := range s.clients {
		c.pos = i
	}
}
