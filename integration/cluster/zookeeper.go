package cluster

import (
	"testing"

	"github.com/agoracluster/agora/zookeeper/zktest"
)

// StartZooKeeper starts a real ZooKeeper (Debian's zookeeper package) on a free loopback
// port with its own data directory, stopped when the test ends; where ZooKeeper is
// missing the test is skipped, or fails in CI (CI=true). Its URL(path) is the zk:// URL
// the processes take.
func StartZooKeeper(t testing.TB) *zktest.Server {
	t.Helper()
	return zktest.Start(t)
}
