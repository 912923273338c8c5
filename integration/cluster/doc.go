// Package cluster starts real agora processes (master, agents) on loopback for integration
// tests: each with its own free port and work dir, logs captured into the test's output on
// failure, and everything stopped with t.Cleanup.
package cluster
