// Package allocator is Agora's resource allocator: a pure, deterministic core that
// decides which agent resources to offer to which framework, following the
// hierarchical DRF allocator of Apache Mesos.
//
// The allocator holds agents (their total resources and what is allocated on them),
// frameworks (their roles, activity, suppression and offer filters) and role weights.
// Events go in through methods (AddAgent, Recover, Suppress, …); decisions come out of
// Allocate(now) as a list of offers. Offered resources count as allocated until the
// caller returns them with Recover, exactly like used resources. The allocator does no
// IO, starts no goroutines, never reads the clock (now is an argument) and takes its
// randomness (the order in which agents are visited) from an injected *rand.Rand, so a
// test can replay any sequence of events and get the same offers.
//
// One allocation cycle visits every active agent in shuffled order. For each agent it
// orders the roles by hierarchical weighted DRF, then the frameworks of each role by
// their dominant share within that role, and offers the agent's available resources
// that the role may use (unreserved plus reserved for the role) to the first framework
// that is active, not suppressed for the role and has no refuse filter covering the
// resources. Each offer is for one framework, one role and one agent. Shares are kept
// incrementally, so a cycle over 10,000 agents costs milliseconds.
//
// Roles form a tree ("eng/web" is a child of "eng"), as in Mesos's hierarchical
// DRF sorter: a role's share counts its descendants' allocations and is divided
// by its weight, and DRF picks top-down: first among the top-level roles, then
// among the children of the role picked. Frameworks subscribed to a role that
// also has children compete with those children as one more child. A role may
// use its ancestors' reservations.
//
// Quotas follow Mesos 1.9+: a role's guarantees are met first, in a stage before
// fair sharing; its limits are never passed by an offer; and unreserved resources
// that unmet guarantees need (headroom) are held back from the fair-share stage.
//
// The allocator is not safe for concurrent use: the master's allocation loop owns it.
package allocator
