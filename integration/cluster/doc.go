// Package cluster starts real agora processes (master, agents) on loopback for integration
// tests: each with its own free port and work dir, logs captured into the test's output on
// failure, and everything stopped with t.Cleanup. Given Options.ZooKeeper (a real ZooKeeper
// from StartZooKeeper), it starts several masters that elect their leader there, and agents and
// frameworks that follow the leader; Leader tells which master leads.
package cluster
