package allocator

import "strings"

// node is a role in the role tree (Mesos's hierarchical DRF sorter): every
// role that frameworks subscribe to, and each of its ancestors ("eng" for
// "eng/web"). A node's client carries the allocation of its whole subtree and
// sits among its siblings in the parent's kids, so that DRF picks top-down:
// first among the top-level roles, then among the children of the one picked.
type node struct {
	name     string // full role name; "" for the root
	parent   *node  // nil for the root
	client   client // in parent.kids: the subtree's allocation, weighted by the role's weight
	kids     sorter // the children's clients, and role.client when frameworks subscribe to this role
	children int    // child nodes in kids
	role     *role  // the frameworks subscribed to exactly this role; nil if none
}

// parentRole returns the parent of a role in the hierarchy, "" for a
// top-level role.
func parentRole(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[:i]
	}
	return ""
}

// isSubrole reports whether role is ancestor or a descendant of it.
func isSubrole(role, ancestor string) bool {
	return role == ancestor || (len(role) > len(ancestor) && role[len(ancestor)] == '/' && strings.HasPrefix(role, ancestor))
}

// nodeFor returns the node of a role, creating it and its ancestors.
func (a *Allocator) nodeFor(name string) *node {
	if name == "" {
		return &a.root
	}
	if n := a.nodes[name]; n != nil {
		return n
	}
	parent := a.nodeFor(parentRole(name))
	n := &node{name: name, parent: parent}
	n.client = client{name: name, weight: a.weight(name), alloc: quantities{}, node: n}
	a.nodes[name] = n
	if parent.role != nil && parent.children == 0 {
		// The role's own share was not kept while it was alone (see charge).
		parent.kids.update(&parent.role.client, a.total)
	}
	parent.kids.add(&n.client)
	parent.children++
	return n
}

// prune removes n and its ancestors while they hold neither frameworks nor
// children.
func (a *Allocator) prune(n *node) {
	for n != &a.root && n.role == nil && n.children == 0 {
		p := n.parent
		p.kids.remove(&n.client)
		p.children--
		delete(a.nodes, n.name)
		n = p
	}
}

// chargeTree adds (or removes) q to the subtree allocations of n and its
// ancestors and moves each among its siblings.
func (a *Allocator) chargeTree(n *node, q quantities, add bool) {
	for ; n != &a.root; n = n.parent {
		if add {
			n.client.alloc.add(q)
		} else {
			n.client.alloc.sub(q)
		}
		n.parent.kids.update(&n.client, a.total)
	}
}

// roleOrder appends to out the roles with frameworks in hierarchical DRF
// order: the kids of n by share, each node replaced by its own order.
func (a *Allocator) roleOrderOf(out []*client, n *node) []*client {
	for _, c := range n.kids.clients {
		if c.node != nil {
			out = a.roleOrderOf(out, c.node)
		} else {
			out = append(out, c)
		}
	}
	return out
}

// resortTree recomputes every share below n (after the cluster total changed).
func (a *Allocator) resortTree(n *node) {
	n.kids.resort(a.total)
	for _, c := range n.kids.clients {
		if c.node != nil {
			a.resortTree(c.node)
		} else {
			c.role.frameworks.resort(a.total)
		}
	}
}
