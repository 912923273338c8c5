// Package registry is the master's durable memory: the records that must survive a
// master restart or failover, kept in a store.Store (a file store for a standalone
// master; ZooKeeper for an elected one).
//
// It holds one record per admitted agent (its AgentInfo, when it registered and,
// when it is unreachable, since when) and one per registered framework (its
// FrameworkInfo and, while disconnected, its failover deadline), each under its own
// key (agents/<id>, frameworks/<id>) so that no value grows with the cluster, and the
// weights and quotas operators set per role (weights/<role>, quotas/<role>).
// Everything else the master knows is rebuilt from agents re-registering and
// schedulers re-subscribing.
//
// The master's decision core never writes here itself: it hands out a Batch of
// changes after each event, and the loop that owns it applies the batch with Apply.
// The registry takes the store.Store it is given; the caller opens and closes it.
package registry
