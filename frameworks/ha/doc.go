// Package ha runs a framework (Marathon, batch) as one of several instances
// that share their state in ZooKeeper: a leader latch (election.ContendLatch
// under the --zk path) picks the instance that subscribes to the master and
// runs the framework loop; the others proxy API calls to it.
//
// Node is an instance's place in the latch. Node.Run calls the framework's
// term function each time the instance is elected, with a store under
// <path>/state whose writes are fenced on the instance's latch znode, and
// cancels the term at once when the instance stops leading: its status
// changes (abdication, a lost connection, an expired session) or a write
// fails with store.ErrFenced. A term ends by stopping the loop and the SDK
// scheduler (without tearing the framework down), so that the next leader
// loads the state and re-subscribes with the same framework id, kept in
// the store, and the running tasks are kept.
//
// Proxy is the HTTP reverse proxy a follower puts in front of the leader,
// as Marathon's LeaderProxyFilter does: the request goes to the leader's
// host:port from the latch with a Via header naming this instance (a
// request that already passed here is a proxying loop: 502), 503 while no
// leader is known. Handlers switches an instance's API between the leader's
// handler of the running term and the follower's (requests to an instance
// elected a moment ago wait for its term to start), and Serve serves it
// for the instance's whole life, across terms.
package ha
