// Package zktest starts a real ZooKeeper for tests: Debian's zookeeper
// package run by java on a free loopback port, with its own data directory
// and configuration, stopped with t.Cleanup. A Server can be stopped and
// restarted on the same port and data, and a Proxy in front of it cuts
// clients off from it (a network partition) without stopping it. Where
// ZooKeeper is not installed, Start skips the test, or fails it when
// CI=true.
package zktest
